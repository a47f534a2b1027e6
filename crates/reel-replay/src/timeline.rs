//! The timeline: positions in a replay, and going backwards by replaying
//! forwards to an earlier one.
//!
//! A [`Mark`] is an event boundary (the replay right after event N) plus
//! the moves made since: continues with a given set of breakpoints and
//! watchpoints until their k-th stop, and single-steps of one task. Replay
//! is deterministic, so replaying the same moves from the same boundary
//! reaches the same state: that is how a mark is sought. Moves never cross
//! an event: a move that does starts a new mark at the boundary it crossed.
//!
//! Going back re-runs the trace from the nearest checkpoint at or before
//! the target's event ([`crate::engine::Checkpoint`], taken every
//! [`CHECKPOINT_EVERY`] events as replay goes, at most [`MAX_CHECKPOINTS`],
//! denser near the newest; a continue pauses at the boundaries where one is
//! due), or from the start of the trace where the replay cannot be
//! checkpointed. reverse-continue searches window by window backwards,
//! each from a checkpoint to where the one after it began, so its cost is
//! the distance to the stop it finds, not the length of the trace.

use crate::engine::{Checkpoint, Constraints, Engine, ReplayOptions, Stop, WatchKind};
use crate::{ReplayError, Result};
use reel_trace::{Tid, TraceReader};
use std::path::PathBuf;

/// Events between two checkpoints taken as replay goes.
pub const CHECKPOINT_EVERY: u64 = 100;
/// The most checkpoints kept.
pub const MAX_CHECKPOINTS: usize = 24;

/// A set of breakpoints and watchpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Points {
    /// Breakpoint addresses.
    pub breakpoints: Vec<u64>,
    /// Watched ranges: address, length, kind.
    pub watches: Vec<(u64, u64, WatchKind)>,
}

impl Points {
    fn union(&self, other: &Points) -> Points {
        let mut u = self.clone();
        for b in &other.breakpoints {
            if !u.breakpoints.contains(b) {
                u.breakpoints.push(*b);
            }
        }
        for w in &other.watches {
            if !u.watches.contains(w) {
                u.watches.push(*w);
            }
        }
        u
    }

    /// Whether `stop` is one of these points'.
    fn caused(&self, stop: &Stop) -> bool {
        match stop {
            Stop::Breakpoint { addr, .. } => self.breakpoints.contains(addr),
            Stop::Watch { addr, kind, .. } => {
                self.watches.iter().any(|w| w.0 == *addr && w.2 == *kind)
            }
            _ => false,
        }
    }
}

/// One move from a position.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Move {
    /// Continue with these points until their `stops`-th stop.
    Continue { points: Points, stops: u64 },
    /// Execute `count` instructions of `tid`.
    Step { tid: Tid, count: u64 },
}

/// A position in the replay (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    event: u64,
    moves: Vec<Move>,
}

impl Mark {
    /// The position right after event `event` has been replayed.
    pub fn boundary(event: u64) -> Mark {
        Mark {
            event,
            moves: Vec::new(),
        }
    }

    /// The last event replayed at this position.
    pub fn event(&self) -> u64 {
        self.event
    }

    fn push(&mut self, m: Move) {
        match (self.moves.last_mut(), &m) {
            (
                Some(Move::Continue { points, stops }),
                Move::Continue {
                    points: p,
                    stops: n,
                },
            ) if points == p => *stops += n,
            (Some(Move::Step { tid, count }), Move::Step { tid: t, count: n }) if tid == t => {
                *count += n
            }
            _ => self.moves.push(m),
        }
    }
}

/// A replay that can also go backwards.
pub struct Timeline {
    dir: PathBuf,
    opts: ReplayOptions,
    engine: Engine,
    user: Points,
    here: Mark,
    /// The first position (the start the session was opened at).
    start: u64,
    /// Checkpoints, by event.
    checkpoints: Vec<Checkpoint>,
    /// The event the last re-run started from (0: the start of the trace).
    seek_origin: u64,
    /// What the last move backwards (or seek) replayed.
    rerun: Rerun,
}

