//! File snapshots: the contents of every file the tracee exec'd or mapped,
//! stored once per trace under `files/<blake3 hex>`, so replay never depends
//! on the installed files.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, TraceError};
use crate::event::FileId;
use crate::{fsutil, FILES_DIR, SNAPSHOT_INDEX};

/// How a snapshot shares storage with the file it was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotKind {
    /// An independent copy.
    Copy,
    /// A reflink (copy-on-write clone): independent contents, shared blocks.
    Reflink,
    /// A hardlink to a system file that cannot change in place; `pack`
    /// replaces it with a copy.
    Hardlink,
    /// A hardlink to the store's pool: a copy another recording made of
    /// the same contents; `pack` replaces it with a private copy.
    Pooled,
}

/// One line of `snapshots.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotEntry {
    /// The snapshot's id (its file name under `files/`).
    pub id: FileId,
    /// How it is stored.
    pub kind: SnapshotKind,
    /// Size in bytes.
    pub size: u64,
    /// The file it was taken from, for display.
    pub source: String,
}

/// Reads a trace's snapshot index. A torn last line (recorder killed while
/// appending) is skipped: the snapshot it described is then just unlisted.
pub fn read_index(dir: &Path) -> Result<Vec<SnapshotEntry>, TraceError> {
    let path = dir.join(SNAPSHOT_INDEX);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(TraceError::io(&path, e)),
    };
    Ok(text
        .split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice(line).ok())
        .collect())
}

/// Identity of a file's contents as far as metadata tells: within one
/// recording, the same key means the same bytes (ctime changes on every
/// write and cannot be set by users).
type CacheKey = (u64, u64, u64, i64, i64, i64, i64);

/// Directories whose root-owned files are replaced (rename), never modified in
/// place, by package managers: hardlinking them is safe.
const SYSTEM_DIRS: &[&str] = &[
    "/usr/", "/lib/", "/lib64/", "/bin/", "/sbin/", "/opt/", "/etc/",
];

/// The snapshot side of a `TraceWriter`.
pub(crate) struct SnapshotStore {
    files: PathBuf,
    index_path: PathBuf,
    index: File,
    cache: HashMap<CacheKey, FileId>,
    stored: HashSet<String>,
    tmp_counter: u64,
    buf: Vec<u8>,
    /// The store's pool, when the trace is in a store.
    pool: Option<PathBuf>,
    /// The most data one snapshot may hold (holes aside), if limited.
    pub(crate) max_data: Option<u64>,
}

