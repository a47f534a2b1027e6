//! What the trace asks of a replay under valgrind, read before anything
//! runs: the program, its events, which opened files valgrind must really
//! map, and what cannot run under valgrind (refused up front, naming the
//! event).

use crate::error::{Result, VgError};
use reel_trace::{Event, ExecEvent, FileId, Record, RegionSource, Tid, TraceReader};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// A trace, checked and indexed for a replay under valgrind.
pub struct Plan {
    /// Every event of the recording, in order.
    pub events: Vec<Record>,
    /// The program's exec event (index into `events`).
    pub exec: usize,
    /// The snapshot of the program's executable.
    pub exe: PathBuf,
    /// The recorded argv and environment.
    pub argv: Vec<String>,
    /// The environment given to the program.
    pub env: Vec<String>,
    /// For an `open`/`openat` event whose descriptor a later `mmap` maps:
    /// the snapshot that mapping used (valgrind maps files for real).
    pub mapped_opens: HashMap<usize, FileId>,
    /// Every snapshot some open must provide, and its path.
    pub snapshots: Vec<(FileId, PathBuf)>,
    /// The recorded thread id of the program.
    pub tid: Tid,
    /// Every recorded thread of the program (its first thread included).
    pub threads: HashSet<Tid>,
    /// The program's exit_group (index into `events`), if recorded.
    pub end: Option<usize>,
    /// Whether the recording ran to the program's end.
    pub complete: bool,
}

fn unsupported(event: u64, what: impl Into<String>) -> VgError {
    VgError::Unsupported {
        event,
        what: what.into(),
    }
}

/// Reads the whole trace and refuses what cannot run under valgrind yet:
/// another process, a second exec, signals, preemptions at landmarks, a
/// 32-bit program.
/// `pid` picks the process (only the first one is supported).
pub fn load(mut reader: TraceReader, pid: Option<i32>) -> Result<Plan> {
    let complete = reader.is_complete();
    let header = reader.header().clone();
    let mut events = Vec::new();
    while let Some(r) = reader.next()? {
        events.push(r);
    }
    let exec = events
        .iter()
        .position(|r| matches!(r.event, Event::Exec(_)))
        .ok_or_else(|| unsupported(0, "the trace holds no exec of a program"))?;
    let Event::Exec(ExecEvent {
        tid,
        path,
        argv,
        regions,
        ..
    }) = &events[exec].event
    else {
        unreachable!("found as an exec")
    };
    let tid = *tid;
    if let Some(p) = pid {
        if p != tid {
            return Err(unsupported(
                events[exec].number,
                format!("only the first process ({tid}) runs under valgrind for now, not {p}"),
            ));
        }
    }
    let mut warned_tsc = false;
    let mut threads = HashSet::from([tid]);
    let mut end = None;
    for (i, r) in events.iter().enumerate().skip(exec + 1) {
        let n = r.number;
        match &r.event {
            e if !threads.contains(&e.tid()) => {
                return Err(unsupported(
                    n,
                    format!(
                        "task {} is another process: process trees do not run under valgrind yet",
                        e.tid()
                    ),
                ))
            }
            Event::Exec(_) => {
                return Err(unsupported(n, "the program execs again: only its first program runs under valgrind"))
            }
            Event::Signal(s) => {
                return Err(unsupported(
                    n,
                    format!(
                        "signal {} is delivered: signals do not replay under valgrind yet",
                        reel_syscalls::signal_name(s.signo)
                    ),
                ))
            }
            Event::Tsc { rip, .. } => {
                // ld.so times its own start-up with rdtsc; valgrind answers
                // every rdtsc with the real counter.
                let in_loader = regions.iter().any(|r| {
                    (r.start..r.end).contains(rip)
                        && matches!(&r.source, RegionSource::File { path, .. } if path.contains("/ld-linux"))
                });
                if !in_loader && !warned_tsc {
                    warned_tsc = true;
                    eprintln!("reel: warning: event {n}: the program reads the time-stamp counter; under valgrind it reads the real one, not the recorded value");
                }
            }
            Event::Preempted { tid, .. } => {
                return Err(unsupported(
                    n,
                    format!("thread {tid} was preempted at a landmark: valgrind switches threads only at syscalls, so this schedule does not replay under valgrind"),
                ))
            }
            Event::Yield { tid, .. } | Event::Patch { tid, .. } => {
                return Err(unsupported(
                    n,
                    format!("thread {tid} switched at a spin-wait `pause`: valgrind switches threads only at syscalls, so this schedule does not replay under valgrind"),
                ))
            }
            Event::Filtered { nr, .. } => {
                return Err(unsupported(
                    n,
                    format!(
                        "the program's own seccomp filter answered {}: such filters do not run under valgrind",
                        reel_syscalls::name(*nr)
                    ),
                ))
            }
            Event::Syscall(s) if s.nr == SYS_CLONE && s.result > 0 => {
                if s.args[0] & libc::CLONE_THREAD as u64 == 0 {
                    return Err(unsupported(
                        n,
                        format!("clone makes process {}: process trees do not run under valgrind yet", s.result),
                    ));
                }
                threads.insert(s.result as Tid);
            }
            Event::Syscall(s) if matches!(s.nr, SYS_FORK | SYS_VFORK) && s.result > 0 => {
                return Err(unsupported(
                    n,
                    format!("{} makes process {}: process trees do not run under valgrind yet", reel_syscalls::name(s.nr), s.result),
                ));
            }
            Event::Syscall(s) if s.nr == SYS_EXIT_GROUP && end.is_none() => end = Some(i),
            // The fast path's trampolines are not used under valgrind: the
            // calls they made are ordinary recorded calls.
            Event::Syscall(_) | Event::Exit { .. } | Event::FastSite(_) | Event::SyscallEntry { .. } => {}
        }
    }
    // The executable: the file mapped from the exec'd path.
    let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    let exe_id = regions
        .iter()
        .filter_map(|r| match &r.source {
            RegionSource::File { file, path: p, .. } if base(p) == base(path) => Some(file.clone()),
            _ => None,
        })
        .next()
        .or_else(|| {
            regions.iter().find_map(|r| match &r.source {
                RegionSource::File { file, .. } => Some(file.clone()),
                _ => None,
            })
        })
        .ok_or_else(|| unsupported(events[exec].number, "the exec maps no file of the program"))?;
    let exe = reader.file_path(&exe_id);
    let elf = std::fs::read(&exe).map_err(|source| VgError::Io {
        what: format!("reading the trace's snapshot {}", exe.display()),
        source,
    })?;
    if crate::tool::is_elf32(&elf) != Some(false) {
        return Err(unsupported(
            events[exec].number,
            format!("{path} is not a 64-bit ELF program: valgrind runs only x86-64 programs here"),
        ));
    }
    let (mapped_opens, snapshots) = mapped_opens(&events, exec, &reader);
    Ok(Plan {
        argv: if argv.is_empty() {
            header.argv.clone()
        } else {
            argv.clone()
        },
        env: header.env.clone(),
        events,
        exec,
        exe,
        mapped_opens,
        snapshots,
        tid,
        threads,
        end,
        complete,
    })
}

