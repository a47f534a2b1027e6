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

/// The first offset at or after `from` where `file` holds data (not a
/// hole), or `None` past the last data (`SEEK_DATA`; a filesystem without
/// hole reporting answers as if the whole file were data).
pub fn seek_data(file: &File, from: u64) -> io::Result<Option<u64>> {
    seek(file, from, libc::SEEK_DATA)
}

/// The first offset at or after `from` that starts a hole (the file's end
/// counts as one), or `None` when `from` is past the end (`SEEK_HOLE`).
pub fn seek_hole(file: &File, from: u64) -> io::Result<Option<u64>> {
    seek(file, from, libc::SEEK_HOLE)
}

fn seek(file: &File, from: u64, whence: libc::c_int) -> io::Result<Option<u64>> {
    let Ok(off) = libc::off_t::try_from(from) else {
        return Ok(None);
    };
    // SAFETY: lseek only moves the offset of a descriptor we own for the
    // duration of the call; callers read with positioned I/O.
    let r = unsafe { libc::lseek(file.as_raw_fd(), off, whence) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENXIO) => Ok(None),
            _ => Err(e),
        };
    }
    Ok(Some(r as u64))
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

/// Signals reel received and has not handled yet: a bit per number.
static CAUGHT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// For each caught signal, the process that sent it (0: the kernel).
static SENDERS: [std::sync::atomic::AtomicI32; 65] =
    [const { std::sync::atomic::AtomicI32::new(0) }; 65];

extern "C" fn note_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    use std::sync::atomic::Ordering::SeqCst;
    let Ok(i) = usize::try_from(sig) else { return };
    if i >= SENDERS.len() || info.is_null() {
        return;
    }
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler;
    // si_pid is meaningful for the user-sent codes (<= 0) read here.
    let sender = unsafe {
        if (*info).si_code <= 0 {
            (*info).si_pid()
        } else {
            0
        }
    };
    SENDERS[i].store(sender, SeqCst);
    CAUGHT.fetch_or(1 << i, SeqCst);
}

/// The signals [`catch_termination_signals`] catches: every catchable one
/// whose default action would end reel, but SIGINT and SIGQUIT (ignored, see
/// [`ignore_terminal_interrupts`]), the faults (a real fault in reel must
/// still kill it) and glibc's two internal real-time signals.
fn caught_signals() -> impl Iterator<Item = i32> {
    [
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGPWR,
        libc::SIGSTKFLT,
        libc::SIGXCPU,
        libc::SIGXFSZ,
        libc::SIGIO,
        libc::SIGABRT,
    ]
    .into_iter()
    .chain(libc::SIGRTMIN()..=libc::SIGRTMAX())
}

/// Makes the signals that would kill reel (SIGTERM, SIGHUP, SIGUSR1, real-time
/// ones ...) interrupt its waits instead, so that the recorder can pass them
/// on to the program when someone outside sent them (a CI timeout then ends
/// the program as it would without reel, and the trace is finished
/// properly), and survive them when the recorded program sent them to its
/// own process group, reel included. See [`take_caught_signals`].
pub fn catch_termination_signals() {
    for sig in caught_signals() {
        // SAFETY: the handler only stores to atomics; no SA_RESTART, so a
        // blocked waitpid returns EINTR. A glibc abort() in reel still ends
        // it: abort resets SIGABRT to the default after a handler returns.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = note_signal as *const () as usize;
            act.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
}

/// Whether a signal was caught that [`take_caught_signals`] has not taken.
pub fn signals_caught() -> bool {
    CAUGHT.load(std::sync::atomic::Ordering::SeqCst) != 0
}

/// The signals caught since the last call, each with the pid of the process
/// that sent it (`None` when the kernel did).
pub fn take_caught_signals() -> Vec<(i32, Option<i32>)> {
    use std::sync::atomic::Ordering::SeqCst;
    let bits = CAUGHT.swap(0, SeqCst);
    (1..SENDERS.len())
        .filter(|&i| bits & (1 << i) != 0)
        .map(|i| {
            let pid = SENDERS[i].load(SeqCst);
            (i as i32, (pid > 0).then_some(pid))
        })
        .collect()
}
