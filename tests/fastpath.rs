//! The in-process syscall fast path (issue 11): programs under
//! `tests/programs/fastpath/` recorded with `record --fast-path`, their
//! buffered calls checked in `dump --json` (a buffered call is a syscall
//! event without a site), replayed, and compared with the recording.
//! Each test fails without the fast path: it asserts that most of the
//! program's calls were buffered.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;

fn program(sb: &Sandbox, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs/fastpath")
        .join(format!("{name}.c"));
    // (glibc >= 2.34 needs no -lpthread for the threads program.)
    compile_c(&src, sb.path())
}

/// `reel record --fast-path -o TRACE PROG ARGS...`.
fn record(sb: &Sandbox, trace: &Path, argv: &[String]) -> Output {
    let mut c = sb.reel();
    c.arg("record")
        .arg("--fast-path")
        .arg("-o")
        .arg(trace)
        .args(argv);
    run(&mut c, None)
}

/// The events of `reel dump --json`.
fn events(sb: &Sandbox, trace: &Path) -> Vec<serde_json::Value> {
    let out = run(sb.reel().arg("dump").arg("--json").arg(trace), None);
    assert_eq!(out.status, 0, "{}", out.describe());
    out.stdout_str()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn is_buffered(e: &serde_json::Value) -> bool {
    e["type"] == "syscall" && e["site"].is_null()
}

/// Records `name`, checks that the recording printed EXIT-SUCCESS, that at
/// least `min_buffered` calls were buffered, and that the replay prints the
/// same. Returns the sandbox, trace and events.
fn record_and_replay(
    name: &str,
    min_buffered: usize,
) -> (Sandbox, PathBuf, Vec<serde_json::Value>) {
    let sb = Sandbox::new(&format!("fastpath-{name}"));
    let bin = program(&sb, name);
    let trace = sb.path().join("trace");
    let rec = record(&sb, &trace, &[bin.to_string_lossy().into_owned()]);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    assert!(
        rec.stdout_str().contains("EXIT-SUCCESS"),
        "{}",
        rec.describe()
    );
    let evs = events(&sb, &trace);
    let buffered = evs.iter().filter(|e| is_buffered(e)).count();
    let sites = evs.iter().filter(|e| e["type"] == "fast_site").count();
    eprintln!(
        "{name}: {buffered} buffered calls of {} events, {sites} sites",
        evs.len()
    );
    assert!(
        buffered >= min_buffered && sites > 0,
        "{name}: only {buffered} calls were buffered ({sites} sites patched)"
    );
    sb.assert_replays_like(&trace, &rec);
    (sb, trace, evs)
}

#[test]
fn burst_records_each_buffered_call_in_order() {
    let (_sb, _trace, evs) = record_and_replay("burst", 1000);
    // The loop's calls, one by one: for each round i, lseek(fd, i), read
    // 8 bytes, pread 8 bytes at 2i (once their sites are patched).
    let calls: Vec<&serde_json::Value> = evs.iter().filter(|e| e["type"] == "syscall").collect();
    let fd = calls
        .iter()
        .find(|e| e["name"] == "lseek")
        .map(|e| e["args"][0].clone())
        .expect("an lseek");
    let mut rounds = 0;
    for (k, e) in calls.iter().enumerate() {
        if e["name"] != "lseek" || !is_buffered(e) || e["args"][0] != fd {
            continue;
        }
        let i = e["args"][1].as_u64().unwrap();
        assert_eq!(e["result"].as_u64(), Some(i), "{e}");
        let read = calls[k + 1];
        assert_eq!(read["name"], "read", "{read}");
        assert!(is_buffered(read), "{read}");
        assert_eq!(
            (read["args"][2].as_u64(), read["result"].as_u64()),
            (Some(8), Some(8))
        );
        assert_eq!(read["writes"][0]["len"].as_u64(), Some(8), "{read}");
        let pread = calls[k + 2];
        assert_eq!(pread["name"], "pread64", "{pread}");
        assert!(is_buffered(pread), "{pread}");
        assert_eq!(pread["args"][3].as_u64(), Some(2 * i), "{pread}");
        assert_eq!(pread["writes"][0]["len"].as_u64(), Some(8), "{pread}");
        let fstat = calls[k + 3];
        assert!(
            fstat["name"] == "newfstatat" || fstat["name"] == "fstat",
            "{fstat}"
        );
        assert_eq!(fstat["writes"][0]["len"].as_u64(), Some(144), "{fstat}");
        rounds += 1;
    }
    assert!(rounds >= 190, "only {rounds} rounds were buffered whole");
    // Event numbers stay one per call, in order.
    for w in evs.windows(2) {
        assert_eq!(
            w[1]["event"].as_u64(),
            w[0]["event"].as_u64().map(|n| n + 1)
        );
    }
}

#[test]
fn edited_buffered_read_is_a_divergence() {
    let sb = Sandbox::new("fastpath-edited");
    let bin = program(&sb, "burst");
    let trace = sb.path().join("trace");
    let rec = record(&sb, &trace, &[bin.to_string_lossy().into_owned()]);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    // The 100th buffered read asked for 9 bytes instead of 8.
    let mut seen = 0;
    let mut edited = None;
    let copy = sb.path().join("edited");
    common::edit::rewrite_trace(&trace, &copy, |r| {
        if let reel_trace::Event::Syscall(s) = &mut r.event {
            if s.nr == libc::SYS_read as u64 && s.site.is_none() {
                seen += 1;
                if seen == 100 {
                    s.args[2] = 9;
                    edited = Some(r.number);
                }
            }
        }
    });
    let edited = edited.expect("100 buffered reads");
    let out = sb.replay(&copy);
    assert_ne!(out.status, 0, "{}", out.describe());
    let err = out.stderr_str();
    assert!(
        err.contains(&format!("diverged at event {edited} "))
            && err.contains("rdx=0x8 (recorded 0x9)"),
        "expected a divergence at event {edited}:\n{}",
        out.describe()
    );
}

#[test]
fn signals_in_a_burst_are_delivered_at_calls() {
    let (_sb, _trace, evs) = record_and_replay("signals", 1000);
    let signals = evs.iter().filter(|e| e["type"] == "signal").count();
    assert!(signals >= 20, "{signals} signal events");
}

#[test]
fn fork_and_exec_in_a_burst() {
    let (_sb, _trace, evs) = record_and_replay("forkexec", 4000);
    // Buffered calls in at least three processes (parent, child, and the
    // child after its exec, which patches its own sites again).
    let tids: std::collections::HashSet<i64> = evs
        .iter()
        .filter(|e| is_buffered(e))
        .map(|e| e["tid"].as_i64().unwrap())
        .collect();
    assert!(tids.len() >= 2, "buffered calls only in {tids:?}");
    let exec_at = evs
        .iter()
        .rposition(|e| e["type"] == "exec")
        .expect("the child's exec");
    assert!(
        evs[exec_at..].iter().any(|e| e["type"] == "fast_site"),
        "no site patched after the exec"
    );
}

#[test]
fn threads_make_buffered_calls() {
    let (_sb, _trace, evs) = record_and_replay("threads", 4000);
    let tids: std::collections::HashSet<i64> = evs
        .iter()
        .filter(|e| is_buffered(e))
        .map(|e| e["tid"].as_i64().unwrap())
        .collect();
    assert!(tids.len() >= 4, "buffered calls only in threads {tids:?}");
}

#[test]
fn killed_recording_replays_its_prefix() {
    let sb = Sandbox::new("fastpath-killed");
    let bin = program(&sb, "ticker");
    let trace = sb.path().join("trace");
    let mut child = sb
        .reel()
        .arg("record")
        .arg("--fast-path")
        .arg("-o")
        .arg(&trace)
        .arg(&bin)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start reel record");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut v);
        v
    });
    // Killed (SIGKILL) once ten lines, each after a burst, are in the trace.
    let flushed = common::edit::wait_for_echoed_writes(&trace, 10);
    child.kill().expect("kill reel record");
    child.wait().unwrap();
    let recorded = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
    let out = sb.replay(&trace);
    assert_eq!(out.status, 125, "{}", out.describe());
    assert!(
        out.stderr_str().contains("incomplete"),
        "{}",
        out.describe()
    );
    let replayed = out.stdout_str();
    assert!(
        recorded.starts_with(&replayed) && replayed.lines().count() >= flushed,
        "replayed {replayed:?}, recorded {recorded:?}, {flushed} in the trace"
    );
    let evs = events(&sb, &trace);
    assert!(
        evs.iter().filter(|e| is_buffered(e)).count() >= 1000,
        "the bursts were not buffered"
    );
}

