//! The engine's control surface: [`Engine::step`] replays events until one
//! of the stops the caller's [`Constraints`] ask for, and the debugger's
//! breakpoints and watchpoints are kept here.
//!
//! Breakpoints are written into a process only while one of its tasks runs
//! its own code towards its next event ([`Engine::reach`]) and taken out
//! right after: memory read at a stop never shows them, and the event
//! handlers (exec, fork, checksums) never meet them.

use super::{Drive, Engine, Next};
use crate::Result;
use reel_sys::debugreg::{HwKind, HwSlot, SLOTS};
use reel_sys::Stopped;
use reel_trace::{Event, ExitKind, SignalDelivery, Tid};
use std::collections::BTreeSet;

/// What a watchpoint traps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKind {
    /// Writes.
    Write,
    /// Reads (the hardware also traps writes).
    Read,
    /// Reads and writes.
    Access,
}

/// What [`Engine::step`] may stop for, besides the end of the trace.
#[derive(Debug, Clone, Default)]
pub struct Constraints {
    /// Execute one instruction of this task, then stop.
    pub step: Option<Tid>,
    /// Stop once this event has been replayed.
    pub until_event: Option<u64>,
    /// Stop when a recorded signal is delivered.
    pub signals: bool,
    /// Stop before the event that ends the last task, so that the tasks
    /// can still be looked at when the trace ends.
    pub hold_end: bool,
}

/// Why [`Engine::step`] returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A task reached one of the breakpoints.
    Breakpoint {
        /// The task.
        tid: Tid,
        /// The breakpoint's address (the task's instruction pointer).
        addr: u64,
    },
    /// A watched range was accessed, by the program or by a recorded
    /// syscall's memory writes.
    Watch {
        /// The task.
        tid: Tid,
        /// The watchpoint's address.
        addr: u64,
        /// What it watches.
        kind: WatchKind,
    },
    /// The task asked for executed one instruction.
    Stepped {
        /// The task.
        tid: Tid,
    },
    /// A recorded signal is about to be delivered.
    Signal {
        /// The task.
        tid: Tid,
        /// The signal.
        signo: i32,
    },
    /// A task the caller stepped, or the initial process, ended.
    Exited {
        /// The task.
        tid: Tid,
        /// How.
        kind: ExitKind,
    },
    /// The event of [`Constraints::until_event`] has been replayed.
    Event {
        /// The last event replayed.
        number: u64,
    },
    /// No event is left (or only the one ending the last task, with
    /// [`Constraints::hold_end`]).
    TraceEnd,
    /// Going backwards reached the start of the replay.
    TraceStart,
}

/// Why a task running towards its event was stopped first.
#[derive(Debug, Clone, Copy)]
pub(super) enum Pause {
    Breakpoint(u64),
    Watch(u64, WatchKind),
    Stepped,
}

/// A watched range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Watch {
    addr: u64,
    len: u64,
    kind: WatchKind,
}

/// The debugger's breakpoints and watchpoints.
#[derive(Debug, Default)]
pub(super) struct DebugPoints {
    breakpoints: BTreeSet<u64>,
    watches: Vec<Watch>,
    /// Bumped when the watches change; tasks re-arm their debug registers.
    pub(super) generation: u64,
}

/// Splits `[addr, addr+len)` into ranges the hardware can watch in one slot.
fn hw_pieces(addr: u64, len: u64) -> Vec<(u64, u8)> {
    let mut out = Vec::new();
    let (mut at, end) = (addr, addr.saturating_add(len));
    while at < end {
        let size = [8u64, 4, 2, 1]
            .into_iter()
            .find(|s| at.is_multiple_of(*s) && at + s <= end)
            .unwrap_or(1);
        out.push((at, size as u8));
        at += size;
    }
    out
}

impl DebugPoints {
    /// The debug-register slots for the watches, with each slot's watch.
    fn slots(&self) -> ([Option<HwSlot>; SLOTS], [Option<usize>; SLOTS]) {
        let mut slots = [None; SLOTS];
        let mut owner = [None; SLOTS];
        let mut n = 0;
        for (i, w) in self.watches.iter().enumerate() {
            for (addr, len) in hw_pieces(w.addr, w.len) {
                let kind = match w.kind {
                    WatchKind::Write => HwKind::Write,
                    WatchKind::Read | WatchKind::Access => HwKind::ReadWrite,
                };
                if n < SLOTS {
                    slots[n] = Some(HwSlot { addr, len, kind });
                    owner[n] = Some(i);
                }
                n += 1;
            }
        }
        (slots, owner)
    }

    fn slots_needed(&self) -> usize {
        self.watches
            .iter()
            .map(|w| hw_pieces(w.addr, w.len).len())
            .sum()
    }

