//! Divergence is never silent, and nothing escapes the recording.
//!
//! Each test makes one check fail on purpose — a trace edited with the
//! `reel_trace` API (an argument register, an exec site, a signal's
//! registers, an exit status) or a program whose behaviour reel cannot
//! reproduce (RDRAND) — and expects the replay to stop with one `reel:` line
//! naming the event, and what was expected and found, having printed nothing
//! of the diverging write. Without the check each of these replays would
//! succeed (or print other bytes). Other tests: the program cannot touch
//! reel's private pages, nor make a syscall from them unrecorded; ptrace
//! inside a recording is named.
//!
//! The C programs are in `tests/programs/silent/`, compiled at test time.

mod common;

use common::edit::{records, rewrite_trace};
use common::*;
use reel_trace::{Event, ExitKind, Record, SignalDelivery};
use std::path::{Path, PathBuf};

const SYS_READ: u64 = 0;
const SYS_WRITE: u64 = 1;
const SYS_LSEEK: u64 = 8;
const SYS_GETPID: u64 = 39;
const SYS_EXIT_GROUP: u64 = 231;
const ARG_REGS: [&str; 6] = ["rdi", "rsi", "rdx", "r10", "r8", "r9"];

fn program(sb: &Sandbox, dir: &str, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(dir)
        .join(format!("{name}.c"));
    compile_c(&src, sb.path())
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Records `argv`, which must succeed; returns the trace and the output.
fn record(sb: &Sandbox, name: &str, checksum: bool, argv: &[String]) -> (PathBuf, Output) {
    let trace = sb.path().join(name);
    let out = sb.record(&trace, checksum, argv, None);
    assert_eq!(out.status, 0, "record failed:\n{}", out.describe());
    (trace, out)
}

/// The replay failed with status 125 and exactly one `reel:` error line
/// (warnings aside), which names `event`; returns that line.
fn divergence_at(out: &Output, event: u64) -> String {
    assert!(!out.stderr_str().contains("panicked"), "{}", out.describe());
    assert_eq!(
        out.status,
        125,
        "expected a divergence:\n{}",
        out.describe()
    );
    let errors: Vec<String> = out
        .stderr_str()
        .lines()
        .filter(|l| l.starts_with("reel:") && !l.starts_with("reel: warning"))
        .map(str::to_string)
        .collect();
    assert_eq!(errors.len(), 1, "one reel: error line:\n{}", out.describe());
    let line = errors[0].clone();
    assert!(
        line.contains(&format!("diverged at event {event} ")),
        "the divergence should name event {event}:\n{}",
        out.describe()
    );
    line
}

/// The number of the `nth` syscall event with number `nr`.
fn nth_call(recs: &[Record], nr: u64, nth: usize) -> u64 {
    recs.iter()
        .filter(|r| matches!(&r.event, Event::Syscall(s) if s.nr == nr))
        .nth(nth)
        .unwrap_or_else(|| panic!("no syscall {nr} #{nth} in the trace"))
        .number
}

/// A program printing a value from RDRAND, which cannot be trapped here:
/// the recorder warns once, naming the program's file; the replay computes
/// another value and must report the write diverging (its bytes' hash is
/// not the recorded one) without printing it — also when the text is
/// formatted on the stack and `--checksum` is on.
#[test]
fn rdrand_output_diverges_instead_of_printing_another_id() {
    let sb = Sandbox::new("silent-rdrand");
    let prog = program(&sb, "silent", "rdrand");
    let native = run(&mut std::process::Command::new(&prog), None);
    if native.stdout_str().starts_with("no-rdrand") {
        eprintln!("skipped: this CPU has no RDRAND");
        return;
    }
    for checksum in [false, true] {
        let (trace, rec) = record(&sb, &format!("t{checksum}"), checksum, &[s(&prog)]);
        assert!(rec.stdout_str().starts_with("id="), "{}", rec.describe());
        let faulting = reel_trace::TraceReader::open(&trace)
            .unwrap()
            .header()
            .cpu
            .cpuid_faulting;
        if !faulting {
            // Said at record time, once, naming the file.
            let warnings: Vec<String> = rec
                .stderr_str()
                .lines()
                .filter(|l| l.contains("has RDRAND at"))
                .map(str::to_string)
                .collect();
            assert!(
                warnings.len() == 1 && warnings[0].contains(&s(&prog)),
                "one RDRAND warning naming {}:\n{}",
                prog.display(),
                rec.describe()
            );
        }
        let write = nth_call(&records(&trace), SYS_WRITE, 0);
        let out = sb.replay(&trace);
        let line = divergence_at(&out, write);
        assert!(line.contains("hash"), "{line}");
        assert_eq!(out.stdout_str(), "", "nothing printed:\n{}", out.describe());
    }
}

/// Each argument register a call uses, edited in the trace with the result
/// and data left alone, is reported by name at that call; a register the
/// call does not take (r10 of lseek, which has three arguments) is not
/// compared, so editing it replays fine.
#[test]
fn each_edited_argument_register_is_named() {
    let sb = Sandbox::new("silent-args");
    let prog = program(&sb, "silent", "calls");
    let input = sb.path().join("input");
    std::fs::write(&input, b"0123456789abcdefghij").unwrap();
    let output = sb.path().join("output");
    let (trace, _) = record(&sb, "orig", false, &[s(&prog), s(&input), s(&output)]);
    let recs = records(&trace);
    let ok = sb.replay(&trace);
    assert_eq!(
        (ok.status, ok.stdout_str()),
        (0, "done\n".into()),
        "{}",
        ok.describe()
    );
    let targets = [
        ("lseek", nth_call(&recs, SYS_LSEEK, 0)),
        (
            "read",
            nth_call(
                &recs,
                SYS_READ,
                recs.iter()
                    .filter(|r| matches!(&r.event, Event::Syscall(s) if s.nr == SYS_READ))
                    .count()
                    - 1,
            ),
        ),
        ("write", nth_call(&recs, SYS_WRITE, 0)),
        ("exit_group", nth_call(&recs, SYS_EXIT_GROUP, 0)),
    ];
    for (name, event) in targets {
        let arity = reel_syscalls::by_name(name).unwrap().args.len();
        for (i, reg) in ARG_REGS.iter().enumerate() {
            let edited = sb.path().join(format!("{name}-{reg}"));
            rewrite_trace(&trace, &edited, |r| {
                if r.number == event {
                    if let Event::Syscall(s) = &mut r.event {
                        s.args[i] ^= 0x10;
                    }
                }
            });
            let out = sb.replay(&edited);
            if i < arity {
                let line = divergence_at(&out, event);
                assert!(
                    line.contains(&format!(" {reg}=")),
                    "{name}: the report should name {reg}:\n{line}"
                );
            } else {
                assert_eq!(
                    (out.status, out.stdout_str()),
                    (0, "done\n".into()),
                    "{name} does not use {reg}: no divergence expected:\n{}",
                    out.describe()
                );
            }
            std::fs::remove_dir_all(&edited).unwrap();
        }
    }
}

/// The bytes a program writes to a file (not to reel's stdout) are checked
/// too: an edited read changes them, and the file write diverges.
#[test]
fn bytes_written_to_a_file_are_checked() {
    let sb = Sandbox::new("silent-file-bytes");
    let prog = program(&sb, "silent", "calls");
    let input = sb.path().join("input");
    std::fs::write(&input, b"0123456789abcdefghij").unwrap();
    let output = sb.path().join("output");
    let (trace, _) = record(&sb, "orig", false, &[s(&prog), s(&input), s(&output)]);
    let recs = records(&trace);
    let read = recs
        .iter()
        .find(|r| {
            matches!(&r.event, Event::Syscall(s) if s.nr == SYS_READ)
                && r.data.starts_with(b"56789")
        })
        .expect("the read of the input")
        .number;
    let write = nth_call(&recs, SYS_WRITE, 0);
    let edited = sb.path().join("edited");
    rewrite_trace(&trace, &edited, |r| {
        if r.number == read {
            r.data[0] = b'X';
        }
    });
    let line = divergence_at(&sb.replay(&edited), write);
    assert!(line.contains("hash"), "{line}");
}

/// An exec's recorded site, program path and argv are checked at the
/// execve the replayed program makes.
#[test]
fn edited_exec_site_path_and_argv_diverge() {
    let sb = Sandbox::new("silent-exec");
    let prog = program(&sb, "silent", "reexec");
    let (trace, rec) = record(&sb, "orig", false, &[s(&prog)]);
    assert_eq!(
        rec.stdout_str(),
        "second run: again\n",
        "{}",
        rec.describe()
    );
    let exec = records(&trace)
        .iter()
        .filter(|r| matches!(r.event, Event::Exec(_)))
        .nth(1)
        .expect("the program's own exec")
        .number;
    type Edit = fn(&mut reel_trace::ExecEvent);
    let edits: [(&str, Edit, &str); 3] = [
        ("site", |e| e.site.as_mut().unwrap().rip += 1, "rip="),
        ("path", |e| e.path.push('x'), "execs"),
        ("argv", |e| e.argv[1] = "other".into(), "argv"),
    ];
    for (name, edit, what) in edits {
        let edited = sb.path().join(name);
        rewrite_trace(&trace, &edited, |r| {
            if r.number == exec {
                if let Event::Exec(e) = &mut r.event {
                    edit(e);
                }
            }
        });
        let out = sb.replay(&edited);
        let line = divergence_at(&out, exec);
        assert!(line.contains(what), "{name}: expected {what}:\n{line}");
        assert_eq!(out.stdout_str(), "", "{}", out.describe());
    }
}

/// A signal delivered after a syscall is checked on its instruction
/// pointer and on the registers the kernel saves in its frame.
#[test]
fn edited_signal_rip_and_register_diverge() {
    let sb = Sandbox::new("silent-signal");
    let prog = program(&sb, "signals", "raise");
    let (trace, _) = record(&sb, "orig", false, &[s(&prog)]);
    let signal = records(&trace)
        .iter()
        .find(
            |r| matches!(&r.event, Event::Signal(s) if s.delivery == SignalDelivery::AfterSyscall),
        )
        .expect("a signal delivered after a syscall")
        .number;
    type Edit = fn(&mut reel_trace::SignalEvent);
    let edits: [(&str, Edit, &str); 2] = [
        ("rip", |e| e.rip += 1, "arrived at"),
        ("rbx", |e| e.regs[5] ^= 0x100, "rbx="),
    ];
    for (name, edit, what) in edits {
        let edited = sb.path().join(name);
        rewrite_trace(&trace, &edited, |r| {
            if r.number == signal {
                if let Event::Signal(e) = &mut r.event {
                    edit(e);
                }
            }
        });
        let line = divergence_at(&sb.replay(&edited), signal);
        assert!(line.contains(what), "{name}: expected {what}:\n{line}");
    }
}

/// A default-action signal (SIGTERM from a child, arriving while the
/// process computes without syscalls) goes in at a landmark, and replay
/// checks its instruction pointer and the registers it arrives with, as
/// for handler deliveries: each edited in the trace is reported.
#[test]
fn edited_default_action_signal_diverges() {
    let sb = Sandbox::new("silent-default-signal");
    let prog = program(&sb, "silent", "term_computing");
    let trace = sb.path().join("orig");
    let rec = sb.record(&trace, false, &[s(&prog)], None);
    assert_eq!(rec.status, 143, "{}", rec.describe());
    let ok = sb.replay(&trace);
    assert_eq!(ok.status, 143, "{}", ok.describe());
    let signal = records(&trace)
        .iter()
        .find(|r| {
            matches!(&r.event, Event::Signal(s)
                if s.delivery == SignalDelivery::DefaultAction && s.landmark.is_some())
        })
        .expect("a default-action delivery at a landmark")
        .number;
    type Edit = fn(&mut reel_trace::SignalEvent);
    let edits: [(&str, Edit, &str); 2] = [
        ("rip", |e| e.rip += 1, "arrived at"),
        ("rbx", |e| e.regs[5] ^= 0x100, "rbx="),
    ];
    for (name, edit, what) in edits {
        let edited = sb.path().join(name);
        rewrite_trace(&trace, &edited, |r| {
            if r.number == signal {
                if let Event::Signal(e) = &mut r.event {
                    edit(e);
                }
            }
        });
        let line = divergence_at(&sb.replay(&edited), signal);
        assert!(line.contains(what), "{name}: expected {what}:\n{line}");
    }
}

/// A landmark moved (in the trace) into a function the program never
/// calls: the replayed thread never reaches its instruction and never makes
/// a syscall, so neither the pass bound nor a syscall ends the search. The
/// replay reports the divergence once the thread used far more CPU time
/// than the recorded one (its CPU time, not the clock: a loaded machine
/// gives it little), instead of spinning for ever.
#[test]
fn landmark_never_passed_is_bounded_by_cpu_time() {
    let sb = Sandbox::new("silent-landmark-elsewhere");
    let prog = program(&sb, "silent", "landmark_elsewhere");
    let trace = sb.path().join("orig");
    let rec = sb.record(&trace, false, &[s(&prog)], None);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    let elsewhere = rec
        .stdout_str()
        .lines()
        .find_map(|l| l.strip_prefix("never_called at 0x"))
        .and_then(|a| u64::from_str_radix(a.trim(), 16).ok())
        .expect("the program prints never_called's address");
    let signal = records(&trace)
        .iter()
        .find(|r| matches!(&r.event, Event::Signal(s) if s.landmark.is_some()))
        .expect("a delivery at a landmark")
        .number;
    let edited = sb.path().join("elsewhere");
    rewrite_trace(&trace, &edited, |r| {
        if r.number == signal {
            if let Event::Signal(e) = &mut r.event {
                if let Some(lm) = &mut e.landmark {
                    lm.regs[16] = elsewhere;
                }
            }
        }
    });
    let line = divergence_at(&sb.replay(&edited), signal);
    assert!(
        line.contains("s of CPU time without a match"),
        "expected the CPU-time bound:\n{line}"
    );
}

/// A task's recorded exit status is checked when it ends.
#[test]
fn edited_exit_status_diverges() {
    let sb = Sandbox::new("silent-exit");
    let prog = program(&sb, "silent", "reexec");
    let (trace, _) = record(&sb, "orig", false, &[s(&prog)]);
    let exit = records(&trace)
        .iter()
        .rfind(|r| matches!(r.event, Event::Exit { .. }))
        .expect("an exit event")
        .number;
    let edited = sb.path().join("edited");
    rewrite_trace(&trace, &edited, |r| {
        if r.number == exit {
            if let Event::Exit { kind, .. } = &mut r.event {
                *kind = ExitKind::Exited(3);
            }
        }
    });
    let line = divergence_at(&sb.replay(&edited), exit);
    assert!(
        line.contains("Exited(3)") && line.contains("Exited(0)"),
        "{line}"
    );
}

/// A program that maps code at reel's private page, or changes or unmaps
/// it, is refused with EPERM and a `reel:` line naming the call (opening
/// /proc/self/mem for writing, with EACCES); the
/// getpid it makes afterwards is in the trace, and the replay matches.
#[test]
fn reel_page_cannot_be_replaced() {
    let sb = Sandbox::new("silent-page");
    let prog = program(&sb, "silent", "reel_page");
    let (trace, rec) = record(&sb, "orig", false, &[s(&prog)]);
    let err = rec.stderr_str();
    for call in [
        "mmap(0x700000000000",
        "mprotect(0x700000000000",
        "munmap(0x700000000000",
    ] {
        assert!(
            err.lines()
                .any(|l| l.starts_with("reel: ") && l.contains(call) && l.contains("EPERM")),
            "no reel: line naming {call}:\n{}",
            rec.describe()
        );
    }
    assert!(
        rec.stdout_str().contains("mmap: Operation not permitted")
            && rec
                .stdout_str()
                .contains("open /proc/self/mem: Permission denied"),
        "{}",
        rec.describe()
    );
    assert!(
        err.lines()
            .any(|l| l.starts_with("reel: openat of /proc/self/mem for writing refused")),
        "{}",
        rec.describe()
    );
    assert!(
        records(&trace)
            .iter()
            .any(|r| matches!(&r.event, Event::Syscall(s) if s.nr == SYS_GETPID)),
        "the getpid after the attempts is missing from the trace"
    );
    sb.assert_replays_like(&trace, &rec);
}

/// A program that jumps into reel's code page makes a syscall the filter
/// lets through; the recorder sees the trap after it and stops with a
/// `reel:` error instead of finishing a trace with a hole.
#[test]
fn syscall_from_reel_page_stops_the_recording() {
    let sb = Sandbox::new("silent-jump");
    let prog = program(&sb, "silent", "jump_reel_page");
    let trace = sb.path().join("t");
    let out = sb.record(&trace, false, &[s(&prog)], None);
    assert_eq!(out.status, 125, "{}", out.describe());
    assert!(
        out.stderr_str().contains("escaped the recording"),
        "{}",
        out.describe()
    );
    assert!(
        !out.stdout_str().contains("getpid through"),
        "{}",
        out.describe()
    );
}

/// ptrace inside a recording fails (reel is the tracer) and reel says so.
#[test]
fn ptrace_in_the_recording_is_named() {
    let sb = Sandbox::new("silent-ptrace");
    let prog = program(&sb, "silent", "ptrace_me");
    let (_, rec) = record(&sb, "orig", false, &[s(&prog)]);
    assert_eq!(rec.stdout_str(), "ptrace failed: 1\n", "{}", rec.describe());
    assert!(
        rec.stderr_str()
            .lines()
            .any(|l| l.starts_with("reel: warning: ptrace(")),
        "{}",
        rec.describe()
    );
}

/// A debugger-like program under reel: its PTRACE_TRACEME, PTRACE_ATTACH
/// and PTRACE_SEIZE fail with EPERM, as under a tracer already; it goes on,
/// finishes, and replays with the same output.
#[test]
fn ptrace_attach_fails_and_the_program_goes_on() {
    let sb = Sandbox::new("silent-ptrace-attach");
    let prog = program(&sb, "silent", "ptrace_attach");
    let (trace, rec) = record(&sb, "orig", false, &[s(&prog)]);
    let eperm = std::io::Error::from_raw_os_error(libc::EPERM).to_string();
    let eperm = eperm.split(" (os error").next().unwrap_or_default();
    let want = format!(
        "child: PTRACE_TRACEME: {eperm}\nparent: PTRACE_ATTACH: {eperm}\nparent: PTRACE_SEIZE: {eperm}\nparent: child exited 7\n"
    );
    assert_eq!(rec.stdout_str(), want, "{}", rec.describe());
    let rep = sb.replay(&trace);
    assert_eq!(rep.status, 0, "{}", rep.describe());
    assert_eq!(rep.stdout_str(), want, "{}", rep.describe());
}

/// Calls reel refuses (perf_event_open, set_thread_area) or does not
/// support yet (iopl, quotactl) are each named once in a `reel:` warning,
/// never refused silently; the program sees the same errors at replay.
#[test]
fn refused_calls_are_named_once_each() {
    let sb = Sandbox::new("silent-refused");
    let prog = program(&sb, "silent", "refused");
    let (trace, rec) = record(&sb, "orig", false, &[s(&prog)]);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    let stderr = rec.stderr_str();
    for call in ["perf_event_open", "set_thread_area", "iopl", "quotactl"] {
        let named = stderr
            .lines()
            .filter(|l| l.starts_with("reel: warning") && l.contains(call))
            .count();
        assert_eq!(named, 1, "{call} named {named} times:\n{}", rec.describe());
    }
    let rep = sb.replay(&trace);
    assert_eq!(rep.status, 0, "{}", rep.describe());
    assert_eq!(rep.stdout_str(), rec.stdout_str(), "{}", rep.describe());
}

/// No false alarms: `record --checksum` of a four-thread racy counter
/// replays (digests are taken only where no other thread can be writing).
#[test]
fn checksum_of_a_threaded_program_replays() {
    let sb = Sandbox::new("silent-checksum-threads");
    let prog = program(&sb, "threads", "racy_counter");
    let (trace, rec) = record(&sb, "orig", true, &[s(&prog)]);
    assert!(
        records(&trace)
            .iter()
            .any(|r| matches!(&r.event, Event::Syscall(s) if s.checksum.is_some())),
        "no checksum recorded at all"
    );
    sb.assert_replays_like(&trace, &rec);
}

/// No false alarms: node with a timer (a thread pool, clock_gettime calls
/// whose unused registers differ) records and replays, with and without
/// `--checksum`. Skipped when node is not installed.
#[test]
fn node_with_a_timer_replays() {
    let Some(node) = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("node"))
            .find(|n| n.is_file())
    }) else {
        eprintln!("skipped: node is not installed");
        return;
    };
    let sb = Sandbox::new("silent-node");
    for checksum in [false, true] {
        let argv = [
            s(&node),
            "-e".into(),
            "setTimeout(()=>console.log(1),10)".into(),
        ];
        let (trace, rec) = record(&sb, &format!("t{checksum}"), checksum, &argv);
        assert_eq!(rec.stdout_str(), "1\n", "{}", rec.describe());
        let out = sb.replay(&trace);
        assert_eq!(
            (out.status, out.stdout_str()),
            (0, "1\n".into()),
            "{}",
            out.describe()
        );
    }
}

