//! The code of a per-site trampoline (what it does is in the parent
//! module's documentation): one instruction list per site, encoded at its
//! address by iced's BlockEncoder. The record half and the replay half
//! share their sequences: copying a record's data, closing a record, and
//! going back to the program.

use super::{
    arity, Buffered, Guard, Out, Site, CURSOR, DATA_LEN, DATA_OFF, ENABLED, END, FAST_SYSCALL,
    FD_LIMIT, FD_MAP, HEADER, MODE, RECORD_HEAD, RET_SLOT, SAVE_RDI, SAVE_RSI, USED,
};
use crate::PAGE_SIZE;
use iced_x86::{
    BlockEncoder, BlockEncoderOptions, Code, IcedError, Instruction, InstructionBlock,
    MemoryOperand, Register,
};
use Code::*;
use Register::{R11, RAX, RCX, RDI, RSI, RSP};

/// A trampoline built for one site at one address.
#[derive(Debug, Clone)]
pub struct Trampoline {
    /// Its bytes as the recorder writes them.
    pub code: Vec<u8>,
    /// The `jmp rel32` (and padding) that replaces the site's range.
    pub patch: Vec<u8>,
    /// Where a thread stopped at the end of the `syscall` resumes, when
    /// that is inside the range (the relocated instructions after it).
    pub resume: Option<u64>,
}

// Label "addresses" inside a trampoline block (real code is far above).
const L_FAST_JUMP: u64 = 1;
const L_SLOW: u64 = 2;
const L_BACK: u64 = 3;
const L_FAST: u64 = 4;
const L_RET: u64 = 5;
const L_SLOW_POP: u64 = 6;
const L_NOOUT: u64 = 7;
const L_COPY: u64 = 8;
const L_FINISH: u64 = 9;
const L_REPLAY: u64 = 10;

const ARG_REGS: [Register; 6] = [
    Register::RDI,
    Register::RSI,
    Register::RDX,
    Register::R10,
    Register::R8,
    Register::R9,
];

fn mem(base: Register, displ: i64) -> MemoryOperand {
    MemoryOperand::with_base_displ_size(base, displ, 1)
}

/// An instruction list under construction; an instruction iced refuses
/// to make ends the build (`None`).
struct Asm(Vec<Instruction>);

impl Asm {
    fn put(&mut self, i: Result<Instruction, IcedError>) -> Option<()> {
        self.0.push(i.ok()?);
        Some(())
    }

    /// `i`, labelled `label` (a branch target).
    fn label(&mut self, label: u64, i: Result<Instruction, IcedError>) -> Option<()> {
        let mut i = i.ok()?;
        i.set_ip(label);
        self.0.push(i);
        Some(())
    }

    fn plain(&mut self, code: Code) {
        self.0.push(Instruction::with(code));
    }

    fn jump(&mut self, code: Code, to: u64) -> Option<()> {
        self.put(Instruction::with_branch(code, to))
    }

    /// Copies a record's data (rcx: the record; r11: the header) between
    /// the record and the program's memory at `addr`: into the record at
    /// record time, out of it at replay. Leaves rcx at the end of the
    /// data, rdi and rsi as they were.
    /// The first instruction is labelled `label` when one is given.
    fn copy_data(&mut self, addr: Register, into_record: bool, label: Option<u64>) -> Option<()> {
        // rep movsb moves rcx bytes from rsi to rdi.
        let (prog, rec) = if into_record { (RSI, RDI) } else { (RDI, RSI) };
        let first = Instruction::with2(Mov_rm64_r64, mem(R11, SAVE_RDI), RDI);
        match label {
            Some(l) => self.label(l, first)?,
            None => self.put(first)?,
        }
        self.put(Instruction::with2(Mov_rm64_r64, mem(R11, SAVE_RSI), RSI))?;
        if addr != prog {
            self.put(Instruction::with2(Mov_r64_rm64, prog, addr))?;
        }
        self.put(Instruction::with2(
            Lea_r64_m,
            rec,
            mem(RCX, RECORD_HEAD as i64),
        ))?;
        self.put(Instruction::with2(Mov_r64_rm64, RCX, mem(RCX, 64)))?;
        self.plain(Cld);
        self.put(Instruction::with_rep_movsb(64))?;
        self.put(Instruction::with2(Mov_r64_rm64, RCX, rec))?;
        self.put(Instruction::with2(Mov_r64_rm64, RDI, mem(R11, SAVE_RDI)))?;
        self.put(Instruction::with2(Mov_r64_rm64, RSI, mem(R11, SAVE_RSI)))
    }