/// A program that installs its own seccomp filter after a burst of
/// buffered calls: reel runs that filter at each call's ptrace stop, so the
/// process's fast path goes off for good and every later getppid gets the
/// filter's EPERM, as natively (made in-process, it would succeed).
#[test]
fn a_program_seccomp_filter_turns_the_fast_path_off() {
    let (sb, _trace, _evs) = record_and_replay("filter_after_burst", 100);
    let bin = program(&sb, "filter_after_burst");
    let native = run(&mut std::process::Command::new(&bin), None);
    assert!(
        native
            .stdout_str()
            .contains("after: 0 of 200 getppid succeeded; then -1 (EPERM)"),
        "{}",
        native.describe()
    );
    let rec = record(
        &sb,
        &sb.path().join("again"),
        &[bin.to_string_lossy().into_owned()],
    );
    assert_eq!(rec.stdout_str(), native.stdout_str(), "{}", rec.describe());
}

/// Going back re-runs from a checkpoint with the buffered calls handed out
/// in batches: a batch must leave its thread at its last call, not after
/// the code that follows it, or the re-run misses the breakpoint hit right
/// after a checkpoint's event and reverse-continue lands one hit late.
#[test]
fn reverse_continue_over_batched_calls_lands_on_the_previous_hit() {
    let sb = Sandbox::new("fastpath-reverse");
    let prog = common::case::compile_program("gdb/long");
    let trace = sb.path().join("trace");
    let rec = record(&sb, &trace, &prog.argv);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    let evs = events(&sb, &trace);
    assert!(evs.iter().filter(|e| is_buffered(e)).count() >= 1500);
    let mut c = sb.reel();
    c.arg("replay").arg(&trace).arg("--");
    c.args(common::gdb::ex_args(&[
        "break add",
        "continue",
        "continue 1500",
        "print x",
        "reverse-continue",
        "print x",
        "reverse-continue",
        "print x",
    ]));
    let out = run(&mut c, None);
    assert_eq!(
        common::gdb::values(&out),
        vec!["$1 = 1501", "$2 = 1500", "$3 = 1499"],
        "{}",
        out.describe()
    );
}

