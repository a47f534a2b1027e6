//! Helpers shared by the integration tests that run `reel` as a subprocess.
//!
//! Every child runs with a deadline ([`TIMEOUT`]) so that a hung recorder or
//! replayer fails one test with its partial output instead of hanging the run.
//! Every `reel` invocation gets `REEL_TRACE_DIR` pointing into the test's own
//! temporary directory ([`Sandbox`]), so tests never touch `~/.local/share/reel`.

#![allow(dead_code)]

pub mod case;
pub mod edit;
pub mod gdb;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The reel binary under test.
pub const REEL: &str = env!("CARGO_BIN_EXE_reel");

/// How long any one child process may run.
pub const TIMEOUT: Duration = Duration::from_secs(180);

/// What a finished child did.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit status as a shell reports it: the exit code, or 128+N for a
    /// death by signal N.
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The command line, for messages.
    pub cmdline: String,
}

impl Output {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    /// A short account of this run for failure messages: command, status and
    /// the tails of stdout and stderr.
    pub fn describe(&self) -> String {
        format!(
            "command: {}\nstatus: {}\n--- stdout ({} bytes, tail) ---\n{}\n--- stderr ({} bytes, tail) ---\n{}\n---",
            self.cmdline,
            self.status,
            self.stdout.len(),
            tail(&self.stdout, 30),
            self.stderr.len(),
            tail(&self.stderr, 30),
        )
    }
}

/// Exit status as a shell reports it (128+N for a death by signal N).
pub fn shell_status(st: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        (None, None) => -1,
    }
}

fn cmdline(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        let a = a.to_string_lossy();
        if a.contains(' ') || a.is_empty() {
            s.push_str(&format!("'{a}'"));
        } else {
            s.push_str(&a);
        }
    }
    s
}

