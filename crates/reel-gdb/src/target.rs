//! The gdbstub target over a replay engine: it only translates between the
//! remote protocol and [`Engine`]'s control surface.

use crate::arch::{LinuxRegs, X86_64Linux};
use crate::regs;
use gdbstub::common::Pid;
use gdbstub::common::{Signal, Tid as GdbTid};
use gdbstub::stub::MultiThreadStopReason;
use gdbstub::target::ext::auxv::{Auxv, AuxvOps};
use gdbstub::target::ext::base::multithread::{
    MultiThreadBase, MultiThreadResume, MultiThreadResumeOps, MultiThreadSchedulerLocking,
    MultiThreadSchedulerLockingOps, MultiThreadSingleStep, MultiThreadSingleStepOps,
};
use gdbstub::target::ext::base::reverse_exec::{
    ReplayLogPosition, ReverseCont, ReverseContOps, ReverseStep, ReverseStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwWatchpoint, HwWatchpointOps, SwBreakpoint, SwBreakpointOps,
    WatchKind as GdbWatch,
};
use gdbstub::target::ext::exec_file::{ExecFile, ExecFileOps};
use gdbstub::target::ext::extended_mode::{
    Args, AttachKind, ExtendedMode, ExtendedModeOps, ShouldTerminate,
};
use gdbstub::target::ext::host_io::HostIoOps;
use gdbstub::target::ext::monitor_cmd::{outputln, ConsoleOutput, MonitorCmd, MonitorCmdOps};
use gdbstub::target::{Target, TargetError, TargetResult};
use reel_replay::{Constraints, Engine, Mark, Stop, Timeline, WatchKind};
use reel_trace::Tid;
use std::os::unix::ffi::OsStrExt;

/// What gdb asked the replay to do at the next resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run forwards until a breakpoint, watchpoint, signal or the end.
    Continue,
    /// Execute one instruction of this task.
    Step(Tid),
    /// Go back to the last breakpoint or watchpoint stop.
    ReverseContinue,
    /// Go back one instruction of this task.
    ReverseStep(Tid),
}

/// The replay as gdb sees it.
pub struct ReplayTarget {
    pub(crate) timeline: Timeline,
    action: Action,
    /// Set once the replay failed (diverged): it never runs again.
    pub(crate) broken: Option<String>,
    /// The last stop reported, for threads gdb asks about afterwards.
    pub(crate) focus: Option<Tid>,
    /// The event the session started at (where `run` goes back to).
    start: u64,
    /// Files gdb opened (vFile), by descriptor.
    pub(crate) files: std::collections::HashMap<u32, std::fs::File>,
    /// Positions saved by `monitor checkpoint`, numbered from 1.
    saved: Vec<Mark>,
    /// Where answers to gdb's `qGetTLSAddr` go (see [`crate::conn`]).
    pub(crate) mailbox: crate::conn::Mailbox,
}

fn gdb_tid(tid: Tid) -> Option<GdbTid> {
    GdbTid::new(usize::try_from(tid).ok()?)
}

/// How many events a continue replays between looks for gdb's ^C.
const POLL_EVENTS: u64 = 200;

/// The message for anything that would change the recorded execution.
const READ_ONLY: &str =
    "reel: the replay is read-only: writing registers or memory would change the recorded execution";

impl ReplayTarget {
    /// A target over `timeline`, which stands where gdb should first see it.
    pub fn new(timeline: Timeline) -> ReplayTarget {
        let focus = timeline.engine().current_tid();
        let start = timeline.here().event();
        ReplayTarget {
            files: Default::default(),
            start,
            timeline,
            action: Action::Continue,
            broken: None,
            focus,
            saved: Vec::new(),
            mailbox: Default::default(),
        }
    }

    fn engine(&self) -> &Engine {
        self.timeline.engine()
    }

