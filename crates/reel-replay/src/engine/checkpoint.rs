//! Checkpoints: a frozen copy of each replayed process, made by injecting a
//! fork at an event boundary, with the engine's bookkeeping beside it.
//! Restoring forks each copy again, so a checkpoint can be used many times.
//!
//! A fork copies one thread: the other threads of a process are saved as
//! their registers (fs_base included), extended state, signal mask,
//! alternate signal stack and robust futex list, and recreated at restore
//! by clones injected into the new copy, each given what its thread had;
//! the recorded tids then name the new tasks. A fork keeps no robust list,
//! so the thawed thread gets its own back too.
//!
//! A fork shares MAP_SHARED memory with the process it copies, so the
//! frozen copy's shared pages go on changing: their contents are copied
//! at checkpoint time and written back at restore (anonymous shared
//! memory from the process's memory, the replay's copies of files mapped
//! shared as whole files). A shared mapping that is not writable cannot be
//! written back: such a process is not checkpointed.

use super::{Engine, Image, Task};
use crate::Result;
use reel_sys::{Memory, Regs, StopReason, Stopped, TaskSet, SCRATCH_PAGE};
use reel_trace::{ExitKind, Record, Tid, TraceReader};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// `stack_t`'s size (read and written at reel's scratch page).
const STACK_T: usize = 24;
/// `ss_flags` bits: no alternate stack; on it now (reported, not settable).
const SS_ONSTACK: u32 = 1;
const SS_DISABLE: u32 = 2;

/// Per-thread kernel state a new thread (or a fork) does not inherit.
#[derive(Clone, Copy)]
struct Extras {
    /// The `stack_t` of `sigaltstack`.
    altstack: [u8; STACK_T],
    /// The robust futex list's head and length (0: none).
    robust: (u64, u64),
}

impl Extras {
    /// Reads them from `st` by injected `sigaltstack` and `get_robust_list`.
    fn read(st: Stopped, tasks: &mut TaskSet, mem: &Memory) -> Result<(Stopped, Extras)> {
        let nr = libc::SYS_sigaltstack as u64;
        let (st, r) = reel_sys::inject::syscall(st, tasks, nr, [0, SCRATCH_PAGE, 0, 0, 0, 0])?;
        let mut altstack = [0u8; STACK_T];
        if r == 0 {
            mem.read_into(&st, SCRATCH_PAGE, &mut altstack)?;
        } else {
            altstack[8..12].copy_from_slice(&SS_DISABLE.to_le_bytes());
        }
        let (st, robust) = super::robust::robust_list(st, tasks, mem)?;
        Ok((st, Extras { altstack, robust }))
    }

    /// Gives them to `st`: the robust list always, the alternate stack
    /// when `altstack` (a fork keeps the forking thread's).
    fn write(
        &self,
        mut st: Stopped,
        tasks: &mut TaskSet,
        mem: &Memory,
        altstack: bool,
    ) -> Result<Stopped> {
        if self.robust.0 != 0 {
            let nr = libc::SYS_set_robust_list as u64;
            let args = [self.robust.0, self.robust.1, 0, 0, 0, 0];
            st = reel_sys::inject::syscall(st, tasks, nr, args)?.0;
        }
        let mut ss = self.altstack;
        let flags = u32::from_le_bytes(ss[8..12].try_into().expect("4 bytes"));
        if altstack && flags & SS_DISABLE == 0 {
            ss[8..12].copy_from_slice(&(flags & !SS_ONSTACK).to_le_bytes());
            mem.write(&mut st, SCRATCH_PAGE, &ss)?;
            let nr = libc::SYS_sigaltstack as u64;
            st = reel_sys::inject::syscall(st, tasks, nr, [SCRATCH_PAGE, 0, 0, 0, 0, 0])?.0;
        }
        Ok(st)
    }
}

/// A thread of a checkpoint, as it was.
struct Thread {
    tid: Tid,
    regs: Regs,
    reason: StopReason,
    /// Extended register state and blocked signals: a fork copies the
    /// forking thread's, the others' are set again at restore.
    xstate: Vec<u8>,
    mask: u64,
    extras: Extras,
    task: Task,
}

/// One process of a checkpoint: the frozen copy of the thread that forked
/// it, and the other threads.
struct Frozen {
    frozen: Option<Stopped>,
    main: Thread,
    others: Vec<Thread>,
    /// Its writable anonymous shared mappings' contents, by address.
    shared: Vec<(u64, Vec<u8>)>,
}

/// The replay as it was right after an event, ready to be gone back to.
pub struct Checkpoint {
    event: u64,
    procs: Vec<Frozen>,
    reader: TraceReader,
    pending: Option<Record>,
    brks: HashMap<Tid, u64>,
    stack_ends: HashMap<Tid, u64>,
    images: HashMap<Tid, Image>,
    snapshots: HashMap<String, std::path::PathBuf>,
    /// The replay's copies of files mapped shared, and their contents.
    shared_files: HashMap<String, PathBuf>,
    shared_contents: Vec<(PathBuf, Vec<u8>)>,
    root: Option<Tid>,
    root_exit: Option<ExitKind>,
    last_tid: Option<Tid>,
    /// The `pause` instructions patched in its memory.
    patches: HashMap<Tid, HashSet<u64>>,
}

