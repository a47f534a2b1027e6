//! Everyday use of the CLI (issue 13): snapshots shared across the traces of
//! a store, `dump` that reads like strace, `latest-trace` and `-o`, progress
//! on a terminal, usage errors, completions.

mod common;

use common::*;
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Runs `reel ARGS...` in the sandbox.
fn reel(sb: &Sandbox, args: &[&str]) -> Output {
    run(sb.reel().args(args), None)
}

/// Bytes on disk under `dir`, each inode counted once (as `du` does).
fn disk_bytes(dir: &Path) -> u64 {
    fn walk(d: &Path, seen: &mut HashSet<(u64, u64)>, total: &mut u64) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let Ok(m) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            if m.is_dir() {
                walk(&e.path(), seen, total);
            } else if m.is_file() && seen.insert((m.dev(), m.ino())) {
                *total += m.blocks() * 512;
            }
        }
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    walk(dir, &mut seen, &mut total);
    total
}

/// A C compile whose compiler proper (`cc1`) is a copy outside the system
/// directories, as a toolchain under `$HOME` is: reel copies such files into
/// the trace rather than linking them. Returns the gcc argv.
fn compile_setup(sb: &Sandbox) -> Vec<String> {
    let cc1 = run(
        std::process::Command::new("gcc").arg("-print-prog-name=cc1"),
        None,
    );
    let cc1 = PathBuf::from(cc1.stdout_str().trim());
    assert!(cc1.is_file(), "no cc1 at {}", cc1.display());
    let tools = sb.path().join("toolchain");
    std::fs::create_dir_all(&tools).unwrap();
    std::fs::copy(&cc1, tools.join("cc1")).unwrap();
    let src = sb.path().join("hello.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
    )
    .unwrap();
    vec![
        "gcc".into(),
        format!("-B{}/", tools.display()),
        "-c".into(),
        s(&src),
        "-o".into(),
        s(&sb.path().join("hello.o")),
    ]
}

#[test]
fn snapshots_are_shared_across_the_traces_of_a_store() {
    let sb = Sandbox::new("everyday-pool");
    let argv = compile_setup(&sb);
    let store = sb.trace_dir();
    let record = |name: &str| {
        let out = run(sb.reel().arg("record").args(&argv), None);
        assert_eq!(out.status, 0, "{}", out.describe());
        let dir = store.join(name);
        assert!(dir.is_dir(), "no trace {name}: {}", out.describe());
        dir
    };

    let first = record("gcc-0");
    let after_first = disk_bytes(&store);
    let second = record("gcc-1");
    let added = disk_bytes(&store) - after_first;
    assert!(
        added * 10 < after_first,
        "the second recording added {added} bytes to the store, the first took {after_first}"
    );

    // ls tells own and shared bytes: cc1 (over 10 MB) is shared by both.
    let ls = reel(&sb, &["ls", "--json"]);
    assert_eq!(ls.status, 0, "{}", ls.describe());
    for line in ls.stdout_str().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let shared = v["shared_bytes"].as_u64().unwrap();
        let own = v["own_bytes"].as_u64().unwrap();
        assert!(shared > 10 << 20, "{line}");
        assert!(own < shared, "{line}");
    }
    let text = reel(&sb, &["ls"]);
    assert!(text.stdout_str().contains("SHARED"), "{}", text.describe());

    // rm of the first leaves the second replayable, and frees nothing the
    // second uses.
    let rm = reel(&sb, &["rm", "gcc-0"]);
    assert_eq!(rm.status, 0, "{}", rm.describe());
    assert!(!first.exists());
    let pool = store.join(".pool");
    assert!(std::fs::read_dir(&pool).unwrap().count() > 0);
    let rep = sb.replay(&second);
    assert_eq!(rep.status, 0, "{}", rep.describe());

    // A packed copy replays without the pool.
    let pack = reel(&sb, &["pack", "gcc-1"]);
    assert_eq!(pack.status, 0, "{}", pack.describe());
    // Packing left the pool with files nobody uses: they are gone.
    assert_eq!(std::fs::read_dir(&pool).unwrap().count(), 0);
    std::fs::remove_dir_all(&pool).unwrap();
    let moved = sb.path().join("moved");
    std::fs::rename(&second, &moved).unwrap();
    let rep = sb.replay(&moved);
    assert_eq!(rep.status, 0, "{}", rep.describe());
}