    /// The first watch (of a kind that traps writes) that one of `writes`
    /// (address, length) touches.
    fn written(&self, writes: &[(u64, u64)]) -> Option<Watch> {
        self.watches.iter().copied().find(|w| {
            w.kind != WatchKind::Read
                && writes
                    .iter()
                    .any(|&(a, l)| a < w.addr + w.len && w.addr < a + l)
        })
    }
}

/// The task whose own code runs to reach `ev`'s stop, if any: the handlers
/// of these events start by advancing that task, nothing else.
fn runs_code(ev: &Event, first_exec: bool) -> Option<Tid> {
    match ev {
        Event::Exec(e) if !first_exec => Some(e.old_tid),
        Event::Syscall(e) => Some(e.tid),
        Event::SyscallEntry { tid, .. } | Event::Tsc { tid, .. } => Some(*tid),
        Event::Filtered { tid, .. } => Some(*tid),
        Event::Signal(s)
            if matches!(
                s.delivery,
                SignalDelivery::Synchronous | SignalDelivery::BeforeSyscall
            ) =>
        {
            Some(s.tid)
        }
        _ => None,
    }
}

/// What [`Engine::reach`] did.
enum Reach {
    /// The task was not run (its event's handler deals with it).
    Skipped,
    /// The task is at its event's stop (or ended).
    Reached,
    /// The debugger's stop came first.
    Paused(Stop),
}

impl Engine {
    /// Replays events until one of the stops `c` asks for, or the end of
    /// the trace. A divergence is an error; the engine must not be stepped
    /// after one.
    pub fn step(&mut self, c: &Constraints) -> Result<Stop> {
        loop {
            if let Some(n) = c.until_event {
                if self.event >= n {
                    return Ok(Stop::Event { number: self.event });
                }
            }
            if self.pending.is_none() {
                self.pending = self.reader.next()?;
            }
            let Some(rec) = &self.pending else {
                return Ok(Stop::TraceEnd);
            };
            if c.hold_end && self.ends_last_task(&rec.event) {
                return Ok(Stop::TraceEnd);
            }
            let mut stepped = false;
            if let Some(tid) = runs_code(&rec.event, self.by_tid.is_empty()) {
                match self.reach(tid, c)? {
                    Reach::Paused(stop) => return Ok(stop),
                    Reach::Reached => stepped = c.step == Some(tid),
                    Reach::Skipped => {}
                }
            }
            let rec = self.pending.take().expect("peeked above");
            let tid = rec.event.tid();
            let writes: Vec<(u64, u64)> = match &rec.event {
                Event::Syscall(ev) if !self.debug.watches.is_empty() => {
                    ev.writes.iter().map(|w| (w.addr, w.len)).collect()
                }
                _ => Vec::new(),
            };
            let signal = match &rec.event {
                Event::Signal(s) => Some(s.signo),
                _ => None,
            };
            let exit = match &rec.event {
                Event::Exit { kind, .. } => Some(*kind),
                _ => None,
            };
            self.event = rec.number;
            self.last_tid = Some(tid);
            self.mid_interval = false;
            // Without a debugger's points, buffered calls go in batches.
            let free = c.step.is_none()
                && self.debug.breakpoints.is_empty()
                && self.debug.watches.is_empty();
            let rec = if free {
                self.fast_batch(rec, c.until_event)?
            } else {
                Some(rec)
            };
            if let Some(rec) = rec {
                self.on_event(rec)?;
            }
            // Yield points are counted from the thread's previous event.
            if let Some(t) = self.by_tid.get_mut(&tid) {
                t.pause_hits = 0;
            }
            if let Some(w) = self.debug.written(&writes) {
                return Ok(Stop::Watch {
                    tid,
                    addr: w.addr,
                    kind: w.kind,
                });
            }
            if let (true, Some(signo)) = (c.signals, signal) {
                return Ok(Stop::Signal { tid, signo });
            }
            if stepped {
                return Ok(Stop::Stepped { tid });
            }
            if let Some(kind) = exit {
                if Some(tid) == self.root || Some(tid) == c.step {
                    return Ok(Stop::Exited { tid, kind });
                }
            }
        }
    }

    /// The number of the last event replayed (0 before the first).
    pub fn event(&self) -> u64 {
        self.event
    }

    /// The task of the last event replayed.
    pub fn current_tid(&self) -> Option<Tid> {
        self.last_tid
    }

    /// Whether the replay stands right after an event, no task having run
    /// any of its own code since.
    pub fn at_boundary(&self) -> bool {
        !self.mid_interval
    }

