//! The trace store: the directory holding all traces (`$REEL_TRACE_DIR`, or
//! `~/.local/share/reel/`), with rr's naming (`<prog>-<n>`) and a
//! `latest-trace` link, plus the management operations behind `reel ls`,
//! `rm`, `pack` and `ps`.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{IoContext, TraceError};
use crate::event::{Event, ExitKind, Tid};
use crate::reader::{read_header, TraceReader};
use crate::snapshot::{hash_file, read_index, SnapshotEntry, SnapshotKind};
use crate::{
    chunk, fsutil, EVENTS_FILE, FILES_DIR, HEADER_FILE, SNAPSHOT_INDEX, SUMMARY_FILE, TRACE_MAGIC,
};

/// Name of the link to the most recent trace.
const LATEST: &str = "latest-trace";

/// Whether `path` is a directory holding a reel trace header (of any version).
/// Used as the safety check before deleting anything.
pub fn is_trace_dir(path: &Path) -> bool {
    loose_header(path).is_some()
}

/// The header of a trace as loose JSON, whatever its version, if `dir` has one
/// with the reel magic.
fn loose_header(dir: &Path) -> Option<serde_json::Value> {
    let meta = std::fs::symlink_metadata(dir).ok()?;
    if !meta.is_dir() {
        return None;
    }
    let bytes = std::fs::read(dir.join(HEADER_FILE)).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    (v.get("magic")?.as_str()? == TRACE_MAGIC).then_some(v)
}

/// One trace, as `reel ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceInfo {
    /// Directory name.
    pub name: String,
    /// Full path.
    pub path: PathBuf,
    /// Recording start, milliseconds since the Unix epoch (0 if unknown).
    pub start_time_ms: u64,
    /// The command line recorded.
    pub argv: Vec<String>,
    /// Total size of the trace's files in bytes.
    pub size_bytes: u64,
    /// Bytes only this trace holds: what `reel rm` frees.
    pub own_bytes: u64,
    /// Bytes shared with other traces (through the store's snapshot pool)
    /// or with the system (hardlinked system files).
    pub shared_bytes: u64,
    /// Whether the recording finished properly.
    pub complete: bool,
}

/// What `pack` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PackReport {
    /// Snapshots in the trace.
    pub files: u64,
    /// Snapshots that were links (or of unknown kind) and are now copies.
    pub files_copied: u64,
    /// Bytes copied doing so.
    pub bytes_copied: u64,
    /// Duplicate or stale index entries dropped.
    pub index_entries_dropped: u64,
    /// Leftover temporary files (from a killed recorder) removed.
    pub temp_files_removed: u64,
    /// Snapshots whose contents no longer match their id (a linked file was
    /// modified in place after recording): replay of those mappings may diverge.
    pub mismatched: Vec<String>,
}

/// A process of a trace, as `reel ps` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessInfo {
    /// Thread id (of the process leader) at record time.
    pub tid: Tid,
    /// Parent's tid, when the trace says (fork events).
    pub parent: Option<Tid>,
    /// The last command line exec'd (the recorded command for the initial
    /// process until it execs).
    pub argv: Vec<String>,
    /// How it ended, if the trace says.
    pub exit: Option<ExitKind>,
    /// Number of its first event.
    pub first_event: u64,
    /// Number of its last event.
    pub last_event: u64,
}

