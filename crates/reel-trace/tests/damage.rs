//! Damaged and truncated traces: the reader must report, never panic or hang.

mod common;

use common::*;
use proptest::prelude::*;
use reel_trace::*;
use std::path::Path;

/// A trace written without `finish`, as a killed recorder leaves it.
fn incomplete_trace(dir: &Path, n: u64, flush_every: u64) -> Vec<(Event, Vec<u8>)> {
    let mut w = TraceWriter::create(dir, &header()).unwrap();
    let mut all = Vec::new();
    for i in 1..=n {
        let (ev, data) = event(i, false);
        w.append(&ev, &data).unwrap();
        if i % flush_every == 0 {
            w.flush().unwrap();
        }
        all.push((ev, data));
    }
    drop(w);
    all
}

fn assert_prefix(recs: &[Record], written: &[(Event, Vec<u8>)]) {
    assert!(recs.len() <= written.len());
    for (r, (ev, data)) in recs.iter().zip(written) {
        assert_eq!(&r.event, ev);
        assert_eq!(&r.data, data);
    }
}

#[test]
fn truncated_event_stream_reads_a_prefix() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let written = incomplete_trace(&dir, 120, 10);
    let path = dir.join(EVENTS_FILE);
    let full = std::fs::read(&path).unwrap();
    let mut last = 0;
    for len in 0..=full.len() {
        std::fs::write(&path, &full[..len]).unwrap();
        let (recs, res, complete) = read_all(&dir);
        res.unwrap_or_else(|e| panic!("truncated at {len}: {e}"));
        assert!(!complete);
        assert_prefix(&recs, &written);
        // A longer file never yields fewer events.
        assert!(recs.len() >= last);
        last = recs.len();
    }
    assert_eq!(last, 120);
}

#[test]
fn truncated_data_stream_reads_a_prefix() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let written = incomplete_trace(&dir, 120, 10);
    let path = dir.join(DATA_FILE);
    let full = std::fs::read(&path).unwrap();
    for len in 0..=full.len() {
        std::fs::write(&path, &full[..len]).unwrap();
        let (recs, res, complete) = read_all(&dir);
        res.unwrap_or_else(|e| panic!("truncated at {len}: {e}"));
        assert!(!complete);
        assert_prefix(&recs, &written);
    }
}

#[test]
fn truncating_a_complete_trace_makes_it_incomplete() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let written = write_trace(&dir, 50, false, 10);
    let path = dir.join(EVENTS_FILE);
    let full = std::fs::read(&path).unwrap();
    // Every cut inside the last two chunks (the end marker included).
    for len in full.len().saturating_sub(400)..full.len() {
        std::fs::write(&path, &full[..len]).unwrap();
        let (recs, res, complete) = read_all(&dir);
        res.unwrap_or_else(|e| panic!("truncated at {len}: {e}"));
        assert!(!complete, "cut at {len}");
        assert_prefix(&recs, &written);
    }
}

#[test]
fn zero_filled_tail_is_a_truncation() {
    // After a power loss, a file may end with zeros where data never landed.
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let written = incomplete_trace(&dir, 30, 10);
    let path = dir.join(EVENTS_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.resize(bytes.len() + 5000, 0);
    std::fs::write(&path, &bytes).unwrap();
    let (recs, res, complete) = read_all(&dir);
    res.unwrap();
    assert!(!complete);
    assert_eq!(recs.len(), written.len());
}

/// Flips bits at every byte of both stream files of a complete trace: each
/// read either fails with `Corrupt` naming that file at or before the flipped
/// byte, or yields exactly the original events.
#[test]
fn flipped_byte_anywhere_is_reported() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let written = write_trace(&dir, 150, false, 15);
    for name in [EVENTS_FILE, DATA_FILE] {
        let path = dir.join(name);
        let orig = std::fs::read(&path).unwrap();
        assert!(orig.len() > 1000, "{name}: {}", orig.len());
        for pos in 0..orig.len() {
            for mask in [0x01u8, 0xff] {
                if mask == 0xff && pos % 5 != 0 {
                    continue;
                }
                let mut b = orig.clone();
                b[pos] ^= mask;
                std::fs::write(&path, &b).unwrap();
                let (recs, res, _) = read_all(&dir);
                match res {
                    Err(TraceError::Corrupt { file, offset, what }) => {
                        assert_eq!(file, path, "{what}");
                        assert!(
                            offset <= pos as u64,
                            "{name}@{pos}: offset {offset}: {what}"
                        );
                        assert_prefix(&recs, &written);
                    }
                    Err(e) => panic!("{name}@{pos}: unexpected error {e}"),
                    Ok(()) => {
                        assert_eq!(recs.len(), written.len(), "{name}@{pos}: silent loss");
                        assert_prefix(&recs, &written);
                    }
                }
            }
        }
        std::fs::write(&path, &orig).unwrap();
    }
    let (recs, res, complete) = read_all(&dir);
    res.unwrap();
    assert!(complete);
    assert_eq!(recs.len(), written.len());
}

#[test]
fn corrupt_error_names_file_and_offset() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    write_trace(&dir, 100, false, 10);
    let path = dir.join(EVENTS_FILE);
    let mut b = std::fs::read(&path).unwrap();
    b[60] ^= 0x10;
    std::fs::write(&path, &b).unwrap();
    let (_, res, _) = read_all(&dir);
    let msg = res.unwrap_err().to_string();
    assert!(msg.contains("events.rz"), "{msg}");
    assert!(msg.contains("offset 0"), "{msg}");
}

