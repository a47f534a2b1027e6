//! The snapshot of a fresh address space right after execve.

use crate::Result;
use reel_sys::{proc, Memory, Stopped};
use reel_trace::{Region, RegionSource, TraceWriter};
use std::path::Path;

pub use reel_sys::vdso::patch_vdso;

/// Describes every mapping of the task's new address space and appends the
/// bytes of those that must be stored to `data`. Read-only file mappings
/// refer to snapshots of their files.
pub fn snapshot_regions(
    task: &Stopped,
    mem: &Memory,
    writer: &mut TraceWriter,
    data: &mut Vec<u8>,
) -> Result<Vec<Region>> {
    let pid = task.tid();
    let mut regions = Vec::new();
    for m in proc::maps(pid)? {
        // The kernel's own pages: vsyscall cannot be mapped by a program,
        // and the vDSO, rewritten to make syscalls (see patch_vdso), never
        // reads its time pages. The vDSO itself is stored as bytes.
        if matches!(m.name.as_str(), "[vsyscall]" | "[vvar]" | "[vvar_vclock]") {
            continue;
        }
        if m.start >= reel_sys::PRIVATE_PAGE
            && m.end <= reel_sys::PRIVATE_PAGE + reel_sys::PRIVATE_LEN
        {
            continue;
        }
        let source = if m.prot() == 0 {
            RegionSource::Zero
        } else if m.inode != 0 && !m.write && !m.shared && m.name.starts_with('/') {
            // map_files opens exactly the mapped file, even if it was replaced
            // on disk since; fall back to the path when it is not allowed.
            let via = format!("/proc/{pid}/map_files/{:x}-{:x}", m.start, m.end);
            let file = match writer.snapshot_file(Path::new(&via)) {
                Ok(f) => f,
                Err(_) => writer.snapshot_file(Path::new(&m.name))?,
            };
            RegionSource::File {
                file,
                offset: m.offset,
                path: m.name.clone(),
            }
        } else {
            let start = data.len();
            data.resize(start + (m.end - m.start) as usize, 0);
            mem.read_into(task, m.start, &mut data[start..])?;
            RegionSource::Data
        };
        regions.push(Region {
            start: m.start,
            end: m.end,
            prot: m.prot(),
            shared: m.shared,
            stack: m.name == "[stack]",
            source,
        });
    }
    Ok(regions)
}
