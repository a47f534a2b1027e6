//! File operations std does not offer, for the trace store, and the
//! recorder's own signal dispositions.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// Makes `dst` a copy-on-write clone of `src` (FICLONE), where the
/// filesystem supports it.
pub fn reflink(dst: &File, src: &File) -> io::Result<()> {
    // SAFETY: FICLONE takes the source descriptor as its argument; both
    // descriptors are open for the duration of the call.
    let r = unsafe { libc::ioctl(dst.as_raw_fd(), libc::FICLONE, src.as_raw_fd()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Gives the open file `src` the new name `target` (a hard link to the inode
/// that was opened, through its /proc/self/fd link, not to whatever its path
/// names now).
pub fn link_open_file(src: &File, target: &Path) -> io::Result<()> {
    let from = CString::new(format!("/proc/self/fd/{}", src.as_raw_fd()))?;
    let to = CString::new(target.as_os_str().as_bytes())?;
    // SAFETY: both strings are valid NUL-terminated paths.
    let r = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes the calling process ignore SIGINT and SIGQUIT, as a recorder must:
/// the terminal sends them to the whole foreground process group, and the
/// recorded program gets its own copy.
pub fn ignore_terminal_interrupts() {
    // SAFETY: setting a disposition to SIG_IGN has no memory effects.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
    }
}

/// The termination signal reel received and has not passed on yet.
static TERMINATION: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn note_termination(sig: libc::c_int) {
    TERMINATION.store(sig, std::sync::atomic::Ordering::SeqCst);
}

/// Makes SIGTERM and SIGHUP to reel interrupt its waits instead of killing
/// it, so that the recorder can pass them on to the program (a CI timeout
/// then ends the program as it would without reel, and the trace is
/// finished properly). See [`take_termination`].
pub fn catch_termination_signals() {
    for sig in [libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic; no SA_RESTART, so a
        // blocked waitpid returns EINTR.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = note_termination as *const () as usize;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
}

/// The termination signal received since the last call, if any.
pub fn take_termination() -> Option<i32> {
    match TERMINATION.swap(0, std::sync::atomic::Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}
