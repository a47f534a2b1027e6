//! Syscall events: emulated from the trace, or run for real where they
//! shape the address space, and checked against what was recorded.

use super::Engine;
use crate::{ReplayError, Result};
use reel_sys::{digest, Resume, StopReason, Stopped};
use reel_syscalls::{Policy, Special};
use reel_trace::{Echo, SyscallEvent, SyscallSite, Tid};
use std::io::Write;

impl Engine {
    /// A thread entered a blocking syscall and others ran meanwhile: run it
    /// up to that syscall's entry now, and leave the stop for the call's own
    /// event, which comes later.
    pub(super) fn on_syscall_entry(
        &mut self,
        tid: Tid,
        nr: u64,
        args: &[u64; 6],
        site: Option<SyscallSite>,
    ) -> Result<()> {
        let expected = format!("entry into {}", reel_syscalls::format_call(nr, args));
        let st = self.expect_syscall(tid, &expected)?;
        let st = self.check_call(tid, st, nr, args, site, &expected)?;
        let t = self.task(tid)?;
        t.stopped = Some(st);
        t.fresh = true;
        Ok(())
    }

    pub(super) fn on_syscall(&mut self, ev: &SyscallEvent, data: &[u8]) -> Result<()> {
        let tid = ev.tid;
        let expected = reel_syscalls::format_call(ev.nr, &ev.args);
        let st = self.expect_syscall(tid, &expected)?;
        // Before any effect: the call itself, then the bytes it sends.
        let st = self.check_call(tid, st, ev.nr, &ev.args, ev.site, &expected)?;
        let (mut st, emitted) = self.check_emitted(tid, st, ev)?;
        let mut regs = st.regs()?;
        let (nr, args) = (regs.syscall_nr(), regs.args());
        let policy = reel_syscalls::spec(nr).map(|s| reel_syscalls::policy_for(s, &args));
        match policy {
            Some(Policy::Execute { check_result }) => {
                let entry_sp = regs.sp();
                st = self.execute_checked(tid, st, check_result.then_some(ev.result), &expected)?;
                if !check_result {
                    st = self.check_unchecked_result(tid, st, ev)?;
                }
                if nr == libc::SYS_set_tid_address as u64 {
                    // A checkpoint recreating this thread asks for the same.
                    self.task(tid)?.clear_tid = Some(args[0]).filter(|&a| a != 0);
                }
                regs = st.regs()?;
                if nr == libc::SYS_rt_sigreturn as u64 {
                    // Its "result" is the restored rax: nothing to set. The
                    // dead frame is cleared as the recorder cleared it.
                    reel_sys::sigframe::clear_dead(&mut st, self.mem(tid)?, entry_sp)?;
                    self.apply_writes(&mut st, tid, ev, data)?;
                    return self.finish_syscall(tid, st, ev);
                }
            }
            Some(Policy::Special(Special::Mremap)) => {
                let moved = ev.result >= 0 && ev.result as u64 != args[0];
                if moved {
                    // Where the kernel moved it then, not where it would now.
                    let mut forced = regs;
                    let mut a = args;
                    a[3] |= (libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED) as u64;
                    a[4] = ev.result as u64;
                    forced.set_args(a);
                    st.set_regs(&forced)?;
                }
                st = self.execute_checked(tid, st, Some(ev.result), &expected)?;
                regs = st.regs()?;
                if moved {
                    // The program sees the arguments it passed.
                    regs.set_args(args);
                }
            }
            Some(Policy::Special(Special::Clone)) if ev.result > 0 => {
                match self.replay_clone(tid, st, ev, data)? {
                    Some(parent) => st = parent,
                    // A vfork: the parent stays in the kernel while its child
                    // runs; the event is finished when it comes out.
                    None => return Ok(()),
                }
                regs = st.regs()?;
            }
            Some(Policy::Special(Special::Mmap)) if ev.result >= 0 => {
                st = self.replay_mmap(tid, st, ev)?;
            }
            Some(Policy::Special(Special::Shm)) if ev.result >= 0 => {
                st = self.replay_shm(tid, st, ev)?;
            }
            Some(Policy::Special(Special::Brk)) => {
                st = self.replay_brk(tid, st, ev)?;
            }
            Some(Policy::Emulate) if ev.mapped_file.is_some() => {
                self.sync_written_file(ev)?;
            }
            Some(Policy::Special(Special::ExitGroup)) if self.has_live_siblings(tid) => {
                regs.back_up_to_syscall(nr);
                st.set_regs(&regs)?;
                return self.run_exit_group(tid, st);
            }
            Some(Policy::Special(Special::Exit)) | Some(Policy::Special(Special::ExitGroup)) => {
                st = self.release_robust_futexes(tid, st)?;
                let t = self.task(tid)?;
                t.exiting = true;
                // Run the call for real from where the program made it.
                regs.back_up_to_syscall(nr);
                st.set_regs(&regs)?;
                return self.park(tid, st);
            }
            _ => {}
        }
        regs.set_result(ev.result);
        st.set_regs(&regs)?;
        self.apply_writes(&mut st, tid, ev, data)?;
        let st = self.follow_stack_limit(tid, st, ev)?;
        // A call that waited under a temporary signal mask and was
        // interrupted: the signal that follows must be delivered under that
        // mask, which the emulated call did not install.
        let temp_mask = if reel_syscalls::is_interrupted(ev.result) {
            let mem = self.mem(tid)?;
            let view = |addr, len| mem.read(&st, addr, len).ok();
            reel_syscalls::temporary_sigmask(ev.nr, &ev.args, &view)
        } else {
            None
        };
        self.task(tid)?.temp_mask = temp_mask;
        self.echo(ev, emitted.as_deref())?;
        self.finish_syscall(tid, st, ev)
    }

