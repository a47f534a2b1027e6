//! Making the tracee run a syscall of reel's choosing, through the private
//! code page (`syscall; int3`), then restoring its registers.

use crate::task::{Resume, StopReason, Stopped, TaskSet, Waited};
use crate::{Result, SysError, PRIVATE_PAGE};

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