/// Reads every event of `reader` and returns the processes seen, in order of
/// appearance. The first task is the initial process, started with the
/// header's command line.
///
/// Parents come from process creation: a `clone` (56), `fork` (57) or `vfork`
/// (58) syscall event with a positive result means task `tid` created task
/// `result`. A `clone` with `CLONE_THREAD` in its flags created a thread: a
/// thread is not listed; its events count towards the process of the task
/// that created it. A task whose creation the trace does not show (the
/// initial process, or a trace cut short) is listed as a process without a
/// parent.
pub fn scan_processes(reader: &mut TraceReader) -> Result<Vec<ProcessInfo>, TraceError> {
    const SYS_CLONE: u64 = 56;
    const SYS_FORK: u64 = 57;
    const SYS_VFORK: u64 = 58;
    const CLONE_THREAD: u64 = 0x10000;

    /// What one task did, before tasks are grouped into processes.
    struct TaskSeen {
        argv: Option<Vec<String>>,
        exit: Option<ExitKind>,
        first_event: u64,
        last_event: u64,
    }

    let initial_argv = reader.header().argv.clone();
    let mut tasks: BTreeMap<Tid, TaskSeen> = BTreeMap::new();
    // child tid -> (creating tid, created as a thread)
    let mut created: BTreeMap<Tid, (Tid, bool)> = BTreeMap::new();
    let mut initial: Option<Tid> = None;
    // A process that never execs runs its creator's program: its command
    // line is the creator's at the time of the fork.
    let mut inherited: BTreeMap<Tid, Vec<String>> = BTreeMap::new();
    while let Some(rec) = reader.next()? {
        let mut tid = rec.event.tid();
        if let Event::Exec(e) = &rec.event {
            // A non-leader thread that execs takes over the leader's tid; its
            // events so far stay with its process through `created`.
            if e.old_tid != e.tid && !tasks.contains_key(&e.tid) {
                if let Some(old) = tasks.remove(&e.old_tid) {
                    tasks.insert(e.tid, old);
                }
                if initial == Some(e.old_tid) {
                    initial = Some(e.tid);
                }
            }
            tid = e.tid;
        }
        initial.get_or_insert(tid);
        let t = tasks.entry(tid).or_insert_with(|| TaskSeen {
            argv: None,
            exit: None,
            first_event: rec.number,
            last_event: rec.number,
        });
        t.last_event = rec.number;
        match &rec.event {
            Event::Exec(e) => t.argv = Some(e.argv.clone()),
            Event::Exit { kind, .. } => t.exit = Some(*kind),
            Event::Syscall(s)
                if matches!(s.nr, SYS_CLONE | SYS_FORK | SYS_VFORK)
                    && s.result > 0
                    && s.result <= i64::from(Tid::MAX) =>
            {
                let thread = s.nr == SYS_CLONE && s.args[0] & CLONE_THREAD != 0;
                created.entry(s.result as Tid).or_insert((s.tid, thread));
                let running = t
                    .argv
                    .clone()
                    .or_else(|| inherited.get(&tid).cloned())
                    .or_else(|| (initial == Some(tid)).then(|| initial_argv.clone()));
                if let Some(argv) = running {
                    inherited.entry(s.result as Tid).or_insert(argv);
                }
            }
            _ => {}
        }
    }

    // The process a task belongs to: itself, or for a thread the process of
    // its creator (bounded, so a damaged trace with a cycle cannot hang).
    let process_of = |mut tid: Tid| -> Tid {
        for _ in 0..=created.len() {
            match created.get(&tid) {
                Some(&(creator, true)) if creator != tid => tid = creator,
                _ => break,
            }
        }
        tid
    };

    let mut procs: BTreeMap<Tid, ProcessInfo> = BTreeMap::new();
    // Processes first, so that a thread seen before its process leader's
    // first event still merges into the right entry.
    for (&tid, t) in tasks.iter().filter(|(tid, _)| process_of(**tid) == **tid) {
        let parent = created
            .get(&tid)
            .map(|&(creator, _)| process_of(creator))
            .filter(|&p| p != tid);
        let argv = t
            .argv
            .clone()
            .or_else(|| inherited.get(&tid).cloned())
            .unwrap_or_else(|| {
                if initial == Some(tid) {
                    initial_argv.clone()
                } else {
                    Vec::new()
                }
            });
        procs.insert(
            tid,
            ProcessInfo {
                tid,
                parent,
                argv,
                exit: t.exit,
                first_event: t.first_event,
                last_event: t.last_event,
            },
        );
    }
    for (&tid, t) in tasks.iter() {
        let owner = process_of(tid);
        if owner == tid {
            continue;
        }
        let p = procs.entry(owner).or_insert_with(|| ProcessInfo {
            tid: owner,
            parent: created
                .get(&owner)
                .map(|&(creator, _)| process_of(creator))
                .filter(|&p| p != owner),
            argv: Vec::new(),
            exit: None,
            first_event: t.first_event,
            last_event: t.last_event,
        });
        p.first_event = p.first_event.min(t.first_event);
        p.last_event = p.last_event.max(t.last_event);
        // A thread's exit is not its process's; its exec is (the kernel
        // moves an exec by a non-leader thread to the leader's tid, seen above).
        if let Some(argv) = &t.argv {
            if p.argv.is_empty() {
                p.argv = argv.clone();
            }
        }
    }
    let mut v: Vec<ProcessInfo> = procs.into_values().collect();
    v.sort_by_key(|p| p.first_event);
    Ok(v)
}

