//! Making the tracee run a syscall of reel's choosing, through the private
//! code page (`syscall; int3`), then restoring its registers.

use crate::mem::Memory;
use crate::spawn::PRIVATE_CODE;
use crate::task::{Resume, StopReason, Stopped, TaskSet, Waited};
use crate::{Regs, Result, SysError, PAGE_SIZE, PRIVATE_LEN, PRIVATE_PAGE, SCRATCH_PAGE};

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
    let saved = aim_at_private_syscall(&mut task, nr, args)?;
    let reason = task.reason();
    let running = task.resume(Resume::Cont, None)?;
    tasks.insert(running);
    let fail = |what: String| SysError::Inject {
        syscall: format!("syscall {nr}"),
        tid,
        what,
    };
    let (mut st, deferred) = wait_for_trap(tasks, tid, false, &fail)?;
    let after = st.regs()?;
    if after.ip() != PRIVATE_PAGE + 3 {
        return Err(fail(format!("trapped at {:#x}", after.ip())));
    }
    st.set_regs(&saved)?;
    st.set_reason(reason);
    resend(tid, deferred)?;
    Ok((st, after.result()))
}

/// Waits for the running task `tid` to reach the int3 after an injected
/// syscall. Seccomp stops are passed when `pass_seccomp` (an injection from
/// outside reel's page is traced like any call). An asynchronous signal
/// that arrives meanwhile (an interval timer, a SIGCHLD) is held back and
/// returned, to be sent again once the program's state is back; a fault of
/// the injected code is an error.
fn wait_for_trap(
    tasks: &mut TaskSet,
    tid: i32,
    pass_seccomp: bool,
    fail: &dyn Fn(String) -> SysError,
) -> Result<(Stopped, Vec<i32>)> {
    let mut deferred = Vec::new();
    loop {
        match tasks.wait(Some(tid))? {
            Waited::Stopped(st) => match st.reason() {
                StopReason::Signal(libc::SIGTRAP) => return Ok((st, deferred)),
                StopReason::Seccomp if pass_seccomp => {
                    tasks.insert(st.resume(Resume::Cont, None)?);
                }
                StopReason::Signal(sig)
                    if !(matches!(
                        sig,
                        libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE
                    ) && st.siginfo()?.si_code > 0) =>
                {
                    deferred.push(sig);
                    tasks.insert(st.resume(Resume::Cont, None)?);
                }
                other => {
                    let at = st.regs().map(|r| r.ip()).unwrap_or(0);
                    let addr = st
                        .siginfo()
                        .map(|i| (unsafe { i.si_addr() } as u64, i.si_code))
                        .unwrap_or((0, 0));
                    return Err(fail(format!(
                        "stopped with {other:?} at {at:#x} (fault address, code {addr:x?}) instead of at the trap"
                    )));
                }
            },
            Waited::Exited(_, code) => return Err(fail(format!("task exited with status {code}"))),
            Waited::Signaled(_, sig) => return Err(fail(format!("task killed by signal {sig}"))),
        }
    }
}

/// Sends again the signals [`wait_for_trap`] held back.
fn resend(tid: i32, deferred: Vec<i32>) -> Result<()> {
    for sig in deferred {
        crate::send_signal(tid, sig)?;
    }
    Ok(())
}

