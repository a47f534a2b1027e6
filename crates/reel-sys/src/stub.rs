//! The in-process compare stub of the landmark search.
//!
//! Replay looks for the first pass through an instruction at which the
//! thread's state equals a landmark. A ptrace stop per pass costs ~10 µs;
//! a loop passes 10^7 times. Instead the instruction is replaced by a
//! `jmp rel32` into a stub page mapped near it. The stub saves rax and the
//! flags in reel's scratch page, counts the pass, compares the flags, the
//! general registers and the watched memory words with the landmark's, and
//! on any difference restores rax and the flags, runs the displaced
//! instructions (re-encoded for their new address) and jumps back. Only a
//! full match of those reaches its `int3`, a ptrace stop where the tracer
//! checks the rest (segment registers, vector state, memory digest).

use crate::landmark::{PATCH_LEN, RIP};
use crate::SCRATCH_PAGE;
use iced_x86::{BlockEncoder, BlockEncoderOptions, Instruction, InstructionBlock};

/// Where the stub keeps the program's rax.
const SAVE_RAX: u64 = SCRATCH_PAGE + 0xe00;
/// Where it keeps the flags (ah from `lahf`, al = OF).
const SAVE_FLAGS: u64 = SAVE_RAX + 8;
/// The pass counter.
pub const PASSES: u64 = SAVE_RAX + 16;
/// Size of the stub page.
pub const STUB_LEN: u64 = 4096;
/// Offset of the constants within the stub page.
const DATA: usize = 0x800;

/// A compare stub built for one landmark at one address.
#[derive(Debug, Clone)]
pub struct Stub {
    /// The stub's code and constants, to write at `base`.
    pub code: Vec<u8>,
    /// The `jmp rel32` that replaces the landmark's instruction.
    pub patch: [u8; PATCH_LEN],
    /// rip after the stub's `int3` (a candidate).
    pub trap_end: u64,
    /// rip after the `int3` reached when the pass counter reaches the
    /// limit given to [`build`] (never, without one).
    pub limit_end: u64,
    /// Where a rejected candidate resumes: the displaced instruction.
    pub resume: u64,
}

/// Register numbers of the flat register list ([`crate::Regs::to_vec`])
/// the stub compares, with their x86 encodings (rax apart).
const COMPARED: [(usize, u8); 15] = [
    (11, 1), // rcx
    (12, 2), // rdx
    (5, 3),  // rbx
    (19, 4), // rsp
    (4, 5),  // rbp
    (13, 6), // rsi
    (14, 7), // rdi
    (9, 8),  // r8
    (8, 9),  // r9
    (7, 10), // r10
    (6, 11), // r11
    (3, 12), // r12
    (2, 13), // r13
    (1, 14), // r14
    (0, 15), // r15
];
/// Index of rax and eflags in the flat list.
const RAX: usize = 10;
const EFLAGS: usize = 18;

struct Asm {
    base: u64,
    code: Vec<u8>,
    data: Vec<u8>,
    /// Offsets of `jne` displacements that must point at the miss path.
    to_miss: Vec<usize>,
}

impl Asm {
    fn here(&self) -> u64 {
        self.base + self.code.len() as u64
    }
    fn bytes(&mut self, b: &[u8]) {
        self.code.extend_from_slice(b);
    }
    /// A constant in the data area; returns its address.
    fn constant(&mut self, v: u64) -> u64 {
        let at = self.base + (DATA + self.data.len()) as u64;
        self.data.extend_from_slice(&v.to_le_bytes());
        at
    }
    /// rip-relative displacement to `target` from the end of an
    /// instruction whose remaining `tail` bytes follow the disp32.
    fn disp(&self, target: u64, tail: u64) -> [u8; 4] {
        let end = self.here() + 4 + tail;
        (target.wrapping_sub(end) as i64 as i32).to_le_bytes()
    }
    fn movabs_store_rax(&mut self, addr: u64) {
        self.bytes(&[0x48, 0xa3]);
        self.bytes(&addr.to_le_bytes());
    }
    fn movabs_load_rax(&mut self, addr: u64) {
        self.bytes(&[0x48, 0xa1]);
        self.bytes(&addr.to_le_bytes());
    }
    /// `cmp reg64, [rip+constant]`.
    fn cmp_reg(&mut self, reg: u8, value: u64) {
        let at = self.constant(value);
        let rex = 0x48 | if reg >= 8 { 0x04 } else { 0 };
        self.bytes(&[rex, 0x3b, ((reg & 7) << 3) | 0b101]);
        let d = self.disp(at, 0);
        self.bytes(&d);
    }
    /// `jne miss` (patched later).
    fn jne_miss(&mut self) {
        self.bytes(&[0x0f, 0x85]);
        self.to_miss.push(self.code.len());
        self.bytes(&[0; 4]);
    }
    /// Restores the flags and rax the entry saved.
    fn restore(&mut self) {
        self.movabs_load_rax(SAVE_FLAGS);
        // add al, 0x7f: overflows exactly when al (OF) was 1.
        self.bytes(&[0x04, 0x7f]);
        // sahf: SF ZF AF PF CF from ah.
        self.bytes(&[0x9e]);
        self.movabs_load_rax(SAVE_RAX);
    }
}