#[test]
fn rm_frees_what_no_other_trace_uses() {
    let sb = Sandbox::new("everyday-rm");
    let argv = compile_setup(&sb);
    let store = sb.trace_dir();
    for _ in 0..2 {
        let out = run(sb.reel().arg("record").args(&argv), None);
        assert_eq!(out.status, 0, "{}", out.describe());
    }
    let pool = store.join(".pool");
    let pooled = std::fs::read_dir(&pool).unwrap().count();
    assert!(pooled > 0);
    assert_eq!(reel(&sb, &["rm", "gcc-0"]).status, 0);
    assert_eq!(std::fs::read_dir(&pool).unwrap().count(), pooled);
    assert_eq!(reel(&sb, &["rm", "gcc-1"]).status, 0);
    assert_eq!(std::fs::read_dir(&pool).unwrap().count(), 0);
    assert!(disk_bytes(&store) < 1 << 20, "{}", disk_bytes(&store));
}

#[test]
fn a_trace_written_elsewhere_keeps_its_own_snapshots() {
    let sb = Sandbox::new("everyday-o");
    let argv = compile_setup(&sb);
    let out_dir = sb.path().join("elsewhere");
    let out = sb.record(&out_dir, false, &argv, None);
    assert_eq!(out.status, 0, "{}", out.describe());
    // The copy of cc1 is the trace's own.
    let cc1_size = std::fs::metadata(sb.path().join("toolchain/cc1"))
        .unwrap()
        .len();
    let copies: Vec<u64> = std::fs::read_dir(out_dir.join("files"))
        .unwrap()
        .flatten()
        .map(|e| e.metadata().unwrap())
        .filter(|m| m.len() == cc1_size)
        .map(|m| m.nlink())
        .collect();
    assert_eq!(copies, vec![1]);
    let pool = sb.trace_dir().join(".pool");
    assert!(!pool.exists() || std::fs::read_dir(&pool).unwrap().count() == 0);
    let rep = sb.replay(&out_dir);
    assert_eq!(rep.status, 0, "{}", rep.describe());
}

#[test]
fn record_o_leaves_latest_trace_alone_and_ls_lists_a_directory() {
    let sb = Sandbox::new("everyday-latest");
    // A default recording (exit 3), then one with -o elsewhere (exit 5).
    let first = run(sb.reel().args(["record", "sh", "-c", "exit 3"]), None);
    assert_eq!(first.status, 3, "{}", first.describe());
    let other = sb.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let x = other.join("x");
    let second = sb.record(
        &x,
        false,
        &["sh".into(), "-c".into(), "exit 5".into()],
        None,
    );
    assert_eq!(second.status, 5, "{}", second.describe());
    // As documented (and as rr does): -o does not move latest-trace.
    let rep = run(sb.reel().args(["replay", "-a"]), None);
    assert_eq!(rep.status, 3, "{}", rep.describe());
    let rep = sb.replay(&x);
    assert_eq!(rep.status, 5, "{}", rep.describe());
    let help = reel(&sb, &["record", "--help"]);
    assert!(
        help.stdout_str()
            .contains("latest-trace is then not changed"),
        "{}",
        help.describe()
    );

    // ls DIR lists the traces of DIR, and a trace given itself.
    for dir in [&other, &x] {
        let ls = reel(&sb, &["ls", &s(dir)]);
        assert_eq!(ls.status, 0, "{}", ls.describe());
        let lines: Vec<String> = ls.stdout_str().lines().map(str::to_string).collect();
        assert_eq!(lines.len(), 2, "{}", ls.describe());
        assert!(lines[1].starts_with("x "), "{}", ls.describe());
    }
    let missing = reel(&sb, &["ls", &s(&sb.path().join("nope"))]);
    assert_eq!(missing.status, 125, "{}", missing.describe());
    assert!(missing.stderr_str().starts_with("reel: "));
    assert!(!sb.path().join("nope").exists());
}

/// Compiles `tests/programs/everyday/<name>.c` into the sandbox.
fn program(sb: &Sandbox, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs/everyday")
        .join(format!("{name}.c"));
    compile_c(&src, sb.path())
}

