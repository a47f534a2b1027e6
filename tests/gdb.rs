//! `reel replay` under the real gdb, in batch mode, against replays of the
//! small programs of `tests/programs/gdb/` (built with `-g`).
//!
//! - `programs::*`: each program also passes the record/replay check.
//! - `forward::*`: breakpoint hits and values equal a native gdb session;
//!   a watchpoint fires for the kernel's write of an emulated `read()`;
//!   stepi; threads; the end of the trace; `monitor when`/`goto`; `run`
//!   restarts; gdb/MI; writes refused.
//! - `reverse::*`: reverse-continue to the previous hit, also across
//!   threads, across a fork and from the end of the trace; watchpoints in
//!   reverse; reverse-step/finish; reverse-stepi undoes stepi.
//! - `divergence::*`: a replay that diverges says so and ends the history.
//! - `bad_input::*`: a bad event number, a port in use, gdb missing.

mod common;

use common::case::*;
use common::*;
use std::path::PathBuf;
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
            "threadlong",
            "threads",
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

/// A program compiled, and recorded into a sandbox.
struct Recorded {
    sb: Sandbox,
    trace: PathBuf,
    bin: String,
    _prog: Compiled,
}

fn record(name: &str) -> Recorded {
    let prog = compile_program(&format!("gdb/{name}"));
    let sb = Sandbox::new(&format!("gdb-{name}"));
    let trace = sb.path().join("trace");
    let out = sb.record(&trace, false, &prog.argv, None);
    assert_eq!(out.status, 0, "record failed:\n{}", out.describe());
    Recorded {
        sb,
        bin: prog.argv[0].clone(),
        trace,
        _prog: prog,
    }
}

fn ex_args(cmds: &[&str]) -> Vec<String> {
    let mut v = vec!["-batch".to_string(), "-nx".to_string()];
    for c in cmds {
        v.push("-ex".into());
        v.push(c.to_string());
    }
    v
}

/// `reel replay TRACE -- -batch -nx -ex CMD...`.
fn replay_gdb(r: &Recorded, extra: &[&str], cmds: &[&str]) -> Output {
    let mut c = r.sb.reel();
    c.arg("replay").args(extra).arg(&r.trace).arg("--");
    c.args(ex_args(cmds));
    run(&mut c, None)
}

/// The same commands in a native gdb session of the program.
fn native_gdb(bin: &str, cmds: &[&str]) -> Output {
    let mut c = Command::new("gdb");
    c.args(ex_args(cmds)).arg(bin);
    run(&mut c, None)
}

/// gdb's value lines (`$1 = 3`).
fn values(out: &Output) -> Vec<String> {
    out.stdout_str()
        .lines()
        .filter(|l| l.starts_with('$'))
        .map(str::to_string)
        .collect()
}

fn assert_has(out: &Output, needle: &str) {
    assert!(
        out.stdout_str().contains(needle) || out.stderr_str().contains(needle),
        "expected {needle:?} in gdb's output:\n{}",
        out.describe()
    );
}