/// What a move backwards (or a seek) replayed: the earliest event a re-run
/// started from and how many events were replayed in all (the cost that
/// must not grow with the length of the trace).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rerun {
    /// The earliest event a re-run started from (a checkpoint's, or 0).
    pub from: u64,
    /// Events replayed.
    pub events: u64,
    /// The most processes a checkpoint it started from holds (0: none used).
    pub processes: usize,
    /// The most threads such a checkpoint holds.
    pub threads: usize,
}

impl Timeline {
    /// Opens the trace in `dir` and replays it until event `start` has been
    /// replayed. Fails when the trace ends before.
    pub fn open(dir: PathBuf, opts: ReplayOptions, start: u64) -> Result<Timeline> {
        let engine = Engine::new(TraceReader::open(&dir)?, opts.clone())?;
        let mut t = Timeline {
            dir,
            opts,
            engine,
            user: Points::default(),
            here: Mark::boundary(start),
            start,
            checkpoints: Vec::new(),
            seek_origin: 0,
            rerun: Rerun::default(),
        };
        t.run_to(start, false)?;
        t.here = Mark::boundary(t.engine.event());
        Ok(t)
    }

    /// The engine at the current position (to read state).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The current position.
    pub fn here(&self) -> &Mark {
        &self.here
    }

    /// The user's breakpoints and watchpoints.
    pub fn points_mut(&mut self) -> &mut Points {
        &mut self.user
    }

    fn apply(&mut self, points: &Points) -> Result<()> {
        if self
            .engine
            .set_debug_points(&points.breakpoints, &points.watches)
        {
            Ok(())
        } else {
            Err(ReplayError::Unsupported {
                event: self.engine.event(),
                what: "the watchpoints do not fit in the 4 debug registers".into(),
            })
        }
    }

    /// Runs forwards as `c` says (with the user's points), keeping track of
    /// the position.
    pub fn resume(&mut self, c: &Constraints) -> Result<Stop> {
        let user = self.user.clone();
        self.apply(&user)?;
        let before = self.engine.event();
        let stop = loop {
            // A continue pauses at the boundaries where checkpoints are due
            // (the engine stands there as if it had not stopped), so that
            // going back from where it stops starts close behind.
            let now = self.engine.event();
            let due = (now / CHECKPOINT_EVERY + 1) * CHECKPOINT_EVERY;
            if c.step.is_some() || c.until_event.is_some_and(|u| u <= due) {
                break self.engine.step(c)?;
            }
            let part = Constraints {
                until_event: Some(due),
                ..c.clone()
            };
            match self.engine.step(&part)? {
                Stop::Event { number } if number == due => self.maybe_checkpoint()?,
                other => break other,
            }
        };
        let now = self.engine.event();
        if self.engine.at_boundary() {
            self.here = Mark::boundary(now);
            self.maybe_checkpoint()?;
        } else {
            if now != before {
                self.here = Mark::boundary(now);
            }
            self.here.push(match c.step {
                Some(tid) => Move::Step { tid, count: 1 },
                None => Move::Continue {
                    points: user,
                    stops: 1,
                },
            });
        }
        Ok(stop)
    }

    /// The event the last re-run (a seek, a step or continue backwards)
    /// started from: a checkpoint's, or 0 for the start of the trace.
    pub fn seek_origin(&self) -> u64 {
        self.seek_origin
    }

    /// What the last move backwards (or seek) replayed.
    pub fn last_rerun(&self) -> Rerun {
        self.rerun
    }

    /// Starts counting what a move backwards replays.
    fn begin_backward(&mut self) {
        self.rerun = Rerun {
            from: u64::MAX,
            events: 0,
            processes: 0,
            threads: 0,
        };
    }

    /// [`Engine::step`], counting the events it replays.
    fn step_counted(&mut self, c: &Constraints) -> Result<Stop> {
        let before = self.engine.event();
        let stop = self.engine.step(c);
        self.rerun.events += self.engine.event().saturating_sub(before);
        stop
    }