    /// rcx = the end of a record: stores where the next one starts (its
    /// offset in the data area, rounded up to 8) in header word `slot`.
    /// The first instruction is labelled `label` when one is given.
    fn close_record(&mut self, slot: u64, label: Option<u64>) -> Option<()> {
        let first = Instruction::with2(Add_rm64_imm8, RCX, 7);
        match label {
            Some(l) => self.label(l, first)?,
            None => self.put(first)?,
        }
        self.put(Instruction::with2(And_rm64_imm8, RCX, -8))?;
        self.put(Instruction::with2(Sub_r64_rm64, RCX, R11))?;
        self.put(Instruction::with2(Sub_rm64_imm32, RCX, DATA_OFF as i32))?;
        self.put(Instruction::with2(Mov_rm64_r64, mem(R11, slot as i64), RCX))
    }

    /// Back to the program after a call answered in-process: the flags
    /// restored, rcx and r11 left as the trampoline's own `syscall` would
    /// leave them (the address after it, the flags).
    fn leave(&mut self, slow_end: u64) -> Option<()> {
        self.plain(Popfq);
        self.plain(Pushfq);
        self.put(Instruction::with1(Pop_rm64, R11))?;
        self.put(Instruction::with2(Lea_r64_m, RSP, mem(RSP, 128)))?;
        self.put(Instruction::with2(Mov_r64_imm64, RCX, slow_end))?;
        self.jump(Jmp_rel32_64, L_BACK)
    }

    /// The guards of `call`, each failing to the traced call.
    fn guards(&mut self, call: &Buffered) -> Option<()> {
        for g in call.guards {
            match *g {
                Guard::Fd => {
                    self.put(Instruction::with2(Cmp_rm64_imm32, RDI, FD_LIMIT as i32))?;
                    self.jump(Jae_rel32_64, L_SLOW_POP)?;
                    self.put(Instruction::with2(
                        Bt_rm64_r64,
                        mem(R11, FD_MAP as i64),
                        RDI,
                    ))?;
                    self.jump(Jae_rel32_64, L_SLOW_POP)?;
                }
                Guard::Zero(a) => {
                    self.put(Instruction::with2(Test_rm64_r64, ARG_REGS[a], ARG_REGS[a]))?;
                    self.jump(Jne_rel32_64, L_SLOW_POP)?;
                }
                Guard::OneOf(a, values) => {
                    // Jump over the "no" when one matches.
                    for &x in values {
                        self.put(Instruction::with2(Cmp_rm64_imm32, ARG_REGS[a], x as i32))?;
                        self.jump(Je_rel32_64, 100 + x)?;
                    }
                    self.jump(Jmp_rel32_64, L_SLOW_POP)?;
                    // All matches land on one no-op per value.
                    for &x in values {
                        self.label(100 + x, Ok(Instruction::with(Nopd)))?;
                    }
                }
            }
        }
        Some(())
    }
}

