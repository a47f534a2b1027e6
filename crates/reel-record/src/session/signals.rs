//! Signals at record time. Synchronous ones (faults) are delivered where
//! they happen. An asynchronous one is delivered at a deterministic point:
//! as the syscall it interrupted returns, or — when it arrives while the
//! task computes — held and delivered just before the task's next syscall.
//! Signals whose default action runs no program code are delivered at once.

use super::{HeldSignal, Recorder};
use crate::{RecordError, Result};
use reel_sys::{cpu, proc, Resume, Stopped};
use reel_trace::{Event, SignalDelivery, SignalEvent, TscKind};
use std::time::{Duration, Instant};

/// How long a held signal waits for its task's next syscall before reel
/// interrupts the task and delivers it where it is.
pub(super) const HOLD_LIMIT: Duration = Duration::from_millis(100);

/// Whether syscall `nr`, having returned `result`, can have made a signal
/// deliverable to its caller as it returns: one sent to itself, one it
/// unblocks, or SIGPIPE/SIGXFSZ raised by a write that failed with EPIPE/EFBIG.
pub(super) fn may_raise_for_caller(nr: u64, result: i64) -> bool {
    if result == -(libc::EPIPE as i64) || result == -(libc::EFBIG as i64) {
        return true;
    }
    [
        libc::SYS_kill,
        libc::SYS_tkill,
        libc::SYS_tgkill,
        libc::SYS_rt_sigqueueinfo,
        libc::SYS_rt_tgsigqueueinfo,
        libc::SYS_rt_sigprocmask,
        libc::SYS_rt_sigreturn,
        libc::SYS_sigaltstack,
    ]
    .contains(&(nr as i64))
}

/// Signals whose default action is to do nothing.
fn ignored_by_default(sig: i32) -> bool {
    matches!(
        sig,
        libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH | libc::SIGCONT
    )
}

impl Recorder {
    /// A signal-delivery stop.
    pub(super) fn on_signal(&mut self, st: Stopped, sig: i32) -> Result<()> {
        let mut st = if sig == libc::SIGTRAP {
            match self.on_pause_trap(st)? {
                Some(st) => st,
                None => return Ok(()),
            }
        } else {
            st
        };
        let tid = st.tid();
        // A call that returned a restart code is seen by the program when a
        // signal is delivered right after it: write it now.
        if let Some(((ev, data), _)) = self
            .task_info
            .get_mut(&tid)
            .and_then(|t| t.restartable.take())
        {
            self.append(&ev, &data)?;
        }
        if sig == libc::SIGTRAP && st.regs()?.ip() == reel_sys::PRIVATE_SYSCALL_RIP + 1 {
            // Only reel's injections end at the int3 after its syscall, and
            // they wait for it themselves: the program jumped there, and its
            // syscall passed the filter unrecorded.
            return Err(RecordError::Unsupported {
                tid,
                what: format!(
                    "the program ran reel's private code at {:#x}: its syscall escaped the recording",
                    reel_sys::PRIVATE_PAGE
                ),
            });
        }
        if sig == libc::SIGSEGV {
            if let Some(kind) = self.tsc_instruction(&st)? {
                return self.emulate_tsc(st, kind);
            }
        }
        // The signal reel sent to deliver a held one.
        let injecting = self
            .task_info
            .get_mut(&tid)
            .and_then(|t| t.injecting.take());
        if let Some((held, delivery)) = injecting {
            if held.signo == sig {
                st.set_siginfo_bytes(&held.siginfo)?;
                return self.deliver(st, sig, delivery);
            }
            // Another signal came first: keep waiting for ours.
            if let Some(t) = self.task_info.get_mut(&tid) {
                t.injecting = Some((held, delivery));
            }
        }
        let code = st.siginfo()?.si_code;
        if reel_syscalls::is_fault_signal(sig, code) {
            return self.deliver(st, sig, SignalDelivery::Synchronous);
        }
        let after_interrupt = self
            .task_info
            .get_mut(&tid)
            .map(|t| std::mem::take(&mut t.after_interrupt))
            .unwrap_or(false);
        if after_interrupt {
            // Several signals may be deliverable at this point: the kernel
            // delivers them one after the other, before any program code runs.
            let more = proc::signal_masks(tid)?;
            let others = more.pending & !more.blocked;
            if others != 0 {
                if let Some(t) = self.task_info.get_mut(&tid) {
                    t.after_interrupt = true;
                }
            }
            return self.deliver(st, sig, SignalDelivery::AfterSyscall);
        }
        let masks = proc::signal_masks(tid)?;
        if !masks.caught(sig) {
            if masks.ignored(sig) || ignored_by_default(sig) {
                // Nothing happens natively; nothing to record or replay.
                // (Right after an interrupted syscall it was recorded above:
                // its delivery decides whether the call is restarted.)
                return self.resume(st, Resume::Cont, None);
            }
            if stops_by_default(sig) {
                return self.deliver(st, sig, SignalDelivery::DefaultAction);
            }
            // It ends the task where it happens to be, a place replay cannot
            // find: it goes in at a landmark instead, where replay checks
            // the registers it arrives with.
            let siginfo = st.siginfo_bytes()?;
            let (st, landmark) = self.place_landmark(st)?;
            if let Some(t) = self.task_info.get_mut(&tid) {
                let held = HeldSignal {
                    signo: sig,
                    siginfo,
                    since: std::time::Instant::now(),
                };
                t.injecting = Some((held, SignalDelivery::DefaultAction));
                t.landmark = Some(landmark);
            }
            reel_sys::send_signal(tid, sig)?;
            return self.resume(st, Resume::Cont, None);
        }
        // A handler would run at whatever instruction the task is at: hold
        // the signal for the task's next syscall.
        self.hold(tid, sig, st.siginfo_bytes()?);
        self.fast_hold(&mut st)?;
        self.resume(st, Resume::Cont, None)
    }