    /// The task to show when a stop names none.
    fn shown_tid(&self) -> Option<Tid> {
        let live = self.engine().threads();
        self.focus
            .filter(|t| live.contains(t))
            .or(self.engine().current_tid().filter(|t| live.contains(t)))
            .or(live.first().copied())
    }

    /// The end of the replayed history, as gdb expects it.
    fn end_stop(&self) -> MultiThreadStopReason<u64> {
        MultiThreadStopReason::ReplayLog {
            tid: self.shown_tid().and_then(gdb_tid),
            pos: ReplayLogPosition::End,
        }
    }

    /// Runs the engine as the last resume asked, until a stop gdb must see;
    /// None when `interrupted` says gdb sent something meanwhile (looked at
    /// every [`POLL_EVENTS`] events of a continue).
    pub(crate) fn run(
        &mut self,
        interrupted: &mut dyn FnMut() -> bool,
    ) -> Option<MultiThreadStopReason<u64>> {
        if self.broken.is_some() {
            return Some(self.end_stop());
        }
        let mut read_values = self.read_watch_values();
        loop {
            let chunked = self.action == Action::Continue;
            let c = Constraints {
                step: self.step_tid(),
                until_event: chunked.then(|| self.engine().event() + POLL_EVENTS),
                signals: true,
                hold_end: true,
            };
            let res = match self.action {
                Action::Continue | Action::Step(_) => self.timeline.resume(&c),
                Action::ReverseContinue => self.timeline.reverse_continue(),
                Action::ReverseStep(tid) => self.timeline.reverse_step(tid),
            };
            let stop = match res {
                Ok(s) => s,
                Err(e) => {
                    // Never silently continue: report it and end the history here.
                    eprintln!("{}", self.break_replay(e));
                    return Some(self.end_stop());
                }
            };
            if chunked && matches!(stop, Stop::Event { .. }) {
                if interrupted() {
                    return None;
                }
                continue;
            }
            let stop = match self.write_to_read_watch(&stop, &mut read_values) {
                Some(_) if self.action == Action::Continue => continue,
                Some(tid) => Stop::Stepped { tid },
                None => stop,
            };
            if let Some(r) = self.translate(&stop) {
                return Some(r);
            }
        }
    }

    /// The values of the read watches (by address), as the shown task
    /// sees them.
    fn read_watch_values(&mut self) -> Vec<(u64, Vec<u8>)> {
        let Some(tid) = self.shown_tid() else {
            return Vec::new();
        };
        let reads: Vec<(u64, u64)> = self
            .timeline
            .points_mut()
            .watches
            .iter()
            .filter(|w| w.2 == WatchKind::Read)
            .map(|w| (w.0, w.1))
            .collect();
        reads
            .into_iter()
            .map(|(a, l)| {
                (
                    a,
                    self.engine()
                        .read_memory(tid, a, l as usize)
                        .unwrap_or_default(),
                )
            })
            .collect()
    }

    /// The task of a forward `stop` at a read watch whose value changed
    /// since `values` (updated): x86 has no read-only watchpoints, so the
    /// debug register also traps writes, and a changed value means the
    /// access was a write, which gdb's `rwatch` must not see (gdb itself
    /// reasons so when it emulates one with an access watchpoint).
    fn write_to_read_watch(&mut self, stop: &Stop, values: &mut [(u64, Vec<u8>)]) -> Option<Tid> {
        let Stop::Watch {
            tid,
            addr,
            kind: WatchKind::Read,
        } = *stop
        else {
            return None;
        };
        if !matches!(self.action, Action::Continue | Action::Step(_)) {
            return None;
        }
        let slot = values.iter_mut().find(|v| v.0 == addr)?;
        let now = self.engine().read_memory(tid, addr, slot.1.len()).ok()?;
        if now == slot.1 {
            return None;
        }
        slot.1 = now;
        Some(tid)
    }

    /// The stop gdb sees after its interrupt (^C).
    pub(crate) fn interrupt_stop(&mut self) -> Option<MultiThreadStopReason<u64>> {
        self.focus = self.engine().current_tid();
        Some(MultiThreadStopReason::SignalWithThread {
            tid: gdb_tid(self.shown_tid()?)?,
            signal: Signal::SIGINT,
        })
    }

