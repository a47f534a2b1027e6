//! A recorded program killed from outside (SIGKILL, SIGTERM, SIGINT), and
//! reel itself killed with SIGKILL: the recording ends as the program
//! does, and the trace replays what was recorded up to that point.

mod common;

use common::case::programs_dir;
use common::*;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn compile_signal_program(name: &str, dir: &Path) -> PathBuf {
    compile_c(&programs_dir().join(format!("signals/{name}.c")), dir)
}

/// A `reel` child started in the background, its stdout and stderr read by
/// threads.
struct Background {
    child: std::process::Child,
    out: std::thread::JoinHandle<Vec<u8>>,
    err: std::thread::JoinHandle<Vec<u8>>,
    line: String,
}

impl Background {
    fn start(mut cmd: Command) -> Background {
        let line = format!("{cmd:?}");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start reel");
        let reader = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut v = Vec::new();
                let _ = r.read_to_end(&mut v);
                v
            })
        };
        let out = reader(Box::new(child.stdout.take().unwrap()));
        let err = reader(Box::new(child.stderr.take().unwrap()));
        Background {
            child,
            out,
            err,
            line,
        }
    }

    /// Waits (with a deadline) for the child and its output.
    fn finish(mut self) -> Output {
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            match self.child.try_wait().unwrap() {
                Some(st) => break st,
                None if Instant::now() >= deadline => {
                    let _ = self.child.kill();
                    panic!("timed out: {}", self.line);
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        Output {
            status: shell_status(status),
            stdout: self.out.join().unwrap(),
            stderr: self.err.join().unwrap(),
            cmdline: self.line,
        }
    }
}

/// Waits for the ticker to write its pid file.
fn wait_for_pid(file: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(s) = std::fs::read_to_string(file) {
            if let Ok(pid) = s.trim().parse() {
                return pid;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the ticker never wrote {}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn send(pid: i32, sig: &str) {
    let out = run(
        Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(pid.to_string()),
        None,
    );
    assert_eq!(out.status, 0, "kill failed:\n{}", out.describe());
}

/// Sends signal `sig` to every process of group `pgid`.
fn send_to_group(pgid: i32, sig: &str) {
    let out = run(
        Command::new("kill")
            .arg(format!("-{sig}"))
            .arg("--")
            .arg(format!("-{pgid}")),
        None,
    );
    assert_eq!(out.status, 0, "kill failed:\n{}", out.describe());
}

/// Whether `pid` is gone (or a zombie).
fn dead(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit_once(')')
            .map(|(_, rest)| {
                rest.trim_start().starts_with('Z') || rest.trim_start().starts_with('X')
            })
            .unwrap_or(true),
    }
}

fn tick_lines(b: &[u8]) -> usize {
    String::from_utf8_lossy(b)
        .lines()
        .filter(|l| l.starts_with("tick "))
        .count()
}

/// Starts `reel record` of the ticker (with `extra` arguments; in its own
/// process group when `group`) and waits until the program runs; returns
/// the recording, the program's pid and the trace directory.
fn start_ticker(sb: &Sandbox, extra: &[&str], group: bool) -> (Background, i32, PathBuf) {
    use std::os::unix::process::CommandExt;
    let bin = compile_signal_program("ticker", sb.path());
    let pidfile = sb.path().join("pid");
    let trace = sb.path().join("trace");
    let mut cmd = sb.reel();
    cmd.arg("record")
        .arg("-o")
        .arg(&trace)
        .arg(&bin)
        .arg(&pidfile)
        .args(extra);
    if group {
        cmd.process_group(0);
    }
    let rec = Background::start(cmd);
    let pid = wait_for_pid(&pidfile);
    (rec, pid, trace)
}

/// Records the ticker, sends the program `sig` once the trace holds five
/// of its ticks, and checks record's and replay's status and output.
///
/// What a recording promises about the call a SIGKILL interrupts: it is
/// not in the trace, even when it completed (the kernel kills the task
/// before the call's exit stop, the only place reel sees its result), so
/// a tick it printed is the one line record may have more than replay.
fn kill_program(sig: &str, status: i32) {
    let sb = Sandbox::new(&format!("outside-{sig}"));
    let (rec, pid, trace) = start_ticker(&sb, &[], false);
    common::edit::wait_for_echoed_writes(&trace, 5);
    send(pid, sig);
    let rec = rec.finish();
    assert_eq!(rec.status, status, "reel record:\n{}", rec.describe());
    assert!(
        tick_lines(&rec.stdout) >= 5,
        "reel record printed too few ticks:\n{}",
        rec.describe()
    );
    let rep = sb.replay(&trace);
    assert_eq!(rep.status, status, "reel replay -a:\n{}", rep.describe());
    let mut recorded = rec.stdout.clone();
    if sig == "KILL" && recorded.len() > rep.stdout.len() {
        // The interrupted call's line (see above), and only that one.
        let cut = recorded[..recorded.len() - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        recorded.truncate(cut);
    }
    if let Some(d) = difference(&recorded, &rep.stdout) {
        panic!(
            "replay stdout differs from record's: {d}\n{}",
            rep.describe()
        );
    }
}

#[test]
fn sigkill_to_the_program() {
    kill_program("KILL", 137);
}

#[test]
fn sigterm_to_the_program() {
    kill_program("TERM", 143);
}

#[test]
fn sigint_to_the_program() {
    kill_program("INT", 130);
}

/// Records the ticker (with `extra` arguments; in its own process group
/// when `group`), lets it tick, calls `signal` with reel's pid, and
/// checks that record and replay both end with `status` and the same
/// output: the trace was finished properly. Returns record's output.
fn signal_the_recording(
    name: &str,
    extra: &[&str],
    group: bool,
    signal: impl FnOnce(i32),
    status: i32,
) -> Output {
    let sb = Sandbox::new(name);
    let (rec, _, trace) = start_ticker(&sb, extra, group);
    let reel_pid = rec.child.id() as i32;
    std::thread::sleep(Duration::from_millis(500));
    signal(reel_pid);
    let rec = rec.finish();
    assert_eq!(rec.status, status, "reel record:\n{}", rec.describe());
    let rep = sb.replay(&trace);
    assert_eq!(
        rep.status,
        status,
        "the trace should be complete and replay the program's end:\n{}",
        rep.describe()
    );
    if let Some(d) = difference(&rec.stdout, &rep.stdout) {
        panic!(
            "replay stdout differs from record's: {d}\n{}",
            rep.describe()
        );
    }
    rec
}

/// SIGTERM to reel itself (a CI timeout, `kill`): reel passes it on to
/// the program, which dies of it as it would without reel, and the
/// trace is finished properly: replay reproduces the death, status 143.
#[test]
fn sigterm_to_reel_reaches_the_program() {
    signal_the_recording(
        "outside-term-reel",
        &[],
        false,
        |reel| send(reel, "TERM"),
        143,
    );
}

/// Ctrl-C at a terminal sends SIGINT to the whole foreground process
/// group: reel and the program. The program gets it as without reel (its
/// handler exits with status 3; a handler, because a test run from a
/// background shell inherits SIGINT ignored); reel must not die of it (it
/// ignores SIGINT), and finishes the trace properly.
#[test]
fn ctrl_c_to_the_process_group() {
    let rec = signal_the_recording(
        "outside-ctrl-c",
        &["int-handler"],
        true,
        |reel| send_to_group(reel, "INT"),
        3,
    );
    assert!(
        rec.stdout_str().contains("got SIGINT"),
        "{}",
        rec.describe()
    );
}

/// SIGKILL to reel while it records: the program dies with it
/// (PTRACE_O_EXITKILL); the trace replays up to its last whole chunk and
/// says it is incomplete.
#[test]
fn sigkill_to_reel() {
    let sb = Sandbox::new("outside-reel-killed");
    let (rec, pid, trace) = start_ticker(&sb, &[], false);
    // Killed once 20 ticks are in the trace file: those must replay.
    let flushed = common::edit::wait_for_echoed_writes(&trace, 20);
    send(rec.child.id() as i32, "KILL");
    let rec = rec.finish();
    assert_eq!(rec.status, 137, "reel record:\n{}", rec.describe());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dead(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(dead(pid), "the recorded program {pid} outlived reel");
    let recorded = tick_lines(&rec.stdout);
    assert!(
        recorded >= 20,
        "too few ticks recorded:\n{}",
        rec.describe()
    );

    let rep = sb.replay(&trace);
    assert_eq!(
        rep.status,
        125,
        "reel replay -a of a cut trace:\n{}",
        rep.describe()
    );
    assert!(
        rec.stdout.starts_with(&rep.stdout),
        "replay's stdout is not a prefix of record's:\n{}",
        rep.describe()
    );
    let replayed = tick_lines(&rep.stdout);
    // What was in the trace file before the kill replays.
    assert!(
        replayed >= flushed,
        "replay reproduced {replayed} ticks; the trace held {flushed} before the kill \
         ({recorded} recorded):\n{}",
        rep.describe()
    );
    let err = rep.stderr_str();
    assert!(
        err.lines()
            .any(|l| l.starts_with("reel:") && l.to_lowercase().contains("incomplete")),
        "replay did not say the trace is incomplete:\n{}",
        rep.describe()
    );
    eprintln!("reel killed: {recorded} ticks recorded, {replayed} replayed");
}
