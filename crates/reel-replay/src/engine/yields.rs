//! `pause` yield points at replay: the recorded patches are made at the
//! same events, traps at patched `pause` instructions are counted per
//! thread from its previous event, and a `Yield` event stops the thread at
//! the recorded trap.

use super::{Engine, Next};
use crate::Result;
use reel_sys::{StopReason, Stopped};
use reel_trace::Tid;

impl Engine {
    /// Makes the recorded patch at `addr` in the process of `tid`.
    pub(super) fn on_patch(
        &mut self,
        tid: Tid,
        addr: u64,
        original: &[u8],
        patched: &[u8],
    ) -> Result<()> {
        let pid = self.task(tid)?.pid;
        let mut st = self.take_stopped(tid)?;
        let mem = self.mem(tid)?;
        let here = mem.read(&st, addr, original.len())?;
        if here != original {
            self.park(tid, st)?;
            return Err(self.diverged(
                tid,
                format!("{original:02x?} at {addr:#x} to patch"),
                format!("the code there is {here:02x?}"),
            ));
        }
        mem.write(&mut st, addr, patched)?;
        self.patches.entry(pid).or_default().insert(addr);
        self.park(tid, st)
    }

    /// Runs `tid` to its `hits`-th trap at a patched `pause` since its
    /// previous event (at `rip`), and parks it there.
    pub(super) fn on_yield(&mut self, tid: Tid, rip: u64, hits: u64) -> Result<()> {
        let expected = format!("a yield at the pause at {rip:#x} (trap {hits})");
        self.task(tid)?.yield_at = Some(hits);
        let next = self.advance(tid)?;
        self.task(tid)?.yield_at = None;
        match next {
            Next::Stop(st)
                if st.reason() == StopReason::Signal(libc::SIGTRAP)
                    && st.regs()?.ip() == rip + reel_sys::pause::TRAP.len() as u64 =>
            {
                self.park(tid, st)
            }
            other => Err(self.unexpected(tid, other, &expected)),
        }
    }

    /// At a SIGTRAP stop of `tid`: when it is a patched `pause`, step over
    /// it, count it and return the count.
    pub(super) fn pause_trap(&mut self, tid: Tid, st: &mut Stopped) -> Result<Option<u64>> {
        let pid = self.task(tid)?.pid;
        let mut regs = st.regs()?;
        let addr = regs.ip().wrapping_sub(1);
        if !self.patches.get(&pid).is_some_and(|p| p.contains(&addr)) {
            return Ok(None);
        }
        regs.set_ip(addr + reel_sys::pause::TRAP.len() as u64);
        st.set_regs(&regs)?;
        let t = self.task(tid)?;
        t.pause_hits += 1;
        Ok(Some(t.pause_hits))
    }
}