/// A thread's recorded entry into a blocking call (`SyscallEntry`) is
/// checked on the arguments the call takes, like the call itself.
#[test]
fn edited_syscall_entry_argument_diverges() {
    let sb = Sandbox::new("silent-entry");
    let prog = program(&sb, "threads", "condvar_pingpong");
    let (trace, _) = record(&sb, "orig", false, &[s(&prog)]);
    let entry = records(&trace)
        .iter()
        .find(|r| matches!(&r.event, Event::SyscallEntry { .. }))
        .expect("a SyscallEntry event")
        .number;
    let edited = sb.path().join("edited");
    rewrite_trace(&trace, &edited, |r| {
        if r.number == entry {
            if let Event::SyscallEntry { args, .. } = &mut r.event {
                args[0] ^= 0x40;
            }
        }
    });
    let line = divergence_at(&sb.replay(&edited), entry);
    assert!(line.contains(" rdi="), "{line}");
}

/// The results of executed calls the table does not compare as they are:
/// `set_tid_address` must return the replayed task's tid in place of the
/// recorded one.
#[test]
fn edited_set_tid_address_result_diverges() {
    let sb = Sandbox::new("silent-set-tid");
    let prog = program(&sb, "silent", "reexec");
    let (trace, _) = record(&sb, "orig", false, &[s(&prog)]);
    let nr = reel_syscalls::by_name("set_tid_address").unwrap().nr;
    let call = nth_call(&records(&trace), nr, 0);
    let edited = sb.path().join("edited");
    rewrite_trace(&trace, &edited, |r| {
        if r.number == call {
            if let Event::Syscall(s) = &mut r.event {
                s.result += 1;
            }
        }
    });
    let line = divergence_at(&sb.replay(&edited), call);
    assert!(line.contains("set_tid_address"), "{line}");
}

