//! Signals at their recorded places, and the RDTSC/RDTSCP traps.

use super::{Engine, Next};
use crate::Result;
use reel_sys::StopReason;
use reel_trace::{SignalDelivery, SignalEvent, Tid, TscKind};

impl Engine {
    pub(super) fn on_signal(&mut self, ev: &SignalEvent) -> Result<()> {
        let tid = ev.tid;
        let expected = format!(
            "signal {} at {:#x}",
            reel_syscalls::signal_name(ev.signo),
            ev.rip
        );
        match ev.delivery {
            SignalDelivery::Synchronous => {}
            SignalDelivery::BeforeSyscall => {
                // Recorded at a syscall entry: reach the same entry, then
                // back up before the instruction as the recorder did.
                let mut st = self.expect_syscall(tid, &expected)?;
                let mut regs = st.regs()?;
                let nr = regs.syscall_nr();
                regs.back_up_to_syscall(nr);
                st.set_regs(&regs)?;
                self.park(tid, st)?;
                self.send_recorded(tid, ev.signo)?;
            }
            SignalDelivery::DefaultAction if ev.landmark.is_some() => {
                // Recorded at a landmark: the task ends there.
                let lm = ev.landmark.as_ref().expect("checked");
                self.run_to_landmark(tid, lm, &expected)?;
                self.send_recorded(tid, ev.signo)?;
            }
            SignalDelivery::AfterSyscall | SignalDelivery::DefaultAction => {
                self.send_recorded(tid, ev.signo)?;
                if let Some((mask, size)) = self.task(tid)?.temp_mask.take() {
                    self.wait_under_mask(tid, mask, size)?;
                }
            }
            SignalDelivery::Interrupted if ev.landmark.is_some() => {
                let lm = ev.landmark.as_ref().expect("checked");
                self.run_to_landmark(tid, lm, &expected)?;
                self.send_recorded(tid, ev.signo)?;
            }
            SignalDelivery::Interrupted => {
                if !self.warned_interrupted {
                    self.warned_interrupted = true;
                    eprintln!(
                        "reel: warning: event {}: signal {} was delivered where reel interrupted a task that made no syscall; \
                         the replay delivers it after the same event, not necessarily at the same instruction",
                        self.event,
                        reel_syscalls::signal_name(ev.signo)
                    );
                }
                self.send_recorded(tid, ev.signo)?;
            }
        }
        match self.advance(tid)? {
            Next::Stop(mut st) if st.reason() == StopReason::Signal(ev.signo) => {
                if ev.delivery != SignalDelivery::Synchronous {
                    st.set_siginfo_bytes(&ev.siginfo)?;
                }
                let ip = st.regs()?.ip();
                // Signals delivered where they happened to arrive (stops,
                // older traces) are only placed between the same two events.
                let placed_exactly = match ev.delivery {
                    SignalDelivery::DefaultAction | SignalDelivery::Interrupted => {
                        ev.landmark.is_some()
                    }
                    _ => true,
                };
                if placed_exactly && ip != ev.rip {
                    let actual = format!("it arrived at {ip:#x}");
                    self.park(tid, st)?;
                    return Err(self.diverged(tid, expected, actual));
                }
                let st = if placed_exactly {
                    self.check_signal_regs(tid, st, &ev.regs, &expected)?
                } else {
                    st
                };
                self.task(tid)?.pending_signal = Some(ev.signo);
                self.park(tid, st)
            }
            other => Err(self.unexpected(tid, other, &expected)),
        }
    }

    /// The task's last call (emulated) was interrupted while it waited under
    /// a temporary signal mask. Have it really call rt_sigsuspend with that
    /// mask: with the signal already pending, the kernel returns at once and
    /// leaves the mask installed, to be restored after the handler, just as
    /// it did for the recorded call. Then give back the recorded registers.
    pub(super) fn wait_under_mask(&mut self, tid: Tid, mask: u64, size: u64) -> Result<()> {
        let st = self.take_stopped(tid)?;
        let saved = st.regs()?;
        let (mut st, result) = self.run_in_place(
            tid,
            st,
            libc::SYS_rt_sigsuspend as u64,
            [mask, size, 0, 0, 0, 0],
        )?;
        if !reel_syscalls::is_interrupted(result) {
            self.park(tid, st)?;
            return Err(self.diverged(
                tid,
                "the recorded signal to interrupt the wait",
                format!("rt_sigsuspend returned {result}"),
            ));
        }
        st.set_regs(&saved)?;
        self.park(tid, st)
    }

    /// Sends a recorded asynchronous signal to the replayed task; its
    /// delivery stop is then expected (and not mistaken for a stray signal).
    pub(super) fn send_recorded(&mut self, tid: Tid, signo: i32) -> Result<()> {
        let t = self.task(tid)?;
        t.injected = Some(signo);
        let real = t.real;
        reel_sys::send_signal(real, signo)?;
        Ok(())
    }

    pub(super) fn on_tsc(
        &mut self,
        tid: Tid,
        kind: TscKind,
        value: u64,
        aux: u32,
        rip: u64,
    ) -> Result<()> {
        let expected = format!("{kind:?} at {rip:#x}");
        match self.advance(tid)? {
            Next::Stop(mut st) if st.reason() == StopReason::Signal(libc::SIGSEGV) => {
                let mut regs = st.regs()?;
                if regs.ip() != rip {
                    let actual = format!("a SIGSEGV at {:#x}", regs.ip());
                    self.park(tid, st)?;
                    return Err(self.diverged(tid, expected, actual));
                }
                let len = if kind == TscKind::Rdtscp { 3 } else { 2 };
                regs.set_tsc(value, (kind == TscKind::Rdtscp).then_some(aux));
                regs.set_ip(rip + len);
                st.set_regs(&regs)?;
                self.park(tid, st)
            }
            other => Err(self.unexpected(tid, other, &expected)),
        }
    }
}
