//! Robust futexes at a thread's exit. The kernel marks the robust mutexes
//! a dying thread still holds as owner-died by comparing their owner word
//! with the thread's tid; in replay the words hold the recorded tid, not
//! the replay task's, so the kernel would leave them. reel walks the list
//! itself at the exit call, as the kernel would with the recorded tid.

use super::Engine;
use crate::Result;
use reel_sys::{Memory, Stopped, TaskSet, SCRATCH_PAGE};
use reel_trace::Tid;

const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
/// The most entries the kernel walks (its ROBUST_LIST_LIMIT).
const LIST_LIMIT: usize = 2048;
/// Where `get_robust_list` writes in reel's scratch page.
const ROBUST_AT: u64 = SCRATCH_PAGE + 32;

/// The robust list `st` registered (head, length; 0 for none), read by an
/// injected `get_robust_list`.
pub(super) fn robust_list(
    st: Stopped,
    tasks: &mut TaskSet,
    mem: &Memory,
) -> Result<(Stopped, (u64, u64))> {
    let nr = libc::SYS_get_robust_list as u64;
    let args = [0, ROBUST_AT, ROBUST_AT + 8, 0, 0, 0];
    let (st, r) = reel_sys::inject::syscall(st, tasks, nr, args)?;
    if r != 0 {
        return Ok((st, (0, 0)));
    }
    let head = mem.read_u64(&st, ROBUST_AT)?;
    let len = mem.read_u64(&st, ROBUST_AT + 8)?;
    Ok((st, (head, len)))
}

impl Engine {
    /// Marks the robust mutexes that task `tid`, about to exit, holds as
    /// owner-died (the waiters bit kept), as the kernel does at exit.
    /// A list reel cannot read is left alone, as the kernel leaves it.
    pub(super) fn release_robust_futexes(&mut self, tid: Tid, st: Stopped) -> Result<Stopped> {
        let pid = self.by_tid.get(&tid).map_or(tid, |t| t.pid);
        let Some(mem) = self.memories.get(&pid) else {
            return Ok(st);
        };
        let (mut st, (head, len)) = robust_list(st, &mut self.tasks, mem)?;
        if head == 0 || len != 24 {
            return Ok(st);
        }
        let word = |st: &Stopped, a: u64| mem.read_u64(st, a).ok();
        let (Some(first), Some(offset), Some(pending)) =
            (word(&st, head), word(&st, head + 8), word(&st, head + 16))
        else {
            return Ok(st);
        };
        let pending = pending & !1;
        let mut futexes = Vec::new();
        let mut entry = first & !1;
        let mut n = 0;
        while entry != head && entry != 0 && n < LIST_LIMIT {
            let Some(next) = word(&st, entry) else { break };
            if entry != pending {
                futexes.push(entry.wrapping_add(offset));
            }
            entry = next & !1;
            n += 1;
        }
        if pending != 0 {
            futexes.push(pending.wrapping_add(offset));
        }
        for addr in futexes {
            if addr % 4 != 0 {
                continue;
            }
            let mut buf = [0u8; 4];
            if mem.read_into(&st, addr, &mut buf).is_err() {
                continue;
            }
            let val = u32::from_le_bytes(buf);
            if val & FUTEX_TID_MASK == tid as u32 {
                let died = (val & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
                mem.write(&mut st, addr, &died.to_le_bytes())?;
            }
        }
        Ok(st)
    }
}
