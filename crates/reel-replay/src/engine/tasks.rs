//! Events that create and end tasks: clone, fork and vfork, exit and
//! exit_group, threads ended by a sibling's exec.

use super::{Engine, Next, Task};
use crate::{ReplayError, Result};
use reel_sys::{Resume, StopReason, Stopped, Waited};
use reel_trace::{ExitKind, SyscallEvent, Tid};

impl Engine {
    /// Creates the task a fork/vfork/clone created at record time, with the
    /// same call. A vfork child shares its parent's memory until it execs,
    /// as it did when recorded: the parent then stays in the kernel, and
    /// `None` is returned (see [`Engine::finish_vfork`]).
    pub(super) fn replay_clone(
        &mut self,
        tid: Tid,
        mut st: Stopped,
        ev: &SyscallEvent,
        data: &[u8],
    ) -> Result<Option<Stopped>> {
        let mut regs = st.regs()?;
        let nr = regs.syscall_nr();
        let args = regs.args();
        let is_clone = nr == libc::SYS_clone as u64;
        let flags = if is_clone { args[0] } else { 0 };
        let vfork = nr == libc::SYS_vfork as u64 || flags & libc::CLONE_VFORK as u64 != 0;
        let settid = (is_clone && flags & libc::CLONE_CHILD_SETTID as u64 != 0 && args[3] != 0)
            .then_some(args[3]);
        regs.back_up_to_syscall(nr);
        // As when recording, the child is traced even if the program said not.
        let mut real_args = args;
        if reel_syscalls::drop_untraced(nr, &mut real_args) {
            regs.set_args(real_args);
        }
        st.set_regs(&regs)?;
        let real = st.tid();
        let mut child = None;
        // Exit of the skipped call, entry of the re-issued one, the
        // new-task event, then (not for a vfork: its child runs first) its exit.
        let mut syscall_stops = 0;
        let wanted = if vfork { 2 } else { 3 };
        while syscall_stops < wanted || child.is_none() {
            self.tasks.insert(st.resume(Resume::Syscall, None)?);
            st = self.wait_within_call(tid, real, "fork to complete")?;
            match st.reason() {
                StopReason::Syscall => syscall_stops += 1,
                StopReason::NewTask { child: c } => child = Some(c),
                other => {
                    let what = format!("stopped with {other:?} while forking");
                    self.park(tid, st)?;
                    return Err(self.diverged(tid, "fork to complete", what));
                }
            }
            if syscall_stops > wanted {
                let r = st.regs()?.result();
                self.park(tid, st)?;
                return Err(self.diverged(
                    tid,
                    format!("fork to create task {}", ev.result),
                    format!("it returned {r}"),
                ));
            }
        }
        let child = child.expect("loop ends with a child");
        let rec_child = ev.result as Tid;
        let parent_pid = self.task(tid)?.pid;
        let thread = is_clone && flags & libc::CLONE_THREAD as u64 != 0;
        let mut task = Task::new(child, if thread { parent_pid } else { rec_child }, true);
        task.settid = settid.map(|a| (a, rec_child as u32));
        task.shares_memory = vfork;
        if is_clone && flags & libc::CLONE_CHILD_CLEARTID as u64 != 0 && args[3] != 0 {
            task.clear_tid = Some(args[3]);
        }
        self.by_tid.insert(rec_child, task);
        if !thread {
            if let Some(b) = self.brks.get(&parent_pid).copied() {
                self.brks.insert(rec_child, b);
            }
            if let Some(e) = self.stack_ends.get(&parent_pid).copied() {
                self.stack_ends.insert(rec_child, e);
            }
            // A fork copies the patched code (and the fast path's
            // trampolines and buffer) too.
            if !vfork && self.fast_procs.contains(&parent_pid) {
                self.fast_procs.insert(rec_child);
            }
            if let Some(p) = self.patches.get(&parent_pid).cloned() {
                self.patches.insert(rec_child, p);
            }
        }
        if vfork {
            self.tasks.insert(st.resume(Resume::Syscall, None)?);
            self.task(tid)?.vfork_wait = Some((ev.clone(), data.to_vec()));
            return Ok(None);
        }
        Ok(Some(st))
    }

    /// A vfork parent comes out of the kernel (its child exec'd or exited):
    /// finish the vfork's event as for any other call.
    pub(super) fn finish_vfork(&mut self, tid: Tid, ev: SyscallEvent, data: Vec<u8>) -> Result<()> {
        let real = self.task(tid)?.real;
        let mut st = loop {
            let st = self.wait_within_call(tid, real, "vfork to return")?;
            if st.reason() == StopReason::Syscall {
                break st;
            }
            // A stray signal (the child's SIGCHLD) on the way out.
            self.tasks.insert(st.resume(Resume::Syscall, None)?);
        };
        let mut regs = st.regs()?;
        regs.set_args(ev.args);
        regs.set_result(ev.result);
        st.set_regs(&regs)?;
        self.apply_writes(&mut st, tid, &ev, &data)?;
        self.park(tid, st)
    }

