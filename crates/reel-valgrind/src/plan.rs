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
/// `pid` picks the process: the first by default; another one runs alone
/// from its exec (the other processes' events are passed over).
pub fn load(mut reader: TraceReader, pid: Option<i32>) -> Result<Plan> {
    let complete = reader.is_complete();
    let header = reader.header().clone();
    let mut events = Vec::new();
    while let Some(r) = reader.next()? {
        events.push(r);
    }
    let first = events
        .iter()
        .position(|r| matches!(r.event, Event::Exec(_)))
        .ok_or_else(|| unsupported(0, "the trace holds no exec of a program"))?;
    // `-p`: the process's (first) exec; the other processes do not run.
    let mut exec = match pid {
        None => first,
        Some(p) => events
            .iter()
            .position(|r| matches!(&r.event, Event::Exec(e) if e.tid == p))
            .ok_or_else(|| {
                unsupported(
                    0,
                    format!("process {p} execs no program in this recording: only a process that execs runs under valgrind"),
                )
            })?,
    };
    let alone = exec != first;
    if alone {
        events.drain(..exec);
        exec = 0;
    }
    let later = events.split_off(exec + 1);
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
    let mut warned_tsc = false;
    let mut threads = HashSet::from([tid]);
    let mut end = None;
    let mut kept = Vec::new();
    for r in later {
        let n = r.number;
        let i = exec + 1 + kept.len();
        match &r.event {
            e if !threads.contains(&e.tid()) && alone => continue,
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
        kept.push(r);
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
    let argv = if argv.is_empty() {
        header.argv.clone()
    } else {
        argv.clone()
    };
    // A later exec may have had another environment than the recording's
    // first: the one on its recorded initial stack.
    let env = if alone {
        initial_env(&events[exec]).ok_or_else(|| {
            unsupported(
                events[exec].number,
                "the exec's initial stack is not in the recording",
            )
        })?
    } else {
        header.env.clone()
    };
    events.extend(kept);
    let (mapped_opens, snapshots) = mapped_opens(&events, exec, &reader);
    Ok(Plan {
        argv,
        env,
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

/// The environment strings on the recorded initial stack of an exec
/// (argc, argv, NULL, envp, NULL at the stack pointer).
fn initial_env(rec: &Record) -> Option<Vec<String>> {
    let Event::Exec(e) = &rec.event else {
        return None;
    };
    let mut at = 0usize;
    let mut spans = Vec::new();
    for r in &e.regions {
        if matches!(r.source, RegionSource::Data) {
            let len = (r.end - r.start) as usize;
            spans.push((r.start, r.end, at));
            at += len;
        }
    }
    let bytes = |addr: u64, len: usize| -> Option<&[u8]> {
        let (s, e, off) = spans.iter().find(|(s, e, _)| (*s..*e).contains(&addr))?;
        let from = off + (addr - s) as usize;
        let to = (from + len).min(off + (e - s) as usize);
        rec.data.get(from..to)
    };
    let word =
        |addr: u64| -> Option<u64> { Some(u64::from_le_bytes(bytes(addr, 8)?.try_into().ok()?)) };
    let sp = *e.regs.get(19)?;
    let argc = word(sp)?;
    let mut p = sp + 8 * (argc + 2);
    let mut env = Vec::new();
    loop {
        let s = word(p)?;
        if s == 0 {
            return Some(env);
        }
        let tail = bytes(s, 1 << 17)?;
        let end = tail.iter().position(|&b| b == 0)?;
        env.push(String::from_utf8_lossy(&tail[..end]).into_owned());
        p += 8;
    }
}
