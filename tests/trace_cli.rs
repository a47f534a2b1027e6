//! End-to-end tests of traces through the real `reel` binary: edited traces
//! (proof that replay output comes from re-execution), killed recordings,
//! damaged traces, `pack`, permissions, `dump` filters, trace size and
//! `reel ps` parents.
//!
//! The C programs are in `tests/programs/trace/` and compiled at test time:
//! - `decide.c FILE`: one read(2) of FILE, prints `pid=NNNNNNNN` (getpid)
//!   and a decision taken from the first three bytes of FILE;
//! - `ticker.c [N]`: prints `line K` every 100 ms, N times (0: forever);
//! - `slurp.c FILE`: reads FILE in 64 KiB read(2) calls, prints the total.
//!
//! Edited traces are made with the `reel_trace` API: every record of the
//! original is read back, possibly changed, and appended to a new trace
//! whose `files/` snapshots and `snapshots.jsonl` are copied over.

mod common;

use common::edit::{records, rewrite_trace};
use common::*;
use reel_trace::Event;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const SYS_READ: u64 = 0;
const SYS_WRITE: u64 = 1;
const SYS_GETPID: u64 = 39;
const SYS_CLONE: u64 = 56;

/// Compiles `tests/programs/trace/<name>.c` into the sandbox.
fn program(sb: &Sandbox, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs/trace")
        .join(format!("{name}.c"));
    compile_c(&src, sb.path())
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Runs `reel ARGS...` in the sandbox.
fn reel(sb: &Sandbox, args: &[&str]) -> Output {
    run(sb.reel().args(args), None)
}

/// reel must never panic, whatever it is given.
fn assert_no_panic(out: &Output) {
    assert!(
        !out.stderr_str().contains("panicked"),
        "reel panicked:\n{}",
        out.describe()
    );
}

/// The `reel:` lines of stderr that are not warnings.
fn reel_errors(out: &Output) -> Vec<String> {
    out.stderr_str()
        .lines()
        .filter(|l| l.starts_with("reel:") && !l.starts_with("reel: warning"))
        .map(str::to_string)
        .collect()
}

/// Reel failed cleanly: status 125, no panic, exactly one `reel:` error line
/// (warnings aside) and nothing else on stderr; returns that line.
fn assert_clean_failure(out: &Output) -> String {
    assert_no_panic(out);
    assert_eq!(out.status, 125, "expected status 125:\n{}", out.describe());
    let errors = reel_errors(out);
    assert_eq!(
        errors.len(),
        1,
        "expected exactly one `reel:` error line:\n{}",
        out.describe()
    );
    let stderr = out.stderr_str();
    let other: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("reel:")).collect();
    assert!(
        other.is_empty(),
        "stderr holds lines other than reel's:\n{}",
        out.describe()
    );
    errors[0].clone()
}

/// Number of the `read` event whose data starts with `prefix`.
fn read_event_with(trace: &Path, prefix: &[u8]) -> u64 {
    records(trace)
        .iter()
        .find(|r| {
            matches!(&r.event, Event::Syscall(s) if s.nr == SYS_READ) && r.data.starts_with(prefix)
        })
        .unwrap_or_else(|| {
            panic!(
                "no read event returning {:?}",
                String::from_utf8_lossy(prefix)
            )
        })
        .number
}

/// Records `decide` on a file holding `content`; returns (trace, record output).
fn record_decide(sb: &Sandbox, name: &str, content: &[u8], checksum: bool) -> (PathBuf, Output) {
    let prog = program(sb, "decide");
    let input = sb.path().join(format!("{name}.input"));
    std::fs::write(&input, content).unwrap();
    let trace = sb.path().join(name);
    let rec = sb.record(&trace, checksum, &[s(&prog), s(&input)], None);
    assert_eq!(rec.status, 0, "record failed:\n{}", rec.describe());
    (trace, rec)
}

const INPUT: &[u8] = b"yes, and some padding that decides nothing\n";

// ---------------------------------------------------------------------------
// 1. Divergence is detected; output comes from re-execution.
// ---------------------------------------------------------------------------

