//! Calls that shape the address space: mmap (of the trace's snapshots)
//! and brk.

use super::Engine;
use crate::image::{FileMapping, Injector};
use crate::{ReplayError, Result};
use reel_sys::{Stopped, PAGE_SIZE};
use reel_trace::{SyscallEvent, Tid};
use std::collections::HashMap;

/// The replay's copy of the file the program mapped shared at `original`,
/// made from `snapshot` the first time.
pub(super) fn shared_copy(
    copies: &mut HashMap<String, std::path::PathBuf>,
    scratch: &tempfile::TempDir,
    original: &str,
    snapshot: &std::path::Path,
) -> Result<std::path::PathBuf> {
    if let Some(p) = copies.get(original) {
        return Ok(p.clone());
    }
    let copy = scratch.path().join(format!("shared-{}", copies.len()));
    // Holes stay holes: a sparse terabyte-long file costs what it holds.
    reel_trace::sparse::copy_file(snapshot, &copy).map_err(|_| ReplayError::MissingSnapshot {
        original: original.to_string(),
        snapshot: snapshot.display().to_string(),
    })?;
    copies.insert(original.to_string(), copy.clone());
    Ok(copy)
}

fn page_up(v: u64) -> u64 {
    (v + PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

impl Engine {
    pub(super) fn replay_mmap(
        &mut self,
        tid: Tid,
        st: Stopped,
        ev: &SyscallEvent,
    ) -> Result<Stopped> {
        let [_, len, prot, flags, _, offset] = ev.args;
        let addr = ev.result as u64;
        let mem_pid = self.by_tid.get(&tid).map_or(tid, |t| t.pid);
        let mem = self
            .memories
            .remove(&mem_pid)
            .ok_or(ReplayError::Unsupported {
                event: self.event,
                what: format!("no address space for task {tid}"),
            })?;
        let keep = (flags as i32) & (libc::MAP_NORESERVE | libc::MAP_GROWSDOWN | libc::MAP_STACK);
        // A shared mapping of a file is how processes share memory (and a
        // read-only one shows what writable ones and writes to the file
        // change): the replayed ones map one copy of it, shared, as they
        // did the file.
        let shared = (flags as i32) & libc::MAP_SHARED != 0;
        let res = match &ev.mapped_file {
            Some(mf) => {
                let snapshot = self.reader.file_path(&mf.file);
                self.snapshots.insert(mf.path.clone(), snapshot.clone());
                let path = if shared {
                    match shared_copy(&mut self.shared_files, &self.scratch, &mf.path, &snapshot) {
                        Ok(p) => p,
                        Err(e) => {
                            self.memories.insert(mem_pid, mem);
                            return Err(e);
                        }
                    }
                } else {
                    snapshot
                };
                let m = FileMapping {
                    path: &path,
                    original: &mf.path,
                    start: addr,
                    len,
                    prot: prot as u32,
                    offset,
                    extra_flags: keep,
                    shared,
                };
                let mut inj = Injector {
                    tasks: &mut self.tasks,
                };
                inj.map_file(st, &mem, &m)
            }
            None => {
                let mut inj = Injector {
                    tasks: &mut self.tasks,
                };
                // A shared mapping of a file reel did not snapshot (a device)
                // is replayed as private zero memory.
                let mut flags = flags as i32;
                if flags & libc::MAP_ANONYMOUS == 0 {
                    flags = (flags & !(libc::MAP_SHARED | libc::MAP_SHARED_VALIDATE))
                        | libc::MAP_PRIVATE;
                }
                inj.map_anon_with(st, addr, len, prot as u32, flags)
            }
        };
        self.memories.insert(mem_pid, mem);
        res
    }

    /// A call that wrote to a file mapped shared, whose snapshot after the
    /// call the recorder stored (`mapped_file`): the replay's copy of that
    /// file, which replayed processes map, gets the same contents (and
    /// size: pages past the old end would raise SIGBUS otherwise).
    pub(super) fn sync_written_file(&mut self, ev: &SyscallEvent) -> Result<()> {
        let Some(mf) = &ev.mapped_file else {
            return Ok(());
        };
        let Some(copy) = self.shared_files.get(&mf.path) else {
            return Ok(());
        };
        let snapshot = self.reader.file_path(&mf.file);
        reel_trace::sparse::update_file(&snapshot, copy).map_err(|_| ReplayError::MissingSnapshot {
            original: mf.path.clone(),
            snapshot: snapshot.display().to_string(),
        })
    }

    pub(super) fn replay_brk(
        &mut self,
        tid: Tid,
        st: Stopped,
        ev: &SyscallEvent,
    ) -> Result<Stopped> {
        let pid = self.by_tid.get(&tid).map_or(tid, |t| t.pid);
        let old = self.brks.get(&pid).copied().unwrap_or(0);
        let new = ev.result as u64;
        let (lo, hi) = (page_up(old), page_up(new));
        let mut inj = Injector {
            tasks: &mut self.tasks,
        };
        let st = if hi > lo && old != 0 {
            inj.map_anon(
                st,
                lo,
                hi - lo,
                (libc::PROT_READ | libc::PROT_WRITE) as u32,
                false,
            )?
        } else if hi < lo {
            inj.call(
                st,
                libc::SYS_munmap,
                [hi, lo - hi, 0, 0, 0, 0],
                "munmap of the shrunk heap",
            )?
            .0
        } else {
            st
        };
        self.brks.insert(pid, new);
        Ok(st)
    }
}

impl Engine {
    /// An emulated setrlimit/prlimit64 lowered RLIMIT_STACK: the recorded
    /// kernel would stop the stack growing past the new limit, so the room
    /// the replay reserved below the stack (see `image::restore`) is cut to
    /// it too. Otherwise a stack overflow would fault deeper than recorded.
    pub(super) fn follow_stack_limit(
        &mut self,
        tid: Tid,
        st: Stopped,
        ev: &SyscallEvent,
    ) -> Result<Stopped> {
        const RLIMIT_STACK: u64 = 3;
        let new = match ev.nr as i64 {
            libc::SYS_setrlimit if ev.args[0] == RLIMIT_STACK => ev.args[1],
            libc::SYS_prlimit64
                if ev.args[1] == RLIMIT_STACK && (ev.args[0] == 0 || ev.args[0] == tid as u64) =>
            {
                ev.args[2]
            }
            _ => return Ok(st),
        };
        if ev.result != 0 || new == 0 {
            return Ok(st);
        }
        let pid = self.task(tid)?.pid;
        let Some(&stack_end) = self.stack_ends.get(&pid) else {
            return Ok(st);
        };
        let limit = self.mem(tid)?.read_u64(&st, new)?;
        let sp = st.regs()?.sp() & !(PAGE_SIZE - 1);
        // The lowest address of the stack and its room: the mapping that
        // holds the stack pointer and those right below it.
        let maps = reel_sys::proc::maps(st.tid())?;
        let Some(mut i) = maps.iter().position(|m| m.start <= sp && sp < m.end) else {
            return Ok(st);
        };
        while i > 0 && maps[i - 1].end == maps[i].start && maps[i - 1].inode == 0 {
            i -= 1;
        }
        let low = maps[i].start;
        let cut = stack_end.saturating_sub(limit).min(sp);
        if cut <= low {
            return Ok(st);
        }
        let mut inj = Injector {
            tasks: &mut self.tasks,
        };
        let (st, _) = inj.call(
            st,
            libc::SYS_munmap,
            [low, page_up(cut) - low, 0, 0, 0, 0],
            "munmap of stack room beyond RLIMIT_STACK",
        )?;
        Ok(st)
    }
}
