//! Helpers shared by the integration tests.
#![allow(dead_code)]
// The workspace targets Rust 1.80, older than `u64::is_multiple_of`.
#![allow(clippy::manual_is_multiple_of)]

use reel_trace::*;
use std::path::Path;

/// A plausible header.
pub fn header() -> Header {
    Header {
        format_major: FORMAT_MAJOR,
        format_minor: FORMAT_MINOR,
        reel_version: "0.1.0-test".into(),
        argv: vec!["/bin/true".into(), "--flag".into()],
        env: vec!["PATH=/usr/bin".into()],
        cwd: "/".into(),
        start_time_ms: 1_700_000_000_000,
        hostname: "test".into(),
        kernel: "6.0".into(),
        cpu: CpuIdentity::default(),
        checksums: false,
        cpu_binding: None,
    }
}

/// Event `i` of a deterministic sequence, with its data. A mix of kinds and
/// data sizes, some crossing chunk boundaries when `big` is set.
pub fn event(i: u64, big: bool) -> (Event, Vec<u8>) {
    match i % 5 {
        0 | 1 => {
            let n = if big && i % 97 == 0 {
                300_000
            } else {
                (i * 37 % 200) as usize
            };
            let data: Vec<u8> = (0..n).map(|k| (k as u64 * 7 + i) as u8).collect();
            let ev = Event::Syscall(SyscallEvent {
                tid: 100,
                nr: i % 300,
                args: [i, 1, 2, 3, 4, 5],
                result: n as i64,
                site: Some(SyscallSite {
                    rip: 0x401000 + i,
                    rsp: 0x7ffd_0000,
                }),
                writes: if n == 0 {
                    vec![]
                } else {
                    vec![
                        MemWrite {
                            addr: 0x1000,
                            len: (n / 2) as u64,
                        },
                        MemWrite {
                            addr: 0x9000,
                            len: (n - n / 2) as u64,
                        },
                    ]
                },
                echo: if i % 3 == 0 { Some(Echo::Stdout) } else { None },
                mapped_file: None,
                checksum: None,
                emitted: None,
                arg_data: Vec::new(),
            });
            (ev, data)
        }
        2 => (
            Event::Tsc {
                tid: 100,
                kind: TscKind::Rdtsc,
                value: i * 1000,
                aux: 0,
                rip: 0x4010,
            },
            vec![],
        ),
        3 => {
            let data = vec![(i % 251) as u8; 64];
            let ev = Event::Exec(ExecEvent {
                tid: 100 + (i as i32 % 3),
                old_tid: 100 + (i as i32 % 3),
                path: "/bin/prog".into(),
                argv: vec!["prog".into(), format!("{i}")],
                regions: vec![
                    Region {
                        start: 0x1000,
                        end: 0x1040,
                        prot: 3,
                        shared: false,
                        stack: false,
                        source: RegionSource::Data,
                    },
                    Region {
                        start: 0x2000,
                        end: 0x3000,
                        prot: 5,
                        shared: false,
                        stack: false,
                        source: RegionSource::File {
                            file: FileId("abc".into()),
                            offset: 0,
                            path: "/bin/prog".into(),
                        },
                    },
                ],
                regs: vec![i; 27],
                xstate: vec![0; 512],
                brk: 0x60_0000,
                site: None,
                sig_ignored: 0,
                sig_blocked: 0,
            });
            (ev, data)
        }
        _ => (
            Event::Signal(SignalEvent {
                tid: 100,
                signo: 11,
                code: 1,
                siginfo: vec![7; 128],
                delivery: SignalDelivery::Synchronous,
                rip: 0x4444,
                regs: vec![1, 2, 3],
                landmark: None,
            }),
            vec![],
        ),
    }
}

/// Writes a complete trace of `n` events, flushing every `flush_every`
/// events (to get many chunks), and returns what was written.
pub fn write_trace(dir: &Path, n: u64, big: bool, flush_every: u64) -> Vec<(Event, Vec<u8>)> {
    let mut w = TraceWriter::create(dir, &header()).unwrap();
    let mut all = Vec::new();
    for i in 1..=n {
        let (ev, data) = event(i, big);
        assert_eq!(w.append(&ev, &data).unwrap(), i);
        if flush_every > 0 && i % flush_every == 0 {
            w.flush().unwrap();
        }
        all.push((ev, data));
    }
    w.finish(&Summary {
        exit: Some(ExitKind::Exited(3)),
        events: n,
        end_time_ms: 1_700_000_001_000,
    })
    .unwrap();
    all
}

/// Reads everything; returns the records and the final result.
pub fn read_all(dir: &Path) -> (Vec<Record>, Result<(), TraceError>, bool) {
    let mut r = match TraceReader::open(dir) {
        Ok(r) => r,
        Err(e) => return (vec![], Err(e), false),
    };
    let mut out = Vec::new();
    loop {
        match r.next() {
            Ok(Some(rec)) => out.push(rec),
            Ok(None) => return (out, Ok(()), r.is_complete()),
            Err(e) => return (out, Err(e), r.is_complete()),
        }
    }
}
