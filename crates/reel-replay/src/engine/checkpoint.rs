//! Checkpoints: a frozen copy of the replayed process, made by injecting a
//! fork at an event boundary, with the engine's bookkeeping beside it.
//! Restoring forks the copy again, so a checkpoint can be used many times.
//!
//! A tree of several processes has one frozen copy per process. A fork
//! copies one thread and shares MAP_SHARED memory, so only trees of
//! single-threaded processes without shared mappings are checkpointed;
//! elsewhere [`Engine::checkpoint`] declines and the caller re-runs from the
//! start of the trace.

use super::{Engine, Image, Task};
use crate::Result;
use reel_sys::{Regs, StopReason, Stopped};
use reel_trace::{ExitKind, Record, Tid, TraceReader};
use std::collections::{HashMap, HashSet};

/// One process of a checkpoint: its frozen copy and its task as it was.
struct Frozen {
    tid: Tid,
    frozen: Option<Stopped>,
    regs: Regs,
    reason: StopReason,
    task: Task,
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
        }
    }
}

impl Engine {
    /// Takes a checkpoint here, or `None` where this replay cannot be
    /// checkpointed (between events, threads, MAP_SHARED memory...).
    pub fn checkpoint(&mut self) -> Result<Option<Checkpoint>> {
        if self.mid_interval || !self.tasks.is_empty() || !self.shared_files.is_empty() {
            return Ok(None);
        }
        if self.by_tid.is_empty() {
            return Ok(None);
        }
        let mut pids = HashSet::new();
        for t in self.by_tid.values() {
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
            // One task per process: a fork would copy only one thread.
            if !plain || !pids.insert(t.pid) {
                return Ok(None);
            }
            match reel_sys::proc::maps(t.real) {
                Ok(maps) if !maps.iter().any(|m| m.shared) => {}
                _ => return Ok(None),
            }
        }
        if self.memories.len() != pids.len() || !pids.iter().all(|p| self.memories.contains_key(p))
        {
            return Ok(None);
        }
        let reader = self.reader.try_clone()?;
        let mut tids: Vec<Tid> = self.by_tid.keys().copied().collect();
        tids.sort_unstable();
        let mut procs = Vec::new();
        for tid in tids {
            let task = self.task(tid)?.copy_state();
            let st = self.task(tid)?.stopped.take().expect("checked above");
            let regs = st.regs()?;
            let reason = st.reason();
            let (st, frozen) = reel_sys::inject::fork(st, &mut self.tasks)?;
            self.task(tid)?.stopped = Some(st);
            procs.push(Frozen {
                tid,
                frozen: Some(frozen),
                regs,
                reason,
                task,
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
    /// place. The debugger's points stay as they are.
    pub fn restore(&mut self, cp: &mut Checkpoint) -> Result<()> {
        self.kill_all();
        self.memories.clear();
        for p in &mut cp.procs {
            let frozen = p.frozen.take().ok_or(crate::ReplayError::Unsupported {
                event: cp.event,
                what: "the checkpoint was lost".into(),
            })?;
            let (frozen, live) =
                reel_sys::inject::thaw(frozen, &mut self.tasks, &p.regs, p.reason)?;
            p.frozen = Some(frozen);
            self.memories
                .insert(p.task.pid, reel_sys::Memory::open(&live)?);
            let mut task = p.task.copy_state();
            task.real = live.tid();
            task.stopped = Some(live);
            self.by_tid.insert(p.tid, task);
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