    /// A call the program's own seccomp filter answered when recorded:
    /// checked like any call, never run; rax gets the recorded value.
    pub(super) fn on_filtered(&mut self, ev: &SyscallEvent) -> Result<()> {
        let tid = ev.tid;
        let expected = reel_syscalls::format_call(ev.nr, &ev.args);
        let st = self.expect_syscall(tid, &expected)?;
        let mut st = self.check_call(tid, st, ev.nr, &ev.args, ev.site, &expected)?;
        let mut regs = st.regs()?;
        regs.set_result(ev.result);
        st.set_regs(&regs)?;
        self.finish_syscall(tid, st, ev)
    }

    pub(super) fn finish_syscall(
        &mut self,
        tid: Tid,
        st: Stopped,
        ev: &SyscallEvent,
    ) -> Result<()> {
        if let Some(expected) = ev.checksum {
            let pid = self.task(tid)?.pid;
            let stack_end = self.stack_ends.get(&pid).copied();
            let actual = digest::writable_memory(&st, self.mem(tid)?, stack_end)?;
            if actual != expected {
                self.park(tid, st)?;
                return Err(self.diverged(
                    tid,
                    format!("memory checksum {expected:#018x}"),
                    format!("the replayed memory has checksum {actual:#018x}"),
                ));
            }
        }
        self.park(tid, st)
    }

    pub(super) fn apply_writes(
        &mut self,
        st: &mut Stopped,
        tid: Tid,
        ev: &SyscallEvent,
        data: &[u8],
    ) -> Result<()> {
        let mem = self.mem(tid)?;
        let mut off = 0usize;
        for w in &ev.writes {
            let end = off + w.len as usize;
            let bytes = data.get(off..end).ok_or(ReplayError::Unsupported {
                event: self.event,
                what: "event has less data than its memory writes".into(),
            })?;
            mem.write(st, w.addr, bytes)?;
            off = end;
        }
        Ok(())
    }

    /// Reproduces the program's write to reel's stdout/stderr: `bytes`,
    /// taken from the replayed program's own memory (and checked against the
    /// recorded hash by [`Engine::check_emitted`]).
    pub(super) fn echo(&self, ev: &SyscallEvent, bytes: Option<&[u8]>) -> Result<()> {
        let (Some(target), true) = (ev.echo, self.opts.echo && ev.result > 0) else {
            return Ok(());
        };
        // InKernel copies never reach reel's stdout/stderr (the recorder
        // refuses them), so nothing else emits without bytes.
        let Some(bytes) = bytes else {
            return Ok(());
        };
        let write = || match target {
            Echo::Stdout => {
                let mut o = std::io::stdout().lock();
                o.write_all(bytes).and_then(|_| o.flush())
            }
            Echo::Stderr => {
                let mut o = std::io::stderr().lock();
                o.write_all(bytes).and_then(|_| o.flush())
            }
        };
        let res = match self.opts.around_echo {
            Some(around) => {
                let mut res = Ok(());
                around(&mut || res = write());
                res
            }
            None => write(),
        };
        res.map_err(ReplayError::Output)
    }

    /// [`Engine::execute_in_place`], then checks the result against
    /// `expected_result` when given.
    pub(super) fn execute_checked(
        &mut self,
        tid: Tid,
        st: Stopped,
        expected_result: Option<i64>,
        call: &str,
    ) -> Result<Stopped> {
        let (st, result) = self.execute_in_place(tid, st)?;
        match expected_result {
            Some(want) if want != result => {
                self.park(tid, st)?;
                Err(self.diverged(
                    tid,
                    format!("{call} = {want:#x}"),
                    format!("it returned {result:#x}"),
                ))
            }
            _ => Ok(st),
        }
    }

    /// Runs the syscall the task is stopped at (a PTRACE_SYSEMU entry stop)
    /// for real: back up over the `syscall` instruction and let it run under
    /// PTRACE_SYSCALL. Returns the task at the syscall-exit stop, and the result.
    ///
    /// Resuming a SYSEMU entry stop with PTRACE_SYSCALL first reports the exit
    /// of the skipped call, then the entry and exit of the re-executed one.
    pub(super) fn execute_in_place(&mut self, tid: Tid, st: Stopped) -> Result<(Stopped, i64)> {
        let regs = st.regs()?;
        let (nr, args) = (regs.syscall_nr(), regs.args());
        self.run_in_place(tid, st, nr, args)
    }

    /// Like [`Engine::execute_in_place`], but makes syscall `nr` with `args`
    /// instead of the one the task stopped at.
    pub(super) fn run_in_place(
        &mut self,
        tid: Tid,
        mut st: Stopped,
        nr: u64,
        args: [u64; 6],
    ) -> Result<(Stopped, i64)> {
        let mut regs = st.regs()?;
        regs.back_up_to_syscall(nr);
        regs.set_args(args);
        st.set_regs(&regs)?;
        let real = st.tid();
        let name = reel_syscalls::name(nr);
        for step in 0..3 {
            self.tasks.insert(st.resume(Resume::Syscall, None)?);
            st = self.wait_within_call(tid, real, &format!("{name} to complete"))?;
            if st.reason() != StopReason::Syscall {
                let what = format!("stopped with {:?} while running {name}", st.reason());
                self.park(tid, st)?;
                return Err(self.diverged(tid, format!("{name} to complete"), what));
            }
            if step == 1 && st.regs()?.syscall_nr() != nr {
                let got = st.regs()?.syscall_nr();
                self.park(tid, st)?;
                return Err(self.diverged(
                    tid,
                    format!("{name} to be re-issued"),
                    format!("syscall {got} was"),
                ));
            }
        }
        let result = st.regs()?.result();
        Ok((st, result))
    }
}