/// Builds the stub for a landmark with registers `regs` (flat list) and
/// watched `words`, whose instructions `span` (decoded at their address,
/// see [`crate::landmark::patch_span`]) the jump replaces, for a stub page
/// at `base`. None when the page or the displaced instructions' operands
/// are out of `rel32` reach. With a `limit`, the pass that brings the
/// counter to it traps at [`Stub::limit_end`] instead.
pub fn build(
    base: u64,
    span: &[Instruction],
    regs: &[u64],
    words: &[(u64, u64)],
    limit: Option<u64>,
) -> Option<Stub> {
    let rip = *regs.get(RIP)?;
    let span_len: usize = span.iter().map(|i| i.len()).sum();
    if regs.len() < 27 || span.first()?.ip() != rip || span_len < PATCH_LEN {
        return None;
    }
    let mut a = Asm {
        base,
        code: Vec::new(),
        data: Vec::new(),
        to_miss: Vec::new(),
    };
    a.movabs_store_rax(SAVE_RAX);
    a.bytes(&[0x9f]); // lahf
    a.bytes(&[0x0f, 0x90, 0xc0]); // seto al
    a.movabs_store_rax(SAVE_FLAGS);
    a.movabs_load_rax(PASSES);
    a.bytes(&[0x48, 0xff, 0xc0]); // inc rax
    a.movabs_store_rax(PASSES);
    let mut to_limit = None;
    if let Some(limit) = limit {
        a.cmp_reg(0, limit);
        a.bytes(&[0x0f, 0x83]); // jae rel32
        to_limit = Some(a.code.len());
        a.bytes(&[0; 4]);
    }
    // Flags: ax = (lahf byte << 8) | OF.
    let fl = regs[EFLAGS];
    let ah = (fl & 0xd5) | 0x02;
    let al = (fl >> 11) & 1;
    a.movabs_load_rax(SAVE_FLAGS);
    let at = a.constant((ah << 8) | al);
    a.bytes(&[0x66, 0x3b, 0x05]); // cmp ax, [rip+d]
    let d = a.disp(at, 0);
    a.bytes(&d);
    a.jne_miss();
    a.movabs_load_rax(SAVE_RAX);
    a.cmp_reg(0, regs[RAX]);
    a.jne_miss();
    for &(i, reg) in &COMPARED {
        a.cmp_reg(reg, regs[i]);
        a.jne_miss();
    }
    for &(addr, value) in words {
        a.movabs_load_rax(addr);
        a.cmp_reg(0, value);
        a.jne_miss();
    }
    a.restore();
    a.bytes(&[0xcc]);
    let trap_end = a.here();
    let miss = a.here();
    for off in std::mem::take(&mut a.to_miss) {
        let rel = miss.wrapping_sub(base + off as u64 + 4) as i64 as i32;
        a.code[off..off + 4].copy_from_slice(&rel.to_le_bytes());
    }
    a.restore();
    let resume = a.here();
    let moved = BlockEncoder::encode(
        64,
        InstructionBlock::new(span, resume),
        BlockEncoderOptions::NONE,
    )
    .ok()?;
    a.bytes(&moved.code_buffer);
    let back = rip + span_len as u64;
    a.bytes(&[0xe9]);
    let d = a.disp(back, 0);
    if (back as i128 - (a.here() + 4) as i128).abs() >= i32::MAX as i128 {
        return None;
    }
    a.bytes(&d);
    let over = a.here();
    if let Some(off) = to_limit {
        let rel = over.wrapping_sub(base + off as u64 + 4) as i64 as i32;
        a.code[off..off + 4].copy_from_slice(&rel.to_le_bytes());
    }
    a.restore();
    a.bytes(&[0xcc]);
    let limit_end = a.here();
    if a.code.len() > DATA || DATA + a.data.len() > STUB_LEN as usize {
        return None;
    }
    let mut code = a.code;
    code.resize(DATA, 0xcc);
    code.extend_from_slice(&a.data);
    let rel = base as i128 - (rip + PATCH_LEN as u64) as i128;
    if rel.abs() >= i32::MAX as i128 {
        return None;
    }
    let mut patch = [0u8; PATCH_LEN];
    patch[0] = 0xe9;
    patch[1..].copy_from_slice(&(rel as i32).to_le_bytes());
    Some(Stub {
        code,
        patch,
        trap_end,
        limit_end,
        resume,
    })
}

/// A free page for a stub within `rel32` reach of `rip`, given the
/// process's mappings as (start, end), sorted.
pub fn place_near(rip: u64, mappings: &[(u64, u64)]) -> Option<u64> {
    const LOW: u64 = 0x1_0000;
    const HIGH: u64 = 0x7fff_ffff_f000;
    let reach = (i32::MAX as u64) - 2 * STUB_LEN;
    let mut best: Option<u64> = None;
    let mut consider = |lo: u64, hi: u64| {
        if hi < lo + STUB_LEN {
            return;
        }
        let page = (rip & !(STUB_LEN - 1)).clamp(lo, hi - STUB_LEN);
        let dist = page.abs_diff(rip);
        if dist < reach && best.is_none_or(|b| b.abs_diff(rip) > dist) {
            best = Some(page);
        }
    };
    let mut prev = LOW;
    for &(s, e) in mappings {
        if s > prev {
            consider(prev, s.min(HIGH));
        }
        prev = prev.max(e);
    }
    if prev < HIGH {
        consider(prev, HIGH);
    }
    best
}