/// Signals that arrive while reel maps its private pages again after an
/// exec (an interval timer survives exec) are held back and delivered
/// afterwards, not a reason to give up the recording.
#[test]
fn timer_signals_during_exec_are_recorded() {
    let sb = Sandbox::new("silent-timer-exec");
    let prog = program(&sb, "silent", "timer_exec");
    let (trace, rec) = record(&sb, "orig", false, &[s(&prog)]);
    assert_eq!(
        rec.stdout_str(),
        "failed children: 0\n",
        "{}",
        rec.describe()
    );
    sb.assert_replays_like(&trace, &rec);
}

/// Bytes sent to a socket (sendto, sendmsg) are checked too: an edited
/// read changes them, and the first send of changed bytes diverges.
#[test]
fn bytes_sent_to_a_socket_are_checked() {
    let sb = Sandbox::new("silent-send");
    let prog = program(&sb, "silent", "send");
    let input = sb.path().join("input");
    std::fs::write(&input, b"0123456789").unwrap();
    let (trace, _) = record(&sb, "orig", false, &[s(&prog), s(&input)]);
    let recs = records(&trace);
    let read = recs
        .iter()
        .find(|r| {
            matches!(&r.event, Event::Syscall(s) if s.nr == SYS_READ)
                && r.data.starts_with(b"01234")
        })
        .expect("the read of the input")
        .number;
    let sendto = reel_syscalls::by_name("sendto").unwrap().nr;
    let sendmsg = reel_syscalls::by_name("sendmsg").unwrap().nr;
    for (byte, nr) in [(0, sendto), (7, sendmsg)] {
        let edited = sb.path().join(format!("edited-{byte}"));
        rewrite_trace(&trace, &edited, |r| {
            if r.number == read {
                r.data[byte] = b'X';
            }
        });
        let line = divergence_at(&sb.replay(&edited), nth_call(&recs, nr, 0));
        assert!(line.contains("hash"), "{line}");
    }
}
