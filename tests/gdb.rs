//! `reel replay` under the real gdb, in batch mode, against replays of the
//! small programs of `tests/programs/gdb/` (built with `-g`).
//!
//! - `programs::*`: each program also passes the record/replay check.
//! - `forward::*`: breakpoint hits and values equal a native gdb session;
//!   a watchpoint fires for the kernel's write of an emulated `read()`;
//!   stepi; threads; the end of the trace; `monitor when`/`goto`; `run`
//!   restarts; gdb/MI; writes refused.
//! - going backwards: `tests/gdb_reverse.rs`.
//! - `divergence::*`: a replay that diverges says so and ends the history.
//! - `bad_input::*`: a bad event number, a port in use, gdb missing, bad
//!   monitor commands; reel exits with gdb's status.

mod common;

use common::case::*;
use common::gdb::*;
use common::*;
use std::process::Command;

#[test]
fn every_program_has_a_test() {
    assert_programs_listed(
        "gdb",
        &[
            "avx",
            "counter",
            "execchild",
            "fork",
            "forklong",
            "long",
            "sharedlong",
            "threadlong",
            "threads",
            "threadstate",
        ],
    );
}

mod programs {
    #[test]
    fn counter() {
        super::run_program("gdb/counter");
    }

    #[test]
    fn fork() {
        super::run_program("gdb/fork");
    }

    #[test]
    fn threads() {
        super::run_program("gdb/threads");
    }

    #[test]
    fn long() {
        super::run_program("gdb/long");
    }

    #[test]
    fn forklong() {
        super::run_program("gdb/forklong");
    }

    #[test]
    fn threadlong() {
        super::run_program("gdb/threadlong");
    }

    #[test]
    fn sharedlong() {
        super::run_program("gdb/sharedlong");
    }

    #[test]
    fn threadstate() {
        super::run_program("gdb/threadstate");
    }

    #[test]
    fn execchild() {
        super::run_program("gdb/execchild");
    }

    #[test]
    fn avx() {
        if super::has_avx() {
            super::run_program("gdb/avx");
        }
    }
}

/// `print x; continue` four times after `break add`.
fn four_hits(first: &str) -> Vec<&str> {
    let mut v = vec!["break add", first];
    for _ in 0..4 {
        v.extend(["print x", "print total", "continue"]);
    }
    v
}

mod forward {
    use super::*;

    #[test]
    fn breakpoint_values_equal_native() {
        let r = record("counter");
        let native = native_gdb(&r.bin, &four_hits("run"));
        let replay = replay_gdb(&r, &[], &four_hits("continue"));
        let want = values(&native);
        assert_eq!(want.len(), 8, "native gdb:\n{}", native.describe());
        assert_eq!(values(&replay), want, "replay:\n{}", replay.describe());
        assert_eq!(replay.status, 0, "{}", replay.describe());
    }

