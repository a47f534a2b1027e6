//! Edited traces: a recorded trace copied record by record through an edit
//! (with the `reel_trace` API), to make a replay diverge on purpose.

use reel_trace::{Record, TraceReader, TraceWriter};
use std::path::Path;

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
