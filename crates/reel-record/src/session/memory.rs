//! Memory calls with record-side checks of their own: mappings of files too
//! large to snapshot, and System V shared memory.

use super::*;
use reel_sys::sysvipc;
use reel_trace::MappedFile;

/// The fake device under which System V segments join `shared_files`
/// (their shmid as the inode): processes attaching one segment share it.
const SYSV_DEVICE: u64 = u64::MAX;

/// What the recorder keeps about shared memory.
#[derive(Default)]
pub(super) struct MemState {
    /// Files mapped MAP_SHARED (device, inode), with the path their
    /// snapshots name: writes to them change what the mappings show.
    shared_mapped: HashMap<(u64, u64), String>,
    /// Segments the recorded tree created (their shmid).
    created: HashSet<i32>,
    /// Each segment's snapshot, taken at its first attach.
    snapshots: HashMap<i32, MappedFile>,
    /// Segments made outside the recording, already warned about.
    warned: HashSet<i32>,
}

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

impl Recorder {
    /// Memory a call wrote that its table row cannot describe: the array
    /// semctl(GETALL) fills, one `unsigned short` per semaphore of the set.
    pub(super) fn extra_outputs(&self, nr: u64, args: &[u64; 6], result: i64) -> Vec<(u64, u64)> {
        match reel_syscalls::semctl_getall(nr, args) {
            Some(array) if result >= 0 => sysvipc::semaphores(args[0] as i32)
                .map(|n| vec![(array, 2 * n)])
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// After an mmap of a file that made `mapped`: a shared mapping is
    /// noted, so that later writes to the file are snapshotted too.
    pub(super) fn note_mapped_file(&mut self, tid: Tid, args: &[u64; 6], mapped: &MappedFile) {
        if args[3] as i32 & libc::MAP_SHARED == 0 {
            return;
        }
        if let Some(id) = proc::fd_identity(tid, args[4] as i32) {
            self.sysv.shared_mapped.insert(id, mapped.path.clone());
        }
    }

    /// After a call that wrote to or resized a file: when a recorded process
    /// maps that file shared, its mappings show the change, which replay
    /// (which emulates the call) must make to its copy of the file: the
    /// file's snapshot after the call, as the event's `mapped_file`.
    pub(super) fn snapshot_written_file(
        &mut self,
        tid: Tid,
        nr: u64,
        args: &[u64; 6],
        result: i64,
    ) -> Result<Option<MappedFile>> {
        let writes_file = matches!(
            nr as i64,
            libc::SYS_write
                | libc::SYS_pwrite64
                | libc::SYS_writev
                | libc::SYS_pwritev
                | libc::SYS_pwritev2
                | libc::SYS_ftruncate
                | libc::SYS_fallocate
        );
        if !writes_file || result < 0 || self.sysv.shared_mapped.is_empty() {
            return Ok(None);
        }
        let fd = args[0] as i32;
        let Some(path) = proc::fd_identity(tid, fd).and_then(|id| self.sysv.shared_mapped.get(&id))
        else {
            return Ok(None);
        };
        let path = path.clone();
        let link = format!("/proc/{tid}/fd/{fd}");
        let file = self.writer.snapshot_file(std::path::Path::new(&link))?;
        Ok(Some(MappedFile { file, path }))
    }

    /// After a System V IPC call: notes the segments the tree creates.
    pub(super) fn after_sysv_call(&mut self, tid: Tid, nr: u64, result: i64) {
        if nr != libc::SYS_shmget as u64 || result < 0 {
            return;
        }
        let Some(seg) = sysvipc::segment(result as i32) else {
            return;
        };
        if self.task_info.values().any(|t| t.pid == seg.cpid) || seg.cpid == tid {
            self.sysv.created.insert(result as i32);
        }
    }

    /// A successful shmat of segment `shmid` at `addr` by the stopped task:
    /// the segment's snapshot (taken at its first attach in the recording,
    /// which replay maps a copy of), and the processes that share it.
    pub(super) fn on_shmat(
        &mut self,
        st: &Stopped,
        shmid: i32,
        addr: u64,
    ) -> Result<Option<MappedFile>> {
        let tid = st.tid();
        let pid = self.task_info.get(&tid).map_or(tid, |t| t.pid);
        let sharers = self
            .shared_files
            .entry((SYSV_DEVICE, shmid as u64))
            .or_default();
        sharers.insert(pid);
        if sharers.len() > 1 {
            for p in sharers.clone() {
                self.join_sharing_group(p);
            }
        }
        if let Some(mf) = self.sysv.snapshots.get(&shmid) {
            return Ok(Some(mf.clone()));
        }
        let Some(seg) = sysvipc::segment(shmid) else {
            return Ok(None);
        };
        let len = seg.size.div_ceil(reel_sys::PAGE_SIZE) * reel_sys::PAGE_SIZE;
        let outside = !self.sysv.created.contains(&shmid);
        if outside && self.sysv.warned.insert(shmid) {
            eprintln!(
                "reel: warning: System V shared memory segment {shmid} (key {:#x}) was made outside the recording; changes other processes make to it are not recorded",
                seg.key
            );
        }
        let path = format!("SYSV{:08x} (shmid {shmid})", seg.key as u32);
        let Some(mem) = self.memories.get(&pid) else {
            return Ok(None);
        };
        // A segment the tree made was never attached before: all zero.
        let mut fill = |off: u64, buf: &mut [u8]| -> std::io::Result<()> {
            if !outside {
                buf.fill(0);
                return Ok(());
            }
            mem.read_into(st, addr + off, buf)
                .map_err(|e| std::io::Error::other(e.to_string()))
        };
        let file = self.writer.snapshot_bytes(&path, len, &mut fill)?;
        let mf = MappedFile { file, path };
        self.sysv.snapshots.insert(shmid, mf.clone());
        Ok(Some(mf))
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