/// The bytes a recorded `read` returned are changed inside the trace:
/// `yes` → `no!` makes the program take the other branch, whose write has
/// the same arguments but other bytes: the replay computes them (the output
/// is not stored), sees that their hash is not the recorded one and reports
/// a divergence at that write *before* printing any of it; `yes` → `zzz`
/// takes a branch with a longer write, reported at the same event (its
/// length differs).
#[test]
fn edited_read_diverges_before_the_changed_output() {
    let sb = Sandbox::new("trace_cli-edit-read");
    let (trace, rec) = record_decide(&sb, "orig", INPUT, false);
    let original = rec.stdout_str();
    assert!(
        original.ends_with("decision: accept\n"),
        "{}",
        rec.describe()
    );
    let replay = sb.replay(&trace);
    assert_eq!(replay.status, 0, "{}", replay.describe());
    assert_eq!(replay.stdout_str(), original, "unedited replay");

    let read_no = read_event_with(&trace, b"yes, and");

    let decision_write = records(&trace)
        .iter()
        .filter(|r| r.number > read_no)
        .filter(|r| matches!(&r.event, Event::Syscall(s) if s.nr == SYS_WRITE))
        .nth(1)
        .expect("the decision's write event")
        .number;
    for (name, edit, what) in [
        ("edited-no", b"no!", "hash"),
        ("edited-zzz", b"zzz", "rdx="),
    ] {
        let edited = sb.path().join(name);
        rewrite_trace(&trace, &edited, |r| {
            if r.number == read_no {
                r.data[..3].copy_from_slice(edit);
            }
        });
        let out = sb.replay(&edited);
        let line = assert_clean_failure(&out);
        assert!(
            line.contains(&format!("diverged at event {decision_write} ")) && line.contains(what),
            "the divergence should name event {decision_write} (the decision's write) and {what}:\n{}",
            out.describe()
        );
        assert!(
            !out.stdout_str().contains("decision:"),
            "no decision, original or changed, may be printed:\n{}",
            out.describe()
        );
        assert!(out.stdout_str().starts_with("pid="), "{}", out.describe());
        eprintln!("divergence reported: {line}");
    }
}

/// A recorded syscall result edited in the trace is what the replayed
/// program sees: getpid returns another number, which the program formats
/// into its first line; the write of that line diverges (its bytes are not
/// the recorded ones) and nothing of it is printed.
#[test]
fn edited_getpid_result_diverges_at_the_line_that_prints_it() {
    let sb = Sandbox::new("trace_cli-edit-getpid");
    let (trace, rec) = record_decide(&sb, "orig", INPUT, false);
    let original = rec.stdout_str();
    let recorded_pid: i64 = original
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("pid="))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid line:\n{}", rec.describe()));
    let fake = if recorded_pid == 4242 { 4243 } else { 4242 };
    let edited = sb.path().join("edited");
    let mut changed = 0;
    rewrite_trace(&trace, &edited, |r| {
        if let Event::Syscall(s) = &mut r.event {
            if s.nr == SYS_GETPID {
                assert_eq!(s.result, recorded_pid);
                s.result = fake;
                changed += 1;
            }
        }
    });
    assert!(changed >= 1, "no getpid event in the trace");
    let pid_write = records(&trace)
        .iter()
        .find(|r| matches!(&r.event, Event::Syscall(s) if s.nr == SYS_WRITE))
        .expect("the pid line's write")
        .number;
    let out = sb.replay(&edited);
    let line = assert_clean_failure(&out);
    assert!(
        line.contains(&format!("diverged at event {pid_write} ")) && line.contains("hash"),
        "expected a divergence at the pid line's write (event {pid_write}):\n{}",
        out.describe()
    );
    assert_eq!(
        out.stdout_str(),
        "",
        "nothing may be printed:\n{}",
        out.describe()
    );
}

