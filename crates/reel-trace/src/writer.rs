//! The trace writer: called from the recorder's single ptrace thread, it only
//! encodes events and copies bytes into buffers; a background thread
//! compresses, writes and fsyncs, so the recorder never waits on the disk.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::chunk::{self, Kind, TARGET_CHUNK};
use crate::error::{IoContext, TraceError};
use crate::event::{Event, ExitKind, FileId, Header};
use crate::snapshot::SnapshotStore;
use crate::{fsutil, DATA_FILE, EVENTS_FILE, FILES_DIR, FORMAT_MAJOR, FORMAT_MINOR};

/// A chunk holding events is closed at most this long after its first event,
/// so a killed recorder loses at most this much (plus the fsync interval on
/// power loss).
const FLUSH_DELAY: Duration = Duration::from_millis(250);
/// New data is fsync'd at least this often.
const SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Closed chunks waiting for the writer thread, in bytes, beyond which the
/// recorder waits: it bounds memory if the disk is slower than the tracee.
const MAX_QUEUED: usize = 64 << 20;
/// zstd level: 1 is the fastest and still compresses syscall data well.
const ZSTD_LEVEL: i32 = 1;

/// How a finished recording ended, stored in `summary.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// How the initial process ended (None if reel stopped it otherwise).
    pub exit: Option<ExitKind>,
    /// Number of events recorded.
    pub events: u64,
    /// Wall-clock end time, milliseconds since the Unix epoch.
    pub end_time_ms: u64,
}

/// Which stream file a job goes to.
#[derive(Clone, Copy)]
enum Stream {
    Events,
    Data,
}

/// Work for the writer thread, executed in order.
enum Job {
    /// Write one chunk.
    Chunk {
        stream: Stream,
        kind: Kind,
        first: u64,
        raw: Vec<u8>,
    },
    /// fsync both streams now.
    Sync,
    /// fsync a file (a new snapshot) in the background, then add it to the
    /// store's pool (`pool/<id>`) if given: only durable contents are shared.
    SyncPath(PathBuf, Option<(PathBuf, String)>),
}

impl Job {
    fn bytes(&self) -> usize {
        match self {
            Job::Chunk { raw, .. } => raw.len(),
            _ => 0,
        }
    }
}

/// State shared between the recorder thread and the writer thread.
struct State {
    /// Length-prefixed encoded events not yet in a chunk.
    ev_buf: Vec<u8>,
    /// Number of the first event in `ev_buf`.
    ev_first: u64,
    /// Number of events in `ev_buf`.
    ev_count: u64,
    /// Data bytes not yet in a chunk.
    data_buf: Vec<u8>,
    /// Data-stream offset of the first byte of `data_buf`.
    data_first: u64,
    /// When the oldest event not yet in a chunk was appended.
    pending_since: Option<Instant>,
    /// Closed chunks and other jobs, in order.
    queue: VecDeque<Job>,
    queued_bytes: usize,
    /// Jobs ever queued / ever completed: `flush` waits for the latter to
    /// reach the former.
    queued_total: u64,
    done_total: u64,
    /// The writer thread should exit once the queue is empty.
    shutdown: bool,
    /// First error of the writer thread, not yet reported.
    error: Option<TraceError>,
    /// Message of an error already reported, for later calls.
    failed: Option<String>,
}

impl State {
    fn push(&mut self, job: Job) {
        self.queued_bytes += job.bytes();
        self.queued_total += 1;
        self.queue.push_back(job);
    }

    /// Closes the pending data chunk, if any.
    fn seal_data(&mut self) {
        if self.data_buf.is_empty() {
            return;
        }
        let raw = std::mem::replace(&mut self.data_buf, Vec::with_capacity(TARGET_CHUNK));
        let first = self.data_first;
        self.data_first += raw.len() as u64;
        self.push(Job::Chunk {
            stream: Stream::Data,
            kind: Kind::Data,
            first,
            raw,
        });
    }

