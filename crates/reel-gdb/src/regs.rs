//! The replayed task's registers in gdb's x86-64 layout.

use crate::arch::LinuxRegs;
use gdbstub_arch::x86::reg::X86_64CoreRegs;
use reel_sys::Regs;

/// Offsets in the FXSAVE image that opens the XSAVE area.
const FCW: usize = 0;
const FSW: usize = 2;
const FTW: usize = 4;
const FOP: usize = 6;
const FIP: usize = 8;
const FDP: usize = 16;
const MXCSR: usize = 24;
const ST0: usize = 32;
const XMM0: usize = 160;
/// The XSAVE header's bitmap of the components saved, and where the upper
/// halves of the AVX registers are (standard format, as ptrace gives it).
const XSTATE_BV: usize = 512;
const YMMH: usize = 576;
const AVX_BIT: u64 = 1 << 2;

fn le(bytes: &[u8], at: usize, n: usize) -> u64 {
    let mut v = [0u8; 8];
    if let Some(s) = bytes.get(at..at + n) {
        v[..n].copy_from_slice(s);
    }
    u64::from_le_bytes(v)
}

/// Fills gdb's register block from the general registers and the XSAVE area.
pub fn to_gdb(regs: &Regs, xstate: &[u8], out: &mut LinuxRegs) {
    core(regs, xstate, &mut out.core);
    let r = regs.raw();
    out.orig_rax = r.orig_rax;
    out.fs_base = r.fs_base;
    out.gs_base = r.gs_base;
    out.ymmh = (xstate.len() >= YMMH + 256).then(|| {
        // A component not in the bitmap is in its initial state: zeros.
        let saved = le(xstate, XSTATE_BV, 8) & AVX_BIT != 0;
        std::array::from_fn(|i| {
            let at = YMMH + 16 * i;
            if saved {
                le(xstate, at, 8) as u128 | (le(xstate, at + 8, 8) as u128) << 64
            } else {
                0
            }
        })
    });
}

/// The general, x87 and SSE registers.
fn core(regs: &Regs, xstate: &[u8], out: &mut X86_64CoreRegs) {
    let r = regs.raw();
    out.regs = [
        r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11, r.r12,
        r.r13, r.r14, r.r15,
    ];
    out.rip = r.rip;
    out.eflags = r.eflags as u32;
    out.segments.cs = r.cs as u32;
    out.segments.ss = r.ss as u32;
    out.segments.ds = r.ds as u32;
    out.segments.es = r.es as u32;
    out.segments.fs = r.fs as u32;
    out.segments.gs = r.gs as u32;
    out.fpu.fctrl = le(xstate, FCW, 2) as u32;
    out.fpu.fstat = le(xstate, FSW, 2) as u32;
    // FXSAVE keeps an abridged tag byte (1 = valid); gdb wants the full
    // word (0b11 = empty per register). Valid registers are shown as valid.
    let abridged = le(xstate, FTW, 1);
    out.fpu.ftag = (0..8)
        .map(|i| {
            if abridged & (1 << i) != 0 {
                0
            } else {
                0b11 << (2 * i)
            }
        })
        .sum::<u64>() as u32;
    out.fpu.fop = le(xstate, FOP, 2) as u32;
    out.fpu.fioff = le(xstate, FIP, 4) as u32;
    out.fpu.fooff = le(xstate, FDP, 4) as u32;
    out.mxcsr = le(xstate, MXCSR, 4) as u32;
    for (i, st) in out.st.iter_mut().enumerate() {
        if let Some(s) = xstate.get(ST0 + 16 * i..ST0 + 16 * i + 10) {
            st.copy_from_slice(s);
        }
    }
    for (i, x) in out.xmm.iter_mut().enumerate() {
        let at = XMM0 + 16 * i;
        *x = le(xstate, at, 8) as u128 | (le(xstate, at + 8, 8) as u128) << 64;
    }
}