    /// gdb's stop for an engine stop (None: keep going).
    pub(crate) fn translate(&mut self, stop: &Stop) -> Option<MultiThreadStopReason<u64>> {
        let sigtrap = |tid: Tid| {
            Some(MultiThreadStopReason::SignalWithThread {
                tid: gdb_tid(tid)?,
                signal: Signal::SIGTRAP,
            })
        };
        let r = match *stop {
            Stop::Breakpoint { tid, .. } => {
                self.focus = Some(tid);
                MultiThreadStopReason::SwBreak(gdb_tid(tid)?)
            }
            Stop::Watch { tid, addr, kind } => {
                self.focus = Some(tid);
                MultiThreadStopReason::Watch {
                    tid: gdb_tid(tid)?,
                    kind: match kind {
                        WatchKind::Write => GdbWatch::Write,
                        WatchKind::Read => GdbWatch::Read,
                        WatchKind::Access => GdbWatch::ReadWrite,
                    },
                    addr,
                }
            }
            Stop::Stepped { tid } | Stop::Exited { tid, .. } if Some(tid) != self.step_tid() => {
                return None
            }
            Stop::Stepped { tid } => {
                self.focus = Some(tid);
                sigtrap(tid)?
            }
            // The stepped task ended: what is left is the rest of the trace.
            Stop::Exited { .. } => return None,
            Stop::Signal { tid, signo } => {
                self.focus = Some(tid);
                MultiThreadStopReason::SignalWithThread {
                    tid: gdb_tid(tid)?,
                    signal: crate::signals::to_gdb(signo),
                }
            }
            Stop::Event { .. } => sigtrap(self.shown_tid()?)?,
            Stop::TraceEnd => self.end_stop(),
            Stop::TraceStart => MultiThreadStopReason::ReplayLog {
                tid: self.shown_tid().and_then(gdb_tid),
                pos: ReplayLogPosition::Begin,
            },
        };
        Some(r)
    }

    fn step_tid(&self) -> Option<Tid> {
        match self.action {
            Action::Step(t) | Action::ReverseStep(t) => Some(t),
            _ => None,
        }
    }
}

impl Target for ReplayTarget {
    type Arch = X86_64Linux;
    type Error = String;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::MultiThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_monitor_cmd(&mut self) -> Option<MonitorCmdOps<'_, Self>> {
        Some(self)
    }

    fn support_exec_file(&mut self) -> Option<ExecFileOps<'_, Self>> {
        Some(self)
    }

    fn support_auxv(&mut self) -> Option<AuxvOps<'_, Self>> {
        Some(self)
    }

    fn support_extended_mode(&mut self) -> Option<ExtendedModeOps<'_, Self>> {
        Some(self)
    }

    fn support_host_io(&mut self) -> Option<HostIoOps<'_, Self>> {
        Some(self)
    }

    // The int3s are reel's, inserted only while the replay runs.
    fn guard_rail_implicit_sw_breakpoints(&self) -> bool {
        true
    }
}

impl MultiThreadBase for ReplayTarget {
    fn read_registers(&mut self, out: &mut LinuxRegs, tid: GdbTid) -> TargetResult<(), Self> {
        let tid = tid.get() as Tid;
        let r = self.engine().regs(tid).map_err(|_| TargetError::NonFatal)?;
        let x = self.engine().xstate(tid).unwrap_or_default();
        regs::to_gdb(&r, &x, out);
        Ok(())
    }

    fn write_registers(&mut self, _: &LinuxRegs, _: GdbTid) -> TargetResult<(), Self> {
        eprintln!("{READ_ONLY}");
        Err(TargetError::Errno(libc::EPERM as u8))
    }

