//! The in-process syscall fast path at replay: a recorded `FastSite` is
//! made again at the same event (the trampoline page mapped, the replay
//! variant of the trampoline written, the site redirected). Each call the
//! recording buffered then stops at the trampoline's own `syscall`, where
//! its `Syscall` event (without a site) is checked and emulated like any
//! other.

use super::Engine;
use crate::{ReplayError, Result};
use reel_trace::FastSiteEvent;

impl Engine {
    /// Makes the recorded fast-path patch of a syscall site.
    pub(super) fn on_fast_site(&mut self, ev: &FastSiteEvent) -> Result<()> {
        let tid = ev.tid;
        let event = self.event;
        let mut st = self
            .task(tid)?
            .stopped
            .take()
            .ok_or(ReplayError::Unsupported {
                event,
                what: format!("task {tid} to patch is not stopped"),
            })?;
        if let Some(page) = ev.page {
            let (back, got) = reel_sys::inject::syscall(
                st,
                &mut self.tasks,
                libc::SYS_mmap as u64,
                [
                    page,
                    reel_sys::stub::STUB_LEN,
                    (libc::PROT_READ | libc::PROT_EXEC) as u64,
                    (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE) as u64,
                    u64::MAX,
                    0,
                ],
            )?;
            st = back;
            if got as u64 != page {
                self.park(tid, st)?;
                return Err(self.diverged(
                    tid,
                    format!("a trampoline page mapped at {page:#x}"),
                    format!("mmap returned {got:#x}"),
                ));
            }
        }
        let mem = self.mem(tid)?;
        let here = mem.read(&st, ev.addr, ev.original.len())?;
        if here != ev.original {
            self.park(tid, st)?;
            return Err(self.diverged(
                tid,
                format!("{:02x?} at {:#x} to patch", ev.original, ev.addr),
                format!("the code there is {here:02x?}"),
            ));
        }
        mem.write(&mut st, ev.stub, &ev.code)?;
        mem.write(&mut st, ev.addr, &ev.patched)?;
        if let Some(r) = ev.resume {
            let mut regs = st.regs()?;
            regs.set_ip(r);
            st.set_regs(&regs)?;
        }
        self.park(tid, st)
    }
}
