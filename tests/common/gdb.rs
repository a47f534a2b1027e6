//! What the gdb tests (`tests/gdb.rs`, `tests/gdb_reverse.rs`) share:
//! recording a program of `tests/programs/gdb/`, running `reel replay`
//! under gdb in batch mode, and a native gdb session to compare with.

use super::case::*;
use super::*;
use std::path::PathBuf;
use std::process::Command;

/// A program compiled, and recorded into a sandbox.
pub struct Recorded {
    /// Where it was recorded.
    pub sb: Sandbox,
    /// The trace.
    pub trace: PathBuf,
    /// The program's path.
    pub bin: String,
    _prog: Compiled,
}

/// Compiles `tests/programs/gdb/NAME.c` and records it.
pub fn record(name: &str) -> Recorded {
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

/// gdb's batch arguments for `cmds`.
pub fn ex_args(cmds: &[&str]) -> Vec<String> {
    let mut v = vec!["-batch".to_string(), "-nx".to_string()];
    for c in cmds {
        v.push("-ex".into());
        v.push(c.to_string());
    }
    v
}

/// `reel replay TRACE -- -batch -nx -ex CMD...`.
pub fn replay_gdb(r: &Recorded, extra: &[&str], cmds: &[&str]) -> Output {
    let mut c = r.sb.reel();
    c.arg("replay").args(extra).arg(&r.trace).arg("--");
    c.args(ex_args(cmds));
    run(&mut c, None)
}

/// The same commands in a native gdb session of the program.
pub fn native_gdb(bin: &str, cmds: &[&str]) -> Output {
    let mut c = Command::new("gdb");
    c.args(ex_args(cmds)).arg(bin);
    run(&mut c, None)
}

/// gdb's value lines (`$1 = 3`).
pub fn values(out: &Output) -> Vec<String> {
    out.stdout_str()
        .lines()
        .filter(|l| l.starts_with('$'))
        .map(str::to_string)
        .collect()
}

/// Asserts gdb or reel said `needle`.
pub fn assert_has(out: &Output, needle: &str) {
    assert!(
        out.stdout_str().contains(needle) || out.stderr_str().contains(needle),
        "expected {needle:?} in gdb's output:\n{}",
        out.describe()
    );
}

/// Whether this CPU has AVX (the AVX tests need it).
pub fn has_avx() -> bool {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let avx = info.split_whitespace().any(|w| w == "avx");
    if !avx {
        eprintln!("no AVX on this CPU: skipped");
    }
    avx
}