    fn read_addrs(
        &mut self,
        start: u64,
        data: &mut [u8],
        tid: GdbTid,
    ) -> TargetResult<usize, Self> {
        let got = self
            .engine()
            .read_memory(tid.get() as Tid, start, data.len())
            .map_err(|_| TargetError::NonFatal)?;
        data[..got.len()].copy_from_slice(&got);
        if got.is_empty() && !data.is_empty() {
            return Err(TargetError::Errno(libc::EFAULT as u8));
        }
        Ok(got.len())
    }

    fn write_addrs(&mut self, _: u64, _: &[u8], _: GdbTid) -> TargetResult<(), Self> {
        eprintln!("{READ_ONLY}");
        Err(TargetError::Errno(libc::EPERM as u8))
    }

    fn list_active_threads(&mut self, report: &mut dyn FnMut(GdbTid)) -> Result<(), String> {
        // The shown task first: gdb's first stop names the first thread
        // (so `-p PID` starts gdb in that process).
        let mut threads = self.engine().threads();
        if let Some(i) = self
            .shown_tid()
            .and_then(|s| threads.iter().position(|&t| t == s))
        {
            let t = threads.remove(i);
            threads.insert(0, t);
        }
        for t in threads {
            if let Some(g) = gdb_tid(t) {
                report(g);
            }
        }
        Ok(())
    }

    fn support_resume(&mut self) -> Option<MultiThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadResume for ReplayTarget {
    fn resume(&mut self) -> Result<(), String> {
        // The event loop runs the engine (see `run`).
        Ok(())
    }

    fn clear_resume_actions(&mut self) -> Result<(), String> {
        self.action = Action::Continue;
        Ok(())
    }

    // Signals gdb passes are ignored: the replay delivers the recorded ones.
    fn set_resume_action_continue(&mut self, _: GdbTid, _: Option<Signal>) -> Result<(), String> {
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }

    fn support_reverse_cont(&mut self) -> Option<ReverseContOps<'_, GdbTid, Self>> {
        Some(self)
    }

    fn support_reverse_step(&mut self) -> Option<ReverseStepOps<'_, GdbTid, Self>> {
        Some(self)
    }
}

impl ReverseCont<GdbTid> for ReplayTarget {
    fn reverse_cont(&mut self) -> Result<(), String> {
        self.action = Action::ReverseContinue;
        Ok(())
    }
}

impl ReverseStep<GdbTid> for ReplayTarget {
    fn reverse_step(&mut self, tid: GdbTid) -> Result<(), String> {
        self.action = Action::ReverseStep(tid.get() as Tid);
        Ok(())
    }
}

// Threads run in their recorded order whatever gdb locks: there is no
// other schedule to replay.
impl MultiThreadSchedulerLocking for ReplayTarget {
    fn set_resume_action_scheduler_lock(&mut self) -> Result<(), String> {
        Ok(())
    }
}

impl MultiThreadSingleStep for ReplayTarget {
    fn set_resume_action_step(&mut self, tid: GdbTid, _: Option<Signal>) -> Result<(), String> {
        self.action = Action::Step(tid.get() as Tid);
        Ok(())
    }
}

impl Breakpoints for ReplayTarget {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

impl SwBreakpoint for ReplayTarget {
    fn add_sw_breakpoint(&mut self, addr: u64, _: usize) -> TargetResult<bool, Self> {
        let bps = &mut self.timeline.points_mut().breakpoints;
        if !bps.contains(&addr) {
            bps.push(addr);
        }
        Ok(true)
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _: usize) -> TargetResult<bool, Self> {
        let bps = &mut self.timeline.points_mut().breakpoints;
        let had = bps.contains(&addr);
        bps.retain(|&b| b != addr);
        Ok(had)
    }
}

fn watch_kind(kind: GdbWatch) -> WatchKind {
    match kind {
        GdbWatch::Write => WatchKind::Write,
        GdbWatch::Read => WatchKind::Read,
        GdbWatch::ReadWrite => WatchKind::Access,
    }
}

impl HwWatchpoint for ReplayTarget {
    fn add_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: GdbWatch,
    ) -> TargetResult<bool, Self> {
        let w = (addr, len, watch_kind(kind));
        let watches = &mut self.timeline.points_mut().watches;
        // Four debug registers of up to 8 bytes each.
        let used: u64 = watches.iter().map(|w| w.1.div_ceil(8) + 1).sum();
        if len == 0 || used + len.div_ceil(8) + 1 > 4 {
            return Ok(false);
        }
        watches.push(w);
        Ok(true)
    }

