//! The trace store, snapshots and pack.

mod common;

use common::*;
use reel_trace::*;
use std::collections::HashSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn root_and_trace_dirs_are_private() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("x/y/reel");
    let store = TraceStore::open(&root).unwrap();
    assert_eq!(mode(&root), 0o700);
    let d = store.new_trace_dir("/usr/bin/prog").unwrap();
    assert_eq!(d, root.join("prog-0"));
    assert_eq!(mode(&d), 0o700);
    assert_eq!(store.new_trace_dir("prog").unwrap(), root.join("prog-1"));
    // Smallest free number.
    std::fs::remove_dir(root.join("prog-0")).unwrap();
    assert_eq!(store.new_trace_dir("./prog").unwrap(), root.join("prog-0"));
}

#[test]
fn concurrent_trace_dirs_are_distinct() {
    let t = tempfile::tempdir().unwrap();
    let store = TraceStore::open(t.path()).unwrap();
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let s = store.clone();
            std::thread::spawn(move || {
                (0..10)
                    .map(|_| s.new_trace_dir("race").unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all = HashSet::new();
    for h in handles {
        for d in h.join().unwrap() {
            assert!(all.insert(d.clone()), "duplicate {}", d.display());
        }
    }
    assert_eq!(all.len(), 160);
    for n in 0..160 {
        assert!(all.contains(&t.path().join(format!("race-{n}"))));
    }
}

#[test]
fn latest_resolve_list_remove() {
    let t = tempfile::tempdir().unwrap();
    let store = TraceStore::open(t.path()).unwrap();
    let e = store.resolve(None).unwrap_err();
    assert!(matches!(e, TraceError::NoLatestTrace { .. }), "{e}");

    let a = store.new_trace_dir("a").unwrap();
    write_trace(&a, 3, false, 0);
    store.set_latest(&a).unwrap();
    let b = store.new_trace_dir("b").unwrap();
    let mut h = header();
    h.start_time_ms += 10;
    drop(TraceWriter::create(&b, &h).unwrap()); // incomplete
    store.set_latest(&b).unwrap();

    assert_eq!(store.resolve(None).unwrap(), t.path().join("b-0"));
    assert_eq!(store.resolve(Some("a-0")).unwrap(), t.path().join("a-0"));
    assert_eq!(store.resolve(Some(a.to_str().unwrap())).unwrap(), a);
    let e = store.resolve(Some("nope-3")).unwrap_err();
    assert!(e.to_string().contains("nope-3"), "{e}");

    let list = store.list().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].name, "a-0");
    assert!(list[0].complete);
    assert_eq!(list[0].argv, header().argv);
    assert!(list[0].size_bytes > 0);
    assert_eq!(list[1].name, "b-0");
    assert!(!list[1].complete);

    // Refuses a directory that is not a trace.
    let other = t.path().join("precious");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("data"), b"keep").unwrap();
    assert!(matches!(
        store.remove(&other),
        Err(TraceError::NotATrace { .. })
    ));
    assert!(other.join("data").exists());

    // Removing the latest repoints the link.
    store.remove(&b).unwrap();
    assert!(!b.exists());
    assert_eq!(
        std::fs::canonicalize(store.resolve(None).unwrap()).unwrap(),
        std::fs::canonicalize(&a).unwrap()
    );
    store.remove(&store.resolve(None).unwrap()).unwrap();
    assert!(store.resolve(None).is_err());
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn snapshots_are_deduplicated() {
    let t = tempfile::tempdir().unwrap();
    let f1 = t.path().join("f1");
    let f2 = t.path().join("f2");
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&f1, &content).unwrap();
    std::fs::write(&f2, &content).unwrap();
    let dir = t.path().join("trace");
    let mut w = TraceWriter::create(&dir, &header()).unwrap();
    let id1 = w.snapshot_file(&f1).unwrap();
    let id2 = w.snapshot_file(&f2).unwrap();
    let id1b = w.snapshot_file(&f1).unwrap();
    assert_eq!(id1, id2);
    assert_eq!(id1, id1b);
    // Through a /proc magic link too.
    let open = std::fs::File::open(&f1).unwrap();
    let fd = std::os::unix::io::AsRawFd::as_raw_fd(&open);
    let id3 = w
        .snapshot_file(Path::new(&format!("/proc/self/fd/{fd}")))
        .unwrap();
    assert_eq!(id1, id3);
    let other = t.path().join("f3");
    std::fs::write(&other, b"other").unwrap();
    let id4 = w.snapshot_file(&other).unwrap();
    assert_ne!(id1, id4);
    w.finish(&Summary {
        exit: None,
        events: 0,
        end_time_ms: 0,
    })
    .unwrap();

    let r = TraceReader::open(&dir).unwrap();
    assert_eq!(std::fs::read(r.file_path(&id1)).unwrap(), content);
    let stored: Vec<_> = std::fs::read_dir(dir.join(FILES_DIR)).unwrap().collect();
    assert_eq!(stored.len(), 2);
    let index = read_snapshot_index(&dir).unwrap();
    assert_eq!(index.len(), 2);
    // A copy, not a link: the source is not a system file.
    assert!(index.iter().all(|e| e.kind != SnapshotKind::Hardlink));
    // A directory is not snapshotable.
    let mut w2 = TraceWriter::create(&t.path().join("t2"), &header()).unwrap();
    assert!(matches!(
        w2.snapshot_file(t.path()),
        Err(TraceError::NotSnapshotable { .. })
    ));
}

#[test]
fn file_path_stays_inside_files_dir() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    write_trace(&dir, 0, false, 0);
    let r = TraceReader::open(&dir).unwrap();
    for id in ["../../etc/passwd", "..", "", "a/b"] {
        let p = r.file_path(&FileId(id.into()));
        assert_eq!(p.parent().unwrap(), dir.join(FILES_DIR), "{id}");
    }
}

