//! Making the tracee run a syscall of reel's choosing, through the private
//! code page (`syscall; int3`), then restoring its registers.

use crate::task::{Resume, StopReason, Stopped, TaskSet, Waited};
use crate::{Regs, Result, SysError, PRIVATE_PAGE};

/// Runs syscall `nr` with `args` in `task` and returns the task (stopped
/// again, registers restored) and the syscall's raw result.
///
/// The task must be at a stop where changing `rip` takes effect on resume
/// without running another syscall first: a PTRACE_SYSEMU entry stop, a
/// syscall-exit stop, or a signal-delivery stop (whose signal is discarded).
pub fn syscall(
    task: Stopped,
    tasks: &mut TaskSet,
    nr: u64,
    args: [u64; 6],
) -> Result<(Stopped, i64)> {
    let tid = task.tid();
    let mut task = task;
    let saved = task.regs()?;
    let mut r = saved;
    r.set_ip(PRIVATE_PAGE);
    r.set_syscall_nr(u64::MAX);
    r.raw_mut().rax = nr;
    r.set_args(args);
    task.set_regs(&r)?;
    let reason = task.reason();
    let running = task.resume(Resume::Cont, None)?;
    tasks.insert(running);
    let fail = |what: String| SysError::Inject {
        syscall: format!("syscall {nr}"),
        tid,
        what,
    };
    match tasks.wait(Some(tid))? {
        Waited::Stopped(mut st) => {
            if st.reason() != StopReason::Signal(libc::SIGTRAP) {
                let at = st.regs().map(|r| r.ip()).unwrap_or(0);
                let addr = st
                    .siginfo()
                    .map(|i| (unsafe { i.si_addr() } as u64, i.si_code))
                    .unwrap_or((0, 0));
                return Err(fail(format!(
                    "stopped with {:?} at {at:#x} (fault address, code {addr:x?}) instead of at the trap",
                    st.reason()
                )));
            }
            let after = st.regs()?;
            if after.ip() != PRIVATE_PAGE + 3 {
                return Err(fail(format!("trapped at {:#x}", after.ip())));
            }
            st.set_regs(&saved)?;
            st.set_reason(reason);
            Ok((st, after.result()))
        }
        Waited::Exited(_, code) => Err(fail(format!("task exited with status {code}"))),
        Waited::Signaled(_, sig) => Err(fail(format!("task killed by signal {sig}"))),
    }
}

/// Makes `task` fork through the private page (`syscall; int3`); returns
/// the task (stopped again, registers and stop kind restored) and its new
/// child, stopped at its first stop, a frozen copy of the task's memory.
///
/// Same contract as [`syscall`]; the tracee must be traced with
/// PTRACE_O_TRACEFORK, so that the child is traced from birth.
pub fn fork(task: Stopped, tasks: &mut TaskSet) -> Result<(Stopped, Stopped)> {
    let tid = task.tid();
    let mut task = task;
    let saved = task.regs()?;
    let mut r = saved;
    r.set_ip(PRIVATE_PAGE);
    r.set_syscall_nr(u64::MAX);
    r.raw_mut().rax = libc::SYS_fork as u64;
    r.set_args([0; 6]);
    task.set_regs(&r)?;
    let reason = task.reason();
    tasks.insert(task.resume(Resume::Cont, None)?);
    let fail = |what: String| SysError::Inject {
        syscall: "fork".into(),
        tid,
        what,
    };
    let mut child = None;
    let mut parent = loop {
        match tasks.wait(Some(tid))? {
            Waited::Stopped(st) => match st.reason() {
                StopReason::NewTask { child: c } => {
                    child = Some(c);
                    tasks.insert(st.resume(Resume::Cont, None)?);
                }
                StopReason::Signal(libc::SIGTRAP) => break st,
                // A signal meanwhile (a child's SIGCHLD) is not the
                // program's: drop it.
                StopReason::Signal(_) | StopReason::GroupStop(_) => {
                    tasks.insert(st.resume(Resume::Cont, None)?)
                }
                other => return Err(fail(format!("stopped with {other:?}"))),
            },
            Waited::Exited(_, code) => return Err(fail(format!("task exited with status {code}"))),
            Waited::Signaled(_, sig) => return Err(fail(format!("task killed by signal {sig}"))),
        }
    };
    let after = parent.regs()?;
    if after.ip() != PRIVATE_PAGE + 3 || after.result() <= 0 {
        return Err(fail(format!(
            "trapped at {:#x} with result {}",
            after.ip(),
            after.result()
        )));
    }
    parent.set_regs(&saved)?;
    parent.set_reason(reason);
    let child = child.unwrap_or(after.result() as i32);
    let child = match tasks.wait(Some(child))? {
        Waited::Stopped(st) => st,
        other => return Err(fail(format!("the child ended at birth: {other:?}"))),
    };
    Ok((parent, child))
}

/// Forks `frozen` (a copy kept by [`fork`]) once more and makes the new
/// child look like the task the copy was taken from: registers `regs`,
/// stopped as `reason`. Returns the copy, still frozen, and the new task.
pub fn thaw(
    frozen: Stopped,
    tasks: &mut TaskSet,
    regs: &Regs,
    reason: StopReason,
) -> Result<(Stopped, Stopped)> {
    let (frozen, mut live) = fork(frozen, tasks)?;
    live.set_regs(regs)?;
    live.set_reason(reason);
    Ok((frozen, live))
}

/// Kills a stopped task that no session waits for (a frozen copy) and
/// collects its death.
pub fn discard(task: Stopped) {
    let tid = task.tid();
    let _ = task.kill();
    let mut status = 0;
    // SAFETY: waitpid writes the status into our local.
    while unsafe { libc::waitpid(tid, &mut status, libc::__WALL) } == tid {
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            break;
        }
        // Its exit event stop (PTRACE_O_TRACEEXIT): let it go on dying.
        // SAFETY: plain ptrace request on our tracee in a ptrace-stop.
        unsafe { libc::ptrace(libc::PTRACE_CONT, tid, 0, 0) };
    }
}