/// Buffered writes carry what a traced write carries: the hash of the
/// bytes sent (replay checks the program's bytes against it before going
/// on) and their start for `dump`; one recorded as sending other bytes is
/// reported as a divergence.
#[test]
fn buffered_writes_carry_the_hash_of_what_they_sent() {
    let (sb, trace, evs) = record_and_replay("writes", 250);
    let pwrites: Vec<&serde_json::Value> = evs
        .iter()
        .filter(|e| is_buffered(e) && e["name"] == "pwrite64")
        .collect();
    assert!(pwrites.len() >= 250, "{} buffered pwrites", pwrites.len());
    for e in &pwrites {
        let i = e["args"][3].as_u64().unwrap() / 16;
        assert!(e["emitted"].is_string(), "{e}");
        assert_eq!(
            e["arg_data"][0]["strings"][0],
            format!("line {i:010}\n"),
            "{e}"
        );
        assert_eq!(e["writes"].as_array().map(Vec::len), Some(0), "{e}");
    }
    // The 100th buffered pwrite, recorded as sending other bytes.
    let mut seen = 0;
    let mut edited = None;
    let copy = sb.path().join("edited");
    common::edit::rewrite_trace(&trace, &copy, |r| {
        if let reel_trace::Event::Syscall(s) = &mut r.event {
            if s.nr == libc::SYS_pwrite64 as u64 && s.site.is_none() {
                seen += 1;
                if seen == 100 {
                    s.emitted = s.emitted.map(|h| h ^ 1);
                    edited = Some(r.number);
                }
            }
        }
    });
    let edited = edited.expect("100 buffered pwrites");
    let out = sb.replay(&copy);
    assert_ne!(out.status, 0, "{}", out.describe());
    let err = out.stderr_str();
    assert!(
        err.contains(&format!("diverged at event {edited} "))
            && err.contains("to send 16 bytes with hash"),
        "expected a divergence at event {edited}:\n{}",
        out.describe()
    );
}