#[test]
fn system_files_are_hardlinked_then_packed() {
    let sys = Path::new("/bin/sh");
    let Ok(meta) = std::fs::metadata(sys) else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let mut w = TraceWriter::create(&dir, &header()).unwrap();
    let start = std::time::Instant::now();
    let id = w.snapshot_file(sys).unwrap();
    eprintln!("snapshot of {}: {:?}", sys.display(), start.elapsed());
    w.finish(&Summary {
        exit: None,
        events: 0,
        end_time_ms: 0,
    })
    .unwrap();
    let index = read_snapshot_index(&dir).unwrap();
    let snap = dir.join(FILES_DIR).join(&id.0);
    let linked = std::fs::metadata(&snap).unwrap().ino() == meta.ino();
    if meta.uid() == 0 && linked {
        assert_eq!(index[0].kind, SnapshotKind::Hardlink);
    }
    let report = pack(&dir).unwrap();
    assert_eq!(report.files, 1);
    assert!(report.mismatched.is_empty());
    if linked {
        assert_eq!(report.files_copied, 1);
        assert_eq!(report.bytes_copied, meta.len());
    }
    let after = std::fs::metadata(&snap).unwrap();
    assert_ne!(after.ino(), meta.ino());
    assert_eq!(after.nlink(), 1);
    assert_eq!(std::fs::read(&snap).unwrap(), std::fs::read(sys).unwrap());
    assert!(read_snapshot_index(&dir)
        .unwrap()
        .iter()
        .all(|e| e.kind == SnapshotKind::Copy));
    // Packing again has nothing left to do.
    assert_eq!(pack(&dir).unwrap().files_copied, 0);
}

#[test]
fn packed_trace_survives_deleting_originals_and_moving() {
    let t = tempfile::tempdir().unwrap();
    let orig = t.path().join("lib.so");
    let content = b"\x7fELF pretend library".repeat(1000);
    std::fs::write(&orig, &content).unwrap();
    let dir = t.path().join("trace");
    let mut w = TraceWriter::create(&dir, &header()).unwrap();
    let id = w.snapshot_file(&orig).unwrap();
    w.finish(&Summary {
        exit: None,
        events: 0,
        end_time_ms: 0,
    })
    .unwrap();
    // Simulate a snapshot that shares its inode with the outside file (as a
    // hardlink from another filesystem layout would).
    let snap = dir.join(FILES_DIR).join(&id.0);
    std::fs::remove_file(&snap).unwrap();
    std::fs::hard_link(&orig, &snap).unwrap();
    // And a stale temporary left by a killed recorder.
    std::fs::write(dir.join(FILES_DIR).join(".tmp-1-1"), b"junk").unwrap();

    let store = TraceStore::open(t.path()).unwrap();
    let report = store.pack(&dir).unwrap();
    assert_eq!(report.files_copied, 1);
    assert_eq!(report.bytes_copied, content.len() as u64);
    assert_eq!(report.temp_files_removed, 1);
    // Modifying or deleting the original no longer affects the trace.
    std::fs::write(&orig, b"changed").unwrap();
    std::fs::remove_file(&orig).unwrap();
    let moved = t.path().join("elsewhere");
    std::fs::rename(&dir, &moved).unwrap();
    let r = TraceReader::open(&moved).unwrap();
    assert!(r.is_complete());
    assert_eq!(std::fs::read(r.file_path(&id)).unwrap(), content);
}

#[test]
fn processes_are_listed() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let mut w = TraceWriter::create(&dir, &header()).unwrap();
    let exec = |tid, argv: &[&str]| {
        Event::Exec(ExecEvent {
            tid,
            old_tid: tid,
            path: argv[0].into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            regions: vec![],
            regs: vec![],
            xstate: vec![],
            brk: 0,
            site: None,
            sig_ignored: 0,
            sig_blocked: 0,
        })
    };
    w.append(&exec(10, &["/bin/sh", "-c", "x"]), &[]).unwrap();
    w.append(
        &Event::Tsc {
            tid: 11,
            kind: TscKind::Rdtsc,
            value: 1,
            aux: 0,
            rip: 0,
        },
        &[],
    )
    .unwrap();
    w.append(&exec(11, &["/bin/x"]), &[]).unwrap();
    w.append(
        &Event::Exit {
            tid: 11,
            kind: ExitKind::Signaled(9),
        },
        &[],
    )
    .unwrap();
    w.append(
        &Event::Exit {
            tid: 10,
            kind: ExitKind::Exited(1),
        },
        &[],
    )
    .unwrap();
    drop(w);
    let mut r = TraceReader::open(&dir).unwrap().without_data();
    let ps = scan_processes(&mut r).unwrap();
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[0].tid, 10);
    assert_eq!(ps[0].argv, vec!["/bin/sh", "-c", "x"]);
    assert_eq!(ps[0].exit, Some(ExitKind::Exited(1)));
    assert_eq!(ps[1].tid, 11);
    assert_eq!(ps[1].argv, vec!["/bin/x"]);
    assert_eq!(ps[1].exit, Some(ExitKind::Signaled(9)));
    assert_eq!((ps[1].first_event, ps[1].last_event), (2, 4));
}

#[test]
fn default_root_honours_env() {
    // Only reads the variable; other tests do not depend on it.
    if let Some(v) = std::env::var_os("REEL_TRACE_DIR") {
        assert_eq!(
            TraceStore::default_root().unwrap(),
            std::path::PathBuf::from(v)
        );
    } else {
        let root = TraceStore::default_root().unwrap();
        assert!(root.ends_with(".local/share/reel"));
    }
}