    /// What the checkpoints' frozen copies cost in memory, summed.
    pub fn checkpoint_memory(&self) -> reel_sys::proc::MemoryUse {
        let mut sum = reel_sys::proc::MemoryUse::default();
        for m in self.checkpoints.iter().map(Checkpoint::memory_use) {
            sum.rss += m.rss;
            sum.pss += m.pss;
            sum.private_dirty += m.private_dirty;
        }
        sum
    }

    /// The bytes of shared memory the checkpoints hold copies of.
    pub fn checkpoint_shared_bytes(&self) -> u64 {
        self.checkpoints.iter().map(Checkpoint::shared_bytes).sum()
    }

    /// The events of the checkpoints kept.
    pub fn checkpoint_events(&self) -> Vec<u64> {
        self.checkpoints.iter().map(|c| c.event()).collect()
    }

    /// Takes a checkpoint here if the last one is far enough behind and the
    /// replay can be checkpointed.
    fn maybe_checkpoint(&mut self) -> Result<()> {
        let ev = self.engine.event();
        let before = self.checkpoints.iter().rposition(|c| c.event() <= ev);
        if let Some(i) = before {
            if ev - self.checkpoints[i].event() < CHECKPOINT_EVERY {
                return Ok(());
            }
        }
        let Some(cp) = self.engine.checkpoint()? else {
            return Ok(());
        };
        let at = before.map_or(0, |i| i + 1);
        self.checkpoints.insert(at, cp);
        if self.checkpoints.len() > MAX_CHECKPOINTS {
            // Thin out where checkpoints are dense for their distance
            // from the newest: spacing grows going back.
            let evs = self.checkpoint_events();
            let newest = evs[at];
            let cost = |i: usize| {
                let gap = (evs[i + 1] - evs[i - 1]) as f64;
                gap / (newest.abs_diff(evs[i]) as f64 + CHECKPOINT_EVERY as f64)
            };
            let drop = (1..evs.len() - 1)
                .filter(|&i| i != at)
                .min_by(|&a, &b| cost(a).total_cmp(&cost(b)));
            if let Some(i) = drop {
                self.checkpoints.remove(i);
            }
        }
        Ok(())
    }

    /// Replays on to event `event`, taking checkpoints on the way (those
    /// [`worth_on_the_way`]).
    fn run_to(&mut self, event: u64, quiet: bool) -> Result<()> {
        loop {
            let now = self.engine.event();
            if worth_on_the_way(now, event) {
                self.maybe_checkpoint()?;
            }
            let mut next = (now / CHECKPOINT_EVERY + 1) * CHECKPOINT_EVERY;
            while next < event && !worth_on_the_way(next, event) {
                next += CHECKPOINT_EVERY;
            }
            let target = event.min(next.max(now + 1));
            let got = self.step_counted(&Constraints {
                until_event: Some(target),
                hold_end: true,
                ..Constraints::default()
            })?;
            if !matches!(got, Stop::Event { .. }) || self.engine.event() != target {
                if quiet {
                    return Err(self.lost(format!("event {event}")));
                }
                return Ok(());
            }
            if target >= event {
                return Ok(());
            }
        }
    }

    /// The engine at `event`'s boundary, from the nearest checkpoint or a
    /// fresh engine, output not reproduced.
    fn fresh_at(&mut self, event: u64) -> Result<()> {
        let near = self.checkpoints.iter().rposition(|c| c.event() <= event);
        match near {
            Some(i) => {
                self.engine.restore(&mut self.checkpoints[i])?;
                // As a fresh engine: no points until the caller sets them.
                self.engine.set_debug_points(&[], &[]);
                self.seek_origin = self.checkpoints[i].event();
                let procs = self.checkpoints[i].processes();
                self.rerun.processes = self.rerun.processes.max(procs);
                let threads = self.checkpoints[i].threads();
                self.rerun.threads = self.rerun.threads.max(threads);
            }
            None => {
                let engine = Engine::new(TraceReader::open(&self.dir)?, self.opts.clone())?;
                // The old engine's tasks are killed when it is dropped.
                self.engine = engine;
                self.seek_origin = 0;
            }
        }
        self.rerun.from = self.rerun.from.min(self.seek_origin);
        self.engine.set_echo(false);
        if self.engine.event() < event {
            self.run_to(event, true)?;
        }
        Ok(())
    }

