//! Memory calls with record-side checks of their own: mappings of files too
//! large to snapshot, and System V shared memory.

use super::*;

impl Recorder {
    /// For a call about to run: the errno it must fail with because reel
    /// could not record what it maps, after saying why.
    pub(super) fn refuse_mapping(&mut self, st: &Stopped, nr: u64, args: &[u64; 6]) -> Option<i32> {
        if nr != libc::SYS_mmap as u64 || args[3] as i32 & libc::MAP_ANONYMOUS != 0 {
            return None;
        }
        let limit = self.writer.max_snapshot()?;
        let link = format!("/proc/{}/fd/{}", st.tid(), args[4] as i32);
        let file = std::fs::File::open(&link).ok()?;
        if !file.metadata().ok()?.is_file() {
            return None;
        }
        // What a snapshot would store: the data, not the holes of a sparse
        // file or memfd.
        let data = reel_trace::sparse::data_size(&file).ok()?;
        if data <= limit {
            return None;
        }
        eprintln!(
            "reel: mmap of {} refused with ENOMEM: the file holds {} of data, more than a snapshot may hold ({}; see record --max-snapshot, REEL_MAX_SNAPSHOT)",
            proc::fd_path(st.tid(), args[4] as i32),
            human(data),
            human(limit)
        );
        Some(libc::ENOMEM)
    }
}

/// A byte count for people: `5 GiB`, `12 MiB`, `300 bytes`.
fn human(n: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (name, size) in UNITS {
        if n >= size {
            let whole = n / size;
            let tenth = (n % size) * 10 / size;
            return if tenth == 0 {
                format!("{whole} {name}")
            } else {
                format!("{whole}.{tenth} {name}")
            };
        }
    }
    format!("{n} bytes")
}
