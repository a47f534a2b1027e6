//! The seccomp-bpf filter that sends every syscall of the tracee to reel,
//! except those issued from reel's own `syscall` instruction.

use crate::syscallbuf::FAST_SYSCALL_RIP;
use crate::PRIVATE_SYSCALL_RIP;

const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;

// Offsets in struct seccomp_data.
const OFF_ARCH: u32 = 4;
const OFF_IP_LO: u32 = 8;
const OFF_IP_HI: u32 = 12;

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

fn ins(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The filter program. Checks the architecture (anything but x86-64 kills the
/// process: reel cannot record it), lets through only the syscalls made by the two `syscall` instructions of reel's
/// code page (the kernel reports the address after each): the one reel
/// injects its calls through and the fast path's (see `syscallbuf`), both
/// in the same page, and traps
/// everything else — a syscall from anywhere else in the private pages
/// (the writable scratch page included) is traced like any other. Invalid
/// numbers (`syscall(-1)`, x32-flagged ones) are traced too: the recorder
/// fails them with ENOSYS as the kernel would, and the trace holds the event
/// replay needs to return the same.
pub fn filter() -> Vec<libc::sock_filter> {
    let hi = (PRIVATE_SYSCALL_RIP >> 32) as u32;
    debug_assert_eq!(hi, (FAST_SYSCALL_RIP >> 32) as u32);
    let lo = PRIVATE_SYSCALL_RIP as u32;
    let fast_lo = FAST_SYSCALL_RIP as u32;
    vec![
        /* 0 */ ins(LD_W_ABS, 0, 0, OFF_ARCH),
        /* 1 */ ins(JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        /* 2 */ ins(RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),
        /* 3 */ ins(LD_W_ABS, 0, 0, OFF_IP_HI),
        /* 4 */ ins(JEQ_K, 0, 4, hi),
        /* 5 */ ins(LD_W_ABS, 0, 0, OFF_IP_LO),
        /* 6 */ ins(JEQ_K, 1, 0, lo),
        /* 7 */ ins(JEQ_K, 0, 1, fast_lo),
        /* 8 */ ins(RET_K, 0, 0, SECCOMP_RET_ALLOW),
        /* 9 */ ins(RET_K, 0, 0, SECCOMP_RET_TRACE),
    ]
}

/// A filter that traps the syscalls made from addresses in `[lo, hi)` (the
/// code of one static binary: valgrind's tool) and lets every other run
/// untraced. Both bounds must lie below 4 GiB, where such a binary is linked.
/// Also untraced, from anywhere: `rt_sigprocmask` and `read`/`write` on a
/// descriptor at or above `own_fds` (valgrind's own signal masking and
/// scheduler pipe, which it makes around every blocking guest call). With
/// `trap_lock`, a one-byte `read` on such a descriptor is trapped like the
/// rest (taking valgrind's scheduler lock: reel decides which thread may).
pub fn trace_range(
    lo: u64,
    hi: u64,
    own_fds: u32,
    trap_lock: bool,
) -> Option<Vec<libc::sock_filter>> {
    if hi > u64::from(u32::MAX) || lo >= hi {
        return None;
    }
    const JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    const OFF_NR: u32 = 0;
    const OFF_ARG0_LO: u32 = 16;
    const OFF_ARG0_HI: u32 = 20;
    const OFF_ARG2_LO: u32 = 32;
    // A one-byte read on valgrind's descriptors goes to the address check
    // (17) when trapped, else is allowed (23).
    let lock_jt = if trap_lock { 4 } else { 10 };
    Some(vec![
        /* 0 */ ins(LD_W_ABS, 0, 0, OFF_ARCH),
        /* 1 */ ins(JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        /* 2 */ ins(RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),
        /* 3 */ ins(LD_W_ABS, 0, 0, OFF_NR),
        /* 4 */ ins(JEQ_K, 18, 0, libc::SYS_rt_sigprocmask as u32),
        /* 5 */ ins(JEQ_K, 1, 0, libc::SYS_read as u32),
        /* 6 */ ins(JEQ_K, 6, 10, libc::SYS_write as u32),
        // read
        /* 7 */ ins(LD_W_ABS, 0, 0, OFF_ARG0_HI),
        /* 8 */ ins(JEQ_K, 0, 8, 0),
        /* 9 */ ins(LD_W_ABS, 0, 0, OFF_ARG0_LO),
        /* 10 */ ins(JGE_K, 0, 6, own_fds),
        /* 11 */ ins(LD_W_ABS, 0, 0, OFF_ARG2_LO),
        /* 12 */ ins(JEQ_K, lock_jt, 10, 1),
        // write
        /* 13 */ ins(LD_W_ABS, 0, 0, OFF_ARG0_HI),
        /* 14 */ ins(JEQ_K, 0, 2, 0),
        /* 15 */ ins(LD_W_ABS, 0, 0, OFF_ARG0_LO),
        /* 16 */ ins(JGE_K, 6, 0, own_fds),
        // the address
        /* 17 */ ins(LD_W_ABS, 0, 0, OFF_IP_HI),
        /* 18 */ ins(JEQ_K, 0, 4, 0),
        /* 19 */ ins(LD_W_ABS, 0, 0, OFF_IP_LO),
        /* 20 */ ins(JGE_K, 0, 2, lo as u32),
        /* 21 */ ins(JGE_K, 1, 0, hi as u32),
        /* 22 */ ins(RET_K, 0, 0, SECCOMP_RET_TRACE),
        /* 23 */ ins(RET_K, 0, 0, SECCOMP_RET_ALLOW),
    ])
}

/// Installs `prog` on the calling thread. Meant for the forked child before
/// execve: it allocates nothing.
///
/// # Safety
/// Only async-signal-safe operations are performed; `prog` must stay alive
/// for the duration of the call.
pub unsafe fn install(prog: &[libc::sock_filter]) -> bool {
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
        return false;
    }
    libc::syscall(
        libc::SYS_seccomp,
        libc::SECCOMP_SET_MODE_FILTER,
        0,
        &fprog as *const libc::sock_fprog,
    ) == 0
}