    /// Closes the pending event chunk. The data chunk is closed first: an
    /// event chunk is then never on disk before the data its events refer to.
    fn seal_events(&mut self) {
        self.seal_data();
        if !self.ev_buf.is_empty() {
            let raw = std::mem::replace(&mut self.ev_buf, Vec::with_capacity(TARGET_CHUNK));
            let first = self.ev_first;
            self.push(Job::Chunk {
                stream: Stream::Events,
                kind: Kind::Events,
                first,
                raw,
            });
        }
        self.ev_first += self.ev_count;
        self.ev_count = 0;
        self.pending_since = None;
    }
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the writer thread (new jobs, a new deadline, shutdown).
    to_writer: Condvar,
    /// Wakes the recorder (jobs done, queue space freed).
    to_recorder: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in the other thread while holding the lock leaves a state
        // that is still structurally valid: keep going rather than panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Writes a new trace. See the crate documentation and `docs/trace-format.md`.
pub struct TraceWriter {
    dir: PathBuf,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// Number the next appended event gets.
    next_number: u64,
    /// Total data bytes appended.
    data_total: u64,
    /// Scratch buffer for encoding one event.
    scratch: Vec<u8>,
    snapshots: SnapshotStore,
}

impl TraceWriter {
    /// Creates a trace in `dir`, which must not exist or be empty, with mode
    /// 0700, and writes `header` (its `format_major`/`format_minor` are set to
    /// this crate's [`FORMAT_MAJOR`]/[`FORMAT_MINOR`]).
    pub fn create(dir: &Path, header: &Header) -> Result<TraceWriter, TraceError> {
        match std::fs::symlink_metadata(dir) {
            Ok(m) if !m.is_dir() => {
                return Err(TraceError::NotADirectory {
                    path: dir.to_path_buf(),
                })
            }
            Ok(_) => {
                if std::fs::read_dir(dir).at(dir)?.next().is_some() {
                    return Err(TraceError::DirNotEmpty {
                        path: dir.to_path_buf(),
                    });
                }
                std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                    .at(dir)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fsutil::mkdir_private(dir).at(dir)?;
            }
            Err(e) => return Err(TraceError::io(dir, e)),
        }
        let mut header = header.clone();
        header.format_major = FORMAT_MAJOR;
        header.format_minor = FORMAT_MINOR;
        let files = dir.join(FILES_DIR);
        fsutil::mkdir_private(&files).at(&files)?;
        let open = |name: &str| -> Result<File, TraceError> {
            let p = dir.join(name);
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&p)
                .at(&p)
        };
        let events = open(EVENTS_FILE)?;
        let data = open(DATA_FILE)?;
        // The header goes last: a directory with a header is a trace, and
        // its streams then exist.
        crate::reader::write_header(dir, &header)?;
        let snapshots = SnapshotStore::create(dir)?;

        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                ev_buf: Vec::with_capacity(TARGET_CHUNK),
                ev_first: 1,
                ev_count: 0,
                data_buf: Vec::with_capacity(TARGET_CHUNK),
                data_first: 0,
                pending_since: None,
                queue: VecDeque::new(),
                queued_bytes: 0,
                queued_total: 0,
                done_total: 0,
                shutdown: false,
                error: None,
                failed: None,
            }),
            to_writer: Condvar::new(),
            to_recorder: Condvar::new(),
        });
        let compressor = zstd::bulk::Compressor::new(ZSTD_LEVEL).at(dir)?;
        let mut thread_state = WriterThread {
            dir: dir.to_path_buf(),
            shared: shared.clone(),
            events,
            data,
            ev_seq: 0,
            data_seq: 0,
            compressor,
            dirty: false,
            last_sync: Instant::now(),
        };
        let thread = std::thread::Builder::new()
            .name("reel-trace-writer".into())
            .spawn(move || thread_state.run())
            .at(dir)?;
        Ok(TraceWriter {
            dir: dir.to_path_buf(),
            shared,
            thread: Some(thread),
            next_number: 1,
            data_total: 0,
            scratch: Vec::new(),
            snapshots,
        })
    }

    /// The trace directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of events appended so far.
    pub fn events(&self) -> u64 {
        self.next_number - 1
    }

    /// Reports a writer-thread error once, then a short reminder on later calls.
    fn check(&self, st: &mut State) -> Result<(), TraceError> {
        if let Some(e) = st.error.take() {
            st.failed = Some(e.to_string());
            return Err(e);
        }
        if let Some(what) = &st.failed {
            return Err(TraceError::WriterFailed {
                path: self.dir.clone(),
                what: what.clone(),
            });
        }
        Ok(())
    }

    /// Appends an event and the data-stream bytes it describes; returns the
    /// event's global number (from 1).
    pub fn append(&mut self, event: &Event, data: &[u8]) -> Result<u64, TraceError> {
        let expected =
            crate::reader::checked_data_len(event).ok_or_else(|| TraceError::Encode {
                path: self.dir.clone(),
                what: "event describes an impossible data length".into(),
            })?;
        if expected != data.len() as u64 {
            return Err(TraceError::DataLength {
                expected,
                given: data.len() as u64,
            });
        }
        self.scratch.clear();
        // postcard: varint integers keep records small before compression.
        self.scratch =
            postcard::to_extend(event, std::mem::take(&mut self.scratch)).map_err(|e| {
                TraceError::Encode {
                    path: self.dir.clone(),
                    what: e.to_string(),
                }
            })?;
        if self.scratch.len() + 4 > chunk::MAX_RAW {
            return Err(TraceError::Encode {
                path: self.dir.clone(),
                what: format!("event encodes to {} bytes, too large", self.scratch.len()),
            });
        }

        let shared = self.shared.clone();
        let mut st = shared.lock();
        self.check(&mut st)?;
        let queued_before = st.queued_total;
        let mut wake = false;
        if st.pending_since.is_none() {
            // The writer thread must learn the new deadline.
            st.pending_since = Some(Instant::now());
            wake = true;
        }
        if st.ev_buf.len() + 4 + self.scratch.len() > chunk::MAX_RAW {
            st.seal_events();
            st.pending_since = Some(Instant::now());
        }
        st.ev_buf
            .extend_from_slice(&(self.scratch.len() as u32).to_le_bytes());
        st.ev_buf.extend_from_slice(&self.scratch);
        st.ev_count += 1;
        let mut rest = data;
        while !rest.is_empty() {
            let room = TARGET_CHUNK.saturating_sub(st.data_buf.len()).max(1);
            let (now, later) = rest.split_at(room.min(rest.len()));
            st.data_buf.extend_from_slice(now);
            rest = later;
            if st.data_buf.len() >= TARGET_CHUNK {
                st.seal_data();
            }
        }
        let number = self.next_number;
        self.next_number += 1;
        self.data_total += data.len() as u64;
        if st.ev_buf.len() >= TARGET_CHUNK {
            st.seal_events();
        }
        if st.queued_total != queued_before {
            wake = true;
        }
        if wake {
            self.shared.to_writer.notify_one();
        }
        // Backpressure: let the disk catch up rather than grow without bound.
        while st.queued_bytes > MAX_QUEUED && st.error.is_none() {
            st = self
                .shared
                .to_recorder
                .wait(st)
                .unwrap_or_else(|p| p.into_inner());
        }
        Ok(number)
    }

    /// Closes the current chunk now and waits until it has been written to
    /// the file (not necessarily fsync'd), so that it survives the recorder
    /// being killed. Called at process exits.
    pub fn flush(&mut self) -> Result<(), TraceError> {
        let shared = self.shared.clone();
        let mut st = shared.lock();
        st.seal_events();
        let target = st.queued_total;
        self.shared.to_writer.notify_one();
        while st.done_total < target && st.error.is_none() && st.failed.is_none() {
            st = self
                .shared
                .to_recorder
                .wait(st)
                .unwrap_or_else(|p| p.into_inner());
        }
        self.check(&mut st)
    }

    /// Waits until all queued jobs (including a final fsync) are done.
    fn sync_all(&mut self) -> Result<(), TraceError> {
        let shared = self.shared.clone();
        let mut st = shared.lock();
        st.seal_events();
        st.push(Job::Sync);
        let target = st.queued_total;
        self.shared.to_writer.notify_one();
        while st.done_total < target && st.error.is_none() && st.failed.is_none() {
            st = self
                .shared
                .to_recorder
                .wait(st)
                .unwrap_or_else(|p| p.into_inner());
        }
        self.check(&mut st)
    }

    /// Shares this trace's snapshots with the pool of the store at `root`
    /// (call before the first snapshot): contents another recording in the
    /// store copied are linked, not copied again, and new copies join the
    /// pool. Only for traces inside that store: a link needs one filesystem,
    /// and `rm` of the store's traces is what empties the pool.
    pub fn share_snapshots(&mut self, root: &Path) -> Result<(), TraceError> {
        let pool = crate::pool::open(root).at(root)?;
        self.snapshots.set_pool(pool);
        Ok(())
    }

    /// Limits the data one snapshot may hold (holes do not count): a file
    /// holding more is refused with [`TraceError::SnapshotTooLarge`]. `None`
    /// (the default) sets no limit.
    pub fn set_max_snapshot(&mut self, limit: Option<u64>) {
        self.snapshots.max_data = limit;
    }

    /// The limit set by [`TraceWriter::set_max_snapshot`].
    pub fn max_snapshot(&self) -> Option<u64> {
        self.snapshots.max_data
    }

    /// Stores a snapshot of the file at `path` (which may be a `/proc` magic
    /// link such as `/proc/PID/fd/N` or `/proc/PID/exe`) in the trace's
    /// `files/` directory and returns its id. Identical contents are stored
    /// once; see `docs/trace-format.md` for when a snapshot is a reflink, a
    /// hardlink or a copy.
    pub fn snapshot_file(&mut self, path: &Path) -> Result<FileId, TraceError> {
        let (id, new_file) = self.snapshots.snapshot(path)?;
        if let Some(p) = new_file {
            // Durability of the copy matters only for power loss; the writer
            // thread takes the fsync off the recorder's path.
            let publish = self
                .snapshots
                .pool()
                .map(|pool| (pool.to_path_buf(), id.0.clone()));
            let mut st = self.shared.lock();
            st.push(Job::SyncPath(p, publish));
            self.shared.to_writer.notify_one();
        }
        Ok(id)
    }

    /// Stores `len` bytes that are no file's (a System V shared memory
    /// segment, named `source` for display) as a snapshot, read by
    /// `fill(offset, buf)` a block at a time; zero pages cost nothing.
    pub fn snapshot_bytes(
        &mut self,
        source: &str,
        len: u64,
        fill: &mut dyn FnMut(u64, &mut [u8]) -> std::io::Result<()>,
    ) -> Result<FileId, TraceError> {
        let (id, new_file) = self.snapshots.store_bytes(source, len, fill)?;
        if let Some(p) = new_file {
            let mut st = self.shared.lock();
            st.push(Job::SyncPath(p, None));
            self.shared.to_writer.notify_one();
        }
        Ok(id)
    }

    /// Finishes the recording: writes every pending event, the summary and the
    /// end marker, and fsyncs, after which readers report the trace complete.
    pub fn finish(mut self, summary: &Summary) -> Result<(), TraceError> {
        self.sync_all()?;
        self.snapshots.sync()?;
        let json = serde_json::to_vec_pretty(summary).map_err(|e| TraceError::Encode {
            path: self.dir.clone(),
            what: e.to_string(),
        })?;
        // The summary is durable before the end marker is written, so a
        // complete trace always has one.
        fsutil::write_atomic(&self.dir, crate::SUMMARY_FILE, &json)?;
        {
            let mut st = self.shared.lock();
            let end = chunk::end_payload(self.next_number - 1, self.data_total);
            st.push(Job::Chunk {
                stream: Stream::Events,
                kind: Kind::End,
                first: self.next_number - 1,
                raw: end.to_vec(),
            });
        }
        self.sync_all()?;
        self.stop_thread();
        fsutil::sync_dir(&self.dir)
    }

    /// Asks the writer thread to drain its queue and exit, and waits for it.
    fn stop_thread(&mut self) {
        {
            let mut st = self.shared.lock();
            st.seal_events();
            st.shutdown = true;
            self.shared.to_writer.notify_one();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TraceWriter {
    /// Without `finish`, still writes and fsyncs everything appended, leaving
    /// a readable but incomplete trace.
    fn drop(&mut self) {
        self.stop_thread();
    }
}

/// The background thread: owns the files and the compressor.
struct WriterThread {
    dir: PathBuf,
    shared: Arc<Shared>,
    events: File,
    data: File,
    ev_seq: u64,
    data_seq: u64,
    compressor: zstd::bulk::Compressor<'static>,
    /// Written since the last fsync.
    dirty: bool,
    last_sync: Instant,
}

impl WriterThread {
    fn run(&mut self) {
        let mut failed = false;
        loop {
            let jobs: Vec<Job> = {
                let mut st = self.shared.lock();
                loop {
                    if !st.queue.is_empty() {
                        break;
                    }
                    let now = Instant::now();
                    // The 250 ms timer runs here, so chunks close even when
                    // the recorder is idle (tracee blocked in a syscall).
                    if let Some(since) = st.pending_since {
                        if now >= since + FLUSH_DELAY {
                            st.seal_events();
                            continue;
                        }
                    }
                    if st.shutdown || (self.dirty && now >= self.last_sync + SYNC_INTERVAL) {
                        break;
                    }
                    let mut deadline = st.pending_since.map(|s| s + FLUSH_DELAY);
                    if self.dirty {
                        let d = self.last_sync + SYNC_INTERVAL;
                        deadline = Some(deadline.map_or(d, |x| x.min(d)));
                    }
                    st = match deadline {
                        Some(d) => {
                            self.shared
                                .to_writer
                                .wait_timeout(st, d.saturating_duration_since(now))
                                .unwrap_or_else(|p| p.into_inner())
                                .0
                        }
                        None => self
                            .shared
                            .to_writer
                            .wait(st)
                            .unwrap_or_else(|p| p.into_inner()),
                    };
                }
                st.queue.drain(..).collect()
            };

            let mut freed = 0;
            let n = jobs.len() as u64;
            let mut error = None;
            for job in jobs {
                freed += job.bytes();
                if failed {
                    // Keep draining so the recorder is never blocked, but
                    // stop writing: later chunks would not be readable anyway.
                    continue;
                }
                if let Err(e) = self.execute(job) {
                    failed = true;
                    error = Some(e);
                }
            }
            if !failed && self.dirty && self.last_sync.elapsed() >= SYNC_INTERVAL {
                if let Err(e) = self.sync() {
                    failed = true;
                    error = Some(e);
                }
            }
            let mut st = self.shared.lock();
            st.queued_bytes -= freed;
            st.done_total += n;
            if error.is_some() && st.error.is_none() && st.failed.is_none() {
                st.error = error;
            }
            self.shared.to_recorder.notify_all();
            if st.shutdown && st.queue.is_empty() {
                drop(st);
                if !failed && self.dirty {
                    if let Err(e) = self.sync() {
                        let mut st = self.shared.lock();
                        if st.error.is_none() {
                            st.error = Some(e);
                        }
                    }
                }
                return;
            }
        }
    }

    fn execute(&mut self, job: Job) -> Result<(), TraceError> {
        match job {
            Job::Chunk {
                stream,
                kind,
                first,
                raw,
            } => {
                let (file, seq, name) = match stream {
                    Stream::Events => (&mut self.events, &mut self.ev_seq, EVENTS_FILE),
                    Stream::Data => (&mut self.data, &mut self.data_seq, DATA_FILE),
                };
                let path = self.dir.join(name);
                let bytes = if kind == Kind::End {
                    // The end marker is stored raw and fixed-size so readers
                    // can find it at the tail of the file.
                    let hdr = chunk::ChunkHeader {
                        kind,
                        codec: chunk::Codec::Raw,
                        seq: *seq,
                        first,
                        raw_len: raw.len() as u32,
                        stored_len: raw.len() as u32,
                        payload_crc: crc32fast::hash(&raw),
                    };
                    let mut b = hdr.encode().to_vec();
                    b.extend_from_slice(&raw);
                    b
                } else {
                    chunk::build_chunk(&mut self.compressor, kind, *seq, first, &raw).at(&path)?
                };
                // One write per chunk: a kill leaves at most one partial chunk.
                file.write_all(&bytes).at(&path)?;
                *seq += 1;
                self.dirty = true;
            }
            Job::Sync => self.sync()?,
            Job::SyncPath(p, publish) => {
                File::open(&p).and_then(|f| f.sync_all()).at(&p)?;
                if let Some((pool, id)) = publish {
                    crate::pool::publish(&pool, &id, &p);
                }
            }
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), TraceError> {
        self.data.sync_data().at(&self.dir.join(DATA_FILE))?;
        self.events.sync_data().at(&self.dir.join(EVENTS_FILE))?;
        self.dirty = false;
        self.last_sync = Instant::now();
        Ok(())
    }
}