/// The code of a trampoline, given the addresses of its return point and
/// the end of its `syscall` (both known after a first encoding).
fn instructions(site: &Site, call: &Buffered, ret: u64, slow_end: u64) -> Option<Vec<Instruction>> {
    let mut a = Asm(site.before.clone());
    a.label(L_FAST_JUMP, Instruction::with_branch(Jmp_rel32_64, L_FAST))?;
    a.label(L_SLOW, Ok(Instruction::with(Syscall)))?;
    a.label(L_BACK, Ok(Instruction::with(Nopd)))?;
    a.0.extend(site.after.iter().cloned());
    a.jump(Jmp_rel32_64, site.end)?;
    // The fast path. rcx and r11 are free: the program expects a syscall
    // to clobber them. The flags are kept below the red zone.
    a.label(L_FAST, Instruction::with2(Lea_r64_m, RSP, mem(RSP, -128)))?;
    a.plain(Pushfq);
    a.put(Instruction::with2(Mov_r64_imm64, R11, HEADER))?;
    a.put(Instruction::with2(
        Cmp_rm64_imm8,
        mem(R11, ENABLED as i64),
        0,
    ))?;
    a.jump(Je_rel32_64, L_SLOW_POP)?;
    a.put(Instruction::with2(Cmp_rm64_imm8, mem(R11, MODE as i64), 0))?;
    a.jump(Jne_rel32_64, L_REPLAY)?;
    a.guards(call)?;
    // Room: used + head + most data <= DATA_LEN.
    a.put(Instruction::with2(Mov_r64_rm64, RCX, mem(R11, USED as i64)))?;
    let fixed = match call.out {
        Out::Fixed { len, .. } => len as u64,
        _ => 0,
    };
    a.put(Instruction::with2(
        Add_rm64_imm32,
        RCX,
        (RECORD_HEAD + fixed + 8) as i32,
    ))?;
    if let Out::Returned { count, .. } | Out::Sent { count, .. } = call.out {
        a.put(Instruction::with2(Add_rm64_r64, RCX, ARG_REGS[count]))?;
        a.jump(Jb_rel32_64, L_SLOW_POP)?;
    }
    a.put(Instruction::with2(Cmp_rm64_imm32, RCX, DATA_LEN as i32))?;
    a.jump(Ja_rel32_64, L_SLOW_POP)?;
    a.put(Instruction::with2(Mov_r64_imm64, RCX, ret))?;
    a.put(Instruction::with2(Mov_rm64_r64, mem(R11, RET_SLOT), RCX))?;
    a.put(Instruction::with2(Mov_r64_imm64, R11, FAST_SYSCALL))?;
    a.put(Instruction::with1(Jmp_rm64, R11))?;
    // Back from the call: append the record.
    a.label(L_RET, Instruction::with2(Mov_r64_imm64, R11, HEADER))?;
    a.put(Instruction::with2(Mov_r64_rm64, RCX, mem(R11, USED as i64)))?;
    a.put(Instruction::with2(
        Lea_r64_m,
        RCX,
        MemoryOperand::with_base_index_scale_displ_size(R11, RCX, 1, DATA_OFF, 8),
    ))?;
    a.put(Instruction::with2(
        Mov_rm64_imm32,
        mem(RCX, 0),
        call.nr as i32,
    ))?;
    for (i, r) in ARG_REGS.iter().enumerate() {
        a.put(Instruction::with2(
            Mov_rm64_r64,
            mem(RCX, 8 + 8 * i as i64),
            *r,
        ))?;
    }
    a.put(Instruction::with2(Mov_rm64_r64, mem(RCX, 56), RAX))?;
    a.put(Instruction::with2(Mov_rm64_imm32, mem(RCX, 64), 0))?;
    let addr_reg = match call.out {
        Out::Nothing => None,
        Out::Fixed { arg, len } => {
            a.put(Instruction::with2(Test_rm64_r64, RAX, RAX))?;
            a.jump(Jne_rel32_64, L_NOOUT)?;
            a.put(Instruction::with2(Mov_rm64_imm32, mem(RCX, 64), len as i32))?;
            Some(ARG_REGS[arg])
        }
        // A write's bytes are logged like a read's: as many as it returns.
        Out::Returned { arg, .. } | Out::Sent { arg, .. } => {
            a.put(Instruction::with2(Test_rm64_r64, RAX, RAX))?;
            a.jump(Jle_rel32_64, L_NOOUT)?;
            a.put(Instruction::with2(Mov_rm64_r64, mem(RCX, 64), RAX))?;
            Some(ARG_REGS[arg])
        }
    };
    if addr_reg.is_some() {
        a.jump(Jmp_rel32_64, L_COPY)?;
    }
    a.label(
        L_NOOUT,
        Instruction::with2(Lea_r64_m, RCX, mem(RCX, RECORD_HEAD as i64)),
    )?;
    a.jump(Jmp_rel32_64, L_FINISH)?;
    if let Some(r) = addr_reg {
        a.copy_data(r, true, Some(L_COPY))?;
    }
    a.close_record(USED, Some(L_FINISH))?;
    a.leave(slow_end)?;
    // A guard failed: the traced call.
    a.label(L_SLOW_POP, Ok(Instruction::with(Popfq)))?;
    a.put(Instruction::with2(Lea_r64_m, RSP, mem(RSP, 128)))?;
    a.jump(Jmp_rel32_64, L_SLOW)?;
    replay_part(&mut a, call, slow_end)?;
    Some(a.0)
}