    /// Holds signal `sig` for task `tid`'s next syscall (or interruption).
    pub(super) fn hold(&mut self, tid: reel_trace::Tid, sig: i32, siginfo: Vec<u8>) {
        let held = HeldSignal {
            signo: sig,
            siginfo,
            since: Instant::now(),
        };
        if let Some(t) = self.task_info.get_mut(&tid) {
            // A standard signal already pending is not queued twice by the
            // kernel: neither is it here (a fast timer would pile them up).
            let standard = sig < libc::SIGRTMIN();
            if !(standard && t.held.iter().any(|h| h.signo == sig)) {
                t.held.push_back(held);
            }
        }
    }

    /// Records the delivery of `sig` at this stop and delivers it.
    fn deliver(&mut self, st: Stopped, sig: i32, delivery: SignalDelivery) -> Result<()> {
        let ev = SignalEvent {
            tid: st.tid(),
            signo: sig,
            code: st.siginfo()?.si_code,
            siginfo: st.siginfo_bytes()?,
            delivery,
            rip: st.regs()?.ip(),
            regs: st.regs()?.to_vec(),
            landmark: if matches!(
                delivery,
                SignalDelivery::Interrupted | SignalDelivery::DefaultAction
            ) {
                self.task_info
                    .get_mut(&st.tid())
                    .and_then(|t| t.landmark.take())
            } else {
                None
            },
        };
        self.append(&Event::Signal(ev), &[])?;
        self.resume(st, Resume::Cont, Some(sig))
    }

