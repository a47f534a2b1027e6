//! System V shared memory (`Special::Shm`): no segment exists at replay.
//! Each recorded segment becomes a file of the replay's own, made from the
//! snapshot taken at its first attach and shared by every replayed process
//! that attaches it: shmat maps it `MAP_SHARED` at the recorded address,
//! shmdt unmaps what the kernel would have.

use super::space::shared_copy;
use super::Engine;
use crate::image::{FileMapping, Injector};
use crate::{ReplayError, Result};
use reel_sys::Stopped;
use reel_trace::{SyscallEvent, Tid};

const SHM_RDONLY: u64 = 0o10000;
const SHM_EXEC: u64 = 0o100000;

impl Engine {
    /// A recorded successful shmat or shmdt, at its entry stop.
    pub(super) fn replay_shm(
        &mut self,
        tid: Tid,
        st: Stopped,
        ev: &SyscallEvent,
    ) -> Result<Stopped> {
        if ev.nr == libc::SYS_shmdt as u64 {
            return self.replay_shmdt(st, ev.args[0]);
        }
        let Some(mf) = &ev.mapped_file else {
            return Err(ReplayError::Unsupported {
                event: self.event,
                what: "a shmat recorded without the segment's snapshot".into(),
            });
        };
        let snapshot = self.reader.file_path(&mf.file);
        let copy = shared_copy(&mut self.shared_files, &self.scratch, &mf.path, &snapshot)?;
        let len = std::fs::metadata(&copy)
            .map_err(|_| ReplayError::MissingSnapshot {
                original: mf.path.clone(),
                snapshot: snapshot.display().to_string(),
            })?
            .len();
        let flags = ev.args[2];
        let mut prot = libc::PROT_READ;
        if flags & SHM_RDONLY == 0 {
            prot |= libc::PROT_WRITE;
        }
        if flags & SHM_EXEC != 0 {
            prot |= libc::PROT_EXEC;
        }
        let pid = self.by_tid.get(&tid).map_or(tid, |t| t.pid);
        let Some(mem) = self.memories.remove(&pid) else {
            return Err(ReplayError::Unsupported {
                event: self.event,
                what: format!("no address space for task {tid}"),
            });
        };
        let m = FileMapping {
            path: &copy,
            original: &mf.path,
            start: ev.result as u64,
            len,
            prot: prot as u32,
            offset: 0,
            extra_flags: 0,
            shared: true,
        };
        let res = Injector {
            tasks: &mut self.tasks,
        }
        .map_file(st, &mem, &m);
        self.memories.insert(pid, mem);
        res
    }

    /// shmdt(addr): as the kernel does, unmaps the mappings of the segment
    /// attached at `addr` (those of its file whose start less their offset
    /// is `addr`: a part unmapped since is skipped, the rest still goes).
    fn replay_shmdt(&mut self, st: Stopped, addr: u64) -> Result<Stopped> {
        let copies: Vec<String> = self
            .shared_files
            .values()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let maps = reel_sys::proc::maps(st.tid())?;
        let Some(file) = maps
            .iter()
            .find(|m| m.start.wrapping_sub(m.offset) == addr && copies.contains(&m.name))
            .map(|m| m.name.clone())
        else {
            return Ok(st);
        };
        let mut st = st;
        for m in maps
            .iter()
            .filter(|m| m.name == file && m.start.wrapping_sub(m.offset) == addr)
        {
            st = Injector {
                tasks: &mut self.tasks,
            }
            .call(
                st,
                libc::SYS_munmap,
                [m.start, m.end - m.start, 0, 0, 0, 0],
                "munmap of a System V segment (shmdt)",
            )?
            .0;
        }
        Ok(st)
    }
}