/// The replay side of the fast path: the next record, when it is this
/// call with these arguments, answers it.
fn replay_part(a: &mut Asm, call: &Buffered, slow_end: u64) -> Option<()> {
    if let Out::Sent { .. } = call.out {
        // The trace keeps a hash of what a write sent, not its bytes: the
        // replayer checks them at the call's stop.
        return a.label(L_REPLAY, Instruction::with_branch(Jmp_rel32_64, L_SLOW_POP));
    }
    // r11 = header; rcx = the next record.
    a.label(
        L_REPLAY,
        Instruction::with2(Mov_r64_rm64, RCX, mem(R11, CURSOR as i64)),
    )?;
    a.put(Instruction::with2(Cmp_r64_rm64, RCX, mem(R11, END as i64)))?;
    a.jump(Jae_rel32_64, L_SLOW_POP)?;
    a.put(Instruction::with2(
        Lea_r64_m,
        RCX,
        MemoryOperand::with_base_index_scale_displ_size(R11, RCX, 1, DATA_OFF, 8),
    ))?;
    a.put(Instruction::with2(
        Cmp_rm64_imm32,
        mem(RCX, 0),
        call.nr as i32,
    ))?;
    a.jump(Jne_rel32_64, L_SLOW_POP)?;
    // The arguments the call reads (as the replayer's own check does).
    for (i, r) in ARG_REGS.iter().enumerate().take(arity(call.nr)) {
        a.put(Instruction::with2(
            Cmp_r64_rm64,
            *r,
            mem(RCX, 8 + 8 * i as i64),
        ))?;
        a.jump(Jne_rel32_64, L_SLOW_POP)?;
    }
    a.put(Instruction::with2(Mov_r64_rm64, RAX, mem(RCX, 56)))?;
    match call.out {
        Out::Fixed { arg, .. } | Out::Returned { arg, .. } => {
            a.copy_data(ARG_REGS[arg], false, None)?
        }
        Out::Nothing | Out::Sent { .. } => a.put(Instruction::with2(
            Lea_r64_m,
            RCX,
            mem(RCX, RECORD_HEAD as i64),
        ))?,
    }
    a.close_record(CURSOR, None)?;
    a.leave(slow_end)
}

/// Builds the trampoline of `site` (for call `call`) at `base`. None when
/// it cannot reach the site with `rel32` jumps.
pub fn build(site: &Site, call: &Buffered, base: u64) -> Option<Trampoline> {
    let encode = |ret: u64, slow_end: u64| {
        let ins = instructions(site, call, ret, slow_end)?;
        let block = InstructionBlock::new(&ins, base);
        let r = BlockEncoder::encode(
            64,
            block,
            BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS,
        )
        .ok()?;
        Some((ins, r))
    };
    // First pass with placeholder addresses (same sizes), then for real.
    let (ins, first) = encode(u64::MAX, u64::MAX)?;
    let at = |label: u64| -> Option<u64> {
        let i = ins.iter().position(|i| i.ip() == label)?;
        Some(base + *first.new_instruction_offsets.get(i)? as u64)
    };
    let (ret, slow) = (at(L_RET)?, at(L_SLOW)?);
    let (ins2, r) = encode(ret, slow + 2)?;
    if r.code_buffer.len() > PAGE_SIZE as usize
        || r.new_instruction_offsets != first.new_instruction_offsets
    {
        return None;
    }
    let rel = base as i128 - (site.start + 5) as i128;
    if rel.abs() >= i32::MAX as i128 {
        return None;
    }
    let mut patch = vec![0xe9];
    patch.extend_from_slice(&(rel as i32).to_le_bytes());
    patch.resize((site.end - site.start) as usize, 0x90);
    let resume = if site.end > site.syscall + 2 {
        // The first relocated instruction after the syscall: after L_BACK.
        let back = ins2.iter().position(|i| i.ip() == L_BACK)?;
        Some(base + r.new_instruction_offsets[back + 1] as u64)
    } else {
        None
    };
    Some(Trampoline {
        code: r.code_buffer,
        patch,
        resume,
    })
}
