//! The program's own seccomp filters, run by reel.
//!
//! A filter the program installs would stack with reel's, and its ERRNO,
//! TRAP and KILL results take precedence over reel's TRACE: the kernel would
//! answer those calls without reel ever seeing them. So reel does not let
//! the kernel install it: it keeps the classic-BPF program and runs it
//! itself at every syscall entry of the task (and of the tasks that inherit
//! it), then acts on the result as the kernel would; every outcome is an
//! event of the trace.

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// Opcode.
    pub code: u16,
    /// Jump offsets if true / false.
    pub jt: u8,
    /// See `jt`.
    pub jf: u8,
    /// Constant operand.
    pub k: u32,
}

/// What a filter sees of a syscall (`struct seccomp_data`).
#[derive(Debug, Clone, Copy)]
pub struct SeccompData {
    /// Syscall number.
    pub nr: i32,
    /// `AUDIT_ARCH_*` of the call.
    pub arch: u32,
    /// Address after the `syscall` instruction.
    pub ip: u64,
    /// The six arguments.
    pub args: [u64; 6],
}

/// `AUDIT_ARCH_X86_64`.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// The filter's verdict, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The whole process dies of SIGSYS.
    KillProcess,
    /// The thread dies of SIGSYS.
    KillThread,
    /// The call is not made; SIGSYS is raised, `si_errno` = the data.
    Trap(u16),
    /// The call fails with this errno.
    Errno(u16),
    /// A user-space listener would answer (reel offers none).
    UserNotif,
    /// A tracer of the program's would be told (there is none: ENOSYS).
    Trace(u16),
    /// Allowed and logged.
    Log,
    /// Allowed.
    Allow,
}

const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_KILL_THREAD: u32 = 0;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_USER_NOTIF: u32 = 0x7fc0_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;
const ACTION_FULL: u32 = 0xffff_0000;

/// The verdict of a filter's return value.
pub fn verdict(ret: u32) -> Verdict {
    let data = (ret & 0xffff) as u16;
    match ret & ACTION_FULL {
        RET_KILL_PROCESS => Verdict::KillProcess,
        RET_KILL_THREAD => Verdict::KillThread,
        RET_TRAP => Verdict::Trap(data),
        RET_ERRNO => Verdict::Errno(data.min(4095)),
        RET_USER_NOTIF => Verdict::UserNotif,
        RET_TRACE => Verdict::Trace(data),
        RET_LOG => Verdict::Log,
        RET_ALLOW => Verdict::Allow,
        // Unknown actions are treated as KILL_PROCESS by the kernel.
        _ => Verdict::KillProcess,
    }
}

/// Whether the kernel offers filter action `action` (SECCOMP_GET_ACTION_AVAIL)
/// as reel runs it: all but USER_NOTIF, which needs a listener.
pub fn action_available(action: u32) -> bool {
    matches!(
        action,
        RET_KILL_PROCESS | RET_KILL_THREAD | RET_TRAP | RET_ERRNO | RET_TRACE | RET_LOG | RET_ALLOW
    )
}

