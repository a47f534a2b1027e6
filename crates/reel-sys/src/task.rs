//! The task typestate: stopped tasks can be inspected; resuming consumes them.

use crate::regs::Regs;
use crate::{Result, SysError};
use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::collections::HashMap;

/// The regset note type of the XSAVE area.
const NT_X86_XSTATE: libc::c_int = 0x202;
/// Upper bound of the XSAVE area size (AVX-512 with AMX fits in 12 KiB).
const XSTATE_MAX: usize = 16 * 1024;

/// Why a task is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A syscall entry or exit stop (PTRACE_SYSCALL / PTRACE_SYSEMU); the
    /// session knows which from the task's state.
    Syscall,
    /// The seccomp filter returned SECCOMP_RET_TRACE for a syscall about to run.
    Seccomp,
    /// A successful execve; `former_tid` is the tid that called it.
    Exec {
        /// The thread id that called execve.
        former_tid: i32,
    },
    /// The task is about to exit with this raw wait status.
    ExitEvent {
        /// Raw wait status (as for waitpid).
        status: i32,
    },
    /// fork/vfork/clone created `child`.
    NewTask {
        /// The new task's tid.
        child: i32,
    },
    /// A group-stop (PTRACE_EVENT_STOP) caused by this signal, or an interrupt.
    GroupStop(i32),
    /// A signal is about to be delivered to the task (signal-delivery-stop).
    Signal(i32),
}

/// How to resume a stopped task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Run until the next event.
    Cont,
    /// Run to the next syscall entry or exit.
    Syscall,
    /// Run to the next syscall entry, which will not be executed.
    Sysemu,
    /// Execute one instruction.
    SingleStep,
    /// Execute one instruction; a `syscall` stops at its entry and is not
    /// run, as under [`Resume::Sysemu`].
    SysemuStep,
}

/// A task that ptrace has stopped: registers and memory may be accessed.
#[derive(Debug)]
pub struct Stopped {
    tid: Pid,
    reason: StopReason,
}

/// A task that is running; only [`TaskSet::wait`] gives it back stopped.
#[derive(Debug)]
pub struct Running {
    tid: Pid,
}

impl Running {
    /// The task's thread id.
    pub fn tid(&self) -> i32 {
        self.tid.as_raw()
    }

    /// A task just seized and continued by the crate's own launcher.
    pub(crate) fn seized(tid: i32) -> Running {
        Running {
            tid: Pid::from_raw(tid),
        }
    }
}

fn ptrace_err(op: &'static str, tid: Pid) -> impl FnOnce(Errno) -> SysError {
    move |source| SysError::Ptrace {
        op,
        tid: tid.as_raw(),
        source,
    }
}

impl Stopped {
    /// Only for a task known to be in a ptrace-stop (after a waitpid report).
    pub(crate) fn new(tid: Pid, reason: StopReason) -> Stopped {
        Stopped { tid, reason }
    }

    /// The task's thread id.
    pub fn tid(&self) -> i32 {
        self.tid.as_raw()
    }

    /// Why it stopped.
    pub fn reason(&self) -> StopReason {
        self.reason
    }

    /// Marks the stop as a different kind: after an injected syscall, or
    /// for a task recreated from a checkpoint, which stands for one that
    /// was stopped that way.
    pub fn set_reason(&mut self, reason: StopReason) {
        self.reason = reason;
    }

    /// The general registers.
    pub fn regs(&self) -> Result<Regs> {
        ptrace::getregs(self.tid)
            .map(Regs)
            .map_err(ptrace_err("GETREGS", self.tid))
    }

    /// Overwrites the general registers.
    pub fn set_regs(&mut self, regs: &Regs) -> Result<()> {
        ptrace::setregs(self.tid, regs.0).map_err(ptrace_err("SETREGS", self.tid))
    }

    /// The signals the task blocks (PTRACE_GETSIGMASK).
    pub fn sigmask(&self) -> Result<u64> {
        let mut mask = 0u64;
        // SAFETY: the kernel writes 8 bytes (the size given) into `mask`.
        let r = unsafe {
            libc::ptrace(
                libc::PTRACE_GETSIGMASK,
                self.tid.as_raw(),
                std::mem::size_of::<u64>(),
                &mut mask as *mut u64 as *mut libc::c_void,
            )
        };
        if r < 0 {
            return Err(ptrace_err("GETSIGMASK", self.tid)(Errno::last()));
        }
        Ok(mask)
    }