    fn remove_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: GdbWatch,
    ) -> TargetResult<bool, Self> {
        let w = (addr, len, watch_kind(kind));
        let watches = &mut self.timeline.points_mut().watches;
        let had = watches.contains(&w);
        watches.retain(|x| *x != w);
        Ok(had)
    }
}

/// Copies the window `[offset, offset+length)` of `whole` into `buf`.
fn window(whole: &[u8], offset: u64, length: usize, buf: &mut [u8]) -> usize {
    let start = (offset as usize).min(whole.len());
    let n = (whole.len() - start).min(length).min(buf.len());
    buf[..n].copy_from_slice(&whole[start..start + n]);
    n
}

impl ExecFile for ReplayTarget {
    fn get_exec_file(
        &self,
        _: Option<gdbstub::common::Pid>,
        offset: u64,
        length: usize,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        // The trace's snapshot of the program, not the file on disk now.
        let image = self.shown_tid().and_then(|t| self.engine().image(t));
        let Some(path) = image.and_then(|i| i.exe.clone()) else {
            return Err(TargetError::NonFatal);
        };
        Ok(window(path.as_os_str().as_bytes(), offset, length, buf))
    }
}

impl Auxv for ReplayTarget {
    fn get_auxv(&self, offset: u64, length: usize, buf: &mut [u8]) -> TargetResult<usize, Self> {
        let image = self.shown_tid().and_then(|t| self.engine().image(t));
        let Some(image) = image else {
            return Err(TargetError::NonFatal);
        };
        Ok(window(&image.auxv, offset, length, buf))
    }
}

/// gdb's `run` (and `start`) goes back to where the session started; the
/// replayed program is never really killed or started anew.
impl ExtendedMode for ReplayTarget {
    fn run(&mut self, _: Option<&[u8]>, _: Args<'_, '_>) -> TargetResult<Pid, Self> {
        self.restart().map_err(TargetError::Fatal)?;
        Pid::new(1).ok_or(TargetError::NonFatal)
    }

    fn attach(&mut self, _: Pid) -> TargetResult<(), Self> {
        eprintln!("reel: a replay has no other process to attach to");
        Err(TargetError::Errno(libc::EPERM as u8))
    }

    // Attached: gdb then detaches when it quits, and the replay ends cleanly.
    fn query_if_attached(&mut self, _: Pid) -> TargetResult<AttachKind, Self> {
        Ok(AttachKind::Attach)
    }

    fn kill(&mut self, _: Option<Pid>) -> TargetResult<ShouldTerminate, Self> {
        Ok(ShouldTerminate::No)
    }

    fn restart(&mut self) -> Result<(), String> {
        let start = Mark::boundary(self.start);
        if let Err(e) = self.timeline.seek(&start) {
            eprintln!("{}", self.break_replay(e));
        }
        self.focus = self.engine().current_tid();
        Ok(())
    }
}

impl ReplayTarget {
    /// The replay failed (a divergence, a position not found again): it
    /// stops here for good. Returns the message to show.
    fn break_replay(&mut self, e: impl std::fmt::Display) -> String {
        let msg = format!("reel: {e}; the replay stops here");
        self.broken = Some(msg.clone());
        msg
    }
}