impl SnapshotStore {
    /// Prepares `dir/files/` (already created) and the index.
    pub(crate) fn create(dir: &Path) -> Result<SnapshotStore, TraceError> {
        let index_path = dir.join(SNAPSHOT_INDEX);
        let index = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&index_path)
            .at(&index_path)?;
        Ok(SnapshotStore {
            files: dir.join(FILES_DIR),
            index_path,
            index,
            cache: HashMap::new(),
            stored: HashSet::new(),
            tmp_counter: 0,
            buf: Vec::new(),
            pool: None,
            max_data: None,
        })
    }

    /// Shares snapshots with the pool `pool` (see `pool.rs`).
    pub(crate) fn set_pool(&mut self, pool: PathBuf) {
        self.pool = Some(pool);
    }

    /// The pool, if any.
    pub(crate) fn pool(&self) -> Option<&Path> {
        self.pool.as_deref()
    }

    /// Links `id` from the pool when it is there (reading the file once to
    /// hash it is much cheaper than storing it again). Like the other ways
    /// of storing, gives the new file's path only when it was added.
    #[allow(clippy::type_complexity)]
    fn try_pool(
        &mut self,
        src: &File,
        path: &Path,
    ) -> Result<Option<(FileId, SnapshotKind, Option<PathBuf>)>, TraceError> {
        let Some(pool) = self.pool.clone() else {
            return Ok(None);
        };
        let id = self.hash(src, path)?;
        let target = self.files.join(&id.0);
        if self.stored.contains(&id.0) || target.exists() {
            // The same contents under another name: already in the trace.
            self.stored.insert(id.0.clone());
            return Ok(Some((id, SnapshotKind::Pooled, None)));
        }
        if crate::pool::link_from(&pool, &id.0, &target) {
            self.stored.insert(id.0.clone());
            return Ok(Some((id, SnapshotKind::Pooled, Some(target))));
        }
        Ok(None)
    }

    fn tmp_path(&mut self) -> PathBuf {
        self.tmp_counter += 1;
        self.files
            .join(format!(".tmp-{}-{}", std::process::id(), self.tmp_counter))
    }

    /// Snapshots `path`; returns the id and, for a newly stored copy, its
    /// path (to be fsync'd in the background).
    pub(crate) fn snapshot(
        &mut self,
        path: &Path,
    ) -> Result<(FileId, Option<PathBuf>), TraceError> {
        // Opening follows /proc magic links to the very file the tracee has,
        // even if it was since deleted or replaced on disk.
        let src = File::open(path).at(path)?;
        let meta = src.metadata().at(path)?;
        if !meta.is_file() {
            return Err(TraceError::NotSnapshotable {
                path: path.to_path_buf(),
                what: "not a regular file".into(),
            });
        }
        let key = (
            meta.dev(),
            meta.ino(),
            meta.size(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ctime(),
            meta.ctime_nsec(),
        );
        if let Some(id) = self.cache.get(&key) {
            return Ok((id.clone(), None));
        }
        let source = source_name(path);
        if let Some(limit) = self.max_data {
            let data = crate::sparse::data_size(&src).at(path)?;
            if data > limit {
                return Err(TraceError::SnapshotTooLarge {
                    path: source,
                    limit,
                });
            }
        }

        let (id, kind, new_file) = if let Some(r) = self.try_reflink(&src)? {
            r
        } else if let Some(r) = self.try_hardlink(&src, path, &meta, &source)? {
            r
        } else if let Some(r) = self.try_pool(&src, path)? {
            r
        } else {
            self.copy(&src, path)?
        };
        if new_file.is_some() {
            let entry = SnapshotEntry {
                id: id.clone(),
                kind,
                size: meta.size(),
                source: source.to_string_lossy().into_owned(),
            };
            let mut line = serde_json::to_vec(&entry).map_err(|e| TraceError::Encode {
                path: self.index_path.clone(),
                what: e.to_string(),
            })?;
            line.push(b'\n');
            // One write per line, so a kill tears at most the last line.
            self.index.write_all(&line).at(&self.index_path)?;
        }
        self.cache.insert(key, id.clone());
        // Hardlinked contents are the system's, pooled ones another
        // recording's, already durable: nothing to sync.
        let sync = match kind {
            SnapshotKind::Hardlink | SnapshotKind::Pooled => None,
            _ => new_file,
        };
        Ok((id, sync))
    }

    /// Stores `len` bytes that are not a file (a System V shared memory
    /// segment), read by `fill(offset, buf)` a block at a time; zero pages
    /// become holes. Returns the id and, for a new file, its path.
    pub(crate) fn store_bytes(
        &mut self,
        source: &str,
        len: u64,
        fill: &mut dyn FnMut(u64, &mut [u8]) -> std::io::Result<()>,
    ) -> Result<(FileId, Option<PathBuf>), TraceError> {
        let tmp = self.tmp_path();
        let dst = File::create(&tmp).at(&tmp)?;
        let mut buf = std::mem::take(&mut self.buf);
        let result = crate::sparse::fill_file(&dst, len, &mut buf, self.max_data, fill);
        self.buf = buf;
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            if let (std::io::ErrorKind::FileTooLarge, Some(limit)) = (e.kind(), self.max_data) {
                return Err(TraceError::SnapshotTooLarge {
                    path: PathBuf::from(source),
                    limit,
                });
            }
            return Err(TraceError::io(&tmp, e));
        }
        let id = self.hash(&dst, &tmp)?;
        drop(dst);
        let new = self.install(&tmp, &id)?;
        if new.is_some() {
            let entry = SnapshotEntry {
                id: id.clone(),
                kind: SnapshotKind::Copy,
                size: len,
                source: source.to_string(),
            };
            let mut line = serde_json::to_vec(&entry).map_err(|e| TraceError::Encode {
                path: self.index_path.clone(),
                what: e.to_string(),
            })?;
            line.push(b'\n');
            self.index.write_all(&line).at(&self.index_path)?;
        }
        Ok((id, new))
    }

    /// Puts the finished temporary file `tmp` in place as snapshot `id`, or
    /// drops it when that content is already stored. Returns the final path
    /// when it was added.
    fn install(&mut self, tmp: &Path, id: &FileId) -> Result<Option<PathBuf>, TraceError> {
        let target = self.files.join(&id.0);
        if self.stored.contains(&id.0) || target.exists() {
            std::fs::remove_file(tmp).at(tmp)?;
            self.stored.insert(id.0.clone());
            return Ok(None);
        }
        std::fs::rename(tmp, &target).at(&target)?;
        self.stored.insert(id.0.clone());
        Ok(Some(target))
    }

    /// Clones `src` with FICLONE (btrfs, xfs, bcachefs ...). The clone is
    /// private, so hashing it gives exactly the stored contents.
    #[allow(clippy::type_complexity)]
    fn try_reflink(
        &mut self,
        src: &File,
    ) -> Result<Option<(FileId, SnapshotKind, Option<PathBuf>)>, TraceError> {
        let tmp = self.tmp_path();
        let dst = File::create(&tmp).at(&tmp)?;
        if reel_sys::fs::reflink(&dst, src).is_err() {
            drop(dst);
            std::fs::remove_file(&tmp).at(&tmp)?;
            return Ok(None);
        }
        drop(dst);
        let clone = File::open(&tmp).at(&tmp)?;
        let id = self.hash(&clone, &tmp)?;
        let new = self.install(&tmp, &id)?;
        Ok(Some((id, SnapshotKind::Reflink, new)))
    }

    /// Hardlinks a file that cannot change in place: root-owned, writable by
    /// root only, under a system directory.
    #[allow(clippy::type_complexity)]
    fn try_hardlink(
        &mut self,
        src: &File,
        path: &Path,
        meta: &std::fs::Metadata,
        source: &Path,
    ) -> Result<Option<(FileId, SnapshotKind, Option<PathBuf>)>, TraceError> {
        let immutable = meta.uid() == 0
            && meta.mode() & 0o022 == 0
            && SYSTEM_DIRS
                .iter()
                .any(|d| source.as_os_str().as_bytes().starts_with(d.as_bytes()));
        if !immutable {
            return Ok(None);
        }
        let id = self.hash(src, path)?;
        let target = self.files.join(&id.0);
        if self.stored.contains(&id.0) || target.exists() {
            self.stored.insert(id.0.clone());
            return Ok(Some((id, SnapshotKind::Hardlink, None)));
        }
        // Link the inode we opened, not the path, which may since name
        // another file.
        if reel_sys::fs::link_open_file(src, &target).is_err() {
            // EXDEV (another filesystem), EPERM (protected_hardlinks) ...:
            // fall back to a copy.
            return Ok(None);
        }
        self.stored.insert(id.0.clone());
        Ok(Some((id, SnapshotKind::Hardlink, Some(target))))
    }

    /// Copies `src`, hashing while copying (one pass over the data), its
    /// holes left as holes (see `sparse.rs`).
    #[allow(clippy::type_complexity)]
    fn copy(
        &mut self,
        src: &File,
        path: &Path,
    ) -> Result<(FileId, SnapshotKind, Option<PathBuf>), TraceError> {
        let tmp = self.tmp_path();
        let dst = File::create(&tmp).at(&tmp)?;
        let mut buf = std::mem::take(&mut self.buf);
        let result = crate::sparse::transfer(src, Some(&dst), &mut buf, self.max_data);
        self.buf = buf;
        let id = match result {
            Ok((id, _)) => id,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                if let (std::io::ErrorKind::FileTooLarge, Some(limit)) = (e.kind(), self.max_data) {
                    return Err(TraceError::SnapshotTooLarge {
                        path: source_name(path),
                        limit,
                    });
                }
                return Err(TraceError::io(path, e));
            }
        };
        drop(dst);
        let new = self.install(&tmp, &id)?;
        Ok((id, SnapshotKind::Copy, new))
    }

    /// The snapshot id of a file's contents (see `sparse.rs`).
    fn hash(&mut self, f: &File, path: &Path) -> Result<FileId, TraceError> {
        let mut buf = std::mem::take(&mut self.buf);
        let r = crate::sparse::transfer(f, None, &mut buf, None);
        self.buf = buf;
        Ok(r.at(path)?.0)
    }

    /// Makes the index and the `files/` directory entries durable.
    pub(crate) fn sync(&mut self) -> Result<(), TraceError> {
        self.index.sync_data().at(&self.index_path)?;
        fsutil::sync_dir(&self.files)
    }
}

/// The real path behind `path`: the target of a /proc magic link, or the
/// canonical path. Used to decide whether a file lives in a system directory.
fn source_name(path: &Path) -> PathBuf {
    if path.starts_with("/proc") {
        if let Ok(t) = std::fs::read_link(path) {
            return t;
        }
    }
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The snapshot id of a whole file.
pub(crate) fn hash_file(path: &Path) -> Result<FileId, TraceError> {
    let f = File::open(path).at(path)?;
    Ok(crate::sparse::transfer(&f, None, &mut Vec::new(), None)
        .at(path)?
        .0)
}