    /// Sets the signals the task blocks (PTRACE_SETSIGMASK).
    pub fn set_sigmask(&mut self, mask: u64) -> Result<()> {
        // SAFETY: the kernel reads 8 bytes (the size given) from `mask`.
        let r = unsafe {
            libc::ptrace(
                libc::PTRACE_SETSIGMASK,
                self.tid.as_raw(),
                std::mem::size_of::<u64>(),
                &mask as *const u64 as *mut libc::c_void,
            )
        };
        if r < 0 {
            return Err(ptrace_err("SETSIGMASK", self.tid)(Errno::last()));
        }
        Ok(())
    }

    /// The whole extended register state (x87, SSE, AVX, ...) in the
    /// kernel's XSAVE layout (PTRACE_GETREGSET NT_X86_XSTATE).
    pub fn xstate(&self) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; XSTATE_MAX];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        };
        // SAFETY: the kernel writes at most iov_len bytes into buf.
        let r = unsafe {
            libc::ptrace(
                libc::PTRACE_GETREGSET,
                self.tid.as_raw(),
                NT_X86_XSTATE,
                &mut iov as *mut libc::iovec as *mut libc::c_void,
            )
        };
        if r < 0 {
            return Err(ptrace_err("GETREGSET xstate", self.tid)(Errno::last()));
        }
        buf.truncate(iov.iov_len);
        Ok(buf)
    }

    /// Loads an extended register state read by [`Stopped::xstate`].
    pub fn set_xstate(&mut self, state: &[u8]) -> Result<()> {
        let mut buf = state.to_vec();
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        };
        // SAFETY: the kernel reads at most iov_len bytes from buf.
        let r = unsafe {
            libc::ptrace(
                libc::PTRACE_SETREGSET,
                self.tid.as_raw(),
                NT_X86_XSTATE,
                &mut iov as *mut libc::iovec as *mut libc::c_void,
            )
        };
        if r < 0 {
            return Err(ptrace_err("SETREGSET xstate", self.tid)(Errno::last()));
        }
        Ok(())
    }

    /// The siginfo of a signal-delivery-stop.
    pub fn siginfo(&self) -> Result<libc::siginfo_t> {
        ptrace::getsiginfo(self.tid).map_err(ptrace_err("GETSIGINFO", self.tid))
    }

    /// Replaces the siginfo of the pending signal-delivery-stop.
    pub fn set_siginfo(&mut self, info: &libc::siginfo_t) -> Result<()> {
        ptrace::setsiginfo(self.tid, info).map_err(ptrace_err("SETSIGINFO", self.tid))
    }

    /// The raw 128 bytes of the pending signal's siginfo (for the trace).
    pub fn siginfo_bytes(&self) -> Result<Vec<u8>> {
        let info = self.siginfo()?;
        // SAFETY: siginfo_t is plain data; we copy its bytes.
        let p = &info as *const libc::siginfo_t as *const u8;
        Ok(
            unsafe { std::slice::from_raw_parts(p, std::mem::size_of::<libc::siginfo_t>()) }
                .to_vec(),
        )
    }

    /// Replaces the pending signal's siginfo with raw bytes recorded earlier.
    /// Bytes of the wrong length are ignored (the kernel's siginfo stays).
    pub fn set_siginfo_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.len() != std::mem::size_of::<libc::siginfo_t>() {
            return Ok(());
        }
        // SAFETY: any 128 bytes form a valid siginfo_t; the read is unaligned-safe.
        let info: libc::siginfo_t =
            unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const libc::siginfo_t) };
        self.set_siginfo(&info)
    }

    /// The ptrace event message (new tid, exit status ...).
    pub fn event_msg(&self) -> Result<u64> {
        ptrace::getevent(self.tid)
            .map(|v| v as u64)
            .map_err(ptrace_err("GETEVENTMSG", self.tid))
    }

    /// Resumes the task, delivering `signal` if given (only meaningful at a
    /// signal-delivery-stop).
    pub fn resume(self, how: Resume, signal: Option<i32>) -> Result<Running> {
        let sig = signal.map(|s| s as libc::c_long).unwrap_or(0);
        let req = match how {
            Resume::Cont => libc::PTRACE_CONT,
            Resume::Syscall => libc::PTRACE_SYSCALL,
            Resume::Sysemu => libc::PTRACE_SYSEMU,
            Resume::SingleStep => libc::PTRACE_SINGLESTEP,
            Resume::SysemuStep => libc::PTRACE_SYSEMU_SINGLESTEP,
        };
        // SAFETY: plain ptrace request on a task in ptrace-stop.
        let r = unsafe { libc::ptrace(req, self.tid.as_raw(), 0, sig) };
        if r < 0 {
            let e = Errno::last();
            // The task may have been killed meanwhile (SIGKILL from outside): its
            // exit will be reported by waitpid, so treat it as running.
            if e != Errno::ESRCH {
                return Err(ptrace_err("resume", self.tid)(e));
            }
        }
        Ok(Running { tid: self.tid })
    }

    /// Kills the task (SIGKILL) and gives it back as running, so that its
    /// death is collected by [`TaskSet::wait`].
    pub fn kill(self) -> Running {
        let _ = nix::sys::signal::kill(self.tid, Signal::SIGKILL);
        Running { tid: self.tid }
    }
}

