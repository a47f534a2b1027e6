//! Waiting for a tracee stop with a deadline, without polling.
//!
//! `waitpid` has no timeout. Every ptrace stop and every exit of a tracee
//! sends SIGCHLD to the tracer, so reel catches SIGCHLD with a handler that
//! writes a byte to a pipe (the self-pipe trick) and waits for that pipe to
//! become readable with `ppoll`, whose timeout is the deadline. The pipe is
//! emptied before each `waitpid(WNOHANG)`: a stop that comes after that
//! check leaves a byte behind, so the `ppoll` that follows returns at once
//! and no stop is ever slept through.

use crate::{Result, SysError};
use nix::errno::Errno;
use std::sync::atomic::{AtomicI32, Ordering::SeqCst};
use std::sync::OnceLock;
use std::time::Duration;

/// The pipe's write end, for the handler (-1 until installed).
static WRITE_END: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_sigchld(_: libc::c_int) {
    let fd = WRITE_END.load(SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write is async-signal-safe; the pipe is non-blocking, so a
        // full pipe (a wake-up already pending) just fails with EAGAIN.
        // errno is saved and restored around it, as a handler must.
        unsafe {
            let saved = *libc::__errno_location();
            libc::write(fd, (&byte as *const u8).cast(), 1);
            *libc::__errno_location() = saved;
        }
    }
}

/// The read end of the SIGCHLD pipe, once the handler is installed.
fn read_end() -> Result<i32> {
    static READ_END: OnceLock<std::result::Result<i32, Errno>> = OnceLock::new();
    let r = READ_END.get_or_init(|| {
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 writes two descriptors into the array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } < 0 {
            return Err(Errno::last());
        }
        WRITE_END.store(fds[1], SeqCst);
        // SAFETY: the handler only writes to the pipe. SA_RESTART keeps the
        // blocking waitpid of `TaskSet::wait` (and reel's other calls) from
        // failing with EINTR at every stop; ppoll is never restarted, which
        // is what wakes it. No SA_NOCLDSTOP: stops are what reel waits for.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_sigchld as *const () as usize;
            act.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            if libc::sigaction(libc::SIGCHLD, &act, std::ptr::null_mut()) < 0 {
                return Err(Errno::last());
            }
        }
        Ok(fds[0])
    });
    r.map_err(|e| SysError::os("setting up the SIGCHLD wake-up pipe", e))
}

/// Empties the wake-up pipe (before checking for stops).
pub(crate) fn drain() -> Result<()> {
    let fd = read_end()?;
    let mut buf = [0u8; 64];
    // SAFETY: reads into a local buffer from our own non-blocking pipe.
    while unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    Ok(())
}

/// Sleeps until a SIGCHLD arrived since the last [`drain`], `timeout`
/// passed, or another signal reached reel.
pub(crate) fn sleep(timeout: Duration) -> Result<()> {
    let fd = read_end()?;
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: one pollfd and a timespec, both locals; no signal mask change.
    let r = unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
    // EINTR: SIGCHLD itself (the pipe then holds a byte) or a signal the
    // caller looks at (see `fs::catch_termination_signals`).
    if r < 0 && Errno::last() != Errno::EINTR {
        return Err(SysError::os("waiting for a tracee stop", Errno::last()));
    }
    Ok(())
}
