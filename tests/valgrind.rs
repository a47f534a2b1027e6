//! `reel replay --valgrind` (issue 14): the recorded program runs under the
//! installed valgrind, which analyses the recorded execution.
//!
//! Each test compiles a program of `tests/programs/valgrind/`, records it,
//! and replays it under a valgrind tool. Skipped, with a printed reason,
//! when valgrind is not installed (`.ci/run` installs it).

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn have_valgrind() -> bool {
    let ok = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping: valgrind is not installed");
    }
    ok
}

fn program(name: &str, sb: &Sandbox) -> PathBuf {
    let src = case::programs_dir().join(format!("valgrind/{name}.c"));
    let bins = sb.path().join("bin");
    std::fs::create_dir_all(&bins).unwrap();
    let out = run(
        Command::new("cc")
            .args(["-std=gnu11", "-O1", "-g", "-Wall", "-pthread", "-o"])
            .arg(bins.join(name))
            .arg(&src),
        None,
    );
    assert_eq!(out.status, 0, "compiling {name}:\n{}", out.describe());
    bins.join(name)
}

fn record(sb: &Sandbox, trace: &Path, argv: &[&Path]) -> Output {
    let argv: Vec<String> = argv
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let rec = sb.record(trace, false, &argv, None);
    assert_eq!(rec.status, 0, "recording:\n{}", rec.describe());
    rec
}

fn replay_vg(sb: &Sandbox, trace: &Path, tool: &str, vg_args: &[&str]) -> Output {
    run(
        sb.reel()
            .arg("replay")
            .arg(format!("--valgrind={tool}"))
            .arg(trace)
            .arg("--")
            .args(vg_args),
        None,
    )
}

/// The replay under valgrind printed what the recording printed and
/// exited 0.
fn assert_same_run(out: &Output, rec: &Output) {
    assert_eq!(
        (out.status, out.stdout_str()),
        (0, rec.stdout_str()),
        "{}",
        out.describe()
    );
}

/// valgrind's report (the replay's stderr) holds each of `lines`.
fn assert_reported(out: &Output, lines: &[&str]) {
    let err = out.stderr_str();
    for line in lines {
        assert!(err.contains(line), "no {line:?} in:\n{}", out.describe());
    }
}

/// The lines reel itself printed (valgrind's own start with `==` or `--`).
fn reel_lines(out: &Output) -> Vec<String> {
    out.stderr_str()
        .lines()
        .filter(|l| l.starts_with("reel:"))
        .map(str::to_string)
        .collect()
}