/// Sends signal `sig` to thread `tid` of our own tracees (tkill: a thread
/// of any process, whatever its thread group).
pub fn send_signal(tid: i32, sig: i32) -> Result<()> {
    // SAFETY: tkill takes plain integers.
    let r = unsafe { libc::syscall(libc::SYS_tkill, tid, sig) };
    if r < 0 {
        return Err(SysError::os(
            format!("sending signal {sig} to task {tid}"),
            Errno::last(),
        ));
    }
    Ok(())
}

/// What [`TaskSet::wait`] observed.
#[derive(Debug)]
pub enum Waited {
    /// A task stopped.
    Stopped(Stopped),
    /// A task is gone: exited with a code.
    Exited(i32, i32),
    /// A task is gone: killed by a signal.
    Signaled(i32, i32),
}

/// All running tasks of a session, and the one place that waits for them.
#[derive(Debug, Default)]
pub struct TaskSet {
    running: HashMap<i32, Running>,
}

impl TaskSet {
    /// An empty set.
    pub fn new() -> TaskSet {
        TaskSet::default()
    }

    /// Adds a task that was resumed.
    pub fn insert(&mut self, task: Running) {
        self.running.insert(task.tid(), task);
    }

    /// Whether task `tid` is running (resumed, not yet waited for).
    pub fn is_running(&self, tid: i32) -> bool {
        self.running.contains_key(&tid)
    }

    /// Number of tasks that are running (not stopped in the session's hands).
    pub fn len(&self) -> usize {
        self.running.len()
    }

    /// Whether no task is running.
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// Waits for the next report from any tracee (`None` waits for any; a tid
    /// waits for that task only).
    pub fn wait(&mut self, only: Option<i32>) -> Result<Waited> {
        loop {
            if let Some(w) = self.wait_flags(only, 0)? {
                return Ok(w);
            }
        }
    }

    /// Like [`TaskSet::wait`], but returns `None` at once when no report is
    /// ready.
    pub fn try_wait(&mut self, only: Option<i32>) -> Result<Option<Waited>> {
        self.wait_flags(only, libc::WNOHANG)
    }

    /// Like [`TaskSet::wait`] for any task, but returns `None` when a signal
    /// to reel interrupted the wait (see `fs::catch_termination_signals`).
    pub fn wait_interruptible(&mut self) -> Result<Option<Waited>> {
        self.wait_flags(None, 0)
    }

