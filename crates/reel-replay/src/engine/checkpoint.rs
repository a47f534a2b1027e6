//! Checkpoints: a frozen copy of each replayed process, made by injecting a
//! fork at an event boundary, with the engine's bookkeeping beside it.
//! Restoring forks each copy again, so a checkpoint can be used many times.
//!
//! A fork copies one thread: the other threads of a process are saved as
//! their registers (fs_base included), extended state and signal mask, and
//! recreated at restore by clones injected into the new copy, each given
//! what its thread had; the recorded tids then name the new tasks. A fork
//! shares MAP_SHARED memory, so a process with shared mappings is not
//! checkpointed: [`Engine::checkpoint`] declines and the caller re-runs
//! from the start of the trace.

use super::{Engine, Image, Task};
use crate::Result;
use reel_sys::{Regs, StopReason, Stopped};
use reel_trace::{ExitKind, Record, Tid, TraceReader};
use std::collections::{HashMap, HashSet};

/// A thread of a checkpoint, as it was.
struct Thread {
    tid: Tid,
    regs: Regs,
    reason: StopReason,
    /// Extended register state and blocked signals: a fork copies the
    /// forking thread's, the others' are set again at restore.
    xstate: Vec<u8>,
    mask: u64,
    task: Task,
}

/// One process of a checkpoint: the frozen copy of the thread that forked
/// it, and the other threads.
struct Frozen {
    frozen: Option<Stopped>,
    main: Thread,
    others: Vec<Thread>,
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
    /// checkpointed (between events, a task running, MAP_SHARED memory...).
    pub fn checkpoint(&mut self) -> Result<Option<Checkpoint>> {
        if self.mid_interval || !self.tasks.is_empty() || !self.shared_files.is_empty() {
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
        for (pid, tids) in by_pid.iter_mut() {
            tids.sort_unstable_by_key(|&t| (t != *pid, t));
            let real = self.by_tid[&tids[0]].real;
            match reel_sys::proc::maps(real) {
                Ok(maps) if !maps.iter().any(|m| m.shared) => {}
                _ => return Ok(None),
            }
            if !self.memories.contains_key(pid) {
                return Ok(None);
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
                let t = self.task(tid)?;
                let task = t.copy_state();
                let st = t.stopped.as_ref().expect("checked above");
                threads.push(Thread {
                    tid,
                    regs: st.regs()?,
                    reason: st.reason(),
                    xstate: st.xstate()?,
                    mask: st.sigmask()?,
                    task,
                });
            }
            let main = threads.remove(0);
            let st = self.task(main.tid)?.stopped.take().expect("checked above");
            let (st, frozen) = reel_sys::inject::fork(st, &mut self.tasks)?;
            self.task(main.tid)?.stopped = Some(st);
            procs.push(Frozen {
                frozen: Some(frozen),
                main,
                others: threads,
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
            root: self.root,
            root_exit: self.root_exit,
            last_tid: self.last_tid,
            patches: self.patches.clone(),
        }))
    }

    /// Makes the replay what it was at `cp`: the current tasks are killed
    /// and a new copy of each of the checkpoint's processes takes their
    /// place, its other threads recreated. The debugger's points stay as
    /// they are.
    pub fn restore(&mut self, cp: &mut Checkpoint) -> Result<()> {
        self.kill_all();
        self.memories.clear();
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
            self.memories
                .insert(p.main.task.pid, reel_sys::Memory::open(&live)?);
            for th in &p.others {
                let (l, mut new) =
                    reel_sys::inject::clone_thread(live, &mut self.tasks, th.task.clear_tid)?;
                live = l;
                new.set_regs(&th.regs)?;
                new.set_xstate(&th.xstate)?;
                new.set_sigmask(th.mask)?;
                new.set_reason(th.reason);
                let mut task = th.task.copy_state();
                task.real = new.tid();
                task.stopped = Some(new);
                self.by_tid.insert(th.tid, task);
            }
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
        self.root = cp.root;
        self.root_exit = cp.root_exit;
        self.last_tid = cp.last_tid;
        self.patches = cp.patches.clone();
        self.event = cp.event;
        self.mid_interval = false;
        Ok(())
    }
}
