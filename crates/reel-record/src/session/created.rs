//! Files the recorded tree created itself (`mkstemp`, `sem_open`, an
//! O_CREAT of a missing path, O_TMPFILE, memfd): nobody outside the recording
//! knew them when they were made, so mapping one shared is not the case the
//! shared-mapping warning is about (Python's semaphores in /dev/shm,
//! compilers' temporary files).

use super::*;
use std::os::unix::ffi::OsStrExt;

/// The open flags and the directory a path is relative to, for the calls
/// that may create a file.
fn open_flags(nr: u64, args: &[u64; 6]) -> Option<(i32, i32)> {
    match nr as i64 {
        libc::SYS_open => Some((args[1] as i32, libc::AT_FDCWD)),
        libc::SYS_openat => Some((args[2] as i32, args[0] as i32)),
        libc::SYS_memfd_create => Some((libc::O_TMPFILE, libc::AT_FDCWD)),
        _ => None,
    }
}

impl Recorder {
    /// At the entry of an open with O_CREAT but not O_EXCL: notes whether
    /// the file is missing, so that the call will create it (`path` is the
    /// path argument, captured at entry).
    pub(super) fn note_open_entry(
        &mut self,
        tid: Tid,
        nr: u64,
        args: &[u64; 6],
        path: Option<&[u8]>,
    ) {
        self.creating.remove(&tid);
        let (Some((flags, dirfd)), Some(path)) = (open_flags(nr, args), path) else {
            return;
        };
        if flags & (libc::O_CREAT | libc::O_EXCL) != libc::O_CREAT || path.is_empty() {
            return;
        }
        let path = std::ffi::OsStr::from_bytes(path);
        // Resolved as the tracee would: against its cwd or the directory fd.
        let full = if path.as_bytes().starts_with(b"/") {
            PathBuf::from(path)
        } else if dirfd == libc::AT_FDCWD {
            PathBuf::from(format!("/proc/{tid}/cwd")).join(path)
        } else {
            PathBuf::from(format!("/proc/{tid}/fd/{dirfd}")).join(path)
        };
        if std::fs::symlink_metadata(&full).is_err() {
            self.creating.insert(tid);
        }
    }

    /// After a successful call: notes the file it created, if it created
    /// one (O_CREAT|O_EXCL, O_TMPFILE, memfd_create, or O_CREAT of a path
    /// that did not exist at entry).
    pub(super) fn note_created_file(&mut self, tid: Tid, nr: u64, args: &[u64; 6], result: i64) {
        let was_missing = self.creating.remove(&tid);
        if result < 0 {
            return;
        }
        let Some((flags, _)) = open_flags(nr, args) else {
            return;
        };
        let excl = flags & (libc::O_CREAT | libc::O_EXCL) == libc::O_CREAT | libc::O_EXCL;
        if excl || was_missing || flags & libc::O_TMPFILE == libc::O_TMPFILE {
            if let Some(id) = proc::fd_identity(tid, result as i32) {
                self.created_files.insert(id);
            }
        }
    }

    /// Whether fd of task `tid` is a file the recorded tree created.
    pub(super) fn created_by_tree(&self, tid: Tid, fd: i32) -> bool {
        proc::fd_identity(tid, fd).is_some_and(|id| self.created_files.contains(&id))
    }
}
