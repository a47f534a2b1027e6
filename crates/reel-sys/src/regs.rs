//! Register sets, in the kernel's `user_regs_struct` layout.

use libc::user_regs_struct;

/// The general registers of a stopped task.
#[derive(Clone, Copy)]
pub struct Regs(pub(crate) user_regs_struct);

/// Number of 64-bit fields in `user_regs_struct`.
pub const REGS_LEN: usize = 27;

impl Regs {
    /// The raw kernel structure.
    pub fn raw(&self) -> &user_regs_struct {
        &self.0
    }
    /// Mutable raw kernel structure.
    pub fn raw_mut(&mut self) -> &mut user_regs_struct {
        &mut self.0
    }
    /// Instruction pointer.
    pub fn ip(&self) -> u64 {
        self.0.rip
    }
    /// Sets the instruction pointer.
    pub fn set_ip(&mut self, ip: u64) {
        self.0.rip = ip;
    }
    /// Stack pointer.
    pub fn sp(&self) -> u64 {
        self.0.rsp
    }
    /// The syscall number at a syscall stop (`orig_rax`).
    pub fn syscall_nr(&self) -> u64 {
        self.0.orig_rax
    }
    /// Sets `orig_rax`; -1 tells the kernel there is no syscall to run or restart.
    pub fn set_syscall_nr(&mut self, nr: u64) {
        self.0.orig_rax = nr;
    }
    /// The six syscall arguments: rdi, rsi, rdx, r10, r8, r9.
    pub fn args(&self) -> [u64; 6] {
        let r = &self.0;
        [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9]
    }
    /// Sets the six syscall arguments.
    pub fn set_args(&mut self, a: [u64; 6]) {
        let r = &mut self.0;
        r.rdi = a[0];
        r.rsi = a[1];
        r.rdx = a[2];
        r.r10 = a[3];
        r.r8 = a[4];
        r.r9 = a[5];
    }
    /// The syscall return value (rax).
    pub fn result(&self) -> i64 {
        self.0.rax as i64
    }
    /// Sets rax.
    pub fn set_result(&mut self, v: i64) {
        self.0.rax = v as u64;
    }
    /// At a syscall-entry stop: point the task back at its `syscall`
    /// instruction, ready to make call `nr` again when resumed, and tell the
    /// kernel not to run (or restart) the stopped one.
    pub fn back_up_to_syscall(&mut self, nr: u64) {
        self.0.rip -= 2;
        self.0.rax = nr;
        self.0.orig_rax = u64::MAX;
    }
    /// rax, rdx, rcx (for rdtsc/rdtscp emulation).
    pub fn set_tsc(&mut self, value: u64, aux: Option<u32>) {
        self.0.rax = value & 0xffff_ffff;
        self.0.rdx = value >> 32;
        if let Some(aux) = aux {
            self.0.rcx = aux as u64;
        }
    }

    /// The registers as a flat list in `user_regs_struct` order (for the trace).
    pub fn to_vec(&self) -> Vec<u64> {
        let r = &self.0;
        vec![
            r.r15, r.r14, r.r13, r.r12, r.rbp, r.rbx, r.r11, r.r10, r.r9, r.r8, r.rax, r.rcx,
            r.rdx, r.rsi, r.rdi, r.orig_rax, r.rip, r.cs, r.eflags, r.rsp, r.ss, r.fs_base,
            r.gs_base, r.ds, r.es, r.fs, r.gs,
        ]
    }

    /// Overwrites the registers from a flat list made by [`Regs::to_vec`].
    /// Returns false when the list has the wrong length.
    pub fn load_vec(&mut self, v: &[u64]) -> bool {
        if v.len() != REGS_LEN {
            return false;
        }
        let r = &mut self.0;
        [
            r.r15, r.r14, r.r13, r.r12, r.rbp, r.rbx, r.r11, r.r10, r.r9, r.r8, r.rax, r.rcx,
            r.rdx, r.rsi, r.rdi, r.orig_rax, r.rip, r.cs, r.eflags, r.rsp, r.ss, r.fs_base,
            r.gs_base, r.ds, r.es, r.fs, r.gs,
        ] = v.try_into().expect("length checked");
        true
    }
}

impl std::fmt::Debug for Regs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.0;
        write!(
            f,
            "rip={:#x} rsp={:#x} rax={:#x} orig_rax={:#x} rdi={:#x} rsi={:#x} rdx={:#x}",
            r.rip, r.rsp, r.rax, r.orig_rax as i64, r.rdi, r.rsi, r.rdx
        )
    }
}
