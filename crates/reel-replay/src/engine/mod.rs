//! The replayer's event loop: events are taken from the trace in their
//! global order and each is matched to what the replayed task does next.

use crate::{ReplayError, Result};
use control::Pause;
use reel_sys::{Memory, Resume, StopReason, Stopped, TaskSet, Waited};
use reel_trace::{Event, ExitKind, Record, SyscallEvent, Tid, TraceReader};
use std::collections::HashMap;

/// How to replay.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Reproduce the program's writes to reel's stdout/stderr (autopilot).
    pub echo: bool,
    /// Runs each reproduced write, when set: a progress display on the same
    /// terminal hides itself meanwhile, so the program's output stays whole.
    pub around_echo: Option<fn(&mut dyn FnMut())>,
}

/// How a replay ended.
#[derive(Debug)]
pub struct ReplayOutcome {
    /// How the initial process ended (None when the trace ends before it did).
    pub exit: Option<ExitKind>,
    /// Number of events replayed.
    pub events: u64,
    /// Whether the trace was complete (the recording finished properly).
    pub complete: bool,
}

/// A replayed task.
struct Task {
    /// The replay's real tid.
    real: i32,
    /// The task, when stopped and in our hands.
    stopped: Option<Stopped>,
    /// The stop has not been matched to an event yet.
    fresh: bool,
    /// Signal to deliver when resuming.
    pending_signal: Option<i32>,
    /// Its process's recorded pid (key of `memories` and `brks`).
    pid: Tid,
    /// The task is executing exit/exit_group or dying of a signal.
    exiting: bool,
    /// It is gone, with this status.
    gone: Option<ExitKind>,
    /// Just created: its first (job-control) stop has not been collected.
    initial: bool,
    /// The debugger's watchpoints armed in its debug registers (compared
    /// with [`control::DebugPoints::generation`]).
    hw_generation: u64,
    /// A tid to store in the new task's memory at its first stop
    /// (CLONE_CHILD_SETTID: the kernel stored the replay's real tid there).
    settid: Option<(u64, u32)>,
    /// A signal reel sent it to replay a recorded asynchronous signal.
    injected: Option<i32>,
    /// A vfork (or CLONE_VFORK) call of this task whose child runs in its
    /// memory: the task stays in the kernel until the child execs or exits;
    /// the call's event is finished when it comes out.
    vfork_wait: Option<(SyscallEvent, Vec<u8>)>,
    /// The task shares its parent's memory (a vfork child before its exec).
    shares_memory: bool,
    /// The task is on its way out (its process ran exit_group): it is only
    /// waited for.
    dying: bool,
    /// The task's last call was interrupted while it waited under this
    /// temporary signal mask (address and size of the sigset).
    temp_mask: Option<(u64, u64)>,
    /// Traps at patched `pause` instructions since its last event.
    pause_hits: u64,
    /// The trap a `Yield` event waits for.
    yield_at: Option<u64>,
    /// The word the kernel clears when the task exits (CLONE_CHILD_CLEARTID,
    /// set_tid_address), for checkpoints that recreate the thread.
    clear_tid: Option<u64>,
}

impl Task {
    fn new(real: i32, pid: Tid, initial: bool) -> Task {
        Task {
            real,
            stopped: None,
            fresh: false,
            pending_signal: None,
            pid,
            exiting: false,
            gone: None,
            initial,
            settid: None,
            hw_generation: 0,
            injected: None,
            temp_mask: None,
            vfork_wait: None,
            shares_memory: false,
            dying: false,
            pause_hits: 0,
            yield_at: None,
            clear_tid: None,
        }
    }
}

/// What a task did when resumed.
enum Next {
    Stop(Stopped),
    Gone(ExitKind),
    /// Stopped for the debugger before its next event (see [`Drive`]).
    Paused(Stopped, Pause),
}