impl Checkpoint {
    /// The last event replayed at the checkpoint.
    pub fn event(&self) -> u64 {
        self.event
    }

    /// What its frozen copies' memory costs (summed over them).
    pub fn memory_use(&self) -> reel_sys::proc::MemoryUse {
        let mut sum = reel_sys::proc::MemoryUse::default();
        for f in self.procs.iter().filter_map(|p| p.frozen.as_ref()) {
            if let Ok(m) = reel_sys::proc::memory_use(f.tid()) {
                sum.rss += m.rss;
                sum.pss += m.pss;
                sum.private_dirty += m.private_dirty;
            }
        }
        sum
    }

    /// How many threads it holds, in all its processes.
    pub fn threads(&self) -> usize {
        self.procs.iter().map(|p| 1 + p.others.len()).sum()
    }

    /// How many processes it holds a frozen copy of.
    pub fn processes(&self) -> usize {
        self.procs.len()
    }

    /// The bytes of shared memory (anonymous, and files mapped shared) it
    /// holds a copy of.
    pub fn shared_bytes(&self) -> u64 {
        let anon = self.procs.iter().flat_map(|p| &p.shared);
        let files = self.shared_contents.iter();
        let n: usize =
            anon.map(|(_, b)| b.len()).sum::<usize>() + files.map(|(_, b)| b.len()).sum::<usize>();
        n as u64
    }
}

impl Drop for Checkpoint {
    fn drop(&mut self) {
        for p in &mut self.procs {
            if let Some(f) = p.frozen.take() {
                reel_sys::inject::discard(f);
            }
        }
    }
}

impl Task {
    /// The bookkeeping of a task, without its ptrace handle.
    fn copy_state(&self) -> Task {
        Task {
            real: 0,
            stopped: None,
            fresh: self.fresh,
            pending_signal: self.pending_signal,
            pid: self.pid,
            exiting: self.exiting,
            gone: self.gone,
            initial: self.initial,
            hw_generation: u64::MAX,
            settid: self.settid,
            injected: self.injected,
            vfork_wait: None,
            shares_memory: self.shares_memory,
            dying: self.dying,
            temp_mask: self.temp_mask,
            pause_hits: self.pause_hits,
            yield_at: self.yield_at,
            clear_tid: self.clear_tid,
        }
    }
}

impl Engine {
    /// Takes a checkpoint here, or `None` where this replay cannot be
    /// checkpointed (between events, a task running, read-only MAP_SHARED
    /// memory...).
    pub fn checkpoint(&mut self) -> Result<Option<Checkpoint>> {
        if self.mid_interval || !self.tasks.is_empty() {
            return Ok(None);
        }
        if self.by_tid.is_empty() {
            return Ok(None);
        }
        // Threads by process, the recorded main thread (tid = pid) first.
        let mut by_pid: HashMap<Tid, Vec<Tid>> = HashMap::new();
        for (&tid, t) in &self.by_tid {
            let plain = t.gone.is_none()
                && t.stopped.is_some()
                && !t.initial
                && !t.exiting
                && !t.dying
                && !t.shares_memory
                && t.vfork_wait.is_none()
                && t.pending_signal.is_none()
                && t.injected.is_none()
                && t.settid.is_none();
            if !plain {
                return Ok(None);
            }
            by_pid.entry(t.pid).or_default().push(tid);
        }
        let copies: HashSet<String> = self
            .shared_files
            .values()
            .map(|p| p.display().to_string())
            .collect();
        // The anonymous shared mappings to copy, by process.
        let mut anon: HashMap<Tid, Vec<(u64, u64)>> = HashMap::new();
        for (pid, tids) in by_pid.iter_mut() {
            tids.sort_unstable_by_key(|&t| (t != *pid, t));
            let real = self.by_tid[&tids[0]].real;
            let Ok(maps) = reel_sys::proc::maps(real) else {
                return Ok(None);
            };
            for m in maps.iter().filter(|m| m.shared) {
                // The replay's own file copies are saved whole below.
                if copies.contains(&m.name) {
                    continue;
                }
                if !m.write {
                    return Ok(None);
                }
                anon.entry(*pid).or_default().push((m.start, m.end));
            }
            if !self.memories.contains_key(pid) {
                return Ok(None);
            }
        }
        let mut shared_contents = Vec::new();
        for path in self.shared_files.values() {
            match std::fs::read(path) {
                Ok(bytes) => shared_contents.push((path.clone(), bytes)),
                Err(_) => return Ok(None),
            }
        }
        if self.memories.len() != by_pid.len() {
            return Ok(None);
        }
        let reader = self.reader.try_clone()?;
        let mut pids: Vec<Tid> = by_pid.keys().copied().collect();
        pids.sort_unstable();
        let mut procs = Vec::new();
        for pid in pids {
            let tids = &by_pid[&pid];
            let mut threads = Vec::new();
            for &tid in tids {
                let st = self.task(tid)?.stopped.take().expect("checked above");
                let mem = &self.memories[&pid];
                let (st, extras) = Extras::read(st, &mut self.tasks, mem)?;
                let t = self.task(tid)?;
                t.stopped = Some(st);
                let task = t.copy_state();
                let st = t.stopped.as_ref().expect("put back above");
                threads.push(Thread {
                    tid,
                    regs: st.regs()?,
                    reason: st.reason(),
                    xstate: st.xstate()?,
                    mask: st.sigmask()?,
                    extras,
                    task,
                });
            }
            let main = threads.remove(0);
            let mut shared = Vec::new();
            {
                let st = self.by_tid[&main.tid].stopped.as_ref().expect("checked");
                let mem = &self.memories[&pid];
                for &(start, end) in anon.get(&pid).into_iter().flatten() {
                    shared.push((start, mem.read(st, start, (end - start) as usize)?));
                }
            }
            let st = self.task(main.tid)?.stopped.take().expect("checked above");
            let (st, frozen) = reel_sys::inject::fork(st, &mut self.tasks)?;
            self.task(main.tid)?.stopped = Some(st);
            procs.push(Frozen {
                frozen: Some(frozen),
                main,
                others: threads,
                shared,
            });
        }
        Ok(Some(Checkpoint {
            event: self.event,
            procs,
            reader,
            pending: self.pending.clone(),
            brks: self.brks.clone(),
            stack_ends: self.stack_ends.clone(),
            images: self.images.clone(),
            snapshots: self.snapshots.clone(),
            shared_files: self.shared_files.clone(),
            shared_contents,
            root: self.root,
            root_exit: self.root_exit,
            last_tid: self.last_tid,
            patches: self.patches.clone(),
        }))
    }

