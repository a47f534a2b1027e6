//! Files the recorded tree created itself (`mkstemp`, `sem_open`,
//! `shm_open` with O_EXCL, O_TMPFILE, memfd): nobody outside the recording
//! knew them when they were made, so mapping one shared is not the case the
//! shared-mapping warning is about (Python's semaphores in /dev/shm,
//! compilers' temporary files).

use super::*;

impl Recorder {
    /// After a successful call: notes the file it created, if it certainly
    /// created one (O_CREAT|O_EXCL, O_TMPFILE, memfd_create).
    pub(super) fn note_created_file(&mut self, tid: Tid, nr: u64, args: &[u64; 6], result: i64) {
        if result < 0 {
            return;
        }
        let flags = match nr as i64 {
            libc::SYS_open => args[1] as i32,
            libc::SYS_openat => args[2] as i32,
            libc::SYS_memfd_create => libc::O_TMPFILE,
            _ => return,
        };
        let excl = flags & (libc::O_CREAT | libc::O_EXCL) == libc::O_CREAT | libc::O_EXCL;
        if excl || flags & libc::O_TMPFILE == libc::O_TMPFILE {
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