#[test]
fn dump_shows_paths_flags_and_data_like_strace() {
    let sb = Sandbox::new("everyday-dump");
    let prog = program(&sb, "open_hostname");
    let trace = sb.path().join("t");
    let rec = sb.record(&trace, false, &[s(&prog)], None);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    let hostname = std::fs::read("/etc/hostname").unwrap();

    let dump = reel(&sb, &["dump", &s(&trace)]);
    assert_eq!(dump.status, 0, "{}", dump.describe());
    let text = dump.stdout_str();
    assert!(
        text.contains("openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY|O_CLOEXEC) = 3"),
        "{text}"
    );
    // A failed access shows its errno by name (ld.so's preload check).
    assert!(text.contains("= -1 ENOENT"), "{text}");
    // Data only with -s.
    assert!(!text.contains("\"read "), "{text}");
    let dump = reel(
        &sb,
        &["dump", "-s", "64", "--syscall", "read,write", &s(&trace)],
    );
    let text = dump.stdout_str();
    let first_line = String::from_utf8_lossy(&hostname[..hostname.len().min(8)])
        .replace('\n', "\\n")
        .to_string();
    assert!(text.contains(&first_line), "{text}");
    assert!(text.contains("write(1, \"read "), "{text}");
    let short = reel(&sb, &["dump", "-s", "2", "--syscall", "write", &s(&trace)]);
    assert!(
        short.stdout_str().contains("write(1, \"re\"..., "),
        "{}",
        short.describe()
    );

    // --json carries the same.
    let json = reel(&sb, &["dump", "--json", "--syscall", "openat", &s(&trace)]);
    let line = json
        .stdout_str()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| {
            v["args_text"]
                .as_str()
                .unwrap_or("")
                .contains("/etc/hostname")
        })
        .unwrap_or_else(|| panic!("{}", json.describe()));
    assert_eq!(line["arg_data"][0]["strings"][0], "/etc/hostname");
    assert_eq!(line["arg_data"][0]["arg"], 1);
}

#[test]
fn usage_errors_show_options_and_paths_say_what_is_wrong() {
    let sb = Sandbox::new("everyday-usage");
    let out = reel(&sb, &["record"]);
    assert_eq!(out.status, 125, "{}", out.describe());
    assert!(
        out.stderr_str()
            .contains("Usage: reel record [OPTIONS] <PROG>"),
        "{}",
        out.describe()
    );
    let out = reel(&sb, &["record", "/nonexistent/prog"]);
    assert_eq!(out.status, 127, "{}", out.describe());
    assert_eq!(
        out.stderr_str().trim(),
        "reel: /nonexistent/prog: No such file or directory"
    );
    let out = reel(&sb, &["record", "no-such-command-anywhere"]);
    assert_eq!(out.status, 127, "{}", out.describe());
    assert_eq!(
        out.stderr_str().trim(),
        "reel: no-such-command-anywhere: command not found"
    );
    let out = reel(&sb, &["--version"]);
    assert_eq!(out.status, 0, "{}", out.describe());
    assert!(out.stdout_str().starts_with("reel "), "{}", out.describe());
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef reel"),
        ("fish", "complete -c reel"),
    ] {
        let out = reel(&sb, &["completions", shell]);
        assert_eq!(out.status, 0, "{}", out.describe());
        let text = out.stdout_str();
        assert!(text.contains(marker), "{shell}: {text}");
        // The subcommands are completed.
        assert!(text.contains("replay") && text.contains("pack"), "{shell}");
    }
}

#[test]
fn replay_shows_progress_on_a_terminal_only() {
    let sb = Sandbox::new("everyday-progress");
    // A short replay shows nothing, even on a terminal.
    let short = sb.path().join("short");
    let rec = sb.record(&short, false, &["true".into()], None);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    let cmd = format!("{REEL} replay -a {}", s(&short));
    let tty = run(
        std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env("REEL_TRACE_DIR", sb.trace_dir()),
        None,
    );
    assert_eq!(tty.status, 0, "{}", tty.describe());
    assert!(
        !tty.stdout_str().contains("replaying event"),
        "{}",
        tty.describe()
    );

    let prog = program(&sb, "many_calls");
    let trace = sb.path().join("t");
    let rec = sb.record(&trace, false, &[s(&prog)], None);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    // In a pipe: the program's output, no progress.
    let piped = sb.replay(&trace);
    assert_eq!(piped.status, 0, "{}", piped.describe());
    assert!(
        !piped.stderr_str().contains("replaying event"),
        "{}",
        piped.describe()
    );
    assert_eq!(piped.stdout_str(), "start\ndone\n");
    // Under a pseudo-terminal (script(1)): progress with the total, and the
    // program's output still whole.
    let cmd = format!("{REEL} replay -a {}", s(&trace));
    let tty = run(
        std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env("REEL_TRACE_DIR", sb.trace_dir()),
        None,
    );
    assert_eq!(tty.status, 0, "{}", tty.describe());
    let text = tty.stdout_str();
    let events = rec_events(&sb, &trace);
    assert!(
        text.contains(&format!("of {events} (")),
        "no progress line in {text:?}"
    );
    assert!(
        text.contains("start\r\n") && text.contains("done\r\n"),
        "{text:?}"
    );
}

