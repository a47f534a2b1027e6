//! A recorder killed with SIGKILL leaves a trace readable up to its last whole
//! chunk, which covers everything appended more than a second before the kill.

mod common;

use common::*;
use reel_trace::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const ENV: &str = "REEL_TRACE_TEST_KILL_DIR";

/// In the child process: appends an event every millisecond, each carrying the
/// milliseconds elapsed since the writer was created, until killed.
#[test]
fn kill_child_entry() {
    let Some(dir) = std::env::var_os(ENV) else {
        return; // Normal test run: nothing to do.
    };
    let dir = PathBuf::from(dir);
    let mut w = TraceWriter::create(&dir, &header()).unwrap();
    let start = Instant::now();
    for i in 1.. {
        let ms = start.elapsed().as_millis() as u64;
        let data = ms.to_le_bytes();
        let ev = Event::Syscall(SyscallEvent {
            tid: 1,
            nr: 0,
            args: [i, 0, 0, 0, 0, 0],
            result: 8,
            site: None,
            writes: vec![MemWrite { addr: 0, len: 8 }],
            echo: None,
            mapped_file: None,
            checksum: None,
            emitted: None,
            arg_data: Vec::new(),
        });
        w.append(&ev, &data).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn sigkilled_recorder_leaves_a_readable_prefix() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill_child_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV, &dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the child created the trace, then let it run 1.5 s.
    let t0 = Instant::now();
    while !dir.join(HEADER_FILE).exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "child did not start"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());

    let mut r = TraceReader::open(&dir).unwrap();
    assert!(!r.is_complete());
    let mut last_ms = 0;
    let mut n = 0;
    while let Some(rec) = r.next().unwrap() {
        n += 1;
        assert_eq!(rec.number, n);
        let ms = u64::from_le_bytes(rec.data[..8].try_into().unwrap());
        assert!(ms >= last_ms);
        last_ms = ms;
    }
    assert!(!r.is_complete());
    eprintln!("read {n} events, the last appended at {last_ms} ms of ~1500");
    // Everything appended up to a second before the kill is there.
    assert!(last_ms >= 400, "last event at {last_ms} ms");
}