    /// Like [`TaskSet::wait`] for any task, but gives up after `timeout`, or
    /// (returning `None` early) when a signal reel catches arrived (see
    /// `fs::catch_termination_signals`). It sleeps until the next SIGCHLD
    /// rather than polling (see wakeup.rs), so a stop is seen at once.
    pub fn wait_timeout(&mut self, timeout: std::time::Duration) -> Result<Option<Waited>> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            crate::wakeup::drain()?;
            if let Some(w) = self.wait_flags(None, libc::WNOHANG)? {
                return Ok(Some(w));
            }
            let now = std::time::Instant::now();
            if now >= deadline || crate::fs::signals_caught() {
                return Ok(None);
            }
            crate::wakeup::sleep(deadline - now)?;
        }
    }

    /// Like [`TaskSet::wait`] for task `tid`, but gives up after `timeout`
    /// (None then). Sleeps in `sigtimedwait` for SIGCHLD, which every stop
    /// of a tracee sends reel: blocked meanwhile, so none is missed.
    pub fn wait_for(&mut self, tid: i32, timeout: std::time::Duration) -> Result<Option<Waited>> {
        let deadline = std::time::Instant::now() + timeout;
        // SAFETY: signal sets are plain data initialised by sigemptyset;
        // the mask calls only change this thread's mask, restored below.
        let (set, old) = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGCHLD);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            (set, old)
        };
        let got = loop {
            match self.wait_flags(Some(tid), libc::WNOHANG) {
                Ok(Some(w)) => break Ok(Some(w)),
                Err(e) => break Err(e),
                Ok(None) => {}
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break Ok(None);
            }
            let ts = libc::timespec {
                tv_sec: left.as_secs() as libc::time_t,
                tv_nsec: left.subsec_nanos() as libc::c_long,
            };
            // SAFETY: waits for SIGCHLD (blocked above); no siginfo wanted.
            unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &ts) };
        };
        // SAFETY: restores the mask saved above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
        got
    }

    /// Stops a running task with PTRACE_INTERRUPT; it reports a
    /// [`StopReason::GroupStop`] stop through [`TaskSet::wait`].
    pub fn interrupt(&mut self, tid: i32) -> Result<()> {
        if !self.running.contains_key(&tid) {
            return Ok(());
        }
        // SAFETY: plain ptrace request on a seized tracee.
        let r = unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0) };
        if r < 0 && Errno::last() != Errno::ESRCH {
            return Err(ptrace_err("INTERRUPT", Pid::from_raw(tid))(Errno::last()));
        }
        Ok(())
    }

    fn wait_flags(&mut self, only: Option<i32>, flags: libc::c_int) -> Result<Option<Waited>> {
        {
            let mut status: libc::c_int = 0;
            // SAFETY: waitpid writes the status into our local.
            let r = unsafe { libc::waitpid(only.unwrap_or(-1), &mut status, libc::__WALL | flags) };
            if r == 0 {
                return Ok(None);
            }
            if r < 0 {
                let e = Errno::last();
                if e == Errno::EINTR {
                    return Ok(None);
                }
                return Err(SysError::os("waitpid for tracees", e));
            }
            let tid = Pid::from_raw(r);
            if libc::WIFEXITED(status) {
                self.running.remove(&r);
                return Ok(Some(Waited::Exited(r, libc::WEXITSTATUS(status))));
            }
            if libc::WIFSIGNALED(status) {
                self.running.remove(&r);
                return Ok(Some(Waited::Signaled(r, libc::WTERMSIG(status))));
            }
            if !libc::WIFSTOPPED(status) {
                return Ok(None);
            }
            let sig = libc::WSTOPSIG(status);
            let event = (status >> 16) & 0xff;
            let reason = if sig == libc::SIGTRAP | 0x80 {
                StopReason::Syscall
            } else if event != 0 {
                let msg = || ptrace::getevent(tid).unwrap_or(0);
                match event {
                    libc::PTRACE_EVENT_SECCOMP => StopReason::Seccomp,
                    libc::PTRACE_EVENT_EXEC => StopReason::Exec {
                        former_tid: msg() as i32,
                    },
                    libc::PTRACE_EVENT_EXIT => StopReason::ExitEvent {
                        status: msg() as i32,
                    },
                    libc::PTRACE_EVENT_FORK
                    | libc::PTRACE_EVENT_VFORK
                    | libc::PTRACE_EVENT_CLONE => StopReason::NewTask {
                        child: msg() as i32,
                    },
                    _ => StopReason::GroupStop(sig),
                }
            } else {
                StopReason::Signal(sig)
            };
            // A stop of a task we did not resume (a new child reporting its
            // first stop) is still a stop; the session decides what it is.
            self.running.remove(&r);
            Ok(Some(Waited::Stopped(Stopped::new(tid, reason))))
        }
    }
}
