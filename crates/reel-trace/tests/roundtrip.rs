//! Writing and reading back traces.

mod common;

use common::*;
use reel_trace::*;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

#[test]
fn round_trip_many_events_with_data() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let written = write_trace(&dir, 5000, true, 0);
    let mut r = TraceReader::open(&dir).unwrap();
    assert!(r.is_complete());
    assert_eq!(r.header().argv, header().argv);
    assert_eq!(r.header().format_major, FORMAT_MAJOR);
    let s = r.summary().unwrap();
    assert_eq!(s.exit, Some(ExitKind::Exited(3)));
    assert_eq!(s.events, 5000);
    for (i, (ev, data)) in written.iter().enumerate() {
        let rec = r.next().unwrap().unwrap();
        assert_eq!(rec.number, i as u64 + 1);
        assert_eq!(&rec.event, ev);
        assert_eq!(&rec.data, data);
    }
    assert!(r.next().unwrap().is_none());
    assert!(r.next().unwrap().is_none());
    assert!(r.is_complete());
}

#[test]
fn many_small_chunks() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let written = write_trace(&dir, 300, false, 7);
    let (recs, res, complete) = read_all(&dir);
    res.unwrap();
    assert!(complete);
    assert_eq!(recs.len(), written.len());
}

#[test]
fn empty_trace_is_complete() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    write_trace(&dir, 0, false, 0);
    let (recs, res, complete) = read_all(&dir);
    res.unwrap();
    assert!(complete);
    assert!(recs.is_empty());
}

#[test]
fn without_data_skips_the_data_stream() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let written = write_trace(&dir, 500, true, 0);
    let mut r = TraceReader::open(&dir).unwrap().without_data();
    let mut n = 0;
    while let Some(rec) = r.next().unwrap() {
        assert_eq!(rec.event, written[n].0);
        assert!(rec.data.is_empty());
        n += 1;
    }
    assert_eq!(n, 500);
}

#[test]
fn data_length_must_match() {
    let t = tempfile::tempdir().unwrap();
    let mut w = TraceWriter::create(&t.path().join("x"), &header()).unwrap();
    let (ev, data) = event(5, false);
    assert!(!data.is_empty());
    let err = w.append(&ev, &data[1..]).unwrap_err();
    assert!(matches!(err, TraceError::DataLength { .. }), "{err}");
    // The writer is still usable.
    assert_eq!(w.append(&ev, &data).unwrap(), 1);
}

#[test]
fn create_refuses_non_empty_dir_and_accepts_empty() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("f"), b"x").unwrap();
    let err = TraceWriter::create(t.path(), &header()).err().unwrap();
    assert!(matches!(err, TraceError::DirNotEmpty { .. }));
    assert!(err.to_string().contains(&t.path().display().to_string()));

    let empty = t.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o755)).unwrap();
    let w = TraceWriter::create(&empty, &header()).unwrap();
    drop(w);
    let mode = std::fs::metadata(&empty).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn new_trace_dir_mode_is_0700() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("a/b/trace");
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    drop(TraceWriter::create(&dir, &header()).unwrap());
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn open_errors_are_clear() {
    let t = tempfile::tempdir().unwrap();
    // Not a directory.
    let f = t.path().join("file");
    std::fs::write(&f, b"x").unwrap();
    let e = TraceReader::open(&f).err().unwrap();
    assert!(matches!(e, TraceError::NotADirectory { .. }), "{e}");
    // Not a trace.
    let e = TraceReader::open(t.path()).err().unwrap();
    assert!(matches!(e, TraceError::NotATrace { .. }), "{e}");
    assert!(e.to_string().contains("not a reel trace"));
    // Missing.
    let e = TraceReader::open(&t.path().join("nope")).err().unwrap();
    assert!(e.to_string().contains("nope"), "{e}");
    // Unreadable header.
    let d = t.path().join("bad");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("header.json"), b"{not json").unwrap();
    let e = TraceReader::open(&d).err().unwrap();
    assert!(matches!(e, TraceError::BadMetadata { .. }), "{e}");
    // An older major version (1: bincode events), even with a different header shape.
    let d = t.path().join("v1");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(
        d.join("header.json"),
        br#"{"magic":"reel-trace","format_major":1,"format_minor":0,"other":1}"#,
    )
    .unwrap();
    let e = TraceReader::open(&d).err().unwrap();
    match &e {
        TraceError::IncompatibleVersion {
            found, supported, ..
        } => {
            assert_eq!(*found, 1);
            assert_eq!(*supported, FORMAT_MAJOR);
        }
        other => panic!("{other}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("version 1.x") && msg.contains("older reel"),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "{msg}");
}

#[test]
fn header_json_has_magic_and_version() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    write_trace(&dir, 1, false, 0);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("header.json")).unwrap()).unwrap();
    assert_eq!(v["magic"], "reel-trace");
    assert_eq!(v["format_major"], FORMAT_MAJOR);
}