/// The number of events of a trace, from `reel info`.
fn rec_events(sb: &Sandbox, trace: &Path) -> u64 {
    let info = reel(sb, &["info", &s(trace)]);
    let v: serde_json::Value = serde_json::from_str(&info.stdout_str()).unwrap();
    v["summary"]["events"].as_u64().unwrap()
}

#[test]
fn shared_mapping_warning_only_for_files_others_know() {
    let sb = Sandbox::new("everyday-shared");
    let prog = program(&sb, "shared_map");
    let warning = "is mapped shared";
    // A file the program created itself: no warning, and it replays.
    let trace = sb.path().join("own");
    let rec = sb.record(&trace, false, &[s(&prog), "own".into()], None);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    assert!(!rec.stderr_str().contains(warning), "{}", rec.describe());
    sb.assert_replays_like(&trace, &rec);
    // Nor for one it created with O_CREAT alone.
    let new_file = sb.path().join("new");
    let trace = sb.path().join("new-trace");
    let rec = sb.record(&trace, false, &[s(&prog), "new".into(), s(&new_file)], None);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    assert!(!rec.stderr_str().contains(warning), "{}", rec.describe());
    sb.assert_replays_like(&trace, &rec);
    // A file that existed before: others may write it, so reel warns.
    let file = sb.path().join("data");
    std::fs::write(&file, b"").unwrap();
    let trace = sb.path().join("theirs");
    let rec = sb.record(&trace, false, &[s(&prog), s(&file)], None);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    assert!(rec.stderr_str().contains(warning), "{}", rec.describe());
}

/// Every file of the pool is complete: its contents hash to its name.
fn assert_pool_consistent(pool: &Path) {
    for e in std::fs::read_dir(pool).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let bytes = std::fs::read(e.path()).unwrap();
        assert_eq!(
            blake3::hash(&bytes).to_hex().to_string(),
            name,
            "pool file {name} does not hold its contents"
        );
    }
}

#[test]
fn concurrent_and_killed_recordings_leave_the_pool_consistent() {
    use std::process::Stdio;
    let sb = Sandbox::new("everyday-pool-race");
    let argv = compile_setup(&sb);
    let store = sb.trace_dir();
    let pool = store.join(".pool");

    // Two recordings of the same compile at once.
    let mut children: Vec<_> = (0..2)
        .map(|_| {
            sb.reel()
                .arg("record")
                .args(&argv)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in &mut children {
        assert!(c.wait().unwrap().success());
    }
    assert_pool_consistent(&pool);

    // A recording killed once its program's snapshot joined the pool.
    let sleep = sb.path().join("toolchain/sleep");
    std::fs::copy("/bin/sleep", &sleep).unwrap();
    let size = std::fs::metadata(&sleep).unwrap().len();
    let in_pool = || {
        std::fs::read_dir(&pool)
            .unwrap()
            .flatten()
            .any(|e| e.metadata().unwrap().len() == size)
    };
    let mut killed = sb
        .reel()
        .arg("record")
        .arg(&sleep)
        .arg("1000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !in_pool() {
        assert!(
            start.elapsed() < TIMEOUT,
            "the snapshot never reached the pool"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert_pool_consistent(&pool);

    // The finished ones replay; removing the killed one frees its file.
    for name in ["gcc-0", "gcc-1"] {
        let rep = sb.replay(&store.join(name));
        assert_eq!(rep.status, 0, "{name}: {}", rep.describe());
    }
    assert_eq!(reel(&sb, &["rm", "sleep-0"]).status, 0);
    assert!(!in_pool());
    assert_pool_consistent(&pool);
}