impl MonitorCmd for ReplayTarget {
    fn handle_monitor_cmd(&mut self, cmd: &[u8], mut out: ConsoleOutput<'_>) -> Result<(), String> {
        let cmd = String::from_utf8_lossy(cmd);
        let words: Vec<&str> = cmd.split_whitespace().collect();
        match words.as_slice() {
            ["when"] => outputln!(out, "Current event: {}", self.engine().event()),
            [cmd, req] if *cmd == crate::conn::TLS_COMMAND => {
                let answer = self.tls_address(req).map(|a| format!("{a:x}"));
                *self.mailbox.borrow_mut() = Some(answer.unwrap_or_else(|| "E01".into()));
            }
            ["help"] | [] => {
                outputln!(
                    out,
                    "monitor when      the number of the last event replayed"
                );
                outputln!(out, "monitor goto N    go to the point right after event N");
                outputln!(out, "monitor checkpoint   save this position");
                outputln!(out, "monitor restart N    go back to saved position N");
                outputln!(
                    out,
                    "monitor checkpoints  reel's own checkpoints, and where the last re-run began"
                );
            }
            ["checkpoint"] => {
                self.saved.push(self.timeline.here().clone());
                outputln!(
                    out,
                    "Checkpoint {} at event {}",
                    self.saved.len(),
                    self.engine().event()
                );
            }
            ["restart", n] => match n.parse::<usize>().ok().and_then(|n| self.saved.get(n.wrapping_sub(1))) {
                Some(mark) => {
                    let mark = mark.clone();
                    match self.timeline.seek(&mark) {
                        Ok(()) => outputln!(out, "Current event: {}", self.engine().event()),
                        Err(e) => {
                            let msg = self.break_replay(e);
                            outputln!(out, "{msg}");
                        }
                    }
                    self.focus = self.engine().current_tid();
                }
                None => outputln!(
                    out,
                    "reel: no checkpoint {n:?} (monitor checkpoint saves one; they are numbered from 1)"
                ),
            },
            ["checkpoints"] => {
                let evs: Vec<String> = self
                    .timeline
                    .checkpoint_events()
                    .iter()
                    .map(u64::to_string)
                    .collect();
                outputln!(out, "Checkpoints at events: {}", evs.join(" "));
                outputln!(
                    out,
                    "Last re-run started at event {}",
                    self.timeline.seek_origin()
                );
                let m = self.timeline.checkpoint_memory();
                outputln!(
                    out,
                    "Checkpoint memory: {} KiB resident, {} KiB proportional, {} KiB private dirty",
                    m.rss,
                    m.pss,
                    m.private_dirty
                );
                outputln!(
                    out,
                    "Checkpoint shared memory copied: {} KiB",
                    self.timeline.checkpoint_shared_bytes().div_ceil(1024)
                );
                let r = self.timeline.last_rerun();
                outputln!(
                    out,
                    "Last move back replayed {} events, from event {} at the earliest \
                     (checkpoints of up to {} processes, {} threads)",
                    r.events,
                    r.from,
                    r.processes,
                    r.threads
                );
            }
            ["goto", n] => match n.parse::<u64>() {
                Ok(n) if n >= 1 => {
                    let res = if n >= self.engine().event() {
                        self.timeline
                            .resume(&Constraints {
                                until_event: Some(n),
                                hold_end: true,
                                ..Constraints::default()
                            })
                            .map(|_| ())
                    } else {
                        self.timeline.seek(&Mark::boundary(n))
                    };
                    match res {
                        Ok(()) if self.engine().event() == n => {
                            outputln!(out, "Current event: {n}")
                        }
                        Ok(()) => outputln!(
                            out,
                            "reel: the trace ends at event {}",
                            self.engine().event()
                        ),
                        Err(e) => {
                            let msg = self.break_replay(e);
                            outputln!(out, "{msg}");
                        }
                    }
                    self.focus = self.engine().current_tid();
                }
                _ => outputln!(
                    out,
                    "reel: bad event number {n:?} (events are numbered from 1)"
                ),
            },
            _ => outputln!(
                out,
                "reel: unknown monitor command {cmd:?} (try `monitor help`)"
            ),
        }
        Ok(())
    }
}