/// With `--checksum`, a change to a memory write that does not change
/// control flow (a byte of the read buffer the program never looks at) is
/// reported as a checksum divergence at that read's event. Without
/// checksums the same edit replays unnoticed, which shows it changes
/// nothing else.
#[test]
fn checksum_catches_an_edited_memory_write() {
    let sb = Sandbox::new("trace_cli-checksum");
    let pad = INPUT.len() - 5; // inside "padding that decides nothing"
    let edit = |trace: &Path, edited: &Path| {
        let read_no = read_event_with(trace, b"yes, and");
        rewrite_trace(trace, edited, |r| {
            if r.number == read_no {
                r.data[pad] ^= 0x20;
            }
        });
        read_no
    };

    let (plain, rec) = record_decide(&sb, "plain", INPUT, false);
    let plain_edited = sb.path().join("plain-edited");
    edit(&plain, &plain_edited);
    let out = sb.replay(&plain_edited);
    assert_eq!(
        (out.status, out.stdout_str()),
        (0, rec.stdout_str()),
        "without checksums the edit changes nothing visible:\n{}",
        out.describe()
    );

    let (summed, rec) = record_decide(&sb, "summed", INPUT, true);
    assert!(
        records(&summed)
            .iter()
            .any(|r| matches!(&r.event, Event::Syscall(s) if s.checksum.is_some())),
        "--checksum recorded no checksums"
    );
    let ok = sb.replay(&summed);
    assert_eq!(
        (ok.status, ok.stdout_str()),
        (0, rec.stdout_str()),
        "{}",
        ok.describe()
    );
    let summed_edited = sb.path().join("summed-edited");
    let read_no = edit(&summed, &summed_edited);
    let out = sb.replay(&summed_edited);
    let line = assert_clean_failure(&out);
    assert!(
        line.contains(&format!("diverged at event {read_no} ")) && line.contains("checksum"),
        "expected a checksum divergence at event {read_no} (the edited read):\n{}",
        out.describe()
    );
    eprintln!("checksum divergence reported: {line}");
}

// ---------------------------------------------------------------------------
// 2. A killed recording replays its prefix.
// ---------------------------------------------------------------------------

#[test]
fn killed_recording_replays_its_prefix() {
    let sb = Sandbox::new("trace_cli-killed");
    let prog = program(&sb, "ticker");
    let mut child = sb
        .reel()
        .arg("record")
        .arg(&prog)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start reel record");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Killed once ten lines are in the trace file (a condition, not a
    // clock: a loaded machine only makes the wait longer): those must replay.
    let trace = sb.trace_dir().join("ticker-0");
    let flushed = common::edit::wait_for_echoed_writes(&trace, 10);
    // SIGKILL (Child::kill), to the `reel record` process only.
    child.kill().expect("kill reel record");
    let status = child.wait().unwrap();
    assert_eq!(shell_status(status), 128 + 9);

    // The tracee dies with its tracer (PTRACE_O_EXITKILL): stdout closes.
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(l) => lines.push(l),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("the tracee kept its stdout open 10 s after reel record was killed")
            }
        }
    }
    let recorded: Vec<String> = lines.clone();
    let must_have = flushed;
    assert!(
        recorded.len() >= must_have,
        "record printed less than its trace holds: {recorded:?}"
    );

    assert!(
        trace.join("header.json").is_file(),
        "no trace at {}",
        trace.display()
    );

    let out = sb.replay(&trace);
    assert_no_panic(&out);
    assert_eq!(out.status, 125, "{}", out.describe());
    let replayed: Vec<String> = out.stdout_str().lines().map(str::to_string).collect();
    assert!(
        recorded.starts_with(&replayed),
        "replay printed lines the recording did not:\nrecorded {recorded:?}\nreplayed {replayed:?}"
    );
    assert!(
        replayed.len() >= must_have,
        "replay printed {} lines; the trace held {must_have} before the kill ({} printed in all)\n{}",
        replayed.len(),
        recorded.len(),
        out.describe()
    );
    let errors = reel_errors(&out);
    assert!(
        errors.len() == 1 && errors[0].contains("incomplete"),
        "expected one `reel:` note that the trace is incomplete:\n{}",
        out.describe()
    );
    eprintln!(
        "killed after {} lines; {} in the trace before the kill; replay printed {}",
        recorded.len(),
        must_have,
        replayed.len()
    );

    let ls = reel(&sb, &["ls"]);
    assert_eq!(ls.status, 0, "{}", ls.describe());
    let row = ls
        .stdout_str()
        .lines()
        .find(|l| l.starts_with("ticker-0"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("reel ls does not list ticker-0:\n{}", ls.describe()));
    assert!(row.contains("incomplete"), "reel ls row: {row}");
    let ls = reel(&sb, &["ls", "--json"]);
    let v: serde_json::Value =
        serde_json::from_str(ls.stdout_str().lines().next().unwrap()).unwrap();
    assert_eq!(v["complete"], false, "{v}");

    let info = reel(&sb, &["info", &s(&trace)]);
    assert_eq!(info.status, 0, "{}", info.describe());
    let v: serde_json::Value = serde_json::from_str(&info.stdout_str()).unwrap();
    assert_eq!(v["complete"], false, "{v}");
}