    fn lost(&self, what: String) -> ReplayError {
        ReplayError::Unsupported {
            event: self.engine.event(),
            what: format!("going back: {what} was not found again in the replay"),
        }
    }

    /// Replays one move; `extra` points are also set (their stops do not
    /// count). Returns the stops of a continue, each with the number of
    /// stops of all its points so far (the last one ends the move); for
    /// steps, where `extra`'s points would have stopped, with the step count.
    fn replay_move(&mut self, m: &Move, extra: Option<&Points>) -> Result<Vec<(Stop, u64)>> {
        let go = Constraints {
            hold_end: true,
            ..Constraints::default()
        };
        let mut seen = Vec::new();
        match m {
            Move::Continue { points, stops } => {
                let all = extra.map_or_else(|| points.clone(), |e| points.union(e));
                self.apply(&all)?;
                let mut mine = 0;
                while mine < *stops {
                    let s = self.step_counted(&go)?;
                    if !matches!(s, Stop::Breakpoint { .. } | Stop::Watch { .. }) {
                        return Err(self.lost(format!("stop {} of a continue", mine + 1)));
                    }
                    if points.caused(&s) || self.sits_on_breakpoint(&s, points) {
                        mine += 1;
                    }
                    let n = seen.len() as u64 + 1;
                    seen.push((s, n));
                }
            }
            Move::Step { tid, count } => {
                let user = self.user.clone();
                self.apply(&user)?;
                let step = Constraints {
                    step: Some(*tid),
                    ..go
                };
                for j in 1..=*count {
                    let s = self.step_counted(&step)?;
                    let Some(extra) = extra else { continue };
                    // What a continue would have stopped at, passed by steps.
                    if matches!(s, Stop::Watch { .. }) {
                        seen.push((s, j));
                    } else if let Ok(r) = self.engine.regs(*tid) {
                        if extra.breakpoints.contains(&r.ip()) {
                            let addr = r.ip();
                            seen.push((Stop::Breakpoint { tid: *tid, addr }, j));
                        }
                    }
                }
            }
        }
        Ok(seen)
    }

    /// Whether `stop`, an extra point's watch, left its task on one of
    /// `points`' breakpoints: the move's own run stopped there too (at the
    /// same state, before the instruction), and resuming steps over it.
    fn sits_on_breakpoint(&self, stop: &Stop, points: &Points) -> bool {
        let Stop::Watch { tid, .. } = stop else {
            return false;
        };
        self.engine
            .regs(*tid)
            .is_ok_and(|r| points.breakpoints.contains(&r.ip()))
    }

    /// Goes to `mark`: replays from the nearest checkpoint before it.
    pub fn seek(&mut self, mark: &Mark) -> Result<()> {
        self.begin_backward();
        self.seek_within(mark)
    }

    /// [`Timeline::seek`] as part of a larger move.
    fn seek_within(&mut self, mark: &Mark) -> Result<()> {
        self.fresh_at(mark.event)?;
        for m in &mark.moves {
            self.replay_move(m, None)?;
        }
        let user = self.user.clone();
        self.apply(&user)?;
        self.engine.set_echo(self.opts.echo);
        self.here = mark.clone();
        Ok(())
    }