    /// Whether the program's writes to reel's stdout/stderr are reproduced
    /// from now on.
    pub fn set_echo(&mut self, echo: bool) {
        self.opts.echo = echo;
    }

    /// Replaces every breakpoint and watchpoint; false (and none set) when
    /// the watchpoints do not fit in the debug registers.
    pub fn set_debug_points(
        &mut self,
        breakpoints: &[u64],
        watches: &[(u64, u64, WatchKind)],
    ) -> bool {
        self.debug.breakpoints = breakpoints.iter().copied().collect();
        self.debug.watches.clear();
        self.debug.generation += 1;
        watches.iter().all(|&(a, l, k)| self.insert_watch(a, l, k))
    }

    /// Adds a software breakpoint at `addr` (in every process).
    pub fn insert_breakpoint(&mut self, addr: u64) {
        self.debug.breakpoints.insert(addr);
    }

    /// Removes the breakpoint at `addr`; false if there was none.
    pub fn remove_breakpoint(&mut self, addr: u64) -> bool {
        self.debug.breakpoints.remove(&addr)
    }

    /// Adds a hardware watchpoint on `len` bytes at `addr`; false when the
    /// debug registers cannot hold it as well as the others.
    pub fn insert_watch(&mut self, addr: u64, len: u64, kind: WatchKind) -> bool {
        let w = Watch { addr, len, kind };
        if len == 0 || self.debug.slots_needed() + hw_pieces(addr, len).len() > SLOTS {
            return false;
        }
        self.debug.watches.push(w);
        self.debug.generation += 1;
        true
    }

    /// Removes a watchpoint added with the same arguments.
    pub fn remove_watch(&mut self, addr: u64, len: u64, kind: WatchKind) -> bool {
        let w = Watch { addr, len, kind };
        let Some(i) = self.debug.watches.iter().position(|x| *x == w) else {
            return false;
        };
        self.debug.watches.remove(i);
        self.debug.generation += 1;
        true
    }

    /// Whether `ev` ends the last task still alive.
    fn ends_last_task(&self, ev: &Event) -> bool {
        match ev {
            Event::Exit { tid, kind } if *kind != ExitKind::EndedByExec => self
                .by_tid
                .iter()
                .all(|(o, t)| o == tid || t.gone.is_some()),
            _ => false,
        }
    }

    /// Runs `tid` to the stop its next event expects, unless the debugger's
    /// constraints stop it first.
    fn reach(&mut self, tid: Tid, c: &Constraints) -> Result<Reach> {
        let Some(t) = self.by_tid.get(&tid) else {
            return Ok(Reach::Skipped);
        };
        let plain = t.gone.is_some()
            || t.fresh
            || t.dying
            || t.exiting
            || t.initial
            || t.vfork_wait.is_some()
            || t.stopped.is_none();
        if plain {
            return Ok(Reach::Skipped);
        }
        self.arm_watches(tid)?;
        if c.step == Some(tid) {
            return self.drive(tid, Drive::Step);
        }
        if self.debug.breakpoints.is_empty() && self.debug.watches.is_empty() {
            return self.drive(tid, Drive::Event);
        }
        // A task sitting on a breakpoint first executes that instruction
        // without it.
        let ip = self.stopped(tid)?.regs()?.ip();
        if self.debug.breakpoints.contains(&ip) {
            match self.drive(tid, Drive::Step)? {
                Reach::Paused(Stop::Stepped { .. }) => {}
                other => return Ok(other),
            }
        }
        let inserted = self.insert_breakpoints(tid)?;
        let res = self.drive(tid, Drive::Watched);
        self.remove_breakpoints(tid, &inserted)?;
        res
    }

    fn drive(&mut self, tid: Tid, drive: Drive) -> Result<Reach> {
        match self.advance_with(tid, drive)? {
            Next::Stop(st) => {
                let t = self.task(tid)?;
                t.stopped = Some(st);
                t.fresh = true;
                Ok(Reach::Reached)
            }
            Next::Gone(_) => Ok(Reach::Reached),
            Next::Paused(st, why) => {
                self.park(tid, st)?;
                self.mid_interval = true;
                Ok(Reach::Paused(match why {
                    Pause::Breakpoint(addr) => Stop::Breakpoint { tid, addr },
                    Pause::Watch(addr, kind) => Stop::Watch { tid, addr, kind },
                    Pause::Stepped => Stop::Stepped { tid },
                }))
            }
        }
    }

    /// Takes the stopped task `tid` out of the engine's hands (to run or
    /// change it; it goes back with `park`).
    pub(super) fn take_stopped(&mut self, tid: Tid) -> Result<Stopped> {
        let event = self.event;
        self.task(tid)?
            .stopped
            .take()
            .ok_or(crate::ReplayError::Unsupported {
                event,
                what: format!("task {tid} is not stopped"),
            })
    }

