//! `pause` as a deterministic yield point (record side).
//!
//! When reel preempts a thread in a spin loop that executes `pause`, it
//! patches those `pause` instructions (found by decoding the loop, see
//! `reel_sys::pause`) to trap, and records the patch. From then on every
//! pass traps: a point replay can find by counting, so when another thread
//! waits the spinner yields there (a `Yield` event with the trap's number
//! since the thread's previous event) instead of running a timeslice out.

use super::Recorder;
use crate::Result;
use reel_sys::pause::{PAUSE, TRAP};
use reel_sys::{Resume, Stopped};
use reel_trace::Event;

impl Recorder {
    /// Patches the `pause` instructions of the loop the stopped thread is
    /// in (it was just preempted there), recording each patch.
    pub(super) fn patch_pauses(&mut self, st: &mut Stopped) -> Result<()> {
        let tid = st.tid();
        let pid = self.task_info.get(&tid).map_or(tid, |t| t.pid);
        let rip = st.regs()?.ip();
        let found = {
            let mem = self.mem(tid)?;
            reel_sys::pause::in_loop(st, mem, rip)
        };
        for addr in found {
            if !self.patches.entry(pid).or_default().insert(addr) {
                continue;
            }
            self.mem(tid)?.write(st, addr, &TRAP)?;
            self.append(
                &Event::Patch {
                    tid,
                    addr,
                    original: PAUSE.to_vec(),
                    patched: TRAP.to_vec(),
                },
                &[],
            )?;
        }
        Ok(())
    }

    /// A SIGTRAP stop: when it is a patched `pause`, count it, step over it
    /// and yield if another thread waits. Returns the stop back otherwise.
    pub(super) fn on_pause_trap(&mut self, mut st: Stopped) -> Result<Option<Stopped>> {
        let tid = st.tid();
        let pid = self.task_info.get(&tid).map_or(tid, |t| t.pid);
        let mut regs = st.regs()?;
        let addr = regs.ip().wrapping_sub(1);
        if !self.patches.get(&pid).is_some_and(|p| p.contains(&addr)) {
            return Ok(Some(st));
        }
        regs.set_ip(addr + TRAP.len() as u64);
        st.set_regs(&regs)?;
        let hits = match self.task_info.get_mut(&tid) {
            Some(t) => {
                t.pause_hits += 1;
                t.pause_hits
            }
            None => 0,
        };
        if self.others_wait_for(tid) {
            self.append(
                &Event::Yield {
                    tid,
                    rip: addr,
                    hits,
                },
                &[],
            )?;
            self.switch_away(st)?;
        } else {
            self.resume(st, Resume::Cont, None)?;
        }
        Ok(None)
    }
}