/// How [`Engine::advance_with`] runs a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drive {
    /// To the stop its next event expects.
    Event,
    /// The same, but the debugger's breakpoints and watchpoints may stop
    /// it first.
    Watched,
    /// One instruction, unless that instruction is what the event expects.
    Step,
}

/// The replay engine: the replayed tasks and the trace, advanced one event
/// at a time by [`Engine::step`].
pub struct Engine {
    reader: TraceReader,
    tasks: TaskSet,
    by_tid: HashMap<Tid, Task>,
    memories: HashMap<Tid, Memory>,
    brks: HashMap<Tid, u64>,
    /// The replay's own copies of files the program mapped shared and
    /// writable, by the path it mapped.
    shared_files: HashMap<String, std::path::PathBuf>,
    /// Where those copies live (removed with the replayer).
    scratch: tempfile::TempDir,
    /// Per process: where its main stack (recorded as `[stack]`) ends.
    stack_ends: HashMap<Tid, u64>,
    opts: ReplayOptions,
    root: Option<Tid>,
    root_exit: Option<ExitKind>,
    event: u64,
    warned_interrupted: bool,
    warned_preempted: bool,
    /// The next record, read ahead by [`Engine::step`].
    pending: Option<Record>,
    /// The task of the last event replayed.
    last_tid: Option<Tid>,
    /// The debugger's breakpoints and watchpoints.
    debug: control::DebugPoints,
    /// Per process: what a debugger needs of its program image.
    images: HashMap<Tid, Image>,
    /// A task ran its own code since the last event (a debugger's stop).
    mid_interval: bool,
    /// What the landmark searches did.
    stats: landmark::SearchStats,
    /// Per process: the `pause` instructions patched to trap.
    patches: HashMap<Tid, std::collections::HashSet<u64>>,
    /// Where the last landmark search stopped.
    last_landmark: Option<reel_trace::Position>,
    /// The trace's snapshot of each file mapped so far, by its recorded path.
    snapshots: HashMap<String, std::path::PathBuf>,
    /// Processes whose trampolines answer buffered calls (fastpath.rs).
    fast_procs: std::collections::HashSet<Tid>,
}

/// What a debugger needs to know of a process's program image.
#[derive(Debug, Clone, Default)]
pub struct Image {
    /// The path given to execve.
    pub path: String,
    /// The trace's snapshot of the executable, when it was mapped from a file.
    pub exe: Option<std::path::PathBuf>,
    /// The auxiliary vector, as the kernel gave it (key/value words).
    pub auxv: Vec<u8>,
}

impl Engine {
    /// Prepares a replay of the trace read by `reader`; nothing runs before
    /// the first [`Engine::step`].
    pub fn new(reader: TraceReader, opts: ReplayOptions) -> Result<Engine> {
        Ok(Engine {
            reader,
            tasks: TaskSet::new(),
            by_tid: HashMap::new(),
            memories: HashMap::new(),
            brks: HashMap::new(),
            stack_ends: HashMap::new(),
            shared_files: HashMap::new(),
            scratch: tempfile::Builder::new()
                .prefix("reel-replay-")
                .tempdir()
                .map_err(ReplayError::Output)?,
            opts,
            root: None,
            root_exit: None,
            event: 0,
            warned_interrupted: false,
            warned_preempted: false,
            pending: None,
            last_tid: None,
            debug: control::DebugPoints::default(),
            images: HashMap::new(),
            mid_interval: false,
            stats: Default::default(),
            patches: HashMap::new(),
            last_landmark: None,
            snapshots: HashMap::new(),
            fast_procs: Default::default(),
        })
    }

    /// One line on what the landmark searches did, when `REEL_DEBUG` asks
    /// for it and any ran.
    pub fn landmark_summary(&self) -> Option<String> {
        landmark::debug().then(|| self.search_summary()).flatten()
    }

