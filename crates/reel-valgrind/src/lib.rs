//! `reel replay --valgrind`: the recorded program runs under the installed
//! valgrind, whose tool analyses the recorded execution.
//!
//! valgrind itself runs for real under ptrace (a seccomp filter stops every
//! syscall its tool binary makes). The calls it makes for the guest program
//! — at its one guest-syscall site, or anywhere while its guest state holds
//! that very call — are matched, by rule, with the recorded events and
//! answered from the trace; its own calls run untouched. See
//! docs/ARCHITECTURE.md ("Replay under valgrind").

#![warn(missing_docs)]

mod answer;
mod error;
mod plan;
mod sched;
mod serve;
mod tool;
mod turns;

pub use error::{Result, VgError};
pub use serve::Outcome;
pub use tool::TOOLS;

use reel_trace::TraceReader;
use std::collections::HashMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// What to replay and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The valgrind tool (`--tool=`).
    pub tool: String,
    /// Further valgrind options, before the program.
    pub valgrind_args: Vec<String>,
    /// The recorded process to run under valgrind (default: the first).
    pub pid: Option<i32>,
}

/// Replays the trace in `dir` with its program under valgrind.
pub fn replay(dir: &Path, opts: &Options) -> Result<Outcome> {
    let vg = tool::locate(&opts.tool)?;
    let reader = TraceReader::open(dir)?;
    let plan = plan::load(reader, opts.pid)?;
    // valgrind opens the program by path and checks it may execute it: a
    // copy of the snapshot, named as the program was.
    let tmp = tempfile::tempdir().map_err(|source| VgError::Io {
        what: "creating a temporary directory".into(),
        source,
    })?;
    let name = plan
        .argv
        .first()
        .and_then(|a| a.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .unwrap_or("program");
    let exe = tmp.path().join(name);
    let io = |what: String| move |source| VgError::Io { what, source };
    std::fs::copy(&plan.exe, &exe).map_err(io(format!("copying {}", plan.exe.display())))?;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o700))
        .map_err(io(format!("making {} executable", exe.display())))?;

    // Snapshots valgrind will map, handed over as open descriptors placed
    // below the range valgrind reserves for itself at the top of the limit.
    let top = open_files_limit().unwrap_or(1024);
    let mut inherit = Vec::new();
    let mut prepared = HashMap::new();
    for (k, (id, path)) in plan.snapshots.iter().enumerate() {
        let f = std::fs::File::open(path).map_err(io(format!(
            "opening the trace's snapshot {}",
            path.display()
        )))?;
        let n = top as i32 - 64 - k as i32;
        if n < 64 {
            return Err(VgError::Unsupported {
                event: plan.events[plan.exec].number,
                what: "too many mapped files for the descriptor limit".into(),
            });
        }
        inherit.push((f, n));
        prepared.insert(id.clone(), n);
    }

    let cstr = |s: &[u8]| {
        CString::new(s.to_vec())
            .map_err(|_| VgError::Valgrind("an argument holds a NUL byte".into()))
    };
    let mut argv = vec![
        cstr(vg.launcher.as_os_str().as_bytes())?,
        cstr(format!("--tool={}", opts.tool).as_bytes())?,
    ];
    for a in &opts.valgrind_args {
        argv.push(cstr(a.as_bytes())?);
    }
    argv.push(cstr(exe.as_os_str().as_bytes())?);
    for a in plan.argv.iter().skip(1) {
        argv.push(cstr(a.as_bytes())?);
    }
    let envp = plan
        .env
        .iter()
        .map(|e| cstr(e.as_bytes()))
        .collect::<Result<Vec<_>>>()?;
    // valgrind keeps its own descriptors at the top of the limit, above the
    // snapshots handed to it (from top - 64 down).
    let own_fds = top.saturating_sub(32) as u32;
    let threads = plan.threads.len() > 1;
    if threads && opts.tool == "drd" {
        let first = plan.events.iter().find_map(|r| match &r.event {
            reel_trace::Event::Syscall(s) if s.nr == libc::SYS_clone as u64 && s.result > 0 => {
                Some((r.number, s.result))
            }
            _ => None,
        });
        let (event, child) = first.unwrap_or((0, 0));
        return Err(VgError::Unsupported {
            event,
            what: format!(
                "thread {child} starts: {}'s pthread_create waits for each new thread to run before it returns, an order the recording need not have, so threads do not run under valgrind yet with {}",
                opts.tool, opts.tool
            ),
        });
    }
    if threads {
        // reel decides which thread takes valgrind's lock, a byte in a pipe;
        // the fair scheduler's ticket lock gives it out in user space.
        if let Some(a) = opts
            .valgrind_args
            .iter()
            .find(|a| a.starts_with("--fair-sched=") && *a != "--fair-sched=no")
        {
            return Err(VgError::Valgrind(format!(
                "{a}: a threaded program replays under valgrind only with its default scheduler (--fair-sched=no)"
            )));
        }
    }
    let filter = reel_sys::seccomp::trace_range(vg.text.0, vg.text.1, own_fds, threads)
        .ok_or_else(|| {
            VgError::Valgrind(format!(
                "{}: its tool binary is not linked below 4 GiB as reel expects",
                vg.version
            ))
        })?;
    let mut tasks = reel_sys::TaskSet::new();
    let path = cstr(vg.launcher.as_os_str().as_bytes())?;
    let pid = reel_sys::launch::launch(&path, &argv, &envp, &filter, &inherit, &mut tasks)?;
    drop(inherit);
    let mut session = serve::Session::new(&plan, &vg, tasks, pid, prepared, own_fds);
    session.tool_yields = opts.tool == "helgrind";
    let out = session.run();
    drop(tmp);
    out
}

/// The soft limit on open files, from /proc/self/limits.
fn open_files_limit() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = s.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