#[test]
fn dropped_writer_leaves_readable_incomplete_trace() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let mut w = TraceWriter::create(&dir, &header()).unwrap();
    for i in 1..=100 {
        let (ev, data) = event(i, false);
        w.append(&ev, &data).unwrap();
    }
    drop(w);
    let (recs, res, complete) = read_all(&dir);
    res.unwrap();
    assert!(!complete);
    assert_eq!(recs.len(), 100);
    let r = TraceReader::open(&dir).unwrap();
    assert!(r.summary().is_none());
}

#[test]
fn idle_recorder_chunks_are_closed_by_the_timer() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let mut w = TraceWriter::create(&dir, &header()).unwrap();
    for i in 1..=3 {
        let (ev, data) = event(i, false);
        w.append(&ev, &data).unwrap();
    }
    // No flush, no more appends: the writer thread must close the chunk.
    std::thread::sleep(Duration::from_millis(700));
    let (recs, res, complete) = read_all(&dir);
    res.unwrap();
    assert!(!complete);
    assert_eq!(recs.len(), 3);
    drop(w);
}

#[test]
fn flush_makes_events_visible_immediately() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let mut w = TraceWriter::create(&dir, &header()).unwrap();
    let (ev, data) = event(1, false);
    w.append(&ev, &data).unwrap();
    w.flush().unwrap();
    let (recs, res, _) = read_all(&dir);
    res.unwrap();
    assert_eq!(recs.len(), 1);
    w.finish(&Summary {
        exit: None,
        events: 1,
        end_time_ms: 0,
    })
    .unwrap();
}

#[test]
fn compressible_data_is_small_on_disk() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let mut w = TraceWriter::create(&dir, &header()).unwrap();
    // 32 MiB of text-like input read in 64 KiB read() calls.
    let line = b"2024-01-01 12:00:00 INFO request handled in 12ms path=/api/v1/items\n";
    let block: Vec<u8> = line.iter().cycle().take(64 << 10).copied().collect();
    let mut input = 0u64;
    for i in 0..512u64 {
        let ev = Event::Syscall(SyscallEvent {
            tid: 1,
            nr: 0,
            args: [3, 0x10000, 65536, 0, 0, 0],
            result: 65536,
            site: Some(SyscallSite {
                rip: 0x401000,
                rsp: 0x7ff0 + i,
            }),
            writes: vec![MemWrite {
                addr: 0x10000,
                len: block.len() as u64,
            }],
            echo: None,
            mapped_file: None,
            checksum: None,
            emitted: None,
            arg_data: Vec::new(),
        });
        w.append(&ev, &block).unwrap();
        input += block.len() as u64;
    }
    w.finish(&Summary {
        exit: Some(ExitKind::Exited(0)),
        events: 512,
        end_time_ms: 0,
    })
    .unwrap();
    let on_disk = std::fs::metadata(dir.join(DATA_FILE)).unwrap().len()
        + std::fs::metadata(dir.join(EVENTS_FILE)).unwrap().len();
    let ratio = on_disk as f64 / input as f64;
    eprintln!("trace bytes per input byte: {ratio:.4} ({on_disk} / {input})");
    assert!(ratio < 0.05, "ratio {ratio}");
    let (recs, res, complete) = read_all(&dir);
    res.unwrap();
    assert!(complete);
    assert_eq!(recs.len(), 512);
    assert!(recs.iter().all(|r| r.data == block));
}

#[test]
fn incompressible_data_round_trips() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let mut w = TraceWriter::create(&dir, &header()).unwrap();
    let mut x = 0x1234_5678_9abc_def0u64;
    let data: Vec<u8> = (0..1_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let ev = Event::Syscall(SyscallEvent {
        tid: 1,
        nr: 0,
        args: [0; 6],
        result: data.len() as i64,
        site: None,
        writes: vec![MemWrite {
            addr: 0,
            len: data.len() as u64,
        }],
        echo: None,
        mapped_file: None,
        checksum: None,
        emitted: None,
        arg_data: Vec::new(),
    });
    w.append(&ev, &data).unwrap();
    w.finish(&Summary {
        exit: None,
        events: 1,
        end_time_ms: 0,
    })
    .unwrap();
    let (recs, res, _) = read_all(&dir);
    res.unwrap();
    assert_eq!(recs[0].data, data);
    // Stored raw rather than expanded.
    assert!(std::fs::metadata(dir.join(DATA_FILE)).unwrap().len() < data.len() as u64 + 1000);
}

#[test]
fn append_is_fast() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let mut w = TraceWriter::create(&dir, &header()).unwrap();
    let (ev, data) = event(5, false);
    let start = std::time::Instant::now();
    for _ in 0..100_000 {
        w.append(&ev, &data).unwrap();
    }
    let per = start.elapsed() / 100_000;
    eprintln!("append: {per:?} per event");
    w.finish(&Summary {
        exit: None,
        events: 100_000,
        end_time_ms: 0,
    })
    .unwrap();
}
