//! The memory digest: one 64-bit summary of a process's writable memory,
//! used by `record --checksum` (and, later, by landmarks).

use crate::mem::Memory;
use crate::proc::maps;
use crate::task::Stopped;
use crate::{Result, PAGE_SIZE, PRIVATE_LEN, PRIVATE_PAGE};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn mix(h: u64, word: u64) -> u64 {
    (h ^ word).wrapping_mul(FNV_PRIME)
}

/// Digest of every non-zero page of the writable private mappings of the
/// task's process, keyed by address, except its stack. Zero pages are
/// skipped, so memory that is mapped but never written (replay reserves room
/// the recording had not yet grown into) does not count.
///
/// The stack is left out: the kernel leaves bytes there that depend on more
/// than the program — signal frames hold the XSAVE area, whose header and
/// unwritten components reflect the CPU's "in use" tracking (which context
/// switches change), and a stale page-fault address; ld.so saves the AVX state
/// there with XSAVEC. Those bytes stay on the stack after the frame is gone
/// and reappear inside later frames. The stack is the mapping holding the
/// stack pointer and the one ending at `stack_end` (the main stack, also when
/// a handler runs on an alternate stack).
pub fn writable_memory(task: &Stopped, mem: &Memory, stack_end: Option<u64>) -> Result<u64> {
    let sp = task.regs()?.sp();
    let mut h = FNV_OFFSET;
    let mut page = vec![0u8; PAGE_SIZE as usize];
    for m in maps(task.tid())? {
        if !m.write || m.shared || m.name.starts_with("[v") {
            continue;
        }
        if m.start < PRIVATE_PAGE + PRIVATE_LEN && m.end > PRIVATE_PAGE {
            continue;
        }
        if m.name == "[stack]" || (m.start..m.end).contains(&sp) || Some(m.end) == stack_end {
            continue;
        }
        let mut addr = m.start;
        while addr < m.end {
            if mem.read_into(task, addr, &mut page).is_ok() && page.iter().any(|&b| b != 0) {
                h = mix(h, addr);
                for w in page.chunks_exact(8) {
                    h = mix(h, u64::from_le_bytes(w.try_into().expect("8 bytes")));
                }
            }
            addr += PAGE_SIZE;
        }
    }
    Ok(h)
}