// --- Hand-built chunks, following docs/trace-format.md, to feed the decoder
// payloads whose checksums are valid but whose contents are not.

fn chunk(kind: u8, codec: u8, seq: u64, first: u64, raw_len: u32, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(40 + payload.len());
    h.extend_from_slice(b"RLCK");
    h.push(kind);
    h.push(codec);
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(&seq.to_le_bytes());
    h.extend_from_slice(&first.to_le_bytes());
    h.extend_from_slice(&raw_len.to_le_bytes());
    h.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    h.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    let crc = crc32fast::hash(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h.extend_from_slice(payload);
    h
}

/// An empty trace directory (header only) with the given stream contents.
fn trace_with_streams(dir: &Path, events: &[u8], data: &[u8]) {
    drop(TraceWriter::create(dir, &header()).unwrap());
    std::fs::write(dir.join(EVENTS_FILE), events).unwrap();
    std::fs::write(dir.join(DATA_FILE), data).unwrap();
}

#[test]
fn absurd_data_length_does_not_allocate() {
    let ev = Event::Syscall(SyscallEvent {
        tid: 1,
        nr: 0,
        args: [0; 6],
        result: 0,
        site: None,
        writes: vec![MemWrite {
            addr: 0,
            len: 1 << 60,
        }],
        echo: None,
        mapped_file: None,
        checksum: None,
        emitted: None,
        arg_data: Vec::new(),
    });
    let body = postcard::to_allocvec(&ev).unwrap();
    let mut payload = (body.len() as u32).to_le_bytes().to_vec();
    payload.extend_from_slice(&body);
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trace");
    let data = chunk(2, 0, 0, 0, 4, b"abcd");
    trace_with_streams(
        &dir,
        &chunk(1, 0, 0, 1, payload.len() as u32, &payload),
        &data,
    );
    let (recs, res, complete) = read_all(&dir);
    res.unwrap();
    assert!(!complete);
    assert!(recs.is_empty());

    // Overflowing and inverted lengths are errors, not panics.
    for ev in [
        Event::Syscall(SyscallEvent {
            tid: 1,
            nr: 0,
            args: [0; 6],
            result: 0,
            site: None,
            writes: vec![
                MemWrite {
                    addr: 0,
                    len: u64::MAX,
                },
                MemWrite { addr: 0, len: 2 },
            ],
            echo: None,
            mapped_file: None,
            checksum: None,
            emitted: None,
            arg_data: Vec::new(),
        }),
        Event::Exec(ExecEvent {
            tid: 1,
            old_tid: 1,
            path: String::new(),
            argv: vec![],
            regions: vec![Region {
                start: 10,
                end: 5,
                prot: 0,
                shared: false,
                stack: false,
                source: RegionSource::Data,
            }],
            regs: vec![],
            xstate: vec![],
            brk: 0,
            site: None,
            sig_ignored: 0,
            sig_blocked: 0,
        }),
    ] {
        let body = postcard::to_allocvec(&ev).unwrap();
        let mut payload = (body.len() as u32).to_le_bytes().to_vec();
        payload.extend_from_slice(&body);
        trace_with_streams(
            &dir_fresh(&dir),
            &chunk(1, 0, 0, 1, payload.len() as u32, &payload),
            &[],
        );
        let (_, res, _) = read_all(&dir);
        assert!(matches!(res, Err(TraceError::Corrupt { .. })), "{res:?}");
    }
}

fn dir_fresh(dir: &Path) -> std::path::PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    dir.to_path_buf()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// Random bytes as stream files.
    #[test]
    fn random_stream_files(events in proptest::collection::vec(any::<u8>(), 0..2000),
                           data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("trace");
        trace_with_streams(&dir, &events, &data);
        let _ = read_all(&dir);
    }

    /// Valid chunk framing around arbitrary payloads (raw or claimed zstd):
    /// exercises event decoding of garbage that passes the checksums.
    #[test]
    fn garbage_payloads_with_valid_checksums(payload in proptest::collection::vec(any::<u8>(), 0..600),
                                             zstd in any::<bool>(),
                                             raw_len in 0u32..100_000,
                                             data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("trace");
        let ev = if zstd {
            chunk(1, 1, 0, 1, raw_len, &payload)
        } else {
            chunk(1, 0, 0, 1, payload.len() as u32, &payload)
        };
        let dlen = data.len() as u32;
        trace_with_streams(&dir, &ev, &chunk(2, 0, 0, 0, dlen, &data));
        let _ = read_all(&dir);
    }

    /// A real trace with random byte edits and a random truncation.
    #[test]
    fn mutated_real_trace(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
                          cut in any::<prop::sample::Index>(),
                          which in any::<bool>(),
                          do_cut in any::<bool>()) {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("trace");
        let written = write_trace(&dir, 40, false, 8);
        let path = dir.join(if which { EVENTS_FILE } else { DATA_FILE });
        let mut b = std::fs::read(&path).unwrap();
        for (i, v) in &edits {
            let i = i.index(b.len());
            b[i] = *v;
        }
        if do_cut {
            b.truncate(cut.index(b.len() + 1));
        }
        std::fs::write(&path, &b).unwrap();
        let (recs, res, _) = read_all(&dir);
        if res.is_ok() {
            assert_prefix(&recs, &written);
        }
    }
}