    /// Goes back to the last stop of the user's points before here, or to
    /// the start ([`Stop::TraceStart`]) when there is none.
    ///
    /// The search goes window by window, each from a checkpoint to where
    /// the previous window began: first from the nearest checkpoint before
    /// here, then the stretch before it, and so on, so a stop close behind
    /// costs a window, whatever the length of the trace.
    pub fn reverse_continue(&mut self) -> Result<Stop> {
        self.begin_backward();
        let here = self.here.clone();
        let user = self.user.clone();
        let mut end = here.event;
        let mut first = true;
        let last = loop {
            // A stop at `end`'s boundary (a syscall's write) is found only
            // by replaying that event: the window starts before it, except
            // that here's own moves start at here's boundary.
            let inclusive = first && !here.moves.is_empty();
            let from = self
                .checkpoints
                .iter()
                .rev()
                .map(Checkpoint::event)
                .find(|&e| e < end || (inclusive && e == end))
                .unwrap_or(0)
                .max(self.start);
            self.fresh_at(from)?;
            self.apply(&user)?;
            let mut last = self.scan_window(end, &user)?;
            if first {
                if let Some(found) = self.scan_moves(&here, &user)? {
                    last = Some(found);
                }
            }
            if last.is_some() || from <= self.start {
                break last;
            }
            end = from;
            first = false;
        };
        match last {
            // A watchpoint traps after the access: going backwards, stop
            // before it, at the instruction (or syscall) that made it.
            Some((mark, stop @ Stop::Watch { tid, .. })) => {
                self.seek_within(&mark)?;
                if self.reverse_step_within(tid).is_err() {
                    // Stay after it, as a plain stop: reported as the
                    // watchpoint again, gdb would see no change and go on.
                    self.seek_within(&mark)?;
                    return Ok(Stop::Stepped { tid });
                }
                Ok(stop)
            }
            Some((mark, stop)) => {
                self.seek_within(&mark)?;
                Ok(stop)
            }
            None => {
                self.seek_within(&Mark::boundary(self.start))?;
                Ok(Stop::TraceStart)
            }
        }
    }

    /// Replays from the engine's boundary to event `end`'s with the user's
    /// points set, and returns the last of their stops on the way.
    /// A write seen at `end`'s boundary (made by event `end`) counts.
    fn scan_window(&mut self, end: u64, user: &Points) -> Result<Option<(Mark, Stop)>> {
        let mut last = None;
        let mut count_in = (0u64, 0u64); // (event, stops since it)
        loop {
            // In stretches, to take checkpoints on the way (the next
            // reverse step then starts near here).
            let now = self.engine.event();
            let until = end.min((now / CHECKPOINT_EVERY + 1) * CHECKPOINT_EVERY);
            let s = self.step_counted(&Constraints {
                until_event: Some(until),
                hold_end: true,
                ..Constraints::default()
            })?;
            if matches!(s, Stop::Event { .. }) && until < end && self.engine.event() == until {
                self.maybe_checkpoint()?;
                continue;
            }
            if !matches!(s, Stop::Breakpoint { .. } | Stop::Watch { .. }) {
                return Ok(last);
            }
            let ev = self.engine.event();
            let mark = if self.engine.at_boundary() {
                count_in = (ev, 0);
                Mark::boundary(ev)
            } else {
                if count_in.0 != ev {
                    count_in = (ev, 0);
                }
                count_in.1 += 1;
                let mut m = Mark::boundary(ev);
                m.push(Move::Continue {
                    points: user.clone(),
                    stops: count_in.1,
                });
                m
            };
            let done = ev >= end && self.engine.at_boundary();
            last = Some((mark, s));
            if done {
                // A write of event `end` itself (only watches stop at a
                // boundary): behind here, or behind where the window
                // after this one began; the last of this window.
                return Ok(last);
            }
        }
    }

    /// Replays here's own moves from its boundary (where the engine
    /// stands) with the user's points added, and returns the last of
    /// their stops before here.
    fn scan_moves(&mut self, here: &Mark, user: &Points) -> Result<Option<(Mark, Stop)>> {
        let mut last = None;
        let mut prefix = Mark::boundary(here.event);
        let n = here.moves.len();
        for (i, m) in here.moves.iter().enumerate() {
            let stops = self.replay_move(m, Some(user))?;
            match m {
                Move::Continue { points, .. } => {
                    let all = points.union(user);
                    for (j, (s, any)) in stops.iter().enumerate() {
                        let is_here = i + 1 == n && j + 1 == stops.len();
                        if is_here && !matches!(s, Stop::Watch { .. }) {
                            break;
                        }
                        if user.caused(s) {
                            let mut at = prefix.clone();
                            at.push(Move::Continue {
                                points: all.clone(),
                                stops: *any,
                            });
                            last = Some((at, s.clone()));
                        }
                    }
                }
                Move::Step { tid, count } => {
                    for (s, j) in stops {
                        let is_here = i + 1 == n && j == *count;
                        if is_here && !matches!(s, Stop::Watch { .. }) {
                            break;
                        }
                        if user.caused(&s) {
                            let mut at = prefix.clone();
                            at.push(Move::Step {
                                tid: *tid,
                                count: j,
                            });
                            last = Some((at, s));
                        }
                    }
                }
            }
            prefix.push(m.clone());
        }
        Ok(last)
    }