    /// How the replay went so far: the initial process's end, the events
    /// replayed, whether the trace is complete.
    pub fn outcome(&self) -> ReplayOutcome {
        ReplayOutcome {
            exit: self.root_exit,
            events: self.event,
            complete: self.reader.is_complete(),
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Whatever happened, no replayed task outlives the replay.
        self.kill_all();
    }
}

mod check;
mod checkpoint;
mod control;
mod exec;
mod fastpath;
mod inspect;
mod landmark;
mod robust;
mod shm;
mod signal;
mod space;
mod syscall;
mod tasks;
mod yields;

pub use checkpoint::Checkpoint;
pub use control::{Constraints, Stop, WatchKind};

impl Engine {
    fn kill_all(&mut self) {
        let live: Vec<i32> = self
            .by_tid
            .drain()
            .filter(|(_, t)| t.gone.is_none())
            .map(|(_, t)| t.real)
            .collect();
        for &real in &live {
            let _ = reel_sys::send_signal(real, libc::SIGKILL);
        }
        // Collect the dead so they do not linger as zombies; task by task,
        // since reel's other children (a debugger) are not the engine's, and
        // without blocking on one: a thread-group leader is reported only
        // after its other threads.
        let mut live = live;
        while !live.is_empty() {
            let mut progress = false;
            let mut i = 0;
            while i < live.len() {
                match self.tasks.try_wait(Some(live[i])) {
                    Ok(None) => i += 1,
                    Ok(Some(Waited::Stopped(st))) => {
                        progress = true;
                        match st.resume(Resume::Cont, None) {
                            Ok(r) => self.tasks.insert(r),
                            Err(_) => {
                                live.swap_remove(i);
                            }
                        }
                    }
                    Ok(Some(_)) | Err(_) => {
                        progress = true;
                        live.swap_remove(i);
                    }
                }
            }
            if !progress {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        }
    }

    fn diverged(
        &self,
        tid: Tid,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> ReplayError {
        ReplayError::Divergence {
            event: self.event,
            tid,
            expected: expected.into(),
            actual: actual.into(),
        }
    }

    fn task(&mut self, tid: Tid) -> Result<&mut Task> {
        let event = self.event;
        self.by_tid.get_mut(&tid).ok_or(ReplayError::Unsupported {
            event,
            what: format!("event for task {tid}, which does not exist in the replay"),
        })
    }

    fn mem(&self, tid: Tid) -> Result<&Memory> {
        let pid = self.by_tid.get(&tid).map_or(tid, |t| t.pid);
        self.memories.get(&pid).ok_or(ReplayError::Unsupported {
            event: self.event,
            what: format!("no address space for task {tid}"),
        })
    }

    /// Runs the task to its next stop, unless it already sits at one that no
    /// event has consumed. Signals the replay did not cause itself (a real
    /// SIGCHLD from a replayed child, say) are discarded: recorded
    /// asynchronous signals are sent by reel at their recorded place.
    fn advance(&mut self, tid: Tid) -> Result<Next> {
        self.advance_with(tid, Drive::Event)
    }

    /// [`Engine::advance`], run as `drive` says: a debugger's stop comes
    /// back as [`Next::Paused`].
    fn advance_with(&mut self, tid: Tid, drive: Drive) -> Result<Next> {
        if let Some((ev, data)) = self.task(tid)?.vfork_wait.take() {
            self.finish_vfork(tid, ev, data)?;
        }
        let event = self.event;
        let t = self.task(tid)?;
        if let Some(kind) = t.gone {
            return Ok(Next::Gone(kind));
        }
        if t.dying {
            let real = t.real;
            loop {
                match self.tasks.wait(Some(real))? {
                    Waited::Stopped(st) => self.tasks.insert(st.resume(Resume::Cont, None)?),
                    Waited::Exited(_, c) => return Ok(self.mark_gone(tid, ExitKind::Exited(c))),
                    Waited::Signaled(_, s) => return Ok(self.mark_gone(tid, ExitKind::Signaled(s))),
                }
            }
        }
        let real = t.real;
        let mut resume_with = None;
        if t.initial {
            t.initial = false;
        } else {
            let st = t.stopped.take().ok_or(ReplayError::Unsupported {
                event,
                what: format!("task {tid} is not stopped"),
            })?;
            if t.fresh {
                t.fresh = false;
                return Ok(Next::Stop(st));
            }
            resume_with = Some((st, t.pending_signal.take()));
        }
        let how = if self.task(tid)?.exiting {
            Resume::Cont
        } else if drive == Drive::Step {
            Resume::SysemuStep
        } else {
            Resume::Sysemu
        };
        if let Some((st, sig)) = resume_with {
            self.tasks.insert(st.resume(how, sig)?);
        }
        loop {
            match self.tasks.wait(Some(real))? {
                Waited::Stopped(mut st) => match st.reason() {
                    StopReason::Syscall => return Ok(Next::Stop(st)),
                    StopReason::Signal(libc::SIGTRAP)
                        if self.pause_trap(tid, &mut st)?.is_some() =>
                    {
                        let t = self.task(tid)?;
                        if t.yield_at.is_some() && t.yield_at == Some(t.pause_hits) {
                            return Ok(Next::Stop(st));
                        }
                        self.tasks.insert(st.resume(how, None)?);
                    }
                    StopReason::Signal(sig) => {
                        if sig == libc::SIGTRAP && drive != Drive::Event {
                            if let Some(why) = self.debug_trap(&mut st, drive)? {
                                return Ok(Next::Paused(st, why));
                            }
                        }
                        let t = self.task(tid)?;
                        if t.injected == Some(sig) {
                            t.injected = None;
                            return Ok(Next::Stop(st));
                        }
                        let info = st.siginfo()?;
                        if reel_syscalls::is_fault_signal(sig, info.si_code) {
                            return Ok(Next::Stop(st));
                        }
                        self.tasks.insert(st.resume(how, None)?);
                    }
                    StopReason::GroupStop(_) => {
                        self.first_stop(tid, &mut st)?;
                        self.tasks.insert(st.resume(how, None)?);
                    }
                    // On the way out: keep going.
                    _ => self.tasks.insert(st.resume(Resume::Cont, None)?),
                },
                Waited::Exited(_, code) => return Ok(self.mark_gone(tid, ExitKind::Exited(code))),
                Waited::Signaled(_, sig) => return Ok(self.mark_gone(tid, ExitKind::Signaled(sig))),
            }
        }
    }

    /// Work for a task's first stop: its address space handle, and the tid
    /// CLONE_CHILD_SETTID must show.
    fn first_stop(&mut self, tid: Tid, st: &mut Stopped) -> Result<()> {
        let t = self.task(tid)?;
        let pid = t.pid;
        let settid = t.settid.take();
        if let std::collections::hash_map::Entry::Vacant(e) = self.memories.entry(pid) {
            e.insert(Memory::open(st)?);
        }
        if let Some((addr, value)) = settid {
            self.memories[&pid].write(st, addr, &value.to_le_bytes())?;
        }
        Ok(())
    }

    /// Waits for the next stop of recorded task `tid` (real tid `real`) in
    /// the middle of a call reel runs for it; its death there is a
    /// divergence from what was recorded (`expected`).
    ///
    /// A signal the replay did not send (a real SIGCHLD from a replayed
    /// child) is discarded on the way, as in [`Engine::advance`]; the task
    /// is resumed with PTRACE_SYSCALL, as the callers run it.
    fn wait_within_call(&mut self, tid: Tid, real: i32, expected: &str) -> Result<Stopped> {
        let (kind, what) = loop {
            match self.tasks.wait(Some(real))? {
                Waited::Stopped(st) => {
                    if let StopReason::Signal(sig) = st.reason() {
                        let injected = self.task(tid)?.injected == Some(sig);
                        if !injected && !reel_syscalls::is_fault_signal(sig, st.siginfo()?.si_code)
                        {
                            self.tasks.insert(st.resume(Resume::Syscall, None)?);
                            continue;
                        }
                    }
                    return Ok(st);
                }
                Waited::Exited(_, c) => {
                    break (ExitKind::Exited(c), format!("the task exited with {c}"))
                }
                Waited::Signaled(_, s) => {
                    break (
                        ExitKind::Signaled(s),
                        format!("the task was killed by signal {s}"),
                    )
                }
            }
        };
        self.mark_gone(tid, kind);
        Err(self.diverged(tid, expected, what))
    }

    fn mark_gone(&mut self, tid: Tid, kind: ExitKind) -> Next {
        if let Some(t) = self.by_tid.get_mut(&tid) {
            t.gone = Some(kind);
        }
        Next::Gone(kind)
    }

    /// Gives a stopped task back after its event was handled.
    fn park(&mut self, tid: Tid, st: Stopped) -> Result<()> {
        let t = self.task(tid)?;
        t.stopped = Some(st);
        t.fresh = false;
        Ok(())
    }

    /// The next stop of `tid`, which must be a syscall stop for `ev`.
    fn expect_syscall(&mut self, tid: Tid, expected: &str) -> Result<Stopped> {
        match self.advance(tid)? {
            Next::Stop(st) if st.reason() == StopReason::Syscall => Ok(st),
            other => Err(self.unexpected(tid, other, expected)),
        }
    }

    fn on_event(&mut self, rec: Record) -> Result<()> {
        match rec.event {
            Event::Exec(ev) => self.on_exec(&ev, &rec.data),
            Event::Syscall(ev) => self.on_syscall(&ev, &rec.data),
            Event::Tsc {
                tid,
                kind,
                value,
                aux,
                rip,
            } => self.on_tsc(tid, kind, value, aux, rip),
            Event::Signal(ev) => self.on_signal(&ev),
            Event::Exit { tid, kind } => self.on_exit(tid, kind),
            Event::SyscallEntry {
                tid,
                nr,
                args,
                site,
            } => self.on_syscall_entry(tid, nr, &args, site),
            Event::Preempted {
                tid,
                landmark: Some(lm),
                ..
            } => self.run_to_landmark(tid, &lm, "the preemption"),
            Event::Patch {
                tid,
                addr,
                original,
                patched,
            } => self.on_patch(tid, addr, &original, &patched),
            Event::Yield { tid, rip, hits } => self.on_yield(tid, rip, hits),
            Event::FastSite(ev) => self.on_fast_site(&ev),
            Event::Filtered {
                tid,
                nr,
                args,
                result,
                site,
            } => self.on_filtered(&SyscallEvent::bare(tid, nr, args, result, site)),
            Event::Preempted { tid, rip, .. } => {
                if !self.warned_preempted {
                    self.warned_preempted = true;
                    eprintln!(
                        "reel: warning: event {}: thread {tid} was preempted at {rip:#x} while recording; \
                         the replay runs it on to its next syscall instead, and may diverge",
                        self.event
                    );
                }
                Ok(())
            }
        }
    }

    /// The divergence of a task that did `next` where `expected` was due
    /// (the task is parked again if it is stopped).
    fn unexpected(&mut self, tid: Tid, next: Next, expected: &str) -> ReplayError {
        match next {
            Next::Stop(st) => {
                let actual = self.describe_stop(&st);
                if let Err(e) = self.park(tid, st) {
                    return e;
                }
                self.diverged(tid, expected, actual)
            }
            Next::Paused(st, _) => self.unexpected(tid, Next::Stop(st), expected),
            Next::Gone(k) => self.diverged(tid, expected, format!("the task ended ({k:?})")),
        }
    }

    fn describe_stop(&self, st: &Stopped) -> String {
        let regs = st.regs().ok();
        match (st.reason(), regs) {
            (StopReason::Syscall, Some(r)) => format!(
                "the program made {}",
                reel_syscalls::format_call(r.syscall_nr(), &r.args())
            ),
            (reason, Some(r)) => format!("the program stopped with {reason:?} at {:#x}", r.ip()),
            (reason, None) => format!("the program stopped with {reason:?}"),
        }
    }
}