    /// gdb's value and watchpoint lines.
    fn seen(out: &Output) -> Vec<String> {
        out.stdout_str()
            .lines()
            .filter(|l| {
                ["$", "Value", "Old value", "New value"]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn conditions_watch_kinds_and_stepping_equal_native() {
        // A read watch traps writes too on x86 (reel must not report
        // those: gdb does not natively), finish's returned value, next,
        // step and until land where a native session does.
        let cmds = |first: &'static str| {
            vec![
                "break add if x == 4",
                first,
                "print x",
                "delete",
                "rwatch total",
                "continue",
                "print x",
                "continue",
                "print x",
                "delete",
                "awatch total",
                "continue",
                "print x",
                "continue",
                "print x",
                "delete",
                "break add",
                "continue",
                "finish",
                "next",
                "step",
                "until",
                "print x",
            ]
        };
        let r = record("counter");
        let native = native_gdb(&r.bin, &cmds("run"));
        let replay = replay_gdb(&r, &[], &cmds("continue"));
        let want = seen(&native);
        assert_eq!(want.len(), 12, "native gdb:\n{}", native.describe());
        assert_eq!(seen(&replay), want, "replay:\n{}", replay.describe());
    }

    #[test]
    fn stepi_at_a_signal_enters_its_handler() {
        let r = record("threadstate");
        let cmds = |first: &'static str| {
            vec![
                first,
                "stepi",
                "bt 1",
                "stepi",
                "print $pc == (long)handler",
                "continue",
            ]
        };
        let out = replay_gdb(&r, &[], &cmds("continue"));
        let native = native_gdb(&r.bin, &cmds("run"));
        assert_has(&native, "#0  handler (sig=10)");
        assert_has(&out, "received signal SIGUSR1");
        assert_has(&out, "#0  handler (sig=10)");
        // One instruction into the handler, as natively.
        assert_eq!(values(&out), values(&native), "{}", out.describe());
        assert_has(&out, "on_alt 1 owner_dead 1");
        assert!(!out.stderr_str().contains("diverged"), "{}", out.describe());
    }

    #[test]
    fn thread_n_switches_threads() {
        let r = record("threads");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break work",
                "continue",
                "thread 1",
                "print $_thread",
                "thread 2",
                "print id",
                "print $_thread",
            ],
        );
        assert_has(&out, "[Switching to thread 1 (Thread 1.");
        assert_eq!(
            values(&out),
            vec!["$1 = 1", "$2 = 0", "$3 = 2"],
            "{}",
            out.describe()
        );
    }

    #[test]
    fn watchpoint_fires_for_emulated_read() {
        let r = record("counter");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break main",
                "continue",
                "info sharedlibrary",
                "watch buf[0]",
                "continue",
                "bt 2",
            ],
        );
        // Libraries come through the remote protocol (from the trace's
        // snapshots), and the backtrace goes through libc into main.
        assert_has(&out, "target:/");
        assert_has(&out, "libc.so.6");
        assert_has(&out, "in main () at ");
        assert_has(&out, "Old value = 0 '\\000'");
        // argv[0] is the absolute path of the program.
        assert_has(&out, "New value = 47 '/'");
        assert_has(&out, "read");
    }

    #[test]
    fn stepi_and_registers() {
        let r = record("counter");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break add",
                "continue",
                "print $pc == add",
                "stepi",
                "print $pc == add",
                "print $rdi",
                "info registers xmm0",
            ],
        );
        let v = values(&out);
        assert_eq!(v.len(), 3, "{}", out.describe());
        assert_eq!(v[0], "$1 = 1", "{}", out.describe());
        assert_eq!(v[1], "$2 = 0", "{}", out.describe());
        assert_eq!(v[2], "$3 = 1", "{}", out.describe());
        assert_has(&out, "xmm0");
    }

    #[test]
    fn avx_registers_and_segment_bases() {
        if !has_avx() {
            return;
        }
        let r = record("avx");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break *after_load",
                "continue",
                "print $ymm0.v32_int8",
                "print $fs_base == tp",
                "print $fs_base != 0",
                "print $gs_base",
            ],
        );
        let pattern: Vec<String> = (1..=32).map(|i| i.to_string()).collect();
        assert_eq!(
            values(&out),
            vec![
                format!("$1 = {{{}}}", pattern.join(", ")),
                "$2 = 1".into(),
                "$3 = 1".into(),
                "$4 = 0".into(),
            ],
            "{}",
            out.describe()
        );
    }

    #[test]
    fn thread_local_variables_equal_native() {
        let r = record("threadlong");
        let cmds = |first| {
            vec![
                "break work",
                first,
                "print mine",
                "print &mine == &mine",
                "continue",
                "print mine",
            ]
        };
        let native = native_gdb(&r.bin, &cmds("run"));
        let replay = replay_gdb(&r, &[], &cmds("continue"));
        let want = values(&native);
        assert_eq!(
            want,
            vec!["$1 = 10", "$2 = 1", "$3 = 20"],
            "native gdb:\n{}",
            native.describe()
        );
        assert_eq!(values(&replay), want, "replay:\n{}", replay.describe());
    }

    #[test]
    fn threads_are_listed() {
        let r = record("threads");
        let out = replay_gdb(
            &r,
            &[],
            &["break work", "continue", "info threads", "print id"],
        );
        let text = out.stdout_str();
        let threads = text.lines().filter(|l| l.contains("Thread 1.")).count();
        assert!(threads >= 2, "two threads listed:\n{}", out.describe());
        assert_eq!(values(&out), vec!["$1 = 0"], "{}", out.describe());
    }

    #[test]
    fn end_of_trace_is_end_of_history() {
        let r = record("counter");
        let out = replay_gdb(&r, &[], &["continue", "info threads", "monitor when"]);
        assert_has(&out, "No more reverse-execution history.");
        assert!(
            !out.stdout_str().contains("exited normally"),
            "{}",
            out.describe()
        );
        assert_has(&out, "Current event: ");
    }

    #[test]
    fn monitor_when_and_goto() {
        let r = record("counter");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "monitor when",
                "monitor goto 6",
                "monitor when",
                "monitor goto 3",
                "monitor when",
            ],
        );
        let text = out.stdout_str() + &out.stderr_str();
        let whens: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("Current event:"))
            .collect();
        assert_eq!(
            whens,
            [
                "Current event: 1",
                "Current event: 6",
                "Current event: 6",
                "Current event: 3",
                "Current event: 3"
            ],
            "{}",
            out.describe()
        );
    }

    #[test]
    fn run_restarts_the_replay() {
        let r = record("counter");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break add",
                "continue",
                "continue",
                "print x",
                "run",
                "print x",
                "continue",
                "print x",
            ],
        );
        assert_eq!(
            values(&out),
            vec!["$1 = 2", "$2 = 1", "$3 = 2"],
            "{}",
            out.describe()
        );
    }

    #[test]
    fn goto_starts_at_an_event() {
        let r = record("counter");
        let out = replay_gdb(&r, &["-g", "5"], &["monitor when"]);
        assert_has(&out, "Current event: 5");
    }

    /// The recorded pid of the root and of its first child, from `reel dump`.
    fn pids(r: &Recorded) -> (String, String) {
        let dump = run(r.sb.reel().arg("dump").arg(&r.trace), None).stdout_str();
        let root = dump
            .lines()
            .next()
            .unwrap()
            .split(['[', ']'])
            .nth(1)
            .unwrap();
        let child = dump
            .lines()
            .find(|l| l.contains("clone(") || l.contains("fork("))
            .and_then(|l| l.rsplit("= ").next())
            .unwrap();
        (root.to_string(), child.trim().to_string())
    }

    #[test]
    fn start_at_a_process_exec_or_fork() {
        let r = record("fork");
        let (root, child) = pids(&r);
        let out = replay_gdb(&r, &["-p", &root], &["monitor when"]);
        assert_has(&out, "Current event: 1\n");
        let out = replay_gdb(&r, &["-f", &child], &["monitor when", "bt 1"]);
        assert_has(&out, "fork");
        assert!(
            !out.stdout_str().contains("Current event: 1\n"),
            "{}",
            out.describe()
        );
    }

    #[test]
    fn dash_p_puts_gdb_in_that_process() {
        // The processes of a tree are threads of one inferior to gdb
        // (gdbstub 0.7 reports one process): `-p PID` chooses one.
        let r = record("execchild");
        let (_, child) = pids(&r);
        let out = replay_gdb(
            &r,
            &["-p", &child],
            &[
                "info threads",
                "break work",
                "continue",
                "print id",
                "info threads",
            ],
        );
        let text = out.stdout_str();
        let focused: Vec<&str> = text.lines().filter(|l| l.starts_with('*')).collect();
        assert_eq!(focused.len(), 2, "{}", out.describe());
        for l in focused {
            assert!(
                l.contains(&format!("Thread 1.{child} ")),
                "gdb is in process {child}:\n{}",
                out.describe()
            );
        }
        // The child's own call (its parent's comes after it ended).
        assert_eq!(values(&out), vec!["$1 = 1"], "{}", out.describe());
    }

    #[test]
    fn serve_only_and_connect() {
        use std::io::BufRead;
        let r = record("counter");
        let mut server =
            r.sb.reel()
                .args(["replay", "-s", "0"])
                .arg(&r.trace)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
        // Wait for the line that says how to connect (port 0: any free one).
        let mut lines = std::io::BufReader::new(server.stderr.take().unwrap()).lines();
        let connect = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| {
                l.split_once("-ex '")
                    .map(|(_, c)| c.trim_end_matches('\'').to_string())
            })
            .expect("reel prints the command to connect");
        assert!(
            connect.starts_with("target extended-remote 127.0.0.1:"),
            "{connect}"
        );
        let out = run(
            Command::new("gdb").args(ex_args(&[&connect, "break add", "continue", "print x"])),
            None,
        );
        assert_eq!(values(&out), vec!["$1 = 1"], "{}", out.describe());
        let status = server.wait().unwrap();
        assert!(status.success(), "reel -s exited with {status}");
    }

    #[test]
    fn mi_reports_stopped_records() {
        let r = record("counter");
        let mut c = r.sb.reel();
        c.arg("replay").arg(&r.trace).arg("--").args([
            "-i=mi",
            "-batch",
            "-nx",
            "-ex",
            "break add",
            "-ex",
            "continue",
        ]);
        let out = run(&mut c, None);
        assert_has(&out, "*stopped,reason=\"breakpoint-hit\"");
    }

    #[test]
    fn writes_are_refused_and_change_nothing() {
        let r = record("counter");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break add",
                "continue",
                "set var total = 1000",
                // A call writes registers and the stack: refused too.
                "print add(5)",
                "continue",
                "print total",
            ],
        );
        assert_has(&out, "the replay is read-only");
        // total after add(1) is 1: neither the write nor the call happened.
        assert_eq!(values(&out), vec!["$1 = 1"], "{}", out.describe());
    }
}

