//! Exec events: the first program is spawned, later ones replace a
//! replayed process; either way its image is rebuilt from the trace.

use super::{Engine, Image, Task};
use crate::image::restore;
use crate::Result;
use reel_sys::spawn::{spawn, ChildPlan};
use reel_sys::{Memory, Resume, Stopped, Waited};
use reel_trace::{ExecEvent, RegionSource, Tid};

impl Engine {
    pub(super) fn on_exec(&mut self, ev: &ExecEvent, data: &[u8]) -> Result<()> {
        let st = if self.by_tid.is_empty() {
            // The first program: a fresh child whose own execve is intercepted.
            let cpu = self
                .reader
                .header()
                .cpu_binding
                .filter(|c| reel_sys::cpu::cpu_allowed(*c));
            let st = spawn(&ChildPlan::Replay, cpu, &mut self.tasks)?;
            self.root = Some(ev.tid);
            let mem = Memory::open(&st)?;
            self.memories.insert(ev.tid, mem);
            self.by_tid
                .insert(ev.old_tid, Task::new(st.tid(), ev.tid, false));
            st
        } else {
            let st = self.expect_syscall(ev.old_tid, &format!("execve of {}", ev.path))?;
            let regs = st.regs()?;
            let nr = regs.syscall_nr();
            if nr != libc::SYS_execve as u64 && nr != libc::SYS_execveat as u64 {
                let actual = format!(
                    "the program made {}",
                    reel_syscalls::format_call(nr, &regs.args())
                );
                self.park(ev.old_tid, st)?;
                return Err(self.diverged(ev.old_tid, format!("execve of {}", ev.path), actual));
            }
            let st = self.check_exec(st, ev)?;
            if self.task(ev.old_tid)?.shares_memory {
                self.leave_shared_memory(ev.old_tid, st)?
            } else {
                st
            }
        };
        if ev.old_tid != ev.tid {
            if let Some(t) = self.by_tid.remove(&ev.old_tid) {
                self.by_tid.insert(ev.tid, t);
            }
        }
        // An exec forgets the word to clear at exit.
        if let Some(t) = self.by_tid.get_mut(&ev.tid) {
            t.clear_tid = None;
        }
        let pid = ev.tid;
        let mem = self
            .memories
            .remove(&pid)
            .map_or_else(|| Memory::open(&st), Ok)?;
        let st = restore(st, &mut self.tasks, &mem, &self.reader, ev, data)?;
        self.memories.insert(pid, mem);
        self.brks.insert(pid, ev.brk);
        self.patches.remove(&pid);
        self.fast_procs.remove(&pid);
        if let Some(stack) = ev.regions.iter().find(|r| r.stack) {
            self.stack_ends.insert(pid, stack.end);
        }
        for r in &ev.regions {
            if let RegionSource::File { file, path, .. } = &r.source {
                let snapshot = self.reader.file_path(file);
                self.snapshots.insert(path.clone(), snapshot);
            }
        }
        let image = self.describe_image(&st, &self.memories.get(&pid), ev);
        self.images.insert(pid, image);
        self.park(ev.tid, st)
    }

    /// A vfork child execs: rebuilding its address space in place would
    /// rebuild its parent's. Its exec continues in a fresh replay process
    /// instead (what the replayed programs see of pids and parents is
    /// emulated, so which real process plays it does not matter), and the
    /// vfork child is ended, which lets its parent out of the kernel.
    pub(super) fn leave_shared_memory(&mut self, tid: Tid, old: Stopped) -> Result<Stopped> {
        let cpu = self
            .reader
            .header()
            .cpu_binding
            .filter(|c| reel_sys::cpu::cpu_allowed(*c));
        let fresh = spawn(&ChildPlan::Replay, cpu, &mut self.tasks)?;
        let old_real = old.tid();
        self.tasks.insert(old.kill());
        while let Waited::Stopped(st) = self.tasks.wait(Some(old_real))? {
            self.tasks.insert(st.resume(Resume::Cont, None)?);
        }
        let pid = self.task(tid)?.pid;
        self.memories.insert(pid, Memory::open(&fresh)?);
        let t = self.task(tid)?;
        t.real = fresh.tid();
        t.shares_memory = false;
        Ok(fresh)
    }
}

impl Engine {
    /// What a debugger needs of a fresh image: the auxiliary vector (read
    /// off the new stack: argc, argv, envp, then the pairs) and the trace's
    /// snapshot of the executable (the file mapped at the entry point).
    fn describe_image(&self, st: &Stopped, mem: &Option<&Memory>, ev: &ExecEvent) -> Image {
        let mut image = Image {
            path: ev.path.clone(),
            ..Image::default()
        };
        let Some(mem) = mem else {
            return image;
        };
        let Ok(sp) = st.regs().map(|r| r.sp()) else {
            return image;
        };
        let word = |at: u64| mem.read_u64(st, at).ok();
        let Some(argc) = word(sp) else {
            return image;
        };
        let mut at = sp + 8 * (argc + 2);
        while word(at).is_some_and(|w| w != 0) {
            at += 8;
        }
        at += 8;
        let mut entry = None;
        for _ in 0..64 {
            let (Some(key), Some(value)) = (word(at), word(at + 8)) else {
                break;
            };
            image.auxv.extend_from_slice(&key.to_le_bytes());
            image.auxv.extend_from_slice(&value.to_le_bytes());
            at += 16;
            if key == libc::AT_ENTRY {
                entry = Some(value);
            }
            if key == libc::AT_NULL {
                break;
            }
        }
        image.exe = entry.and_then(|e| {
            ev.regions.iter().find_map(|r| match &r.source {
                RegionSource::File { file, .. } if r.start <= e && e < r.end => {
                    Some(self.reader.file_path(file))
                }
                _ => None,
            })
        });
        image
    }
}
