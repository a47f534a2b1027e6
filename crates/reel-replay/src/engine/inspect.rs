//! Reading the replayed state at a stop: tasks, registers, memory. Nothing
//! here changes what the replay does next.

use super::{Engine, Image};
use crate::{ReplayError, Result};
use reel_sys::{Regs, Stopped};
use reel_trace::Tid;

impl Engine {
    /// The recorded tids of the tasks that can be inspected now (alive and
    /// stopped), in order.
    pub fn threads(&self) -> Vec<Tid> {
        let mut v: Vec<Tid> = self
            .by_tid
            .iter()
            .filter(|(_, t)| t.gone.is_none() && t.stopped.is_some())
            .map(|(&tid, _)| tid)
            .collect();
        v.sort_unstable();
        v
    }

    /// The program image of `tid`'s process (None before its exec).
    pub fn image(&self, tid: Tid) -> Option<&Image> {
        self.images.get(&self.by_tid.get(&tid)?.pid)
    }

    /// The trace's snapshot of the file mapped from `path` when recorded
    /// (the last one, if the path was mapped several times).
    pub fn snapshot_of(&self, path: &str) -> Option<&std::path::Path> {
        self.snapshots.get(path).map(|p| p.as_path())
    }

    /// The recorded pid of `tid`'s process.
    pub fn process_of(&self, tid: Tid) -> Option<Tid> {
        self.by_tid.get(&tid).map(|t| t.pid)
    }

    /// A task in the engine's hands, stopped.
    fn stopped_ref(&self, tid: Tid) -> Result<&Stopped> {
        self.by_tid
            .get(&tid)
            .and_then(|t| t.stopped.as_ref())
            .ok_or(ReplayError::Unsupported {
                event: self.event,
                what: format!("task {tid} is not stopped"),
            })
    }

    /// The general registers of a stopped task.
    pub fn regs(&self, tid: Tid) -> Result<Regs> {
        Ok(self.stopped_ref(tid)?.regs()?)
    }

    /// The extended register state (XSAVE layout) of a stopped task.
    pub fn xstate(&self, tid: Tid) -> Result<Vec<u8>> {
        Ok(self.stopped_ref(tid)?.xstate()?)
    }

    /// Up to `len` bytes of `tid`'s memory at `addr`: fewer where the range
    /// runs into unmapped memory. No breakpoint is ever in memory at a stop.
    pub fn read_memory(&self, tid: Tid, addr: u64, len: usize) -> Result<Vec<u8>> {
        let st = self.stopped_ref(tid)?;
        Ok(self.mem(tid)?.read_partial(st, addr, len))
    }
}
