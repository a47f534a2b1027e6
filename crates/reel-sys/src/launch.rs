//! Starting an installed program (valgrind) under ptrace, as it is: no
//! private pages, no RDTSC trap, ASLR as the system has it; only a seccomp
//! filter of the caller's choosing, installed after the tracer attached.

use crate::task::{Running, TaskSet};
use crate::{seccomp, Result, SysError};
use nix::errno::Errno;
use std::ffi::CString;
use std::fs::File;
use std::os::unix::io::AsRawFd;

/// Forks, has the child stop itself, seizes it (the usual ptrace options),
/// and lets it install `filter` and exec `path`. `inherit` are files whose
/// descriptors the program receives at the given numbers. Returns the child,
/// running; its first report is its exec stop.
pub fn launch(
    path: &CString,
    argv: &[CString],
    envp: &[CString],
    filter: &[libc::sock_filter],
    inherit: &[(File, i32)],
    tasks: &mut TaskSet,
) -> Result<i32> {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    let fds: Vec<(i32, i32)> = inherit.iter().map(|(f, n)| (f.as_raw_fd(), *n)).collect();
    // SAFETY: between fork and exec the child only makes raw syscalls on
    // memory prepared before the fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(SysError::os("fork", Errno::last()));
    }
    if pid == 0 {
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            for &(from, to) in &fds {
                // dup2 leaves the new descriptor without FD_CLOEXEC.
                libc::dup2(from, to);
            }
            let me = libc::syscall(libc::SYS_getpid);
            libc::syscall(libc::SYS_kill, me, libc::SIGSTOP);
            if !seccomp::install(filter) {
                libc::_exit(125);
            }
            libc::syscall(libc::SYS_execve, path.as_ptr(), a.as_ptr(), e.as_ptr());
            let not_found = *libc::__errno_location() == libc::ENOENT;
            libc::_exit(if not_found { 127 } else { 126 });
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WSTOPPED) };
    if r < 0 || !libc::WIFSTOPPED(status) {
        return Err(SysError::os(
            format!("child {pid} did not stop before tracing"),
            Errno::last(),
        ));
    }
    crate::spawn::seize_stopped_child(pid)?;
    tasks.insert(Running::seized(pid));
    Ok(pid)
}
