//! `reel replay` under the real gdb, going backwards: reverse-continue to
//! the previous hit, also across threads, across a fork and from the end
//! of the trace, from checkpoints (window by window, of threads and of
//! process trees); watchpoints in reverse; reverse-step/finish;
//! reverse-next over calls; reverse-stepi undoes 1000 stepi. (Forwards:
//! `tests/gdb.rs`.)

mod common;

use common::gdb::*;
use common::*;

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
    fn reverse_next_steps_back_over_calls() {
        let r = record("counter");
        let out = replay_gdb(
            &r,
            &[],
            &[
                "break counter.c:21",
                "continue",
                "delete",
                "print (int)buf[0]",
                // Back over read(), whose emulated call filled buf.
                "reverse-next",
                "print (int)buf[0]",
                "next",
                "print (int)buf[0]",
            ],
        );
        // The program's path starts with '/'.
        assert_eq!(
            values(&out),
            vec!["$1 = 47", "$2 = 0", "$3 = 47"],
            "{}",
            out.describe()
        );
        assert_has(&out, "\n20\t");
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
        const N: usize = 1000;
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