/// Decodes a filter program from its bytes (8 per instruction), checking
/// what the kernel checks at install time that matters to running it:
/// 1 to 4096 instructions, jumps forward and inside, a return at the end.
/// `None` for a program the kernel would refuse (EINVAL).
pub fn decode(bytes: &[u8]) -> Option<Vec<Insn>> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(8) || bytes.len() / 8 > 4096 {
        return None;
    }
    let insns: Vec<Insn> = bytes
        .chunks_exact(8)
        .map(|c| Insn {
            code: u16::from_le_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    let n = insns.len();
    for (pc, i) in insns.iter().enumerate() {
        let class = i.code & 0x07;
        let left = n - pc - 1;
        match class {
            // Jumps: every target inside the program.
            0x05 => {
                let far = if i.code & 0xf0 == 0x00 {
                    i.k as usize
                } else {
                    i.jt.max(i.jf) as usize
                };
                if far >= left {
                    return None;
                }
            }
            // Loads of seccomp_data: aligned words inside it.
            0x00 if i.code & 0xe0 == 0x20 && (!i.k.is_multiple_of(4) || i.k >= 64) => return None,
            _ => {}
        }
    }
    let last = insns[n - 1].code & 0x07;
    (last == 0x06).then_some(insns)
}

/// Runs one filter on `data`; its return value (an action and its data).
/// A program that breaks the rules at run time (which the kernel's checker
/// would have refused) kills, as an unknown action does.
pub fn run(prog: &[Insn], data: &SeccompData) -> u32 {
    let word = |k: u32| -> Option<u32> {
        let args = |i: usize, hi: bool| {
            let v = data.args[i];
            (if hi { v >> 32 } else { v }) as u32
        };
        Some(match k {
            0 => data.nr as u32,
            4 => data.arch,
            8 => data.ip as u32,
            12 => (data.ip >> 32) as u32,
            16..=63 => {
                let off = k as usize - 16;
                args(off / 8, off % 8 == 4)
            }
            _ => return None,
        })
    };
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    while let Some(i) = prog.get(pc) {
        pc += 1;
        let src = if i.code & 0x08 != 0 { x } else { i.k };
        match i.code & 0x07 {
            // LD
            0x00 => {
                a = match i.code & 0xe0 {
                    0x00 => i.k,
                    0x20 => match word(i.k) {
                        Some(w) => w,
                        None => return RET_KILL_PROCESS,
                    },
                    0x60 => mem[(i.k & 15) as usize],
                    0x80 => 64,
                    _ => return RET_KILL_PROCESS,
                }
            }
            // LDX
            0x01 => {
                x = match i.code & 0xe0 {
                    0x00 => i.k,
                    0x60 => mem[(i.k & 15) as usize],
                    0x80 => 64,
                    _ => return RET_KILL_PROCESS,
                }
            }
            0x02 => mem[(i.k & 15) as usize] = a,
            0x03 => mem[(i.k & 15) as usize] = x,
            // ALU
            0x04 => {
                a = match i.code & 0xf0 {
                    0x00 => a.wrapping_add(src),
                    0x10 => a.wrapping_sub(src),
                    0x20 => a.wrapping_mul(src),
                    0x30 if src == 0 => return RET_KILL_PROCESS,
                    0x30 => a / src,
                    0x40 => a | src,
                    0x50 => a & src,
                    0x60 => a.checked_shl(src).unwrap_or(0),
                    0x70 => a.checked_shr(src).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 if src == 0 => return RET_KILL_PROCESS,
                    0x90 => a % src,
                    0xa0 => a ^ src,
                    _ => return RET_KILL_PROCESS,
                }
            }
            // JMP
            0x05 => {
                let taken = match i.code & 0xf0 {
                    0x00 => {
                        pc += i.k as usize;
                        continue;
                    }
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    0x40 => a & src != 0,
                    _ => return RET_KILL_PROCESS,
                };
                pc += if taken { i.jt } else { i.jf } as usize;
            }
            // RET
            0x06 => {
                return match i.code & 0x18 {
                    0x00 => i.k,
                    0x10 => a,
                    _ => RET_KILL_PROCESS,
                }
            }
            // MISC: TAX / TXA
            _ => {
                if i.code & 0xf8 == 0x00 {
                    x = a;
                } else {
                    a = x;
                }
            }
        }
    }
    RET_KILL_PROCESS
}

/// The verdict of a stack of filters: the most severe of their results, as
/// the kernel takes it (the filter installed last runs first; on a tie in
/// action the first one's data wins).
pub fn run_all(filters: &[std::rc::Rc<Vec<Insn>>], data: &SeccompData) -> Verdict {
    filters
        .iter()
        .rev()
        .map(|f| verdict(run(f, data)))
        .fold(Verdict::Allow, |best, v| {
            if rank(&v) < rank(&best) {
                v
            } else {
                best
            }
        })
}

/// Precedence of a verdict, ignoring its data (smaller wins).
fn rank(v: &Verdict) -> u8 {
    match v {
        Verdict::KillProcess => 0,
        Verdict::KillThread => 1,
        Verdict::Trap(_) => 2,
        Verdict::Errno(_) => 3,
        Verdict::UserNotif => 4,
        Verdict::Trace(_) => 5,
        Verdict::Log => 6,
        Verdict::Allow => 7,
    }
}

/// A filter for strict mode (`SECCOMP_MODE_STRICT`): read, write, exit and
/// rt_sigreturn only; anything else kills.
pub fn strict() -> Vec<Insn> {
    let ld_nr = Insn {
        code: 0x20,
        jt: 0,
        jf: 0,
        k: 0,
    };
    let mut p = vec![ld_nr];
    for (i, nr) in [0u32, 1, 60, 15].iter().enumerate() {
        // jeq nr -> the final ALLOW (skip the remaining tests and the KILL).
        p.push(Insn {
            code: 0x15,
            jt: (4 - i) as u8,
            jf: 0,
            k: *nr,
        });
    }
    p.push(Insn {
        code: 0x06,
        jt: 0,
        jf: 0,
        k: RET_KILL_THREAD,
    });
    p.push(Insn {
        code: 0x06,
        jt: 0,
        jf: 0,
        k: RET_ALLOW,
    });
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(nr: i32) -> SeccompData {
        SeccompData {
            nr,
            arch: AUDIT_ARCH_X86_64,
            ip: 0,
            args: [0; 6],
        }
    }

    #[test]
    fn strict_mode_allows_four_calls() {
        let p = strict();
        for nr in [0, 1, 60, 15] {
            assert_eq!(verdict(run(&p, &data(nr))), Verdict::Allow, "nr {nr}");
        }
        assert_eq!(verdict(run(&p, &data(39))), Verdict::KillThread);
    }

    #[test]
    fn errno_for_one_call() {
        // ld nr; jeq 39, 0, 1; ret ERRNO|1; ret ALLOW
        let p = [
            Insn {
                code: 0x20,
                jt: 0,
                jf: 0,
                k: 0,
            },
            Insn {
                code: 0x15,
                jt: 0,
                jf: 1,
                k: 39,
            },
            Insn {
                code: 0x06,
                jt: 0,
                jf: 0,
                k: RET_ERRNO | 1,
            },
            Insn {
                code: 0x06,
                jt: 0,
                jf: 0,
                k: RET_ALLOW,
            },
        ];
        assert_eq!(verdict(run(&p, &data(39))), Verdict::Errno(1));
        assert_eq!(verdict(run(&p, &data(40))), Verdict::Allow);
        let both = [std::rc::Rc::new(p.to_vec()), std::rc::Rc::new(strict())];
        assert_eq!(run_all(&both, &data(39)), Verdict::KillThread);
    }
}