/// The directory of traces.
#[derive(Debug, Clone)]
pub struct TraceStore {
    root: PathBuf,
}

impl TraceStore {
    /// The default root: `$REEL_TRACE_DIR`, else `$HOME/.local/share/reel`.
    pub fn default_root() -> Result<PathBuf, TraceError> {
        if let Some(d) = std::env::var_os("REEL_TRACE_DIR").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(d));
        }
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .ok_or(TraceError::NoStoreRoot)?;
        Ok(PathBuf::from(home).join(".local/share/reel"))
    }

    /// Opens the store at the default root, creating it if needed.
    pub fn open_default() -> Result<TraceStore, TraceError> {
        TraceStore::open(&Self::default_root()?)
    }

    /// Opens the store at `root`, creating it (with parents) if needed. A
    /// root created here gets mode 0700: traces hold the program's data.
    pub fn open(root: &Path) -> Result<TraceStore, TraceError> {
        if !root.is_dir() {
            if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).at(parent)?;
            }
            match fsutil::mkdir_private(root) {
                Ok(()) => {}
                // Another reel created it at the same moment.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(TraceError::io(root, e)),
            }
        }
        Ok(TraceStore {
            root: root.to_path_buf(),
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates (mode 0700) and returns a new trace directory `<basename>-<n>`
    /// for program `prog`, `n` the smallest free number. Safe when several
    /// recordings start at once: `mkdir` either creates or fails with EEXIST.
    pub fn new_trace_dir(&self, prog: &str) -> Result<PathBuf, TraceError> {
        let base = Path::new(prog)
            .file_name()
            .map(|b| b.to_string_lossy().into_owned())
            .filter(|b| !b.is_empty() && b != "." && b != "..")
            .unwrap_or_else(|| "trace".to_string());
        // A bound, so a store we cannot create in is an error, not a hang.
        for n in 0u64..1_000_000 {
            let dir = self.root.join(format!("{base}-{n}"));
            match fsutil::mkdir_private(&dir) {
                Ok(()) => return Ok(dir),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(TraceError::io(&dir, e)),
            }
        }
        Err(TraceError::io(
            &self.root,
            std::io::Error::other(format!("no free trace name {base}-<n>")),
        ))
    }

    /// Points `latest-trace` at `dir`, atomically (a new link renamed over
    /// the old), so a concurrent reader never sees it missing.
    pub fn set_latest(&self, dir: &Path) -> Result<(), TraceError> {
        let abs = std::fs::canonicalize(dir).at(dir)?;
        let root = std::fs::canonicalize(&self.root).at(&self.root)?;
        // Relative when inside the root, so the store can be moved whole.
        let target = match abs.strip_prefix(&root) {
            Ok(rel) if rel.components().count() == 1 => rel.to_path_buf(),
            _ => abs.clone(),
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let tmp = self
            .root
            .join(format!(".{LATEST}.{}.{nanos}", std::process::id()));
        std::os::unix::fs::symlink(&target, &tmp).at(&tmp)?;
        let link = self.root.join(LATEST);
        if let Err(e) = std::fs::rename(&tmp, &link) {
            let _ = std::fs::remove_file(&tmp);
            return Err(TraceError::io(&link, e));
        }
        Ok(())
    }

    /// The trace `latest-trace` points at, if it exists.
    pub fn latest(&self) -> Option<PathBuf> {
        let link = self.root.join(LATEST);
        let target = std::fs::read_link(&link).ok()?;
        let path = self.root.join(target);
        path.is_dir().then_some(path)
    }

    /// Finds a trace: `None` means the latest; otherwise an existing path, or
    /// else the name of a trace under the root.
    pub fn resolve(&self, arg: Option<&str>) -> Result<PathBuf, TraceError> {
        let Some(arg) = arg else {
            return self.latest().ok_or_else(|| TraceError::NoLatestTrace {
                root: self.root.clone(),
            });
        };
        let as_path = PathBuf::from(arg);
        if as_path.exists() {
            return Ok(as_path);
        }
        let in_root = self.root.join(arg);
        if !arg.is_empty() && !arg.contains('/') && in_root.exists() {
            return Ok(in_root);
        }
        Err(TraceError::TraceNotFound {
            name: arg.to_string(),
            root: self.root.clone(),
        })
    }

    /// Every trace in the store, oldest first.
    pub fn list(&self) -> Result<Vec<TraceInfo>, TraceError> {
        let pool = crate::pool::inodes(&self.root.join(crate::pool::POOL_DIR));
        if is_trace_dir(&self.root) {
            // A trace given as the directory to list: list just it.
            let header = loose_header(&self.root).unwrap_or_default();
            return Ok(vec![trace_info(&self.root, &header, &pool)]);
        }
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.root).at(&self.root)? {
            let entry = entry.at(&self.root)?;
            let path = entry.path();
            // The latest-trace link and temporary names are not traces.
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let Some(header) = loose_header(&path) else {
                continue;
            };
            out.push(trace_info(&path, &header, &pool));
        }
        out.sort_by(|a, b| {
            a.start_time_ms
                .cmp(&b.start_time_ms)
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(out)
    }

    /// Deletes a trace. Refuses anything that is not a trace directory, and
    /// repoints `latest-trace` at the newest remaining trace if it pointed
    /// at the one removed.
    pub fn remove(&self, path: &Path) -> Result<(), TraceError> {
        let real = std::fs::canonicalize(path).at(path)?;
        if !is_trace_dir(&real) {
            return Err(TraceError::NotATrace { path: real });
        }
        let latest = self.latest().and_then(|l| std::fs::canonicalize(l).ok());
        let ids = snapshot_names(&real);
        std::fs::remove_dir_all(&real).at(&real)?;
        // What only this trace used leaves the pool with it.
        crate::pool::collect(&self.pool_dir(), Some(&ids));
        let link = self.root.join(LATEST);
        let dangling = std::fs::symlink_metadata(&link).is_ok() && !link.exists();
        if latest.as_deref() == Some(real.as_path()) || dangling {
            match self.list()?.last() {
                Some(newest) => self.set_latest(&newest.path)?,
                None => {
                    let _ = std::fs::remove_file(&link);
                }
            }
        }
        Ok(())
    }

    /// Makes the trace at `path` self-contained: see [`pack`]. Pool files
    /// that only this trace used are then dropped from the pool.
    pub fn pack(&self, path: &Path) -> Result<PackReport, TraceError> {
        let report = pack(path)?;
        crate::pool::collect(&self.pool_dir(), Some(&snapshot_names(path)));
        Ok(report)
    }

    /// The store's snapshot pool directory (which may not exist yet).
    pub fn pool_dir(&self) -> PathBuf {
        self.root.join(crate::pool::POOL_DIR)
    }

    /// Whether a trace directory `dir` is directly inside this store, so
    /// that it may share the store's snapshot pool.
    pub fn contains(&self, dir: &Path) -> bool {
        let (Ok(d), Ok(r)) = (
            std::fs::canonicalize(dir),
            std::fs::canonicalize(&self.root),
        ) else {
            return false;
        };
        d.parent() == Some(r.as_path())
    }
}

/// The names in a trace's `files/` directory.
fn snapshot_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join(FILES_DIR))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Builds a `TraceInfo` from a trace's loose header.
fn trace_info(
    path: &Path,
    header: &serde_json::Value,
    pool: &std::collections::HashMap<(u64, u64), u64>,
) -> TraceInfo {
    let (own_bytes, shared_bytes) = crate::pool::own_and_shared(path, pool);
    let argv = header
        .get("argv")
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    TraceInfo {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path: path.to_path_buf(),
        start_time_ms: header
            .get("start_time_ms")
            .and_then(|t| t.as_u64())
            .unwrap_or(0),
        argv,
        size_bytes: dir_size(path),
        own_bytes,
        shared_bytes,
        complete: path.join(SUMMARY_FILE).is_file()
            && chunk::has_end_marker(&path.join(EVENTS_FILE)),
    }
}

/// Total size of the regular files under `dir` (not following links).
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) if m.is_file() => m.len(),
            _ => 0,
        })
        .sum()
}