    /// Goes back one instruction of `tid`.
    pub fn reverse_step(&mut self, tid: Tid) -> Result<Stop> {
        self.begin_backward();
        self.reverse_step_within(tid)
    }

    /// [`Timeline::reverse_step`] as part of a larger move.
    fn reverse_step_within(&mut self, tid: Tid) -> Result<Stop> {
        let mut back = self.here.clone();
        if let Some(Move::Step { tid: t, count }) = back.moves.last_mut() {
            if *t == tid {
                *count -= 1;
                if *count == 0 {
                    back.moves.pop();
                }
                self.seek_within(&back)?;
                return Ok(Stop::Stepped { tid });
            }
        }
        // Step from the boundary before here until here comes again.
        let target = self.engine.regs(tid)?;
        let here = self.here.clone();
        let from = if here.moves.is_empty() {
            here.event.saturating_sub(1)
        } else {
            here.event
        };
        if from < self.start {
            self.seek_within(&Mark::boundary(self.start))?;
            return Ok(Stop::TraceStart);
        }
        self.fresh_at(from)?;
        let step = Constraints {
            step: Some(tid),
            hold_end: true,
            ..Constraints::default()
        };
        let mut k = 0u64;
        loop {
            let s = self.step_counted(&step)?;
            k += 1;
            let ev = self.engine.event();
            if ev > here.event || !matches!(s, Stop::Stepped { .. } | Stop::Watch { .. }) {
                break;
            }
            let same = ev == here.event
                && self.engine.threads().contains(&tid)
                && same_state(&self.engine.regs(tid)?, &target);
            if same {
                let mut m = Mark::boundary(from);
                if k > 1 {
                    m.push(Move::Step { tid, count: k - 1 });
                }
                self.seek_within(&m)?;
                return Ok(Stop::Stepped { tid });
            }
        }
        // Not found (the task did not run in that stretch): stay here.
        self.seek_within(&here)?;
        Err(self.lost("the previous instruction".into()))
    }
}

/// Checkpoints kept close behind the end of a seek.
const NEAR_CHECKPOINTS: u64 = MAX_CHECKPOINTS as u64 / 2;

/// Whether a checkpoint at boundary `at` is worth taking on the way to
/// event `target`: those close behind it (where the next moves back start)
/// and, further back, one per power of two of the distance (thinning would
/// keep hardly more), so that a long seek (`-g` to the middle of a long
/// trace) does not fork at every boundary only to drop the copies.
fn worth_on_the_way(at: u64, target: u64) -> bool {
    let behind = target.saturating_sub(at) / CHECKPOINT_EVERY;
    behind <= NEAR_CHECKPOINTS || behind.is_power_of_two()
}

/// Whether two register sets are the same program state: the trap and
/// resume flags differ with how the task was stopped (a single-step or
/// not), in eflags and in r11, where `syscall` copies them.
fn same_state(a: &reel_sys::Regs, b: &reel_sys::Regs) -> bool {
    const TF_RF: u64 = 0x100 | 0x1_0000;
    let key = |r: &reel_sys::Regs| {
        let r = r.raw();
        [
            r.eflags & !TF_RF,
            r.rip,
            r.rsp,
            r.rax,
            r.rbx,
            r.rcx,
            r.rdx,
            r.rsi,
            r.rdi,
            r.rbp,
            r.r8,
            r.r9,
            r.r10,
            r.r11 & !TF_RF,
            r.r12,
            r.r13,
            r.r14,
            r.r15,
            r.fs_base,
        ]
    };
    key(a) == key(b)
}
