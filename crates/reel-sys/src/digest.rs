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

/// Bytes below the stack pointer that code may still use (the x86-64 red zone).
const RED_ZONE: u64 = 128;

/// Digest of every non-zero page of the writable private mappings of the
/// task's process, keyed by address. Zero pages are skipped, so memory that is
/// mapped but never written (replay reserves stack room the recording had not
/// yet grown into) does not count. The task's stack below its red zone is
/// dead and skipped too: what lies there depends on more than the program
/// (e.g. ld.so saves the AVX state there with XSAVEC, whose header reflects the
/// CPU's "in use" tracking, which context switches make vary).
pub fn writable_memory(task: &Stopped, mem: &Memory) -> Result<u64> {
    let live_from = task.regs()?.sp().saturating_sub(RED_ZONE);
    let mut h = FNV_OFFSET;
    let mut page = vec![0u8; PAGE_SIZE as usize];
    for m in maps(task.tid())? {
        if !m.write || m.shared || m.name.starts_with("[v") {
            continue;
        }
        if m.start < PRIVATE_PAGE + PRIVATE_LEN && m.end > PRIVATE_PAGE {
            continue;
        }
        // In the mapping holding the stack pointer, only the live part counts.
        let dead_below = if (m.start..m.end).contains(&live_from) {
            live_from
        } else {
            0
        };
        let mut addr = m.start.max(dead_below & !(PAGE_SIZE - 1));
        while addr < m.end {
            if mem.read_into(task, addr, &mut page).is_ok() {
                if addr < dead_below {
                    let dead = (dead_below - addr) as usize;
                    page[..dead].fill(0);
                }
            } else {
                addr += PAGE_SIZE;
                continue;
            }
            if page.iter().any(|&b| b != 0) {
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
