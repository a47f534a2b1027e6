//! The snapshot pool of a trace store: `<root>/.pool/<blake3 hex>`, one file
//! per distinct content copied by any recording in the store. A trace
//! recorded into the store hardlinks its snapshots to the pool's files, so a
//! second recording of the same program stores its events and nothing else.
//!
//! The references are the hard links themselves: a pool file whose link
//! count is 1 is used by no trace and may go. There is no separate counter a
//! crash could leave wrong, and a trace never depends on the pool: it holds
//! its own link to every snapshot, so deleting the pool (or a pool file)
//! costs disk space, never a replay.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::fsutil;

/// Name of the pool directory under the store root (a dot-name, so it is
/// never listed as a trace).
pub(crate) const POOL_DIR: &str = ".pool";

/// Whether `name` can be a pool file name (a content hash): anything else in
/// the pool is left alone.
fn is_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The pool directory of the store at `root`, created (mode 0700) if needed.
pub(crate) fn open(root: &Path) -> std::io::Result<PathBuf> {
    let dir = root.join(POOL_DIR);
    match fsutil::mkdir_private(&dir) {
        Ok(()) => Ok(dir),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(dir),
        Err(e) => Err(e),
    }
}

/// Links pool file `id` to `target` (a trace's `files/<id>`). False when the
/// pool does not have it or the link is refused (another filesystem ...).
pub(crate) fn link_from(pool: &Path, id: &str, target: &Path) -> bool {
    std::fs::hard_link(pool.join(id), target).is_ok()
}

/// Adds the complete, durable snapshot `file` to the pool as `id`. Another
/// recording may have added the same content meanwhile: that one stays, and
/// both are valid. Failures only cost sharing, so they are ignored.
pub(crate) fn publish(pool: &Path, id: &str, file: &Path) {
    let _ = std::fs::hard_link(file, pool.join(id));
}

/// Removes the pool files among `ids` (all of them when `None`) that no
/// trace links to any more. Returns the bytes freed.
///
/// A recording that links a pool file between our look at its link count
/// and the unlink keeps its own link: the pool then merely forgets that
/// content, and a later recording stores it again.
pub(crate) fn collect(pool: &Path, ids: Option<&[String]>) -> u64 {
    let names: Vec<String> = match ids {
        Some(ids) => ids.to_vec(),
        None => match std::fs::read_dir(pool) {
            Ok(rd) => rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => return 0,
        },
    };
    let mut freed = 0;
    for name in names.iter().filter(|n| is_id(n)) {
        let path = pool.join(name);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_file() && meta.nlink() == 1 && std::fs::remove_file(&path).is_ok() {
            freed += meta.len();
        }
    }
    freed
}

/// The inodes of the pool's files: (dev, ino) -> link count.
pub(crate) fn inodes(pool: &Path) -> HashMap<(u64, u64), u64> {
    let Ok(rd) = std::fs::read_dir(pool) else {
        return HashMap::new();
    };
    rd.flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| ((m.dev(), m.ino()), m.nlink()))
        .collect()
}

/// Splits a trace's disk use into what it alone holds (what `rm` frees) and
/// what it shares with other traces or the system (hardlinked snapshots).
/// A file linked only from the trace and the pool counts as its own: `rm`
/// frees it from the pool too.
pub(crate) fn own_and_shared(dir: &Path, pool: &HashMap<(u64, u64), u64>) -> (u64, u64) {
    let mut own = 0;
    let mut shared = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() {
                let others = m
                    .nlink()
                    .saturating_sub(1 + u64::from(pool.contains_key(&(m.dev(), m.ino()))));
                if others == 0 {
                    own += m.len();
                } else {
                    shared += m.len();
                }
            }
        }
    }
    (own, shared)
}