    /// At a syscall entry of a task with a held signal: turn the clock back
    /// to just before the `syscall` instruction and deliver the signal there;
    /// the program makes the call again when its handler returns.
    pub(super) fn deliver_before_syscall(&mut self, mut st: Stopped) -> Result<()> {
        let tid = st.tid();
        let Some(t) = self.task_info.get_mut(&tid) else {
            return self.resume(st, Resume::Cont, None);
        };
        if let Some((stale, _)) = t.injecting.take() {
            // The signal reel sent was not delivered before the task got here
            // (the program blocked it meanwhile): the kernel keeps it pending.
            eprintln!(
                "reel: warning: signal {} to task {tid} was blocked before reel could deliver it; its replay may not be exact",
                stale.signo
            );
        }
        let Some(held) = t.held.pop_front() else {
            return self.resume(st, Resume::Cont, None);
        };
        let mut regs = st.regs()?;
        let nr = regs.syscall_nr();
        regs.back_up_to_syscall(nr);
        st.set_regs(&regs)?;
        let signo = held.signo;
        t.injecting = Some((held, SignalDelivery::BeforeSyscall));
        reel_sys::send_signal(tid, signo)?;
        self.resume(st, Resume::Cont, None)
    }

    /// Tasks that held a signal for too long without making a syscall are
    /// interrupted, so it can be delivered where they are.
    pub(super) fn interrupt_overdue(&mut self) -> Result<()> {
        let now = Instant::now();
        let tasks = &self.tasks;
        let overdue: Vec<_> = self
            .task_info
            .iter_mut()
            .filter(|(tid, t)| {
                // A task waiting for its turn is interrupted once it runs.
                tasks.is_running(**tid)
                    && !t.interrupted
                    && t.held
                        .front()
                        .is_some_and(|h| now.duration_since(h.since) >= HOLD_LIMIT)
            })
            .map(|(tid, t)| {
                t.interrupted = true;
                *tid
            })
            .collect();
        for tid in overdue {
            self.tasks.interrupt(tid)?;
        }
        Ok(())
    }

    /// A group-stop or PTRACE_INTERRUPT stop.
    pub(super) fn on_group_stop(&mut self, st: Stopped) -> Result<()> {
        let tid = st.tid();
        let Some(t) = self.task_info.get_mut(&tid) else {
            return self.resume(st, Resume::Cont, None);
        };
        if !std::mem::take(&mut t.interrupted) || t.held.is_empty() {
            return self.resume(st, Resume::Cont, None);
        }
        let Some(st) = self.fast_defer_interrupt(st)? else {
            return Ok(());
        };
        // The signal goes in at a landmark, which replay finds again (or
        // at the syscall the thread reached first while reel watched it).
        let Some((st, landmark)) = self.place_landmark_far(st)? else {
            return Ok(());
        };
        // Stepping to a landmark stops at fast-path code: deferred too.
        let Some(st) = self.fast_defer_interrupt(st)? else {
            return Ok(());
        };
        if let Some(t) = self.task_info.get_mut(&tid) {
            if let Some(held) = t.held.pop_front() {
                let signo = held.signo;
                t.injecting = Some((held, SignalDelivery::Interrupted));
                t.landmark = Some(landmark);
                reel_sys::send_signal(tid, signo)?;
            }
        }
        self.resume(st, Resume::Cont, None)
    }

    /// RDTSC/RDTSCP faulted under PR_SET_TSC: answer with the real counter.
    fn emulate_tsc(&mut self, mut st: Stopped, kind: TscKind) -> Result<()> {
        let tid = st.tid();
        let mut regs = st.regs()?;
        let value = cpu::rdtsc();
        let (aux, len) = match kind {
            TscKind::Rdtsc => (0, 2),
            TscKind::Rdtscp => (cpu::tsc_aux(), 3),
        };
        let rip = regs.ip();
        regs.set_tsc(value, (kind == TscKind::Rdtscp).then_some(aux));
        regs.set_ip(rip + len);
        st.set_regs(&regs)?;
        self.append(
            &Event::Tsc {
                tid,
                kind,
                value,
                aux,
                rip,
            },
            &[],
        )?;
        self.resume(st, Resume::Cont, None)
    }
}

/// Signals whose default action stops the task (job control).
fn stops_by_default(sig: i32) -> bool {
    matches!(
        sig,
        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
    )
}