// ---------------------------------------------------------------------------
// 3. Damaged traces.
// ---------------------------------------------------------------------------

/// The chunks of a stream file: (offset, stored payload length).
fn chunks(path: &Path) -> Vec<(u64, u64)> {
    let b = std::fs::read(path).unwrap();
    let mut v = Vec::new();
    let mut at = 0usize;
    while at + 40 <= b.len() {
        assert_eq!(
            &b[at..at + 4],
            b"RLCK",
            "chunk magic at {at} in {}",
            path.display()
        );
        let stored = u32::from_le_bytes(b[at + 28..at + 32].try_into().unwrap()) as usize;
        v.push((at as u64, stored as u64));
        at += 40 + stored;
    }
    assert_eq!(at, b.len(), "chunks of {} end at its end", path.display());
    v
}

fn flip_byte(path: &Path, offset: u64) {
    let mut b = std::fs::read(path).unwrap();
    b[offset as usize] ^= 0xff;
    std::fs::write(path, b).unwrap();
}

/// A byte flipped in the middle of a chunk payload of events.rz or data.rz:
/// replay and dump fail with one `reel:` line naming the file and an offset.
#[test]
fn flipped_byte_is_reported_with_file_and_offset() {
    for file in [reel_trace::EVENTS_FILE, reel_trace::DATA_FILE] {
        let sb = Sandbox::new(&format!("trace_cli-flip-{file}"));
        let (trace, _) = record_decide(&sb, "t", INPUT, false);
        let path = trace.join(file);
        let cs = chunks(&path);
        // The middle of the payload of the middle chunk (not the end marker).
        let payload_chunks: Vec<_> = cs.iter().filter(|(_, len)| *len > 16).collect();
        let (at, len) = *payload_chunks[payload_chunks.len() / 2];
        let offset = at + 40 + len / 2;
        flip_byte(&path, offset);
        for args in [
            vec!["replay", "-a", &s(&trace)],
            vec!["dump", &s(&trace)],
            vec!["dump", "--json", &s(&trace)],
        ] {
            let out = reel(&sb, &args);
            let line = assert_clean_failure(&out);
            assert!(
                line.contains(file) && line.contains("offset"),
                "`reel {}` should name {file} and an offset (flipped byte at {offset}):\n{}",
                args.join(" "),
                out.describe()
            );
            eprintln!("reel {}: {line}", args[0]);
        }
    }
}

/// events.rz cut in the middle of a chunk: replay shows the events before
/// it and says the trace is incomplete.
#[test]
fn truncated_events_replay_their_prefix() {
    let sb = Sandbox::new("trace_cli-truncate");
    let prog = program(&sb, "ticker");
    let trace = sb.path().join("t");
    let rec = sb.record(&trace, false, &[s(&prog), "20".into()], None);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    let recorded: Vec<String> = rec.stdout_str().lines().map(str::to_string).collect();
    assert_eq!(recorded.len(), 20);

    let path = trace.join(reel_trace::EVENTS_FILE);
    let cs = chunks(&path);
    assert!(
        cs.len() >= 4,
        "2 s of recording should make several event chunks (250 ms each): {cs:?}"
    );
    // Cut a chunk in the middle of the stream in half (which also drops
    // the chunks after it and the end marker).
    let (at, len) = cs[cs.len() / 2];
    let cut = at + 40 + len / 2;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut)
        .unwrap();

    let out = sb.replay(&trace);
    assert_no_panic(&out);
    assert_eq!(out.status, 125, "{}", out.describe());
    let replayed: Vec<String> = out.stdout_str().lines().map(str::to_string).collect();
    assert!(
        !replayed.is_empty() && replayed.len() < recorded.len() && recorded.starts_with(&replayed),
        "replay should print a strict, non-empty prefix of {recorded:?}:\n{}",
        out.describe()
    );
    let errors = reel_errors(&out);
    assert!(
        errors.len() == 1 && errors[0].contains("incomplete"),
        "{}",
        out.describe()
    );
    for args in [
        vec!["dump", &s(&trace)][..].to_vec(),
        vec!["ps", &s(&trace)],
    ] {
        let out = reel(&sb, &args);
        assert_no_panic(&out);
        assert_eq!(out.status, 0, "{}", out.describe());
        assert!(
            out.stderr_str().contains("incomplete"),
            "{}",
            out.describe()
        );
    }
}