/// `I   refs:      12,931,248` from cachegrind's summary.
fn i_refs(out: &Output) -> u64 {
    let line = out
        .stderr_str()
        .lines()
        .find(|l| l.contains("I   refs:") || l.contains("I refs:"))
        .unwrap_or_else(|| panic!("no I refs line:\n{}", out.describe()))
        .to_string();
    let digits: String = line
        .rsplit(':')
        .next()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

#[test]
fn memcheck_reports_the_overrun_after_the_input_is_deleted() {
    if !have_valgrind() {
        return;
    }
    let sb = Sandbox::new("vg-memcheck");
    let prog = program("overrun", &sb);
    let input = sb.path().join("input.txt");
    std::fs::write(&input, "first\noverrun\nlast\n").unwrap();
    let trace = sb.path().join("t-overrun");
    let rec = record(&sb, &trace, &[&prog, &input]);
    std::fs::remove_file(&input).unwrap();
    let out = replay_vg(&sb, &trace, "memcheck", &[]);
    assert_same_run(&out, &rec);
    assert_reported(
        &out,
        &[
            "Invalid read of size 4",
            "sum_past_end (overrun.c:",
            "main (overrun.c:",
        ],
    );

    // Without the line, the same program reads within bounds: the report
    // comes from the recorded input, not from the program alone.
    std::fs::write(&input, "first\nlast\n").unwrap();
    let trace = sb.path().join("t-clean");
    let rec = record(&sb, &trace, &[&prog, &input]);
    std::fs::remove_file(&input).unwrap();
    let out = replay_vg(&sb, &trace, "memcheck", &[]);
    assert_same_run(&out, &rec);
    assert!(
        !out.stderr_str().contains("Invalid read"),
        "{}",
        out.describe()
    );
}

#[test]
fn cachegrind_counts_the_same_instructions_as_a_native_run() {
    if !have_valgrind() {
        return;
    }
    let sb = Sandbox::new("vg-cachegrind");
    let prog = program("compute", &sb);
    let input = sb.path().join("n.txt");
    std::fs::write(&input, "200000\n").unwrap();
    let trace = sb.path().join("t-compute");
    let rec = record(&sb, &trace, &[&prog, &input]);
    let mut counts = Vec::new();
    for i in 0..2 {
        let out_file = format!(
            "--cachegrind-out-file={}",
            sb.path().join(format!("cg.{i}")).display()
        );
        let out = replay_vg(&sb, &trace, "cachegrind", &["--cache-sim=no", &out_file]);
        assert_same_run(&out, &rec);
        counts.push(i_refs(&out));
    }
    assert_eq!(
        counts[0], counts[1],
        "two replays under cachegrind counted differently"
    );
    let native = run(
        Command::new("valgrind")
            .args(["--tool=cachegrind", "--cache-sim=no"])
            .arg(format!(
                "--cachegrind-out-file={}",
                sb.path().join("cg.native").display()
            ))
            .arg(&prog)
            .arg(&input),
        None,
    );
    assert_eq!(native.status, 0, "{}", native.describe());
    let n = i_refs(&native);
    let diff = (counts[0] as f64 - n as f64).abs() / n as f64;
    eprintln!(
        "I refs: replay {} native {n} ({:.3}% apart)",
        counts[0],
        diff * 100.0
    );
    assert!(diff < 0.01, "replay {} vs native {n} I refs", counts[0]);
}

#[test]
fn the_program_sees_the_recorded_pid_clock_and_random_bytes() {
    if !have_valgrind() {
        return;
    }
    let sb = Sandbox::new("vg-served");
    let prog = program("served", &sb);
    let trace = sb.path().join("t-served");
    let rec = record(&sb, &trace, &[&prog]);
    for tool in ["none", "memcheck"] {
        let out = replay_vg(&sb, &trace, tool, &[]);
        assert_same_run(&out, &rec);
        assert!(reel_lines(&out).is_empty(), "{}", out.describe());
    }
}

#[test]
fn an_installed_program_lists_a_deleted_directory_as_recorded() {
    if !have_valgrind() {
        return;
    }
    let sb = Sandbox::new("vg-ls");
    let dir = sb.path().join("listed");
    std::fs::create_dir(&dir).unwrap();
    for f in ["alpha", "beta", "gamma"] {
        std::fs::write(dir.join(f), f).unwrap();
    }
    let trace = sb.path().join("t-ls");
    let rec = record(&sb, &trace, &[Path::new("/bin/ls"), Path::new("-l"), &dir]);
    std::fs::remove_dir_all(&dir).unwrap();
    let out = replay_vg(&sb, &trace, "none", &[]);
    assert_same_run(&out, &rec);
    assert!(rec.stdout_str().contains("gamma"), "{}", rec.describe());
}

#[test]
fn threads_run_in_the_recorded_order_under_memcheck() {
    if !have_valgrind() {
        return;
    }
    let sb = Sandbox::new("vg-turns");
    let prog = program("turns", &sb);
    let trace = sb.path().join("t-turns");
    let rec = record(&sb, &trace, &[&prog]);
    // The shared number shows the order of the threads' turns.
    assert!(
        rec.stdout_str().contains("step 2: 886"),
        "{}",
        rec.describe()
    );
    let out = replay_vg(&sb, &trace, "memcheck", &[]);
    assert_same_run(&out, &rec);
    assert!(reel_lines(&out).is_empty(), "{}", out.describe());
    assert_reported(&out, &["Invalid read of size 1", "worker (turns.c:"]);
}

#[test]
fn dash_p_runs_the_second_process_of_a_tree_under_memcheck() {
    if !have_valgrind() {
        return;
    }
    let sb = Sandbox::new("vg-tree");
    let spawn = program("spawn", &sb);
    let prog = program("overrun", &sb);
    let input = sb.path().join("input.txt");
    std::fs::write(&input, "first\noverrun\nlast\n").unwrap();
    let trace = sb.path().join("t-tree");
    let rec = record(&sb, &trace, &[&spawn, &prog, &input]);
    std::fs::remove_file(&input).unwrap();
    let ps = run(sb.reel().arg("ps").arg(&trace), None);
    assert_eq!(ps.status, 0, "{}", ps.describe());
    let child = ps
        .stdout_str()
        .lines()
        .skip(1)
        .find(|l| l.split_whitespace().nth(1).is_some_and(|ppid| ppid != "-"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no child in:\n{}", ps.describe()))
        .to_string();
    let out = run(
        sb.reel()
            .args(["replay", "--valgrind=memcheck", "-p", &child])
            .arg(&trace),
        None,
    );
    // The child's own output and status; the parent does not run.
    assert_eq!(out.status, 0, "{}", out.describe());
    assert!(
        rec.stdout_str().contains(&out.stdout_str()) && out.stdout_str().contains("overruns 1"),
        "{}",
        out.describe()
    );
    assert!(reel_lines(&out).is_empty(), "{}", out.describe());
    assert_reported(
        &out,
        &["Invalid read of size 4", "sum_past_end (overrun.c:"],
    );
}

#[test]
fn helgrind_reports_the_race_of_two_threads() {
    if !have_valgrind() {
        return;
    }
    let sb = Sandbox::new("vg-racy");
    let prog = program("racy", &sb);
    let trace = sb.path().join("t-racy");
    let rec = record(&sb, &trace, &[&prog]);
    let out = replay_vg(&sb, &trace, "helgrind", &[]);
    assert_same_run(&out, &rec);
    assert!(reel_lines(&out).is_empty(), "{}", out.describe());
    assert_reported(
        &out,
        &["Possible data race", "work (racy.c:", "main (racy.c:"],
    );
}

#[test]
fn threads_and_process_trees_are_refused_naming_the_event() {
    if !have_valgrind() {
        return;
    }
    let sb = Sandbox::new("vg-refused");
    for (name, tool) in [
        ("race", "drd"),
        ("forks", "helgrind"),
        ("signal", "helgrind"),
    ] {
        let prog = program(name, &sb);
        let trace = sb.path().join(format!("t-{name}"));
        record(&sb, &trace, &[&prog]);
        let out = replay_vg(&sb, &trace, tool, &[]);
        let lines = reel_lines(&out);
        assert_eq!(out.status, 125, "{}", out.describe());
        assert_eq!(lines.len(), 1, "{}", out.describe());
        assert!(
            lines[0].starts_with("reel: --valgrind: event ")
                && (lines[0].contains("do not run under valgrind yet")
                    || lines[0].contains("do not replay under valgrind yet")
                    // A loaded machine may preempt the racing threads.
                    || lines[0].contains("does not replay under valgrind")),
            "{}",
            out.describe()
        );
        assert!(out.stdout.is_empty(), "{}", out.describe());
    }
}

#[test]
fn a_call_that_differs_from_the_recording_is_a_divergence() {
    if !have_valgrind() {
        return;
    }
    let sb = Sandbox::new("vg-diverge");
    let prog = program("served", &sb);
    let trace = sb.path().join("t-served");
    record(&sb, &trace, &[&prog]);
    // The recording now says the program asked for 4 random bytes, not 8.
    let edited = sb.path().join("t-edited");
    let mut number = 0;
    edit::rewrite_trace(&trace, &edited, |r| {
        if let reel_trace::Event::Syscall(s) = &mut r.event {
            if s.nr == SYS_GETRANDOM && s.args[1] == 8 && number == 0 {
                s.args[1] = 4;
                number = r.number;
            }
        }
    });
    assert_ne!(number, 0, "no getrandom in the trace");
    let out = replay_vg(&sb, &edited, "none", &[]);
    assert_eq!(out.status, 125, "{}", out.describe());
    let lines = reel_lines(&out);
    assert_eq!(lines.len(), 1, "{}", out.describe());
    assert!(
        lines[0].starts_with(&format!(
            "reel: replay under valgrind diverged at event {number} "
        )) && lines[0].contains("argument 2 differs"),
        "{}",
        out.describe()
    );
    assert!(out.stdout.is_empty(), "{}", out.describe());
    // -p names a process the trace does not run first.
    let out = run(
        sb.reel()
            .args(["replay", "--valgrind", "-p", "1"])
            .arg(&trace),
        None,
    );
    assert_eq!(out.status, 125, "{}", out.describe());
    assert!(
        out.stderr_str().contains("process 1 execs no program"),
        "{}",
        out.describe()
    );
}

/// getrandom's x86-64 syscall number.
const SYS_GETRANDOM: u64 = 318;

#[test]
fn bad_input_gets_one_line() {
    if !have_valgrind() {
        return;
    }
    let sb = Sandbox::new("vg-bad");
    let prog = program("served", &sb);
    let trace = sb.path().join("t-served");
    record(&sb, &trace, &[&prog]);
    let one_line = |out: &Output, what: &str| {
        assert_eq!(out.status, 125, "{}", out.describe());
        let err = out.stderr_str();
        assert_eq!(err.lines().count(), 1, "{}", out.describe());
        assert!(
            err.starts_with("reel: ") && err.contains(what),
            "{}",
            out.describe()
        );
    };
    let out = run(
        sb.reel()
            .env("REEL_VALGRIND", sb.path().join("no-such-valgrind"))
            .args(["replay", "--valgrind"])
            .arg(&trace),
        None,
    );
    one_line(&out, "valgrind is not installed");
    let out = replay_vg(&sb, &trace, "bogus", &[]);
    one_line(&out, "unknown valgrind tool \"bogus\"");
    // An option valgrind refuses: its own message, then one line of reel's.
    let out = replay_vg(&sb, &trace, "none", &["--no-such-option"]);
    assert_eq!(out.status, 125, "{}", out.describe());
    let lines = reel_lines(&out);
    assert_eq!(lines.len(), 1, "{}", out.describe());
    assert!(
        lines[0].contains("before the program made its first call"),
        "{}",
        out.describe()
    );
    // A valgrind reel does not know.
    let fake = sb.path().join("old-valgrind");
    std::fs::write(&fake, "#!/bin/sh\necho valgrind-2.4.1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(
        sb.reel()
            .env("REEL_VALGRIND", &fake)
            .args(["replay", "--valgrind"])
            .arg(&trace),
        None,
    );
    one_line(&out, "valgrind-2.4.1");
}

#[test]
fn every_program_is_used() {
    case::assert_programs_listed(
        "valgrind",
        &[
            "overrun", "compute", "served", "race", "forks", "signal", "turns", "racy", "spawn",
        ],
    );
}
