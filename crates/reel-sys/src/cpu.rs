//! The CPU identity (CPUID leaves, XCR0) and the time-stamp counter.

use std::arch::x86_64::{__cpuid_count, _rdtsc};

/// One CPUID result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leaf {
    /// eax input.
    pub leaf: u32,
    /// ecx input.
    pub subleaf: u32,
    /// Outputs eax, ebx, ecx, edx.
    pub regs: [u32; 4],
}

fn query(leaf: u32, subleaf: u32) -> Leaf {
    // CPUID is available on every x86-64 CPU.
    let r = __cpuid_count(leaf, subleaf);
    Leaf {
        leaf,
        subleaf,
        regs: [r.eax, r.ebx, r.ecx, r.edx],
    }
}

/// The leaf with the fields that name the core it ran on (APIC ids) cleared:
/// they change with scheduling, not with the machine.
fn normalized(mut l: Leaf) -> Leaf {
    match l.leaf {
        1 => l.regs[1] &= 0x00ff_ffff,
        0xb | 0x1f => l.regs[3] = 0,
        0x8000_001e => {
            l.regs[0] = 0;
            l.regs[1] = 0;
        }
        _ => {}
    }
    l
}

/// Leaves whose subleaf (ecx) input selects different answers.
fn has_subleaves(leaf: u32) -> bool {
    matches!(
        leaf,
        4 | 7
            | 0xb
            | 0xd
            | 0xf
            | 0x10
            | 0x12
            | 0x14
            | 0x17
            | 0x18
            | 0x1d
            | 0x1f
            | 0x8000_001d
            | 0x8000_0020
    )
}

/// Every standard and extended leaf (with up to 64 subleaves where they
/// exist), with per-core fields cleared.
pub fn all_leaves() -> Vec<Leaf> {
    let mut out = Vec::new();
    for base in [0u32, 0x8000_0000] {
        let max = query(base, 0).regs[0];
        if max < base {
            continue;
        }
        for leaf in base..=max.min(base + 0x40) {
            if has_subleaves(leaf) {
                for sub in 0..64 {
                    let l = query(leaf, sub);
                    if sub > 0 && l.regs == [0; 4] {
                        break;
                    }
                    out.push(normalized(l));
                }
            } else {
                out.push(normalized(query(leaf, 0)));
            }
        }
    }
    out
}

/// The vendor string from leaf 0.
pub fn vendor() -> String {
    let r = query(0, 0).regs;
    let mut b = Vec::with_capacity(12);
    for w in [r[1], r[3], r[2]] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// The brand string from leaves 0x80000002..4.
pub fn brand() -> String {
    if query(0x8000_0000, 0).regs[0] < 0x8000_0004 {
        return String::new();
    }
    let mut b = Vec::with_capacity(48);
    for leaf in 0x8000_0002..=0x8000_0004 {
        for w in query(leaf, 0).regs {
            b.extend_from_slice(&w.to_le_bytes());
        }
    }
    String::from_utf8_lossy(&b)
        .trim_matches(char::from(0))
        .trim()
        .to_string()
}

/// XCR0 (the XSAVE features the OS enabled), when the CPU supports XGETBV.
pub fn xcr0() -> Option<u64> {
    let ecx = query(1, 0).regs[2];
    // OSXSAVE: the OS enabled XSAVE and XGETBV is usable.
    if ecx & (1 << 27) == 0 {
        return None;
    }
    let (lo, hi): (u32, u32);
    // SAFETY: XGETBV with ecx=0 is valid when OSXSAVE is set.
    unsafe {
        std::arch::asm!("xgetbv", in("ecx") 0u32, out("eax") lo, out("edx") hi, options(nomem, nostack));
    }
    Some(((hi as u64) << 32) | lo as u64)
}

/// Whether the kernel reports CPUID faulting (which would let reel trap CPUID).
pub fn cpuid_faulting() -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|s| s.split_whitespace().any(|w| w == "cpuid_fault"))
        .unwrap_or(false)
}

/// Reads the time-stamp counter (reel itself is not under PR_SET_TSC).
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC is available on every x86-64 CPU and not trapped for reel.
    unsafe { _rdtsc() }
}

/// Reads TSC_AUX as RDTSCP would (the CPU number on Linux).
pub fn tsc_aux() -> u32 {
    let mut aux = 0u32;
    // SAFETY: __rdtscp writes TSC_AUX into `aux`.
    unsafe { std::arch::x86_64::__rdtscp(&mut aux) };
    aux
}

/// The CPU the calling thread runs on now.
pub fn current_cpu() -> Option<u32> {
    // SAFETY: sched_getcpu takes no arguments.
    let c = unsafe { libc::sched_getcpu() };
    (c >= 0).then_some(c as u32)
}

/// Whether the calling thread may run on `cpu` (its affinity mask allows it).
pub fn cpu_allowed(cpu: u32) -> bool {
    // SAFETY: cpu_set_t is plain data filled by sched_getaffinity.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return false;
        }
        (cpu as usize) < libc::CPU_SETSIZE as usize && libc::CPU_ISSET(cpu as usize, &set)
    }
}

/// Offset and size of XSAVE state component `i` in the standard layout
/// (CPUID leaf 0xD), when the CPU has it.
pub fn xsave_component(i: u32) -> Option<(usize, usize)> {
    let l = query(0xd, i);
    let (size, offset) = (l.regs[0] as usize, l.regs[1] as usize);
    (size > 0 && offset > 0).then_some((offset, size))
}
