//! The x86 debug registers of a stopped task: hardware watchpoints.
//!
//! DR0–DR3 hold addresses, DR7 enables them with a kind and a length, DR6
//! says which fired. The kernel exposes them through PTRACE_PEEKUSER /
//! PTRACE_POKEUSER at the offsets of `u_debugreg` in `struct user`, and
//! checks every value written (it backs them with perf breakpoints).

use crate::{Result, Stopped, SysError};
use nix::sys::ptrace;
use nix::unistd::Pid;

/// Number of address slots (DR0–DR3).
pub const SLOTS: usize = 4;

/// What access a hardware slot traps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HwKind {
    /// Writes only.
    Write,
    /// Reads and writes (x86 has no read-only data breakpoint).
    ReadWrite,
}

/// One armed slot: `len` bytes at `addr` (1, 2, 4 or 8, aligned to `len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HwSlot {
    /// The watched address.
    pub addr: u64,
    /// Its length in bytes.
    pub len: u8,
    /// What access traps.
    pub kind: HwKind,
}

impl HwSlot {
    /// Whether the hardware can watch this range in one slot.
    pub fn is_valid(&self) -> bool {
        matches!(self.len, 1 | 2 | 4 | 8) && self.addr.is_multiple_of(self.len as u64)
    }
}

fn offset(n: usize) -> ptrace::AddressType {
    (std::mem::offset_of!(libc::user, u_debugreg) + n * 8) as ptrace::AddressType
}

fn err(op: &'static str, tid: i32) -> impl FnOnce(nix::Error) -> SysError {
    move |source| SysError::Ptrace { op, tid, source }
}

fn write(task: &Stopped, n: usize, value: u64) -> Result<()> {
    let tid = task.tid();
    ptrace::write_user(Pid::from_raw(tid), offset(n), value as libc::c_long)
        .map_err(err("POKEUSER debug register", tid))
}

fn read(task: &Stopped, n: usize) -> Result<u64> {
    let tid = task.tid();
    ptrace::read_user(Pid::from_raw(tid), offset(n))
        .map(|v| v as u64)
        .map_err(err("PEEKUSER debug register", tid))
}

/// DR7's bits for one slot: local enable, kind and length.
fn dr7_bits(n: usize, slot: &HwSlot) -> u64 {
    let rw = match slot.kind {
        HwKind::Write => 0b01,
        HwKind::ReadWrite => 0b11,
    };
    let len = match slot.len {
        1 => 0b00,
        2 => 0b01,
        8 => 0b10,
        _ => 0b11,
    };
    (1 << (2 * n)) | (rw << (16 + 4 * n)) | (len << (18 + 4 * n))
}

impl Stopped {
    /// Arms exactly these slots in the task's debug registers (the others
    /// are disabled). Invalid slots are refused by the kernel with EINVAL.
    pub fn set_hw_slots(&mut self, slots: &[Option<HwSlot>; SLOTS]) -> Result<()> {
        // Disable first, so that no intermediate DR7 points at a stale address.
        write(self, 7, 0)?;
        let mut dr7 = 0;
        for (n, slot) in slots.iter().enumerate() {
            if let Some(s) = slot {
                write(self, n, s.addr)?;
                dr7 |= dr7_bits(n, s);
            }
        }
        if dr7 != 0 {
            write(self, 7, dr7)?;
        }
        Ok(())
    }

    /// Which slots fired since the last call (bit N for DRN), clearing DR6.
    pub fn take_hw_hits(&mut self) -> Result<u8> {
        let dr6 = read(self, 6)?;
        if dr6 & 0xf != 0 {
            write(self, 6, 0)?;
        }
        Ok((dr6 & 0xf) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dr7_encodes_kind_and_length() {
        let s = HwSlot {
            addr: 0x1000,
            len: 8,
            kind: HwKind::Write,
        };
        // Slot 1: enable bit 2, RW=01 at bits 20-21, LEN=10 at bits 22-23.
        assert_eq!(dr7_bits(1, &s), (1 << 2) | (0b01 << 20) | (0b10 << 22));
        assert!(s.is_valid());
        assert!(!HwSlot {
            len: 4,
            addr: 0x1002,
            ..s
        }
        .is_valid());
        assert!(!HwSlot { len: 3, ..s }.is_valid());
    }
}