/// Maps reel's private pages again in a task that just exec'd (at its
/// `PTRACE_EVENT_EXEC` stop): execve dropped them with the old address
/// space, but the seccomp filter, which survives exec, still lets the code
/// page's syscall through, so the pages must stay reel's.
///
/// The task is first run to the execve's syscall-exit stop (at the exec
/// stop the kernel has yet to store execve's result in rax). The new
/// program has no `syscall` instruction of reel's yet: one is written over
/// the program's first instruction for the mmap (that call is traced like
/// any program call: its seccomp stop is passed), then the bytes and
/// registers are put back. The rest goes through the new page. Returns the
/// task at the execve's exit stop.
pub fn map_private_pages(task: Stopped, tasks: &mut TaskSet, mem: &Memory) -> Result<Stopped> {
    let tid = task.tid();
    let fail = |what: String| SysError::Inject {
        syscall: "mmap of reel's private pages after exec".into(),
        tid,
        what,
    };
    tasks.insert(task.resume(Resume::Syscall, None)?);
    let mut task = match tasks.wait(Some(tid))? {
        Waited::Stopped(st) if st.reason() == StopReason::Syscall => st,
        Waited::Stopped(st) => {
            return Err(fail(format!(
                "stopped with {:?} before execve returned",
                st.reason()
            )))
        }
        Waited::Exited(_, code) => return Err(fail(format!("task exited with status {code}"))),
        Waited::Signaled(_, sig) => return Err(fail(format!("task killed by signal {sig}"))),
    };
    let saved = task.regs()?;
    let reason = task.reason();
    let at = saved.ip();
    let original = mem.read(&task, at, PRIVATE_CODE.len())?;
    mem.write(&mut task, at, &PRIVATE_CODE)?;
    let mut r = saved;
    r.set_syscall_nr(u64::MAX);
    r.raw_mut().rax = libc::SYS_mmap as u64;
    // The code page, never writable by the program (/proc/PID/mem writes
    // it anyway); the scratch page follows through the code page.
    r.set_args([
        PRIVATE_PAGE,
        PAGE_SIZE,
        (libc::PROT_READ | libc::PROT_EXEC) as u64,
        (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE) as u64,
        u64::MAX,
        0,
    ]);
    task.set_regs(&r)?;
    tasks.insert(task.resume(Resume::Cont, None)?);
    // (An interval timer survives exec: its signals may arrive meanwhile.)
    let (mut st, deferred) = wait_for_trap(tasks, tid, true, &fail)?;
    let after = st.regs()?;
    if after.ip() != at + PRIVATE_CODE.len() as u64 || after.result() != PRIVATE_PAGE as i64 {
        return Err(fail(format!(
            "returned {:#x} at {:#x}",
            after.result(),
            after.ip()
        )));
    }
    mem.write(&mut st, at, &original)?;
    mem.write(&mut st, PRIVATE_PAGE, &PRIVATE_CODE)?;
    let fast = crate::syscallbuf::fast_code();
    mem.write(&mut st, crate::syscallbuf::FAST_SYSCALL, &fast)?;
    st.set_regs(&saved)?;
    let (mut st, res) = syscall(
        st,
        tasks,
        libc::SYS_mmap as u64,
        [
            SCRATCH_PAGE,
            PRIVATE_LEN - PAGE_SIZE,
            (libc::PROT_READ | libc::PROT_WRITE) as u64,
            (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE) as u64,
            u64::MAX,
            0,
        ],
    )?;
    if res != SCRATCH_PAGE as i64 {
        return Err(fail(format!("mmap of the scratch page returned {res:#x}")));
    }
    resend(tid, deferred)?;
    st.set_reason(reason);
    Ok(st)
}

/// Makes `task` fork through the private page (`syscall; int3`); returns
/// the task (stopped again, registers and stop kind restored) and its new
/// child, stopped at its first stop, a frozen copy of the task's memory.
///
/// Same contract as [`syscall`]; the tracee must be traced with
/// PTRACE_O_TRACEFORK, so that the child is traced from birth.
pub fn fork(task: Stopped, tasks: &mut TaskSet) -> Result<(Stopped, Stopped)> {
    spawn_like(task, tasks, "fork", libc::SYS_fork as u64, [0; 6])
}

/// Makes `task` create a new thread in its process through the private
/// page (a `clone` with the flags pthread_create uses, the new thread on
/// the caller's stack until its registers are set); returns the task, as
/// [`fork`] does, and the new thread, stopped at its first stop. With
/// `clear_tid`, the kernel clears that word when the thread exits
/// (CLONE_CHILD_CLEARTID), as the thread it stands for asked.
///
/// The tracee must be traced with PTRACE_O_TRACECLONE.
pub fn clone_thread(
    task: Stopped,
    tasks: &mut TaskSet,
    clear_tid: Option<u64>,
) -> Result<(Stopped, Stopped)> {
    let mut flags = libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD
        | libc::CLONE_SYSVSEM;
    if clear_tid.is_some() {
        flags |= libc::CLONE_CHILD_CLEARTID;
    }
    let args = [flags as u64, 0, 0, clear_tid.unwrap_or(0), 0, 0];
    spawn_like(task, tasks, "clone", libc::SYS_clone as u64, args)
}

/// Points the stopped task at reel's `syscall` instruction in its private
/// page, set up to make syscall `nr` with `args`; returns the registers it
/// had, to restore afterwards.
fn aim_at_private_syscall(task: &mut Stopped, nr: u64, args: [u64; 6]) -> Result<Regs> {
    let saved = task.regs()?;
    let mut r = saved;
    r.set_ip(PRIVATE_PAGE);
    r.set_syscall_nr(u64::MAX);
    r.raw_mut().rax = nr;
    r.set_args(args);
    task.set_regs(&r)?;
    Ok(saved)
}

/// [`fork`] and [`clone_thread`]: syscall `nr` with `args`, which creates
/// one task.
fn spawn_like(
    task: Stopped,
    tasks: &mut TaskSet,
    name: &str,
    nr: u64,
    args: [u64; 6],
) -> Result<(Stopped, Stopped)> {
    let tid = task.tid();
    let mut task = task;
    let saved = aim_at_private_syscall(&mut task, nr, args)?;
    let reason = task.reason();
    tasks.insert(task.resume(Resume::Cont, None)?);
    let fail = |what: String| SysError::Inject {
        syscall: name.into(),
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