/// header.json declaring format_major 999: every command says which version
/// it found and which it reads.
#[test]
fn other_major_version_is_refused_clearly() {
    let sb = Sandbox::new("trace_cli-version");
    let (trace, _) = record_decide(&sb, "t", INPUT, false);
    let hp = trace.join(reel_trace::HEADER_FILE);
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&hp).unwrap()).unwrap();
    v["format_major"] = 999.into();
    std::fs::write(&hp, serde_json::to_vec(&v).unwrap()).unwrap();
    for cmd in [
        vec!["replay", "-a"],
        vec!["dump"],
        vec!["info"],
        vec!["ps"],
        vec!["pack"],
    ] {
        let mut args = cmd.clone();
        let t = s(&trace);
        args.push(&t);
        let out = reel(&sb, &args);
        let line = assert_clean_failure(&out);
        assert!(
            line.contains("999") && line.contains(&format!("{}", reel_trace::FORMAT_MAJOR)),
            "`reel {}` should name version 999 and the supported one:\n{}",
            cmd.join(" "),
            out.describe()
        );
    }
}

/// A directory that is not a trace: a clear error, and `rm` leaves it alone.
#[test]
fn directory_that_is_not_a_trace() {
    let sb = Sandbox::new("trace_cli-not-trace");
    let dir = sb.path().join("just-a-dir");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("keep.txt"), b"keep me").unwrap();
    let d = s(&dir);
    for args in [
        vec!["replay", "-a", &d],
        vec!["dump", &d],
        vec!["info", &d],
        vec!["ps", &d],
        vec!["pack", &d],
        vec!["rm", &d],
    ] {
        let out = reel(&sb, &args);
        let line = assert_clean_failure(&out);
        assert!(
            line.contains("not a reel trace"),
            "`reel {}`:\n{}",
            args.join(" "),
            out.describe()
        );
    }
    assert!(
        dir.join("keep.txt").is_file(),
        "reel rm deleted a non-trace"
    );
}