    /// Makes the replay what it was at `cp`: the current tasks are killed
    /// and a new copy of each of the checkpoint's processes takes their
    /// place, its other threads recreated, and shared memory gets its
    /// contents back (once the old tasks are dead: a dying task's robust
    /// list can still write to it). The debugger's points stay as they are.
    pub fn restore(&mut self, cp: &mut Checkpoint) -> Result<()> {
        self.kill_all();
        self.memories.clear();
        for (path, bytes) in &cp.shared_contents {
            let lost = |_| crate::ReplayError::Unsupported {
                event: cp.event,
                what: format!("cannot restore the shared file copy {}", path.display()),
            };
            use std::os::unix::fs::FileExt;
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(lost)?;
            f.write_all_at(bytes, 0).map_err(lost)?;
            f.set_len(bytes.len() as u64).map_err(lost)?;
        }
        for p in &mut cp.procs {
            let frozen = p.frozen.take().ok_or(crate::ReplayError::Unsupported {
                event: cp.event,
                what: "the checkpoint was lost".into(),
            })?;
            let (frozen, mut live) =
                reel_sys::inject::thaw(frozen, &mut self.tasks, &p.main.regs, p.main.reason)?;
            p.frozen = Some(frozen);
            if let Some(addr) = p.main.task.clear_tid {
                // A fork does not keep the word to clear at exit.
                let nr = libc::SYS_set_tid_address as u64;
                live =
                    reel_sys::inject::syscall(live, &mut self.tasks, nr, [addr, 0, 0, 0, 0, 0])?.0;
            }
            let mem = reel_sys::Memory::open(&live)?;
            for (addr, bytes) in &p.shared {
                mem.write(&mut live, *addr, bytes)?;
            }
            live = p.main.extras.write(live, &mut self.tasks, &mem, false)?;
            for th in &p.others {
                let (l, new) =
                    reel_sys::inject::clone_thread(live, &mut self.tasks, th.task.clear_tid)?;
                live = l;
                let mut new = th.extras.write(new, &mut self.tasks, &mem, true)?;
                new.set_regs(&th.regs)?;
                new.set_xstate(&th.xstate)?;
                new.set_sigmask(th.mask)?;
                new.set_reason(th.reason);
                let mut task = th.task.copy_state();
                task.real = new.tid();
                task.stopped = Some(new);
                self.by_tid.insert(th.tid, task);
            }
            self.memories.insert(p.main.task.pid, mem);
            let mut task = p.main.task.copy_state();
            task.real = live.tid();
            task.stopped = Some(live);
            self.by_tid.insert(p.main.tid, task);
        }
        self.reader = cp.reader.try_clone()?;
        self.pending = cp.pending.clone();
        self.brks = cp.brks.clone();
        self.stack_ends = cp.stack_ends.clone();
        self.images = cp.images.clone();
        self.snapshots = cp.snapshots.clone();
        self.shared_files = cp.shared_files.clone();
        self.root = cp.root;
        self.root_exit = cp.root_exit;
        self.last_tid = cp.last_tid;
        self.patches = cp.patches.clone();
        self.event = cp.event;
        self.mid_interval = false;
        Ok(())
    }
}