/// Makes a trace self-contained in place: every snapshot that is a hardlink,
/// a reflink, a symlink or of unknown provenance is replaced by a private
/// copy, so the trace shares nothing with the rest of the system and can be
/// moved to another machine. Also verifies each snapshot against its id,
/// removes leftovers of a killed recorder and rewrites the index with one
/// entry per stored file.
pub fn pack(dir: &Path) -> Result<PackReport, TraceError> {
    read_header(dir)?;
    let files_dir = dir.join(FILES_DIR);
    let mut report = PackReport::default();
    let old_index = read_index(dir)?;
    let mut known: BTreeMap<String, SnapshotEntry> = BTreeMap::new();
    for e in old_index.iter() {
        known.entry(e.id.0.clone()).or_insert_with(|| e.clone());
    }
    let mut names = Vec::new();
    if files_dir.is_dir() {
        for entry in std::fs::read_dir(&files_dir).at(&files_dir)? {
            let entry = entry.at(&files_dir)?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    let mut new_index = Vec::new();
    for name in names {
        let path = files_dir.join(&name);
        if name.starts_with(".tmp-") {
            std::fs::remove_file(&path).at(&path)?;
            report.temp_files_removed += 1;
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).at(&path)?;
        if !meta.is_file() && !meta.file_type().is_symlink() {
            continue;
        }
        // Anything that may share storage with a file outside the trace:
        // links, clones, and files the index does not vouch for.
        let kind = known.get(&name).map(|e| e.kind);
        let shared = meta.file_type().is_symlink()
            || meta.nlink() > 1
            || !matches!(kind, Some(SnapshotKind::Copy));
        report.files += 1;
        if shared {
            report.bytes_copied += copy_in_place(&path)?;
            report.files_copied += 1;
        }
        if hash_file(&path)?.0 != name {
            report.mismatched.push(name.clone());
        }
        let size = std::fs::metadata(&path).at(&path)?.len();
        new_index.push(SnapshotEntry {
            id: crate::event::FileId(name.clone()),
            kind: SnapshotKind::Copy,
            size,
            source: known
                .get(&name)
                .map(|e| e.source.clone())
                .unwrap_or_default(),
        });
    }
    report.index_entries_dropped = (old_index.len() as u64).saturating_sub(
        old_index
            .iter()
            .filter(|e| new_index.iter().any(|n| n.id == e.id))
            .map(|e| e.id.0.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u64,
    );
    let mut text = Vec::new();
    for e in &new_index {
        serde_json::to_writer(&mut text, e).map_err(|e| TraceError::Encode {
            path: dir.join(SNAPSHOT_INDEX),
            what: e.to_string(),
        })?;
        text.push(b'\n');
    }
    fsutil::write_atomic(dir, SNAPSHOT_INDEX, &text)?;
    if files_dir.is_dir() {
        fsutil::sync_dir(&files_dir)?;
    }
    Ok(report)
}

/// Replaces `path` (a link) by a private copy of its contents; returns the
/// bytes copied.
fn copy_in_place(path: &Path) -> Result<u64, TraceError> {
    let tmp = path.with_file_name(format!(
        ".pack-{}-{}",
        std::process::id(),
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let src = File::open(path).at(path)?;
    let dst = File::create(&tmp).at(&tmp)?;
    // Positioned reads and writes rather than std::io::copy: the latter may
    // use copy_file_range, which can share extents again on btrfs or xfs.
    // Holes stay holes.
    let n = match crate::sparse::transfer(&src, Some(&dst), &mut Vec::new(), None) {
        Ok((_, n)) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(TraceError::io(path, e));
        }
    };
    dst.sync_all().at(&tmp)?;
    drop(dst);
    // rename replaces the link itself, never the file it shares with.
    std::fs::rename(&tmp, path).at(path)?;
    Ok(n)
}

#[cfg(test)]
mod scan_processes_tests {
    use super::*;
    use crate::event::{CpuIdentity, ExecEvent, Header, SyscallEvent, TscKind};
    use crate::writer::{Summary, TraceWriter};

    fn header() -> Header {
        Header {
            format_major: 0,
            format_minor: 0,
            reel_version: "test".into(),
            argv: vec!["sh".into(), "-c".into(), "x".into()],
            env: vec![],
            cwd: "/".into(),
            start_time_ms: 0,
            hostname: "h".into(),
            kernel: "k".into(),
            cpu: CpuIdentity::default(),
            checksums: false,
            cpu_binding: None,
        }
    }

    fn syscall(tid: Tid, nr: u64, arg0: u64, result: i64) -> Event {
        Event::Syscall(SyscallEvent {
            tid,
            nr,
            args: [arg0, 0, 0, 0, 0, 0],
            result,
            site: None,
            writes: vec![],
            echo: None,
            mapped_file: None,
            checksum: None,
            emitted: None,
            arg_data: Vec::new(),
        })
    }

    fn exec(tid: Tid, old_tid: Tid, argv: &[&str]) -> Event {
        Event::Exec(ExecEvent {
            tid,
            old_tid,
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
    }

    fn tsc(tid: Tid) -> Event {
        Event::Tsc {
            tid,
            kind: TscKind::Rdtsc,
            value: 1,
            aux: 0,
            rip: 0,
        }
    }

    fn exit(tid: Tid, kind: ExitKind) -> Event {
        Event::Exit { tid, kind }
    }

    fn scan(events: &[Event]) -> Vec<ProcessInfo> {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("trace");
        let mut w = TraceWriter::create(&dir, &header()).unwrap();
        for e in events {
            w.append(e, &[]).unwrap();
        }
        w.finish(&Summary {
            exit: None,
            events: events.len() as u64,
            end_time_ms: 0,
        })
        .unwrap();
        let mut r = TraceReader::open(&dir).unwrap().without_data();
        scan_processes(&mut r).unwrap()
    }

    const FORK_FLAGS: u64 = 0x0120_0011; // CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD
    const THREAD_FLAGS: u64 = 0x003d_0f00; // glibc pthread_create, includes CLONE_THREAD

    #[test]
    fn parents_come_from_clone_fork_and_vfork() {
        let ps = scan(&[
            /* 1 */ exec(10, 10, &["/bin/sh", "-c", "x"]),
            /* 2 */ syscall(10, 56, FORK_FLAGS, 11), // clone: process 11
            /* 3 */ tsc(12), // 12 runs before its creator's clone returns
            /* 4 */ syscall(10, 56, THREAD_FLAGS, 12), // clone: thread 12 of 10
            /* 5 */ syscall(12, 57, 0, 13), // fork by thread 12: process 13, parent 10
            /* 6 */ syscall(11, 58, 0, 14), // vfork by 11: process 14
            /* 7 */ exec(14, 14, &["/bin/true"]),
            /* 8 */ syscall(10, 56, FORK_FLAGS, -11), // failed clone: nothing
            /* 9 */ exit(14, ExitKind::Exited(0)),
            /* 10 */ exit(13, ExitKind::Signaled(9)),
            /* 11 */ exit(12, ExitKind::Exited(3)), // a thread: not the process's exit
            /* 12 */ exit(11, ExitKind::Exited(0)),
            /* 13 */ exit(10, ExitKind::Exited(1)),
        ]);
        let by: Vec<(Tid, Option<Tid>)> = ps.iter().map(|p| (p.tid, p.parent)).collect();
        assert_eq!(
            by,
            // In order of each process's first own event.
            vec![(10, None), (11, Some(10)), (14, Some(11)), (13, Some(10))],
            "{ps:#?}"
        );
        assert_eq!(ps[0].argv, vec!["/bin/sh", "-c", "x"]);
        assert_eq!(ps[0].exit, Some(ExitKind::Exited(1)));
        assert_eq!((ps[0].first_event, ps[0].last_event), (1, 13));
        // A forked process that never execs runs its parent's program.
        assert_eq!(ps[1].argv, vec!["/bin/sh", "-c", "x"]);
        assert_eq!(ps[2].argv, vec!["/bin/true"]);
        assert_eq!(ps[3].exit, Some(ExitKind::Signaled(9)));
    }

    #[test]
    fn exec_by_a_thread_keeps_one_process() {
        let ps = scan(&[
            exec(20, 20, &["/bin/a"]),
            syscall(20, 56, THREAD_FLAGS, 21),
            tsc(21),
            // Thread 21 execs: the kernel gives it the leader's tid.
            exec(20, 21, &["/bin/b"]),
            exit(20, ExitKind::Exited(0)),
        ]);
        assert_eq!(ps.len(), 1, "{ps:#?}");
        assert_eq!(ps[0].tid, 20);
        assert_eq!(ps[0].parent, None);
        assert_eq!(ps[0].argv, vec!["/bin/b"]);
        assert_eq!(ps[0].exit, Some(ExitKind::Exited(0)));
    }

    #[test]
    fn unknown_creators_and_cycles_do_not_hang() {
        // A damaged trace may claim 31 created 30 (a thread) and 30 created 31.
        let ps = scan(&[
            syscall(30, 56, THREAD_FLAGS, 31),
            syscall(31, 56, THREAD_FLAGS, 30),
            tsc(32),
        ]);
        assert!(ps.iter().any(|p| p.tid == 32 && p.parent.is_none()));
    }
}