const SYS_OPEN: u64 = libc::SYS_open as u64;
const SYS_OPENAT: u64 = libc::SYS_openat as u64;
const SYS_CLOSE: u64 = libc::SYS_close as u64;
const SYS_MMAP: u64 = libc::SYS_mmap as u64;
const SYS_CLONE: u64 = libc::SYS_clone as u64;
const SYS_FORK: u64 = libc::SYS_fork as u64;
const SYS_VFORK: u64 = libc::SYS_vfork as u64;
const SYS_EXIT_GROUP: u64 = libc::SYS_exit_group as u64;

/// For each open whose descriptor is later mapped (before it is closed),
/// the snapshot that mapping used.
fn mapped_opens(
    events: &[Record],
    exec: usize,
    reader: &TraceReader,
) -> (HashMap<usize, FileId>, Vec<(FileId, PathBuf)>) {
    let mut open_of_fd: HashMap<i64, usize> = HashMap::new();
    let mut out = HashMap::new();
    let mut snaps: Vec<(FileId, PathBuf)> = Vec::new();
    for (i, r) in events.iter().enumerate().skip(exec + 1) {
        let Event::Syscall(s) = &r.event else {
            continue;
        };
        match s.nr {
            SYS_OPEN | SYS_OPENAT if s.result >= 0 => {
                open_of_fd.insert(s.result, i);
            }
            SYS_CLOSE => {
                open_of_fd.remove(&(s.args[0] as i64));
            }
            SYS_MMAP => {
                let (Some(m), Some(&open)) =
                    (&s.mapped_file, open_of_fd.get(&(s.args[4] as i32 as i64)))
                else {
                    continue;
                };
                out.insert(open, m.file.clone());
                if !snaps.iter().any(|(f, _)| *f == m.file) {
                    snaps.push((m.file.clone(), reader.file_path(&m.file)));
                }
            }
            _ => {}
        }
    }
    (out, snaps)
}
