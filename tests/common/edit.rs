//! Traces read by tests with the `reel_trace` API: edited copies (a
//! recorded trace copied record by record through an edit, to make a replay
//! diverge on purpose), and waiting for a recording in progress.

use reel_trace::{Event, Record, TraceReader, TraceWriter};
use std::path::Path;
use std::time::{Duration, Instant};

/// How many writes echoed to reel's stdout/stderr the trace at `trace`
/// holds so far (a recording in progress is read up to its last whole
/// chunk); 0 while it cannot be read yet.
pub fn echoed_writes(trace: &Path) -> usize {
    let Ok(mut r) = TraceReader::open(trace) else {
        return 0;
    };
    let mut n = 0;
    while let Ok(Some(rec)) = r.next() {
        if matches!(&rec.event, Event::Syscall(s) if s.echo.is_some()) {
            n += 1;
        }
    }
    n
}

/// Waits until the recording in progress at `trace` has made at least `n`
/// echoed writes durable in its trace (a condition, not a clock: the
/// deadline only turns a hang into a failure); returns how many it holds.
pub fn wait_for_echoed_writes(trace: &Path, n: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let got = echoed_writes(trace);
        if got >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "the trace at {} holds {got} echoed writes, never {n}",
            trace.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Copies the trace `src` to the new trace `dst`, passing every record
/// through `edit` first; snapshots and their index are copied over. The
/// copy is finished (complete) when `src` is.
pub fn rewrite_trace(src: &Path, dst: &Path, mut edit: impl FnMut(&mut Record)) {
    let mut reader = TraceReader::open(src).expect("open the original trace");
    let mut writer = TraceWriter::create(dst, reader.header()).expect("create the copy");
    while let Some(mut rec) = reader.next().expect("read the original trace") {
        edit(&mut rec);
        let n = writer.append(&rec.event, &rec.data).expect("append");
        assert_eq!(n, rec.number, "event numbers are kept");
    }
    match reader.summary() {
        Some(summary) if reader.is_complete() => writer.finish(summary).expect("finish"),
        _ => drop(writer),
    }
    let files = src.join(reel_trace::FILES_DIR);
    for entry in std::fs::read_dir(&files).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            dst.join(reel_trace::FILES_DIR).join(entry.file_name()),
        )
        .unwrap();
    }
    std::fs::copy(
        src.join(reel_trace::SNAPSHOT_INDEX),
        dst.join(reel_trace::SNAPSHOT_INDEX),
    )
    .unwrap();
}

/// Every record of a trace.
pub fn records(trace: &Path) -> Vec<Record> {
    let mut r = TraceReader::open(trace).unwrap();
    let mut v = Vec::new();
    while let Some(rec) = r.next().unwrap() {
        v.push(rec);
    }
    v
}