    /// The stopped task `tid`, which must be in the engine's hands.
    pub(super) fn stopped(&mut self, tid: Tid) -> Result<&mut Stopped> {
        let event = self.event;
        self.task(tid)?
            .stopped
            .as_mut()
            .ok_or(crate::ReplayError::Unsupported {
                event,
                what: format!("task {tid} is not stopped"),
            })
    }

    /// Writes the watches into the task's debug registers if they changed
    /// since it last ran.
    fn arm_watches(&mut self, tid: Tid) -> Result<()> {
        let generation = self.debug.generation;
        if self.task(tid)?.hw_generation == generation {
            return Ok(());
        }
        let (slots, _) = self.debug.slots();
        self.stopped(tid)?.set_hw_slots(&slots)?;
        self.task(tid)?.hw_generation = generation;
        Ok(())
    }

    /// Writes an int3 at each breakpoint mapped in `tid`'s process; returns
    /// the original bytes.
    fn insert_breakpoints(&mut self, tid: Tid) -> Result<Vec<(u64, u8)>> {
        let pid = self.task(tid)?.pid;
        let mut st = self.task(tid)?.stopped.take().expect("checked by reach");
        let mut saved = Vec::new();
        if let Some(mem) = self.memories.get(&pid) {
            for &addr in &self.debug.breakpoints {
                let Ok(orig) = mem.read(&st, addr, 1) else {
                    continue; // not mapped in this process (yet)
                };
                if mem.write(&mut st, addr, &[0xcc]).is_ok() {
                    saved.push((addr, orig[0]));
                }
            }
        }
        self.task(tid)?.stopped = Some(st);
        Ok(saved)
    }

    /// Puts back what [`Engine::insert_breakpoints`] replaced. The task may
    /// have ended meanwhile; its process's memory is then gone or held by
    /// another task.
    fn remove_breakpoints(&mut self, tid: Tid, saved: &[(u64, u8)]) -> Result<()> {
        if saved.is_empty() {
            return Ok(());
        }
        let pid = self.by_tid.get(&tid).map_or(tid, |t| t.pid);
        let holder = self
            .by_tid
            .iter()
            .filter(|(_, t)| t.pid == pid && t.stopped.is_some())
            .map(|(&o, _)| o)
            .next();
        let (Some(holder), Some(mem)) = (holder, self.memories.get(&pid)) else {
            return Ok(());
        };
        let st = self
            .by_tid
            .get_mut(&holder)
            .and_then(|t| t.stopped.as_mut())
            .expect("filtered above");
        for &(addr, orig) in saved {
            mem.write(st, addr, &[orig])?;
        }
        Ok(())
    }

    /// Whether the SIGTRAP `tid` stopped with is the debugger's, and why.
    pub(super) fn debug_trap(&mut self, st: &mut Stopped, drive: Drive) -> Result<Option<Pause>> {
        const SI_KERNEL: i32 = 0x80;
        let code = st.siginfo()?.si_code;
        if code == SI_KERNEL {
            // int3 leaves the instruction pointer after itself.
            let mut regs = st.regs()?;
            let at = regs.ip().wrapping_sub(1);
            if drive == Drive::Watched && self.debug.breakpoints.contains(&at) {
                regs.set_ip(at);
                st.set_regs(&regs)?;
                return Ok(Some(Pause::Breakpoint(at)));
            }
            return Ok(None);
        }
        let hits = st.take_hw_hits()?;
        if hits != 0 {
            let (_, owner) = self.debug.slots();
            let fired = (0..SLOTS).find(|n| hits & (1 << n) != 0);
            if let Some(w) = fired.and_then(|n| owner[n]).map(|i| self.debug.watches[i]) {
                return Ok(Some(Pause::Watch(w.addr, w.kind)));
            }
        }
        // A step that delivers a signal stops at the handler's first
        // instruction, not yet run, with the kernel's own notification.
        const INTO_HANDLER: i32 = libc::SIGTRAP;
        if drive == Drive::Step && (code == libc::TRAP_TRACE || code == INTO_HANDLER) {
            return Ok(Some(Pause::Stepped));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::hw_pieces;

    #[test]
    fn ranges_split_into_aligned_pieces() {
        assert_eq!(hw_pieces(0x1000, 8), vec![(0x1000, 8)]);
        assert_eq!(hw_pieces(0x1004, 4), vec![(0x1004, 4)]);
        assert_eq!(hw_pieces(0x1006, 6), vec![(0x1006, 2), (0x1008, 4)]);
        assert_eq!(hw_pieces(0x1001, 3), vec![(0x1001, 1), (0x1002, 2)]);
    }
}