/// Whether this CPU has AVX (the AVX tests need it).
fn has_avx() -> bool {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let avx = info.split_whitespace().any(|w| w == "avx");
    if !avx {
        eprintln!("no AVX on this CPU: skipped");
    }
    avx
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

mod reverse {
    use super::*;

    /// The event of `Last re-run started at event N` lines.
    fn rerun_origins(out: &Output) -> Vec<u64> {
        out.stdout_str()
            .lines()
            .chain(out.stderr_str().lines())
            .filter_map(|l| l.strip_prefix("Last re-run started at event "))
            .filter_map(|n| n.trim().parse().ok())
            .collect::<Vec<u64>>()
    }

    #[test]
    fn reverse_on_a_long_trace_starts_from_a_checkpoint() {
        let r = record("long");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break add",
                "continue",
                "continue 1500",
                "print x",
                "reverse-continue",
                "print x",
                "print total",
                "monitor checkpoints",
                "reverse-stepi",
                "stepi",
                "print x",
                "print total",
                "monitor checkpoints",
                "monitor checkpoint",
                "reverse-continue",
                "print x",
                "monitor restart 1",
                "flushregs",
                "print x",
            ],
        );
        let v = values(&out);
        assert_eq!(
            v,
            vec![
                "$1 = 1501",
                "$2 = 1500",
                "$3 = 1124250",
                "$4 = 1500",
                "$5 = 1124250",
                "$6 = 1499",
                "$7 = 1500",
            ],
            "{}",
            out.describe()
        );
        // Both re-runs began at a checkpoint far from the trace's start.
        let origins = rerun_origins(&out);
        assert_eq!(origins.len(), 2, "{}", out.describe());
        assert!(origins.iter().all(|&o| o > 1000), "{}", out.describe());
    }

    /// `(events, from)` of `Last move back replayed N events, from event
    /// K at the earliest` lines.
    fn reruns(out: &Output) -> Vec<(u64, u64)> {
        out.stdout_str()
            .lines()
            .chain(out.stderr_str().lines())
            .filter_map(|l| l.strip_prefix("Last move back replayed "))
            .filter_map(|l| {
                let (n, rest) = l.split_once(" events, from event ")?;
                let k = rest.split_whitespace().next()?;
                Some((n.parse().ok()?, k.parse().ok()?))
            })
            .collect()
    }

    #[test]
    fn reverse_continue_replays_only_the_windows_behind_here() {
        let r = record("long");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break add",
                "continue",
                "continue 1700",
                "print x",
                "reverse-continue",
                "print x",
                "print total",
                "monitor checkpoints",
                "delete",
                "break milestone",
                // 500 rounds back: several windows, none from the start.
                "reverse-continue",
                "print x",
                "print total",
                "monitor checkpoints",
            ],
        );
        let native = native_gdb(
            &r.bin,
            &["break milestone", "run", "print x", "print total"],
        );
        let mut want = vec![
            "$1 = 1701".to_string(),
            "$2 = 1700".into(),
            "$3 = 1444150".into(),
        ];
        let nv = values(&native);
        assert_eq!(nv.len(), 2, "native gdb:\n{}", native.describe());
        want.extend(
            nv.iter()
                .map(|v| v.replacen("$1", "$4", 1).replacen("$2", "$5", 1)),
        );
        assert_eq!(values(&out), want, "{}", out.describe());
        let runs = reruns(&out);
        assert_eq!(runs.len(), 2, "{}", out.describe());
        // The trace has ~2000 events: a window near here, then the few
        // windows back to round 1200, never a re-run from the start.
        let (near, far) = (runs[0], runs[1]);
        assert!(
            near.1 > 1500 && near.0 < 300,
            "{near:?}\n{}",
            out.describe()
        );
        assert!(far.1 > 1000 && far.0 < 1000, "{far:?}\n{}", out.describe());
    }

    /// `(P, T)` of `(checkpoints of up to P processes, T threads)` lines.
    fn rerun_processes(out: &Output) -> Vec<(u64, u64)> {
        out.stdout_str()
            .lines()
            .chain(out.stderr_str().lines())
            .filter_map(|l| l.split_once("(checkpoints of up to "))
            .filter_map(|(_, r)| {
                let w: Vec<&str> = r.split_whitespace().collect();
                Some((w.first()?.parse().ok()?, w.get(2)?.parse().ok()?))
            })
            .collect()
    }

    #[test]
    fn reverse_continue_across_a_fork_starts_from_a_checkpoint() {
        let r = record("forklong");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break work",
                "continue",
                "continue",
                "print id",
                "reverse-continue",
                "print id",
                "print result",
                "monitor checkpoints",
            ],
        );
        // The child's call, then its parent's; back to the child's, in
        // the child's memory (result not yet written there).
        assert_eq!(
            values(&out),
            vec!["$1 = 2", "$2 = 1", "$3 = 0"],
            "{}",
            out.describe()
        );
        // Not from the start: from a checkpoint of both processes, taken
        // while the child made its calls.
        let runs = reruns(&out);
        assert_eq!(runs.len(), 1, "{}", out.describe());
        assert!(runs[0].1 >= 100, "{:?}\n{}", runs[0], out.describe());
        assert_eq!(rerun_processes(&out), vec![(2, 2)], "{}", out.describe());
    }

    #[test]
    fn reverse_continue_across_threads_starts_from_a_checkpoint() {
        let r = record("threadlong");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break work",
                "continue",
                "continue",
                "print id",
                "reverse-continue",
                "print id",
                "print result",
                "monitor checkpoints",
                // On from the recreated threads: the join completes.
                "continue",
                "print id",
                "continue",
            ],
        );
        assert_eq!(
            values(&out),
            vec!["$1 = 2", "$2 = 1", "$3 = 0", "$4 = 2"],
            "{}",
            out.describe()
        );
        assert_has(&out, "thread 107, result 207");
        // From a checkpoint of the process with both of its threads.
        let runs = reruns(&out);
        assert_eq!(runs.len(), 1, "{}", out.describe());
        assert!(runs[0].1 >= 100, "{:?}\n{}", runs[0], out.describe());
        assert_eq!(rerun_processes(&out), vec![(1, 2)], "{}", out.describe());
    }

    #[test]
    fn reverse_continue_to_previous_hit() {
        let r = record("counter");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break add",
                "continue",
                "continue",
                "continue",
                "print x",
                "reverse-continue",
                "print x",
                "reverse-continue",
                "print x",
                "reverse-continue",
            ],
        );
        let v = values(&out);
        assert_eq!(v, vec!["$1 = 3", "$2 = 2", "$3 = 1"], "{}", out.describe());
        assert_has(&out, "No more reverse-execution history.");
    }

    #[test]
    fn reverse_from_the_end_of_trace() {
        let r = record("counter");
        let out = replay_gdb(
            &r,
            &[],
            &["continue", "break add", "reverse-continue", "print x"],
        );
        assert_eq!(values(&out), vec!["$1 = 10"], "{}", out.describe());
    }

    #[test]
    fn reverse_continue_across_threads() {
        let r = record("threads");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break work",
                "continue",
                "continue",
                "print id",
                "reverse-continue",
                "print id",
            ],
        );
        assert_eq!(values(&out), vec!["$1 = 1", "$2 = 0"], "{}", out.describe());
    }

    #[test]
    fn watchpoint_in_reverse_stops_at_the_last_write() {
        let r = record("counter");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break main",
                "continue",
                "watch total",
                "continue",
                "continue",
                "continue",
                "reverse-continue",
                "print total",
                "print x",
            ],
        );
        // total goes 0, 1, 5, 14: back from 14, before add(3)'s write.
        assert_has(&out, "Old value = 14\nNew value = 5");
        assert_eq!(values(&out), vec!["$1 = 5", "$2 = 3"], "{}", out.describe());
    }

    #[test]
    fn watchpoint_set_at_a_breakpoint_then_reverse() {
        // Line 14 (`return total;`) starts right after the write to total:
        // the watch, set only now, traps where the breakpoint was hit.
        let r = record("counter");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break counter.c:14",
                "continue",
                "continue",
                "watch total",
                "reverse-continue",
                "print total",
                "print x",
            ],
        );
        assert_has(&out, "Old value = 5\nNew value = 1");
        assert_eq!(values(&out), vec!["$1 = 1", "$2 = 2"], "{}", out.describe());
    }

    #[test]
    fn watchpoint_in_reverse_stops_at_the_read() {
        let r = record("counter");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break main",
                "continue",
                "watch buf[0]",
                "continue",
                "reverse-continue",
                // In read()'s frame `buf` is its parameter.
                "up",
                "print (int)buf[0]",
                "reverse-continue",
            ],
        );
        assert_has(&out, "New value = 0 '\\000'");
        assert_eq!(values(&out), vec!["$1 = 0"], "{}", out.describe());
        // Then further back: the breakpoint at main.
        assert_has(&out, "Breakpoint 1, main ()");
    }

    #[test]
    fn reverse_step_and_finish_out_of_a_function() {
        let r = record("counter");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break add",
                "continue",
                "continue",
                "delete",
                "next",
                "reverse-step",
                "print x",
                "reverse-finish",
                "bt 1",
            ],
        );
        assert_eq!(values(&out), vec!["$1 = 2"], "{}", out.describe());
        assert_has(&out, "#0  0x");
        assert_has(&out, "in main () at ");
    }

    #[test]
    fn reverse_continue_across_a_fork() {
        let r = record("fork");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break work",
                "continue",
                "continue",
                "print id",
                "reverse-continue",
                "print id",
                "print result",
            ],
        );
        // The child's call, then its parent's; back to the child's, in
        // the child's memory (result not yet written there).
        assert_eq!(
            values(&out),
            vec!["$1 = 2", "$2 = 1", "$3 = 0"],
            "{}",
            out.describe()
        );
    }

    #[test]
    fn reverse_stepi_undoes_stepi() {
        const N: usize = 100;
        let r = record("counter");
        let state = "printf \"STATE %lx %lx %lx %lx %lx\\n\", $pc, $sp, $rax, $rdi, $eflags";
        let mut cmds = vec!["break add", "continue", "delete"];
        for _ in 0..N {
            cmds.extend([state, "stepi"]);
        }
        cmds.push(state);
        for _ in 0..N {
            cmds.extend(["reverse-stepi", state]);
        }
        // A command file: this many -ex arguments are not all run.
        let script = r.sb.path().join("steps.gdb");
        std::fs::write(&script, cmds.join("\n") + "\n").unwrap();
        let script = script.to_string_lossy().into_owned();
        let mut c = r.sb.reel();
        c.arg("replay")
            .arg(&r.trace)
            .args(["--", "-batch", "-nx", "-x", &script]);
        let out = run(&mut c, None);
        let states: Vec<String> = out
            .stdout_str()
            .lines()
            // gdb's stdout and stderr may share a line.
            .filter_map(|l| l.find("STATE ").map(|i| l[i..].to_string()))
            .collect();
        // (The command line is long: show only what gdb said.)
        let said = || format!("{}\n{}", tail(&out.stdout, 40), tail(&out.stderr, 20));
        assert_eq!(states.len(), 2 * N + 1, "{}", said());
        let forward = &states[..=N];
        let mut back: Vec<String> = states[N + 1..].to_vec();
        back.reverse();
        assert_eq!(&forward[..N], &back[..], "{}", said());
        // And it went somewhere: not all steps stayed at one instruction.
        assert_ne!(forward[0], forward[N], "{}", said());
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
