//! The auxiliary vector of a program just exec'd.

use crate::mem::Memory;
use crate::task::Stopped;
use crate::Result;

const AT_NULL: u64 = 0;
const AT_IGNORE: u64 = 1;
/// The auxv key of the vDSO's address.
pub(crate) const AT_SYSINFO_EHDR: u64 = 33;

/// The address of the auxv entry `key` (its key word; the value follows)
/// of a task stopped right after its exec, if the kernel gave one.
pub(crate) fn find(task: &Stopped, mem: &Memory, key: u64) -> Result<Option<u64>> {
    let sp = task.regs()?.sp();
    let argc = mem.read_u64(task, sp)?;
    // Skip argc, argv[argc], NULL, then the environment up to its NULL.
    let mut at = sp + 8 + (argc + 1) * 8;
    while mem.read_u64(task, at)? != 0 {
        at += 8;
    }
    at += 8;
    loop {
        match mem.read_u64(task, at)? {
            AT_NULL => return Ok(None),
            k if k == key => return Ok(Some(at)),
            _ => at += 16,
        }
    }
}

/// Hides the vDSO from a program stopped right after its exec: its
/// `AT_SYSINFO_EHDR` auxv entry becomes `AT_IGNORE`, so libc makes real
/// syscalls for the time (which reel records, or serves from a trace).
pub fn hide_vdso(task: &mut Stopped, mem: &Memory) -> Result<()> {
    if let Some(at) = find(task, mem, AT_SYSINFO_EHDR)? {
        mem.write(task, at, &AT_IGNORE.to_le_bytes())?;
    }
    Ok(())
}