/// Runs `cmd` to completion with `stdin` as its input (`None`: /dev/null),
/// capturing stdout and stderr, killing it after [`TIMEOUT`] (then panics
/// with what it printed so far). It runs in a process group of its own, so
/// that a program signalling its group (`kill(0, ...)`) reaches only what
/// the test started, not the test runner.
pub fn run(cmd: &mut Command, stdin: Option<&[u8]>) -> Output {
    let line = cmdline(cmd);
    cmd.process_group(0);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{line}`: {e}"));
    let writer = stdin.map(|data| {
        let mut pipe = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data); // EPIPE is fine: the program may not read it all
        })
    });
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = reader(Box::new(child.stdout.take().unwrap()));
    let err = reader(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + TIMEOUT;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait().expect("wait for child") {
            Some(st) => break st,
            None if Instant::now() >= deadline => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().expect("wait for killed child");
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    if let Some(w) = writer {
        let _ = w.join();
    }
    let output = Output {
        status: shell_status(status),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        cmdline: line,
    };
    if timed_out {
        panic!("timed out after {:?}:\n{}", TIMEOUT, output.describe());
    }
    output
}

/// The last `n` lines of `b`, lossily decoded, each line cut at 300 chars.
pub fn tail(b: &[u8], n: usize) -> String {
    let s = String::from_utf8_lossy(b);
    let lines: Vec<&str> = s.lines().collect();
    let start = lines.len().saturating_sub(n);
    let mut out = String::new();
    if start > 0 {
        let _ = writeln!(out, "[... {start} lines before ...]");
    }
    for l in &lines[start..] {
        out.push_str(&clip(l));
        out.push('\n');
    }
    out
}

fn clip(l: &str) -> String {
    if l.chars().count() > 300 {
        let mut s: String = l.chars().take(300).collect();
        s.push_str(" [...]");
        s
    } else {
        l.to_string()
    }
}

/// `b` without the lines that start with `reel:` (reel's own messages).
pub fn without_reel_lines(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    for line in b.split_inclusive(|&c| c == b'\n') {
        if !line.starts_with(b"reel:") {
            out.extend_from_slice(line);
        }
    }
    out
}

/// Explains where two byte strings first differ, by line, with context.
/// `None` when they are equal.
pub fn difference(expected: &[u8], actual: &[u8]) -> Option<String> {
    if expected == actual {
        return None;
    }
    let e: Vec<&[u8]> = expected.split_inclusive(|&c| c == b'\n').collect();
    let a: Vec<&[u8]> = actual.split_inclusive(|&c| c == b'\n').collect();
    let first = (0..e.len().max(a.len()))
        .find(|&i| e.get(i) != a.get(i))
        .unwrap_or(0);
    let mut s = format!(
        "expected {} bytes / {} lines, got {} bytes / {} lines; first difference at line {}\n",
        expected.len(),
        e.len(),
        actual.len(),
        a.len(),
        first + 1
    );
    let from = first.saturating_sub(3);
    let show = |v: &Vec<&[u8]>, i: usize| match v.get(i) {
        Some(l) => format!("{:?}", clip(&String::from_utf8_lossy(l))),
        None => "<end>".to_string(),
    };
    for i in from..(first + 4) {
        if i >= e.len() && i >= a.len() {
            break;
        }
        let mark = if e.get(i) == a.get(i) { ' ' } else { '!' };
        let _ = writeln!(s, "{mark} {:>5} expected: {}", i + 1, show(&e, i));
        if mark == '!' {
            let _ = writeln!(s, "{mark} {:>5}   actual: {}", i + 1, show(&a, i));
        }
    }
    Some(s)
}

/// A temporary directory for one test, with a trace directory inside it that
/// every `reel` command made by [`Sandbox::reel`] uses as `REEL_TRACE_DIR`.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new(name: &str) -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix(&format!("reel-test-{}-", name.replace('/', "-")))
            .tempdir()
            .expect("create temp dir");
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `$REEL_TRACE_DIR` for this test (not created in advance).
    pub fn trace_dir(&self) -> PathBuf {
        self.dir.path().join("reel-traces")
    }

    /// A `reel` command with `REEL_TRACE_DIR` set to this sandbox.
    pub fn reel(&self) -> Command {
        let mut c = Command::new(REEL);
        c.env("REEL_TRACE_DIR", self.trace_dir())
            .env("RUST_BACKTRACE", "1");
        c
    }

    /// `reel record -o <trace> [--checksum] prog args...`, returning the output.
    pub fn record(
        &self,
        trace: &Path,
        checksum: bool,
        argv: &[String],
        stdin: Option<&[u8]>,
    ) -> Output {
        let mut c = self.reel();
        c.arg("record");
        if checksum {
            c.arg("--checksum");
        }
        c.arg("-o").arg(trace).args(argv);
        run(&mut c, stdin)
    }

    /// `reel replay -a <trace>` with stdin from /dev/null.
    pub fn replay(&self, trace: &Path) -> Output {
        run(self.reel().arg("replay").arg("-a").arg(trace), None)
    }

    /// Replays `trace` and checks that it exits 0 printing what the
    /// recording `rec` printed.
    pub fn assert_replays_like(&self, trace: &Path, rec: &Output) {
        let out = self.replay(trace);
        assert_eq!(
            (out.status, out.stdout_str()),
            (0, rec.stdout_str()),
            "{}",
            out.describe()
        );
    }

    /// Runs `reel dump --json <trace>`, checks that it succeeds and prints
    /// one JSON object per line and at least one line, and returns the
    /// number of events.
    pub fn dump_json_events(&self, trace: &Path) -> usize {
        let out = run(self.reel().arg("dump").arg("--json").arg(trace), None);
        assert_eq!(
            out.status,
            0,
            "reel dump --json failed:\n{}",
            out.describe()
        );
        let text = String::from_utf8(out.stdout.clone()).unwrap_or_else(|_| {
            panic!(
                "reel dump --json printed invalid UTF-8:\n{}",
                out.describe()
            )
        });
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
                panic!(
                    "reel dump --json line {} is not JSON ({e}): {}",
                    i + 1,
                    clip(line)
                )
            });
            assert!(
                v.is_object(),
                "reel dump --json line {} is not a JSON object: {}",
                i + 1,
                clip(line)
            );
            n += 1;
        }
        assert!(
            n > 0,
            "reel dump --json listed no events:\n{}",
            out.describe()
        );
        n
    }

    /// Runs `reel dump <trace>` (text), checks it succeeds, returns its lines.
    pub fn dump_text_lines(&self, trace: &Path) -> usize {
        let out = run(self.reel().arg("dump").arg(trace), None);
        assert_eq!(out.status, 0, "reel dump failed:\n{}", out.describe());
        out.stdout_str().lines().count()
    }
}

/// Compiles `src` with `cc -O1 -g -Wall` into `out_dir`, returning the binary.
pub fn compile_c(src: &Path, out_dir: &Path) -> PathBuf {
    let stem = src.file_stem().unwrap().to_string_lossy().into_owned();
    let bin = out_dir.join(&stem);
    let out = run(
        Command::new("cc")
            .args(["-std=gnu11", "-O1", "-g", "-Wall", "-o"])
            .arg(&bin)
            .arg(src),
        None,
    );
    assert_eq!(
        out.status,
        0,
        "compiling {} failed:\n{}",
        src.display(),
        out.describe()
    );
    bin
}

/// True when the kernel randomises address spaces (so stack addresses differ
/// between two native runs).
pub fn aslr_enabled() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/randomize_va_space")
        .map(|s| s.trim() != "0")
        .unwrap_or(false)
}
