//! The auxiliary vector of a program just exec'd.

use crate::mem::Memory;
use crate::task::Stopped;
use crate::Result;

const AT_NULL: u64 = 0;
const AT_IGNORE: u64 = 1;
const AT_SYSINFO_EHDR: u64 = 33;

/// Hides the vDSO from a program stopped right after its exec: its
/// `AT_SYSINFO_EHDR` auxv entry becomes `AT_IGNORE`, so libc makes real
/// syscalls for the time (which reel records, or serves from a trace).
pub fn hide_vdso(task: &mut Stopped, mem: &Memory) -> Result<()> {
    let sp = task.regs()?.sp();
    let argc = mem.read_u64(task, sp)?;
    // Skip argc, argv[argc], NULL, then the environment up to its NULL.
    let mut at = sp + 8 + (argc + 1) * 8;
    while mem.read_u64(task, at)? != 0 {
        at += 8;
    }
    at += 8;
    loop {
        let key = mem.read_u64(task, at)?;
        if key == AT_NULL {
            return Ok(());
        }
        if key == AT_SYSINFO_EHDR {
            mem.write(task, at, &AT_IGNORE.to_le_bytes())?;
        }
        at += 16;
    }
}