mod divergence {
    use super::*;

    /// Changes `read(fd, buf, 15)` into `read(fd, buf, 14)` in the trace's
    /// snapshot of the program (a new file renamed over it: the snapshot
    /// may be a hard link to the compiled binary).
    fn damage_read_length(r: &Recorded) {
        let bin = std::fs::read(&r.bin).unwrap();
        let files = r.trace.join("files");
        let snap = std::fs::read_dir(&files)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| std::fs::read(p).map(|b| b == bin).unwrap_or(false))
            .expect("the trace has a snapshot of the program");
        // mov $0xf,%edx; lea ...(%rip),%rsi
        let pat = [0xba, 0x0f, 0, 0, 0, 0x48, 0x8d, 0x35];
        let at = bin
            .windows(pat.len())
            .position(|w| w == pat)
            .expect("read's length in the code");
        let mut changed = bin.clone();
        changed[at + 1] = 0x0e;
        let tmp = files.join("damaged");
        std::fs::write(&tmp, &changed).unwrap();
        std::fs::rename(&tmp, &snap).unwrap();
    }

    #[test]
    fn divergence_is_reported_and_ends_the_history() {
        let r = record("counter");
        damage_read_length(&r);
        let out = replay_gdb(&r, &[], &["continue", "continue", "monitor when"]);
        assert_has(&out, "diverged at event");
        assert_has(&out, "the replay stops here");
        assert_has(&out, "No more reverse-execution history.");
        assert!(
            !out.stdout_str().contains("EXIT-SUCCESS"),
            "the replay went on:\n{}",
            out.describe()
        );
    }
}

