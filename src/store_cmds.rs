//! The trace-management commands: `reel ls`, `rm`, `info`, `ps`, `pack`.
//!
//! Each returns the process exit status. Problems with the traces themselves
//! (not found, damaged, not a trace ...) are reported on stderr prefixed
//! `reel:` with status 125, reel's own-failure status; an `Err` is left for
//! failures to write the output.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use reel_trace::{scan_processes, ExitKind, TraceError, TraceInfo, TraceReader, TraceStore};

/// Exit status for reel's own failures.
const FAIL: i32 = 125;

/// Prints a trace error the way every reel command does and gives the status.
fn fail(e: &TraceError) -> i32 {
    eprintln!("reel: {e}");
    FAIL
}

/// A reader that stopped reading (`reel ls | head`) is not an error.
fn quiet_pipe(r: Result<i32>) -> Result<i32> {
    match r {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
                || e.downcast_ref::<serde_json::Error>()
                    .and_then(|j| j.io_error_kind())
                    == Some(std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(0)
        }
        r => r,
    }
}

/// Opens the store and resolves `trace` (None = the latest).
fn resolve(trace: Option<&str>) -> Result<(TraceStore, std::path::PathBuf), TraceError> {
    let store = TraceStore::open_default()?;
    let path = store.resolve(trace)?;
    Ok((store, path))
}

/// `reel ls [--json]`: the traces, oldest first.
pub fn ls(json: bool, dir: Option<&Path>) -> Result<i32> {
    quiet_pipe(ls_inner(json, dir))
}

fn ls_inner(json: bool, dir: Option<&Path>) -> Result<i32> {
    let store = match dir {
        // A directory named on the command line is listed, never created.
        Some(d) if !d.is_dir() => {
            eprintln!("reel: {}: no such directory", d.display());
            return Ok(FAIL);
        }
        Some(d) => TraceStore::open(d),
        None => TraceStore::open_default(),
    };
    let list = match store.and_then(|s| s.list()) {
        Ok(l) => l,
        Err(e) => return Ok(fail(&e)),
    };
    let mut out = std::io::stdout().lock();
    if json {
        for t in &list {
            serde_json::to_writer(&mut out, t)?;
            writeln!(out)?;
        }
        return Ok(0);
    }
    let width = list.iter().map(|t| t.name.len()).max().unwrap_or(4).max(4);
    writeln!(
        out,
        "{:width$}  {:19}  {:>7}  {:>7}  {:10}  COMMAND",
        "NAME", "DATE (UTC)", "OWN", "SHARED", "STATUS"
    )?;
    for t in &list {
        writeln!(out, "{}", ls_line(t, width))?;
    }
    Ok(0)
}

fn ls_line(t: &TraceInfo, width: usize) -> String {
    format!(
        "{:width$}  {:19}  {:>7}  {:>7}  {:10}  {}",
        t.name,
        utc_date(t.start_time_ms),
        human_size(t.own_bytes),
        human_size(t.shared_bytes),
        if t.complete { "complete" } else { "incomplete" },
        t.argv.join(" ")
    )
}

/// `reel rm TRACE`: deletes a trace (only a directory that is one).
pub fn rm(trace: &str) -> Result<i32> {
    match resolve(Some(trace)).and_then(|(store, path)| store.remove(&path)) {
        Ok(()) => Ok(0),
        Err(e) => Ok(fail(&e)),
    }
}

/// `reel info [TRACE]`: header, summary and completeness as one JSON object.
pub fn info(trace: Option<&str>) -> Result<i32> {
    quiet_pipe(info_inner(trace))
}

fn info_inner(trace: Option<&str>) -> Result<i32> {
    let reader = match resolve(trace).and_then(|(_, p)| TraceReader::open(&p)) {
        Ok(r) => r,
        Err(e) => return Ok(fail(&e)),
    };
    let v = serde_json::json!({
        "path": reader.dir(),
        "header": reader.header(),
        "summary": reader.summary(),
        "complete": reader.is_complete(),
    });
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &v)?;
    writeln!(out)?;
    Ok(0)
}

/// `reel ps [TRACE] [--json]`: the processes of a trace. Like rr, EXIT is the
/// exit code, or minus the signal number for a death by signal.
pub fn ps(trace: Option<&str>, json: bool) -> Result<i32> {
    quiet_pipe(ps_inner(trace, json))
}

fn ps_inner(trace: Option<&str>, json: bool) -> Result<i32> {
    let mut reader = match resolve(trace).and_then(|(_, p)| TraceReader::open(&p)) {
        Ok(r) => r.without_data(),
        Err(e) => return Ok(fail(&e)),
    };
    let procs = match scan_processes(&mut reader) {
        Ok(p) => p,
        Err(e) => return Ok(fail(&e)),
    };
    let mut out = std::io::stdout().lock();
    if json {
        for p in &procs {
            let v = serde_json::json!({
                "pid": p.tid,
                "ppid": p.parent,
                "exit": p.exit,
                "exit_status": p.exit.map(ExitKind::shell_status),
                "argv": p.argv,
                "first_event": p.first_event,
                "last_event": p.last_event,
            });
            serde_json::to_writer(&mut out, &v)?;
            writeln!(out)?;
        }
    } else {
        writeln!(out, "PID\tPPID\tEXIT\tCMD")?;
        for p in &procs {
            let ppid = p.parent.map_or("-".to_string(), |x| x.to_string());
            let exit = match p.exit {
                Some(ExitKind::Exited(c)) => c.to_string(),
                Some(ExitKind::Signaled(s)) => format!("-{s}"),
                Some(ExitKind::EndedByExec) => "exec".to_string(),
                None => "-".to_string(),
            };
            writeln!(out, "{}\t{ppid}\t{exit}\t{}", p.tid, p.argv.join(" "))?;
        }
    }
    out.flush()?;
    if !reader.is_complete() {
        eprintln!(
            "reel: {}: the trace is incomplete (the recording did not finish); processes shown up to its end",
            reader.dir().display()
        );
    }
    Ok(0)
}

/// `reel pack [TRACE]`: makes a trace self-contained in place.
pub fn pack(trace: Option<&str>) -> Result<i32> {
    let (store, path) = match resolve(trace) {
        Ok(x) => x,
        Err(e) => return Ok(fail(&e)),
    };
    let report = match store.pack(&path) {
        Ok(r) => r,
        Err(e) => return Ok(fail(&e)),
    };
    for id in &report.mismatched {
        eprintln!(
            "reel: warning: snapshot {id} in {} no longer matches what was recorded",
            path.display()
        );
    }
    println!(
        "{}: {} files, {} copied ({}), {} leftovers removed",
        display(&path),
        report.files,
        report.files_copied,
        human_size(report.bytes_copied),
        report.temp_files_removed
    );
    Ok(if report.mismatched.is_empty() {
        0
    } else {
        FAIL
    })
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// `1536` → `1.5K`.
fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n}B")
    } else {
        format!("{v:.1}{}", UNITS[u])
    }
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC), without a
/// date library: days to civil date after Howard Hinnant's published method.
fn utc_date(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_sizes() {
        assert_eq!(utc_date(0), "1970-01-01 00:00:00");
        assert_eq!(utc_date(1_700_000_000_000), "2023-11-14 22:13:20");
        assert_eq!(utc_date(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(human_size(100), "100B");
        assert_eq!(human_size(1536), "1.5K");
    }
}