    pub(super) fn on_exit(&mut self, tid: Tid, kind: ExitKind) -> Result<()> {
        if kind == ExitKind::EndedByExec {
            self.end_thread(tid)?;
            return self.forget_task(tid, kind);
        }
        let t = self.task(tid)?;
        if matches!(kind, ExitKind::Signaled(_)) {
            // A thread parked at the entry of a call that may block (its
            // `SyscallEntry`) when a sibling's fatal signal ended the
            // process: its parked stop is not its next one, its death is.
            t.fresh = false;
        }
        if t.gone.is_none() && !t.exiting && t.pending_signal.is_none() {
            // Killed from outside (SIGKILL) at record time: do the same.
            if let ExitKind::Signaled(sig) = kind {
                let real = t.real;
                t.exiting = true;
                reel_sys::send_signal(real, sig)?;
            }
        }
        self.task(tid)?.exiting = true;
        let got = loop {
            match self.advance(tid)? {
                Next::Gone(k) => break k,
                Next::Stop(st) | Next::Paused(st, _) => {
                    // A fatal signal being delivered on the way out.
                    if let StopReason::Signal(s) = st.reason() {
                        if ExitKind::Signaled(s) == kind {
                            self.task(tid)?.pending_signal = Some(s);
                            self.park(tid, st)?;
                            continue;
                        }
                    }
                    let actual = self.describe_stop(&st);
                    self.park(tid, st)?;
                    return Err(self.diverged(tid, format!("the task to end ({kind:?})"), actual));
                }
            }
        };
        if got != kind {
            return Err(self.diverged(
                tid,
                format!("the task to end with {kind:?}"),
                format!("it ended with {got:?}"),
            ));
        }
        self.forget_task(tid, kind)
    }

    /// Drops a task that ended with `kind`.
    pub(super) fn forget_task(&mut self, tid: Tid, kind: ExitKind) -> Result<()> {
        let pid = self.by_tid.remove(&tid).map_or(tid, |t| t.pid);
        // The last task of a process takes its address space with it.
        if !self
            .by_tid
            .values()
            .any(|t| t.pid == pid && t.gone.is_none())
        {
            self.memories.remove(&pid);
        }
        if Some(tid) == self.root {
            self.root_exit = Some(kind);
        }
        Ok(())
    }

    /// A thread that a sibling's exec ended when recorded: the replayed exec
    /// does not run for real, so end the thread here, alone, with an `exit`
    /// from reel's code page (a signal would end the whole process).
    pub(super) fn end_thread(&mut self, tid: Tid) -> Result<()> {
        let t = self.task(tid)?;
        if t.gone.is_some() {
            return Ok(());
        }
        let real = t.real;
        let initial = std::mem::take(&mut t.initial);
        let stopped = t.stopped.take();
        let mut st = match (stopped, initial) {
            (Some(st), _) => st,
            // Created but never run: take its first stop, run nothing.
            (None, true) => self.wait_within_call(tid, real, "the thread's first stop")?,
            (None, false) => {
                return Err(ReplayError::Unsupported {
                    event: self.event,
                    what: format!("thread {tid} to end is not stopped"),
                })
            }
        };
        let mut regs = st.regs()?;
        regs.set_ip(reel_sys::PRIVATE_PAGE);
        regs.set_syscall_nr(u64::MAX);
        regs.set_result(libc::SYS_exit);
        regs.set_args([0; 6]);
        st.set_regs(&regs)?;
        // A leader (ended by the exec of another thread, which took its id)
        // stays a zombie while its threads live: its exit stop is its end.
        let leader = self.task(tid)?.pid == tid;
        self.tasks.insert(st.resume(Resume::Cont, None)?);
        while let Waited::Stopped(st) = self.tasks.wait(Some(real))? {
            let at_exit = matches!(st.reason(), StopReason::ExitEvent { .. });
            self.tasks.insert(st.resume(Resume::Cont, None)?);
            if leader && at_exit {
                break;
            }
        }
        self.task(tid)?.gone = Some(ExitKind::EndedByExec);
        Ok(())
    }

    /// Whether other tasks of `tid`'s process are alive (its threads).
    pub(super) fn has_live_siblings(&self, tid: Tid) -> bool {
        let Some(pid) = self.by_tid.get(&tid).map(|t| t.pid) else {
            return false;
        };
        self.by_tid
            .iter()
            .any(|(&o, t)| o != tid && t.pid == pid && t.gone.is_none())
    }

    /// exit_group in a process with several threads: run it now, so that
    /// the kernel kills the other threads as when recorded, before any of
    /// them is resumed for its own exit event; every thread of the process
    /// is then only waited for.
    pub(super) fn run_exit_group(&mut self, tid: Tid, st: Stopped) -> Result<()> {
        let real = st.tid();
        self.tasks.insert(st.resume(Resume::Cont, None)?);
        // By the caller's exit stop, every sibling has its SIGKILL pending.
        loop {
            match self.tasks.wait(Some(real))? {
                Waited::Stopped(s) => {
                    let at_exit = matches!(s.reason(), StopReason::ExitEvent { .. });
                    self.tasks.insert(s.resume(Resume::Cont, None)?);
                    if at_exit {
                        break;
                    }
                }
                Waited::Exited(_, c) => {
                    self.mark_gone(tid, ExitKind::Exited(c));
                    break;
                }
                Waited::Signaled(_, sig) => {
                    self.mark_gone(tid, ExitKind::Signaled(sig));
                    break;
                }
            }
        }
        let pid = self.task(tid)?.pid;
        let mut dying = Vec::new();
        for t in self
            .by_tid
            .values_mut()
            .filter(|t| t.pid == pid && t.gone.is_none())
        {
            t.dying = true;
            t.exiting = true;
            t.fresh = false;
            if let Some(st) = t.stopped.take() {
                dying.push(st);
            }
        }
        for st in dying {
            self.tasks.insert(st.resume(Resume::Cont, None)?);
        }
        Ok(())
    }
}