mod bad_input {
    use super::*;

    fn assert_one_line(out: &Output, needle: &str) {
        assert_eq!(out.status, 125, "{}", out.describe());
        let err = out.stderr_str();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "one line:\n{}", out.describe());
        assert!(
            lines[0].starts_with("reel: ") && lines[0].contains(needle),
            "{}",
            out.describe()
        );
    }

    #[test]
    fn event_beyond_the_trace() {
        let r = record("counter");
        let out = run(
            r.sb.reel()
                .args(["replay", "-g", "999999"])
                .arg(&r.trace)
                .args(["--", "-batch"]),
            None,
        );
        assert_one_line(&out, "beyond the end of the trace");
        let out = run(
            r.sb.reel()
                .args(["replay", "-g", "0"])
                .arg(&r.trace)
                .args(["--", "-batch"]),
            None,
        );
        assert_one_line(&out, "bad event number 0");
    }

    #[test]
    fn no_such_process() {
        let r = record("counter");
        let out = run(
            r.sb.reel()
                .args(["replay", "-p", "999999"])
                .arg(&r.trace)
                .args(["--", "-batch"]),
            None,
        );
        assert_one_line(&out, "the trace has no exec of process 999999");
    }

    #[test]
    fn port_in_use() {
        let r = record("counter");
        let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = taken.local_addr().unwrap().port().to_string();
        let out = run(
            r.sb.reel().args(["replay", "-s", &port]).arg(&r.trace),
            None,
        );
        assert_one_line(&out, &format!("cannot listen on port {port}"));
    }

    #[test]
    fn bad_monitor_commands_say_so_in_one_line() {
        let r = record("counter");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "monitor goto 0",
                "monitor goto abc",
                "monitor restart 3",
                "monitor frob",
                "monitor when",
            ],
        );
        for needle in [
            "reel: bad event number \"0\"",
            "reel: bad event number \"abc\"",
            "reel: no checkpoint \"3\"",
            "reel: unknown monitor command \"frob\"",
            // Nothing moved.
            "Current event: 1\n",
        ] {
            assert_has(&out, needle);
        }
    }

    #[test]
    fn reel_exits_with_gdbs_status() {
        let r = record("counter");
        let out = replay_gdb(&r, &[], &["quit 3"]);
        assert_eq!(out.status, 3, "{}", out.describe());
    }

    #[test]
    fn gdb_missing() {
        let r = record("counter");
        let empty = r.sb.path().join("empty-path");
        std::fs::create_dir_all(&empty).unwrap();
        let out = run(
            r.sb.reel()
                .env("PATH", &empty)
                .arg("replay")
                .arg(&r.trace)
                .args(["--", "-batch"]),
            None,
        );
        assert_one_line(&out, "gdb is not installed");
    }
}
