//! Signal frames left behind: once `rt_sigreturn` has restored a handler's
//! interrupted state, the frame the kernel wrote for it is dead memory, but
//! its bytes stay, and some of them depend on more than the program: the
//! XSAVE header and the components the CPU tracked as not in use (a matter
//! of context switches), the last page fault's address. A later landmark
//! (or `--checksum`) digest that covers those bytes (a deeper frame's red
//! zone, an alternate stack in the heap) would differ between record and
//! replay. Record and replay both clear the dead frame at the same point,
//! the exit of `rt_sigreturn`, after the kernel has read it, so what it
//! restores is unchanged and what remains is the same in both runs.

use crate::mem::Memory;
use crate::proc::maps;
use crate::task::Stopped;
use crate::Result;

/// Offset of `uc_mcontext.fpstate` in the `ucontext` that `rt_sigreturn`
/// finds at its stack pointer (`uc_flags`, `uc_link`, `uc_stack`, then the
/// sigcontext's 23 words before `fpstate`).
const FPSTATE_PTR: u64 = 40 + 23 * 8;
/// Offset of the software-reserved bytes in the FXSAVE/XSAVE area.
const SW_RESERVED: u64 = 464;
/// `FP_XSTATE_MAGIC1`: the kernel's mark of an XSAVE (not bare FXSAVE) frame.
const MAGIC1: u32 = 0x4650_5853;
/// Size of a bare FXSAVE area.
const FXSAVE_LEN: u64 = 512;
/// Largest frame reel clears; anything larger is not a kernel frame.
const MAX_FRAME: u64 = 1 << 16;
/// The x86-64 red zone below a stack pointer, live memory.
const RED_ZONE: u64 = 128;

/// The bytes of the frame `rt_sigreturn` was entered with (its stack
/// pointer `entry_sp`), as `[start, end)`, if it looks like the kernel's.
fn frame(task: &Stopped, mem: &Memory, entry_sp: u64) -> Option<(u64, u64)> {
    // The handler's `ret` popped the return address, the frame's first word.
    let start = entry_sp.checked_sub(8)?;
    let fp = mem.read_u64(task, entry_sp + FPSTATE_PTR).ok()?;
    if fp <= entry_sp || fp - entry_sp > 4096 || fp % 64 != 0 {
        return None;
    }
    let sw = mem.read(task, fp + SW_RESERVED, 8).ok()?;
    let magic = u32::from_le_bytes(sw[0..4].try_into().ok()?);
    let size = u32::from_le_bytes(sw[4..8].try_into().ok()?) as u64;
    let len = if magic == MAGIC1 { size } else { FXSAVE_LEN };
    let end = fp.checked_add(len)?;
    (len >= FXSAVE_LEN && end - start <= MAX_FRAME).then_some((start, end))
}

/// Zeroes the dead signal frame of the task stopped at the exit of
/// `rt_sigreturn`, which it entered with stack pointer `entry_sp`; leaves
/// it when it does not look like a kernel frame or is still live (it
/// overlaps the restored stack pointer's red zone or what is above it on
/// the same stack). Returns the bytes cleared.
pub fn clear_dead(task: &mut Stopped, mem: &Memory, entry_sp: u64) -> Result<u64> {
    let Some((start, end)) = frame(task, mem, entry_sp) else {
        return Ok(0);
    };
    let sp = task.regs()?.sp();
    let live_from = sp.saturating_sub(RED_ZONE);
    if end > live_from {
        // Above the restored red zone: dead only on another stack (an
        // alternate stack the handler ran on).
        let same = maps(task.tid())?
            .into_iter()
            .find(|m| (m.start..m.end).contains(&sp))
            .is_some_and(|m| start < m.end && end > m.start);
        if same || start < sp {
            return Ok(0);
        }
    }
    mem.write(task, start, &vec![0u8; (end - start) as usize])?;
    Ok(end - start)
}