/// A file snapshot deleted from a trace: replay stops with one line naming
/// the file the program had mapped, never by running the installed one.
#[test]
fn missing_snapshot_is_reported() {
    let sb = Sandbox::new("trace_cli-missing-snapshot");
    let trace = sb.path().join("t");
    let rec = run(
        sb.reel()
            .args(["record", "-o"])
            .arg(&trace)
            .args(["cat", "/etc/hostname"]),
        None,
    );
    assert_eq!(rec.status, 0, "{}", rec.describe());
    let libc = std::fs::read_to_string(trace.join("snapshots.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["source"].as_str().is_some_and(|s| s.contains("libc.so")))
        .expect("libc is snapshotted");
    std::fs::remove_file(trace.join("files").join(libc["id"].as_str().unwrap())).unwrap();
    let out = reel(&sb, &["replay", "-a", &s(&trace)]);
    let line = assert_clean_failure(&out);
    assert!(
        line.contains("libc.so") && line.contains("missing"),
        "{}",
        out.describe()
    );
}

// ---------------------------------------------------------------------------
// 4. pack
// ---------------------------------------------------------------------------

/// Records `argv` reading `input`, packs, moves the trace, deletes `input`,
/// replays from the new place: identical output, and every snapshot has
/// link count 1.
fn pack_move_replay(sb: &Sandbox, argv: &[String], input: &Path) {
    let trace = sb.path().join("trace");
    let rec = sb.record(&trace, false, argv, None);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    let files = trace.join(reel_trace::FILES_DIR);
    let linked = std::fs::read_dir(&files)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().metadata().unwrap().nlink() > 1)
        .count();
    eprintln!("before pack: {linked} snapshot(s) with more than one link");

    let out = reel(sb, &["pack", &s(&trace)]);
    assert_eq!(out.status, 0, "{}", out.describe());
    eprintln!("pack: {}", out.stdout_str().trim());
    let mut n = 0;
    for e in std::fs::read_dir(&files).unwrap() {
        let e = e.unwrap();
        let m = std::fs::symlink_metadata(e.path()).unwrap();
        assert!(m.is_file(), "{} is not a regular file", e.path().display());
        assert_eq!(
            m.nlink(),
            1,
            "{} shares its inode after pack",
            e.path().display()
        );
        n += 1;
    }
    assert!(n > 0, "no snapshots in {}", files.display());
    let again = reel(sb, &["pack", &s(&trace)]);
    assert_eq!(again.status, 0, "{}", again.describe());
    assert!(
        again.stdout_str().contains(" 0 copied"),
        "packing a packed trace copies nothing:\n{}",
        again.describe()
    );

    std::fs::create_dir(sb.path().join("elsewhere")).unwrap();
    let moved = sb.path().join("elsewhere/moved-trace");
    std::fs::rename(&trace, &moved).unwrap();
    std::fs::remove_file(input).unwrap();
    let out = sb.replay(&moved);
    assert_no_panic(&out);
    assert_eq!(
        (out.status, out.stdout_str()),
        (rec.status, rec.stdout_str()),
        "replay of the packed, moved trace:\n{}",
        out.describe()
    );
}

#[test]
fn packed_trace_replays_after_move_c_program() {
    let sb = Sandbox::new("trace_cli-pack-c");
    let prog = program(&sb, "decide");
    let input = sb.path().join("input.txt");
    std::fs::write(&input, INPUT).unwrap();
    pack_move_replay(&sb, &[s(&prog), s(&input)], &input);
}

#[test]
fn packed_trace_replays_after_move_cat() {
    let sb = Sandbox::new("trace_cli-pack-cat");
    let input = sb.path().join("input.txt");
    std::fs::write(&input, b"some text for cat\nand a second line\n").unwrap();
    pack_move_replay(&sb, &["cat".into(), s(&input)], &input);
}

/// `cat` with its stdout on a regular file copies with copy_file_range(2):
/// the bytes never pass through the program's memory. Replay (stdout on a
/// regular file too) must still reproduce them, or say it cannot.
#[test]
fn cat_to_a_regular_file_replays_its_output() {
    let sb = Sandbox::new("trace_cli-cat-file");
    let input = sb.path().join("input.txt");
    let content = b"some text for cat\nand a second line\n";
    std::fs::write(&input, content).unwrap();
    let trace = sb.path().join("trace");
    let to_file = |args: &[&str], name: &str| -> (i32, Vec<u8>, String) {
        let path = sb.path().join(name);
        let file = std::fs::File::create(&path).unwrap();
        let out = sb
            .reel()
            .args(args)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        (
            shell_status(out.status),
            std::fs::read(&path).unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (status, out, err) = to_file(&["record", "-o", &s(&trace), "cat", &s(&input)], "rec.out");
    assert_eq!((status, out.as_slice()), (0, &content[..]), "record: {err}");
    let (status, out, err) = to_file(&["replay", "-a", &s(&trace)], "replay.out");
    assert_no_panic(&Output {
        status,
        stdout: out.clone(),
        stderr: err.clone().into_bytes(),
        cmdline: "reel replay -a".into(),
    });
    assert_eq!(
        (status, String::from_utf8_lossy(&out).into_owned()),
        (0, String::from_utf8_lossy(content).into_owned()),
        "replay of `cat FILE > FILE` (stderr: {err})"
    );
}

// ---------------------------------------------------------------------------
// 5. Permissions
// ---------------------------------------------------------------------------

#[test]
fn trace_directories_are_private() {
    let sb = Sandbox::new("trace_cli-perms");
    let prog = program(&sb, "decide");
    let input = sb.path().join("input.txt");
    std::fs::write(&input, INPUT).unwrap();
    let out = run(sb.reel().arg("record").arg(&prog).arg(&input), None);
    assert_eq!(out.status, 0, "{}", out.describe());
    let root = sb.trace_dir();
    let trace = root.join("decide-0");
    for d in [
        root.clone(),
        trace.clone(),
        trace.join(reel_trace::FILES_DIR),
    ] {
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o700, "{} has mode {mode:o}", d.display());
    }
}

// ---------------------------------------------------------------------------
// 6. dump filters
// ---------------------------------------------------------------------------

fn dump_json(sb: &Sandbox, extra: &[&str], trace: &Path) -> Vec<serde_json::Value> {
    let mut args = vec!["dump", "--json"];
    args.extend_from_slice(extra);
    let t = s(trace);
    args.push(&t);
    let out = reel(sb, &args);
    assert_eq!(out.status, 0, "{}", out.describe());
    out.stdout_str()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn numbers(v: &[serde_json::Value]) -> Vec<u64> {
    v.iter().map(|e| e["event"].as_u64().unwrap()).collect()
}

/// Records `sh -c 'echo a | cat'` (a shell and two children) into `t`.
fn record_pipeline(sb: &Sandbox) -> PathBuf {
    let trace = sb.path().join("t");
    let rec = sb.record(
        &trace,
        false,
        &["sh".into(), "-c".into(), "echo a | cat".into()],
        None,
    );
    assert_eq!(
        (rec.status, rec.stdout_str()),
        (0, "a\n".into()),
        "{}",
        rec.describe()
    );
    trace
}

#[test]
fn dump_filters_select_the_right_events() {
    let sb = Sandbox::new("trace_cli-dump");
    let trace = record_pipeline(&sb);
    let all = dump_json(&sb, &[], &trace);
    assert_eq!(numbers(&all), (1..=all.len() as u64).collect::<Vec<_>>());

    // --tid: a child created by the shell's clone.
    let child = all
        .iter()
        .find(|e| e["name"] == "clone" && e["result"].as_i64().unwrap() > 0)
        .map(|e| e["result"].as_i64().unwrap())
        .expect("the shell forks");
    let got = dump_json(&sb, &["--tid", &child.to_string()], &trace);
    let want: Vec<u64> = numbers(
        &all.iter()
            .filter(|e| e["tid"].as_i64() == Some(child))
            .cloned()
            .collect::<Vec<_>>(),
    );
    assert!(!want.is_empty());
    assert_eq!(numbers(&got), want, "--tid {child}");
    assert!(got.iter().all(|e| e["tid"].as_i64() == Some(child)));

    // --syscall write,read
    let got = dump_json(&sb, &["--syscall", "write,read"], &trace);
    let want: Vec<u64> = numbers(
        &all.iter()
            .filter(|e| e["type"] == "syscall" && (e["name"] == "write" || e["name"] == "read"))
            .cloned()
            .collect::<Vec<_>>(),
    );
    assert!(!want.is_empty());
    assert_eq!(numbers(&got), want, "--syscall write,read");
    assert!(got
        .iter()
        .all(|e| e["type"] == "syscall" && (e["name"] == "write" || e["name"] == "read")));
    assert!(got.iter().any(|e| e["name"] == "write") && got.iter().any(|e| e["name"] == "read"));

    // --from/--to
    let got = dump_json(&sb, &["--from", "5", "--to", "12"], &trace);
    assert_eq!(numbers(&got), (5..=12).collect::<Vec<u64>>());
    assert_eq!(got, all[4..12].to_vec());

    // Combined.
    let got = dump_json(
        &sb,
        &[
            "--tid",
            &child.to_string(),
            "--syscall",
            "write,read",
            "--from",
            "2",
        ],
        &trace,
    );
    let want: Vec<u64> = numbers(
        &all.iter()
            .filter(|e| {
                e["tid"].as_i64() == Some(child)
                    && (e["name"] == "write" || e["name"] == "read")
                    && e["event"].as_u64().unwrap() >= 2
            })
            .cloned()
            .collect::<Vec<_>>(),
    );
    assert_eq!(numbers(&got), want, "combined filters");

    // An unknown name is an error, not an empty listing.
    let out = reel(&sb, &["dump", "--syscall", "no_such_call", &s(&trace)]);
    assert_clean_failure(&out);
}

// ---------------------------------------------------------------------------
// 7. Trace size
// ---------------------------------------------------------------------------

/// Bytes of the trace's own files, not counting `files/` snapshots.
fn trace_bytes_without_snapshots(trace: &Path) -> u64 {
    std::fs::read_dir(trace)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name() != reel_trace::FILES_DIR)
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

/// Records `slurp` reading `content`; returns the ratio of trace bytes
/// (without snapshots) to input bytes.
fn slurp_ratio(sb: &Sandbox, name: &str, content: &[u8], replay: bool) -> f64 {
    let prog = program(sb, "slurp");
    let input = sb.path().join(format!("{name}.input"));
    std::fs::write(&input, content).unwrap();
    let trace = sb.path().join(name);
    let started = Instant::now();
    let rec = sb.record(&trace, false, &[s(&prog), s(&input)], None);
    let took = started.elapsed();
    assert_eq!(
        (rec.status, rec.stdout_str()),
        (0, format!("read {} bytes\n", content.len())),
        "{}",
        rec.describe()
    );
    std::fs::remove_file(&input).unwrap();
    let bytes = trace_bytes_without_snapshots(&trace);
    let ratio = bytes as f64 / content.len() as f64;
    eprintln!(
        "{name}: input {} bytes, trace {} bytes without snapshots: {ratio:.4} trace bytes per input byte (record took {took:?})",
        content.len(),
        bytes
    );
    if replay {
        let out = sb.replay(&trace);
        assert_eq!(
            (out.status, out.stdout_str()),
            (0, rec.stdout_str()),
            "{}",
            out.describe()
        );
    }
    ratio
}

#[test]
fn trace_size_of_large_reads() {
    let sb = Sandbox::new("trace_cli-size");
    // 50 MB of text lines: highly compressible.
    let mut text = Vec::with_capacity(50 << 20);
    let mut i = 0u64;
    while text.len() < 50_000_000 {
        text.extend_from_slice(
            format!("{i:010} the quick brown fox jumps over the lazy dog, again and again\n")
                .as_bytes(),
        );
        i += 1;
    }
    text.truncate(50_000_000);
    let ratio = slurp_ratio(&sb, "text", &text, true);
    drop(text);
    assert!(
        ratio < 0.25,
        "a 50 MB compressible input made a trace of {ratio:.3} bytes per input byte"
    );

    // 20 MB of random bytes (xorshift64*): incompressible, expect about 1.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut random = Vec::with_capacity(20_000_000);
    while random.len() < 20_000_000 {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        random.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    let ratio = slurp_ratio(&sb, "random", &random, false);
    assert!(
        (0.95..1.10).contains(&ratio),
        "20 MB of random bytes made a trace of {ratio:.3} bytes per input byte (expected ~1)"
    );
}

// ---------------------------------------------------------------------------
// 8. reel ps parents
// ---------------------------------------------------------------------------

#[test]
fn ps_shows_the_shell_as_parent() {
    let sb = Sandbox::new("trace_cli-ps");
    let trace = record_pipeline(&sb);

    let out = reel(&sb, &["ps", "--json", &s(&trace)]);
    assert_eq!(out.status, 0, "{}", out.describe());
    let procs: Vec<serde_json::Value> = out
        .stdout_str()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(procs.len() >= 2, "{}", out.describe());
    let shell = procs[0]["pid"].as_i64().unwrap();
    assert_eq!(
        procs[0]["ppid"],
        serde_json::Value::Null,
        "{}",
        out.describe()
    );
    assert_eq!(procs[0]["argv"][0], "sh");
    for p in &procs[1..] {
        assert_eq!(p["ppid"].as_i64(), Some(shell), "{}", out.describe());
    }
    assert!(
        procs
            .iter()
            .any(|p| p["argv"] == serde_json::json!(["cat"])),
        "{}",
        out.describe()
    );
    // The clone results in the trace are exactly the children listed.
    let mut cloned: Vec<i64> = records(&trace)
        .iter()
        .filter_map(|r| match &r.event {
            Event::Syscall(s) if s.nr == SYS_CLONE && s.result > 0 => Some(s.result),
            _ => None,
        })
        .collect();
    let mut children: Vec<i64> = procs[1..]
        .iter()
        .map(|p| p["pid"].as_i64().unwrap())
        .collect();
    cloned.sort();
    children.sort();
    assert_eq!(children, cloned);

    // Text form: PPID column.
    let out = reel(&sb, &["ps", &s(&trace)]);
    assert_eq!(out.status, 0, "{}", out.describe());
    let text = out.stdout_str();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(rows.len(), procs.len(), "{text}");
    assert_eq!(rows[0][1], "-", "{text}");
    for r in &rows[1..] {
        assert_eq!(r[1], shell.to_string(), "{text}");
    }
}
