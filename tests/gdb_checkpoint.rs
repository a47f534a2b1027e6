//! What a checkpoint must carry beyond a fork's copy, under the real gdb:
//! shared memory (a fork shares it with the live replay, so its contents
//! are copied) and the per-thread kernel state of threads recreated at a
//! restore (alternate signal stack, robust futex list). Each test goes
//! back from a checkpoint (not from the start of the trace) and checks
//! the state, or that the replay goes on to the end without diverging.

mod common;

use common::gdb::*;
use common::*;

/// The event of `Last re-run started at event N` lines.
fn rerun_origins(out: &Output) -> Vec<u64> {
    out.stdout_str()
        .lines()
        .chain(out.stderr_str().lines())
        .filter_map(|l| l.strip_prefix("Last re-run started at event "))
        .filter_map(|n| n.trim().parse().ok())
        .collect()
}

#[test]
fn shared_memory_is_restored_from_a_checkpoint() {
    let r = record("sharedlong");
    let out = replay_gdb(
        &r,
        &[],
        &[
            "break add",
            "continue",
            "continue 500",
            "print x",
            "print anon[0]",
            "print mapped[0]",
            "reverse-continue",
            "print x",
            "print anon[0]",
            "print mapped[0]",
            "monitor checkpoints",
            "delete",
            "continue",
        ],
    );
    // At add(501), then back at add(500): the totals of 1..500 and 1..499
    // (the file's ten times the anonymous one).
    assert_eq!(
        values(&out),
        vec![
            "$1 = 501",
            "$2 = 125250",
            "$3 = 1252500",
            "$4 = 500",
            "$5 = 124750",
            "$6 = 1247500",
        ],
        "{}",
        out.describe()
    );
    // From a checkpoint holding copies of both, not from the start.
    let origins = rerun_origins(&out);
    assert_eq!(origins.len(), 1, "{}", out.describe());
    assert!(origins[0] >= 100, "{}", out.describe());
    assert!(
        !out.stdout_str()
            .contains("Checkpoint shared memory copied: 0 KiB"),
        "{}",
        out.describe()
    );
    // And on to the end from there.
    assert_has(&out, "anon 180300 mapped 1803000");
    assert!(!out.stderr_str().contains("diverged"), "{}", out.describe());
}

#[test]
fn recreated_threads_get_their_signal_stack_and_robust_list() {
    let r = record("threadstate");
    let out = replay_gdb(
        &r,
        &[],
        &[
            "break mark",
            "continue",
            "stepi",
            // Back to before the call (mark() has one instruction before
            // its write): from a checkpoint with both threads, the other
            // one recreated.
            "reverse-stepi",
            "reverse-stepi",
            "print marked",
            "monitor checkpoints",
            "delete",
            // The signal (gdb stops for SIGUSR1), then the end.
            "continue",
            "continue",
        ],
    );
    assert_eq!(values(&out), vec!["$1 = 0"], "{}", out.describe());
    let origins = rerun_origins(&out);
    assert_eq!(origins.len(), 1, "{}", out.describe());
    assert!(origins[0] >= 100, "{}", out.describe());
    assert_has(&out, "(checkpoints of up to 1 processes, 2 threads)");
    // gdb names the signal as the program knows it.
    assert_has(&out, "received signal SIGUSR1");
    // The handler ran on the alternate stack and the main thread found
    // the mutex owner-died: without them the replay diverges.
    assert_has(&out, "on_alt 1 owner_dead 1");
    assert!(!out.stderr_str().contains("diverged"), "{}", out.describe());
}
