//! The replayer's event loop: events are taken from the trace in their
//! global order and each is matched to what the replayed task does next.

use crate::image::{restore, FileMapping, Injector};
use crate::{ReplayError, Result};
use reel_sys::spawn::{spawn, ChildPlan};
use reel_sys::{digest, Memory, Resume, StopReason, Stopped, TaskSet, Waited, PAGE_SIZE};
use reel_syscalls::{Emit, Policy, Special};
use reel_trace::{
    Echo, Event, ExecEvent, ExitKind, Record, SignalDelivery, SignalEvent, SyscallEvent, Tid,
    TraceReader, TscKind,
};
use std::collections::HashMap;
use std::io::Write;

/// How to replay.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Reproduce the program's writes to reel's stdout/stderr (autopilot).
    pub echo: bool,
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
            injected: None,
            temp_mask: None,
            vfork_wait: None,
            shares_memory: false,
            dying: false,
        }
    }
}

/// What a task did when resumed.
enum Next {
    Stop(Stopped),
    Gone(ExitKind),
}

struct Replayer {
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
}

/// Replays the trace read by `reader`.
pub fn replay(reader: TraceReader, opts: ReplayOptions) -> Result<ReplayOutcome> {
    let mut r = Replayer {
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
    };
    let result = r.run();
    // Whatever happened, no replayed task outlives the replay.
    r.kill_all();
    result?;
    let complete = r.reader.is_complete();
    Ok(ReplayOutcome {
        exit: r.root_exit,
        events: r.event,
        complete,
    })
}

/// The replay's copy of the file the program mapped shared at `original`,
/// made from `snapshot` the first time.
fn shared_copy(
    copies: &mut HashMap<String, std::path::PathBuf>,
    scratch: &tempfile::TempDir,
    original: &str,
    snapshot: &std::path::Path,
) -> Result<std::path::PathBuf> {
    if let Some(p) = copies.get(original) {
        return Ok(p.clone());
    }
    let copy = scratch.path().join(format!("shared-{}", copies.len()));
    std::fs::copy(snapshot, &copy).map_err(|_| ReplayError::MissingSnapshot {
        original: original.to_string(),
        snapshot: snapshot.display().to_string(),
    })?;
    copies.insert(original.to_string(), copy.clone());
    Ok(copy)
}

fn page_up(v: u64) -> u64 {
    (v + PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

impl Replayer {
    fn run(&mut self) -> Result<()> {
        while let Some(rec) = self.reader.next()? {
            self.event = rec.number;
            self.on_event(rec)?;
        }
        Ok(())
    }

    fn kill_all(&mut self) {
        for (_, t) in self.by_tid.drain() {
            if t.gone.is_none() {
                let _ = reel_sys::send_signal(t.real, libc::SIGKILL);
            }
        }
        // Collect the dead so they do not linger as zombies.
        while !self.tasks.is_empty() {
            if self.tasks.wait(None).is_err() {
                break;
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
                    StopReason::Signal(sig) => {
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
    /// child) is discarded on the way, as in [`Replayer::advance`]; the task
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
            Event::SyscallEntry { tid, nr } => self.on_syscall_entry(tid, nr),
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

    fn on_exec(&mut self, ev: &ExecEvent, data: &[u8]) -> Result<()> {
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
        let pid = ev.tid;
        let mem = self
            .memories
            .remove(&pid)
            .map_or_else(|| Memory::open(&st), Ok)?;
        let st = restore(st, &mut self.tasks, &mem, &self.reader, ev, data)?;
        self.memories.insert(pid, mem);
        self.brks.insert(pid, ev.brk);
        if let Some(stack) = ev.regions.iter().find(|r| r.stack) {
            self.stack_ends.insert(pid, stack.end);
        }
        self.park(ev.tid, st)
    }

    /// A thread that a sibling's exec ended when recorded: the replayed exec
    /// does not run for real, so end the thread here, alone, with an `exit`
    /// from reel's code page (a signal would end the whole process).
    fn end_thread(&mut self, tid: Tid) -> Result<()> {
        let t = self.task(tid)?;
        if t.gone.is_some() {
            return Ok(());
        }
        let real = t.real;
        let initial = std::mem::take(&mut t.initial);
        let stopped = t.stopped.take();
        let mut st = match (stopped, initial) {
            (Some(st), _) => st,
            // Created but never run: take its first stop, run nothing.
            (None, true) => self.wait_within_call(tid, real, "the thread's first stop")?,
            (None, false) => {
                return Err(ReplayError::Unsupported {
                    event: self.event,
                    what: format!("thread {tid} to end is not stopped"),
                })
            }
        };
        let mut regs = st.regs()?;
        regs.set_ip(reel_sys::PRIVATE_PAGE);
        regs.set_syscall_nr(u64::MAX);
        regs.set_result(libc::SYS_exit);
        regs.set_args([0; 6]);
        st.set_regs(&regs)?;
        self.tasks.insert(st.resume(Resume::Cont, None)?);
        while let Waited::Stopped(st) = self.tasks.wait(Some(real))? {
            self.tasks.insert(st.resume(Resume::Cont, None)?);
        }
        self.task(tid)?.gone = Some(ExitKind::EndedByExec);
        Ok(())
    }

    /// Whether other tasks of `tid`'s process are alive (its threads).
    fn has_live_siblings(&self, tid: Tid) -> bool {
        let Some(pid) = self.by_tid.get(&tid).map(|t| t.pid) else {
            return false;
        };
        self.by_tid
            .iter()
            .any(|(&o, t)| o != tid && t.pid == pid && t.gone.is_none())
    }

    /// exit_group in a process with several threads: run it now, so that
    /// the kernel kills the other threads as when recorded, before any of
    /// them is resumed for its own exit event; every thread of the process
    /// is then only waited for.
    fn run_exit_group(&mut self, tid: Tid, st: Stopped) -> Result<()> {
        let real = st.tid();
        self.tasks.insert(st.resume(Resume::Cont, None)?);
        // By the caller's exit stop, every sibling has its SIGKILL pending.
        loop {
            match self.tasks.wait(Some(real))? {
                Waited::Stopped(s) => {
                    let at_exit = matches!(s.reason(), StopReason::ExitEvent { .. });
                    self.tasks.insert(s.resume(Resume::Cont, None)?);
                    if at_exit {
                        break;
                    }
                }
                Waited::Exited(_, c) => {
                    self.mark_gone(tid, ExitKind::Exited(c));
                    break;
                }
                Waited::Signaled(_, sig) => {
                    self.mark_gone(tid, ExitKind::Signaled(sig));
                    break;
                }
            }
        }
        let pid = self.task(tid)?.pid;
        let mut dying = Vec::new();
        for t in self
            .by_tid
            .values_mut()
            .filter(|t| t.pid == pid && t.gone.is_none())
        {
            t.dying = true;
            t.exiting = true;
            t.fresh = false;
            if let Some(st) = t.stopped.take() {
                dying.push(st);
            }
        }
        for st in dying {
            self.tasks.insert(st.resume(Resume::Cont, None)?);
        }
        Ok(())
    }

    /// A vfork child execs: rebuilding its address space in place would
    /// rebuild its parent's. Its exec continues in a fresh replay process
    /// instead (what the replayed programs see of pids and parents is
    /// emulated, so which real process plays it does not matter), and the
    /// vfork child is ended, which lets its parent out of the kernel.
    fn leave_shared_memory(&mut self, tid: Tid, old: Stopped) -> Result<Stopped> {
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

    /// A thread entered a blocking syscall and others ran meanwhile: run it
    /// up to that syscall's entry now, and leave the stop for the call's own
    /// event, which comes later.
    fn on_syscall_entry(&mut self, tid: Tid, nr: u64) -> Result<()> {
        let expected = format!("entry into {}", reel_syscalls::name(nr));
        let st = self.expect_syscall(tid, &expected)?;
        let regs = st.regs()?;
        if regs.syscall_nr() != nr {
            let actual = format!(
                "the program made {}",
                reel_syscalls::format_call(regs.syscall_nr(), &regs.args())
            );
            self.park(tid, st)?;
            return Err(self.diverged(tid, expected, actual));
        }
        let t = self.task(tid)?;
        t.stopped = Some(st);
        t.fresh = true;
        Ok(())
    }

    fn on_syscall(&mut self, ev: &SyscallEvent, data: &[u8]) -> Result<()> {
        let tid = ev.tid;
        let expected = reel_syscalls::format_call(ev.nr, &ev.args);
        let mut st = self.expect_syscall(tid, &expected)?;
        let mut regs = st.regs()?;
        let (nr, args) = (regs.syscall_nr(), regs.args());
        if nr != ev.nr || args != ev.args {
            let mut actual = format!("the program made {}", reel_syscalls::format_call(nr, &args));
            if nr == ev.nr {
                // Name the registers that differ: some are not printed in
                // the call (the arguments a syscall does not take).
                let names = ["rdi", "rsi", "rdx", "r10", "r8", "r9"];
                let diffs: Vec<String> = (0..6)
                    .filter(|&i| args[i] != ev.args[i])
                    .map(|i| format!("{}={:#x} (recorded {:#x})", names[i], args[i], ev.args[i]))
                    .collect();
                actual += &format!(" with {}", diffs.join(", "));
            }
            self.park(tid, st)?;
            return Err(self.diverged(tid, expected, actual));
        }
        if let Some(site) = ev.site {
            if site.rip != regs.ip() || site.rsp != regs.sp() {
                let actual = format!("it was made at rip={:#x} rsp={:#x}", regs.ip(), regs.sp());
                self.park(tid, st)?;
                return Err(self.diverged(
                    tid,
                    format!("{expected} at rip={:#x} rsp={:#x}", site.rip, site.rsp),
                    actual,
                ));
            }
        }
        let policy = reel_syscalls::spec(nr).map(|s| reel_syscalls::policy_for(s, &args));
        match policy {
            Some(Policy::Execute { check_result }) => {
                st = self.execute_checked(tid, st, check_result.then_some(ev.result), &expected)?;
                regs = st.regs()?;
                if nr == libc::SYS_rt_sigreturn as u64 {
                    // Its "result" is the restored rax: nothing to set.
                    self.apply_writes(&mut st, tid, ev, data)?;
                    return self.finish_syscall(tid, st, ev);
                }
            }
            Some(Policy::Special(Special::Mremap)) => {
                let moved = ev.result >= 0 && ev.result as u64 != args[0];
                if moved {
                    // Where the kernel moved it then, not where it would now.
                    let mut forced = regs;
                    let mut a = args;
                    a[3] |= (libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED) as u64;
                    a[4] = ev.result as u64;
                    forced.set_args(a);
                    st.set_regs(&forced)?;
                }
                st = self.execute_checked(tid, st, Some(ev.result), &expected)?;
                regs = st.regs()?;
                if moved {
                    // The program sees the arguments it passed.
                    regs.set_args(args);
                }
            }
            Some(Policy::Special(Special::Clone)) if ev.result > 0 => {
                match self.replay_clone(tid, st, ev, data)? {
                    Some(parent) => st = parent,
                    // A vfork: the parent stays in the kernel while its child
                    // runs; the event is finished when it comes out.
                    None => return Ok(()),
                }
                regs = st.regs()?;
            }
            Some(Policy::Special(Special::Mmap)) if ev.result >= 0 => {
                st = self.replay_mmap(tid, st, ev)?;
            }
            Some(Policy::Special(Special::Brk)) => {
                st = self.replay_brk(tid, st, ev)?;
            }
            Some(Policy::Special(Special::ExitGroup)) if self.has_live_siblings(tid) => {
                regs.back_up_to_syscall(nr);
                st.set_regs(&regs)?;
                return self.run_exit_group(tid, st);
            }
            Some(Policy::Special(Special::Exit)) | Some(Policy::Special(Special::ExitGroup)) => {
                let t = self.task(tid)?;
                t.exiting = true;
                // Run the call for real from where the program made it.
                regs.back_up_to_syscall(nr);
                st.set_regs(&regs)?;
                return self.park(tid, st);
            }
            _ => {}
        }
        regs.set_result(ev.result);
        st.set_regs(&regs)?;
        self.apply_writes(&mut st, tid, ev, data)?;
        // A call that waited under a temporary signal mask and was
        // interrupted: the signal that follows must be delivered under that
        // mask, which the emulated call did not install.
        let temp_mask = if reel_syscalls::is_interrupted(ev.result) {
            let mem = self.mem(tid)?;
            let view = |addr, len| mem.read(&st, addr, len).ok();
            reel_syscalls::temporary_sigmask(ev.nr, &ev.args, &view)
        } else {
            None
        };
        self.task(tid)?.temp_mask = temp_mask;
        self.echo(&st, tid, ev)?;
        self.finish_syscall(tid, st, ev)
    }

    fn finish_syscall(&mut self, tid: Tid, st: Stopped, ev: &SyscallEvent) -> Result<()> {
        if let Some(expected) = ev.checksum {
            let pid = self.task(tid)?.pid;
            let stack_end = self.stack_ends.get(&pid).copied();
            let actual = digest::writable_memory(&st, self.mem(tid)?, stack_end)?;
            if actual != expected {
                self.park(tid, st)?;
                return Err(self.diverged(
                    tid,
                    format!("memory checksum {expected:#018x}"),
                    format!("the replayed memory has checksum {actual:#018x}"),
                ));
            }
        }
        self.park(tid, st)
    }

    fn apply_writes(
        &mut self,
        st: &mut Stopped,
        tid: Tid,
        ev: &SyscallEvent,
        data: &[u8],
    ) -> Result<()> {
        let mem = self.mem(tid)?;
        let mut off = 0usize;
        for w in &ev.writes {
            let end = off + w.len as usize;
            let bytes = data.get(off..end).ok_or(ReplayError::Unsupported {
                event: self.event,
                what: "event has less data than its memory writes".into(),
            })?;
            mem.write(st, w.addr, bytes)?;
            off = end;
        }
        Ok(())
    }

    /// Reproduces the program's write to reel's stdout/stderr, with the bytes
    /// taken from the replayed program's own memory.
    fn echo(&self, st: &Stopped, tid: Tid, ev: &SyscallEvent) -> Result<()> {
        let (Some(target), true) = (ev.echo, self.opts.echo && ev.result > 0) else {
            return Ok(());
        };
        let Some(emit) = reel_syscalls::spec(ev.nr).and_then(|s| s.emit) else {
            return Ok(());
        };
        let mem = self.mem(tid)?;
        let total = ev.result as usize;
        let bytes = match emit {
            Emit::Buf { buf, .. } => mem.read(st, ev.args[buf], total)?,
            // The recorder never lets these reach its own stdout/stderr.
            Emit::InKernel { .. } => return Ok(()),
            Emit::Iov { iov, cnt, .. } => {
                let mut out = Vec::with_capacity(total);
                for i in 0..ev.args[cnt].min(1024) {
                    if out.len() >= total {
                        break;
                    }
                    let base = mem.read_u64(st, ev.args[iov] + i * 16)?;
                    let len = mem.read_u64(st, ev.args[iov] + i * 16 + 8)? as usize;
                    let take = len.min(total - out.len());
                    out.extend_from_slice(&mem.read(st, base, take)?);
                }
                out
            }
        };
        let res = match target {
            Echo::Stdout => {
                let mut o = std::io::stdout().lock();
                o.write_all(&bytes).and_then(|_| o.flush())
            }
            Echo::Stderr => {
                let mut o = std::io::stderr().lock();
                o.write_all(&bytes).and_then(|_| o.flush())
            }
        };
        res.map_err(ReplayError::Output)
    }

    /// [`Replayer::execute_in_place`], then checks the result against
    /// `expected_result` when given.
    fn execute_checked(
        &mut self,
        tid: Tid,
        st: Stopped,
        expected_result: Option<i64>,
        call: &str,
    ) -> Result<Stopped> {
        let (st, result) = self.execute_in_place(tid, st)?;
        match expected_result {
            Some(want) if want != result => {
                self.park(tid, st)?;
                Err(self.diverged(
                    tid,
                    format!("{call} = {want:#x}"),
                    format!("it returned {result:#x}"),
                ))
            }
            _ => Ok(st),
        }
    }

    /// Runs the syscall the task is stopped at (a PTRACE_SYSEMU entry stop)
    /// for real: back up over the `syscall` instruction and let it run under
    /// PTRACE_SYSCALL. Returns the task at the syscall-exit stop, and the result.
    ///
    /// Resuming a SYSEMU entry stop with PTRACE_SYSCALL first reports the exit
    /// of the skipped call, then the entry and exit of the re-executed one.
    fn execute_in_place(&mut self, tid: Tid, st: Stopped) -> Result<(Stopped, i64)> {
        let regs = st.regs()?;
        let (nr, args) = (regs.syscall_nr(), regs.args());
        self.run_in_place(tid, st, nr, args)
    }

    /// Like [`Replayer::execute_in_place`], but makes syscall `nr` with `args`
    /// instead of the one the task stopped at.
    fn run_in_place(
        &mut self,
        tid: Tid,
        mut st: Stopped,
        nr: u64,
        args: [u64; 6],
    ) -> Result<(Stopped, i64)> {
        let mut regs = st.regs()?;
        regs.back_up_to_syscall(nr);
        regs.set_args(args);
        st.set_regs(&regs)?;
        let real = st.tid();
        let name = reel_syscalls::name(nr);
        for step in 0..3 {
            self.tasks.insert(st.resume(Resume::Syscall, None)?);
            st = self.wait_within_call(tid, real, &format!("{name} to complete"))?;
            if st.reason() != StopReason::Syscall {
                let what = format!("stopped with {:?} while running {name}", st.reason());
                self.park(tid, st)?;
                return Err(self.diverged(tid, format!("{name} to complete"), what));
            }
            if step == 1 && st.regs()?.syscall_nr() != nr {
                let got = st.regs()?.syscall_nr();
                self.park(tid, st)?;
                return Err(self.diverged(
                    tid,
                    format!("{name} to be re-issued"),
                    format!("syscall {got} was"),
                ));
            }
        }
        let result = st.regs()?.result();
        Ok((st, result))
    }

    /// Creates the task a fork/vfork/clone created at record time, with the
    /// same call. A vfork child shares its parent's memory until it execs,
    /// as it did when recorded: the parent then stays in the kernel, and
    /// `None` is returned (see [`Replayer::finish_vfork`]).
    fn replay_clone(
        &mut self,
        tid: Tid,
        mut st: Stopped,
        ev: &SyscallEvent,
        data: &[u8],
    ) -> Result<Option<Stopped>> {
        let mut regs = st.regs()?;
        let nr = regs.syscall_nr();
        let args = regs.args();
        let is_clone = nr == libc::SYS_clone as u64;
        let flags = if is_clone { args[0] } else { 0 };
        let vfork = nr == libc::SYS_vfork as u64 || flags & libc::CLONE_VFORK as u64 != 0;
        let settid = (is_clone && flags & libc::CLONE_CHILD_SETTID as u64 != 0 && args[3] != 0)
            .then_some(args[3]);
        regs.back_up_to_syscall(nr);
        st.set_regs(&regs)?;
        let real = st.tid();
        let mut child = None;
        // Exit of the skipped call, entry of the re-issued one, the
        // new-task event, then (not for a vfork: its child runs first) its exit.
        let mut syscall_stops = 0;
        let wanted = if vfork { 2 } else { 3 };
        while syscall_stops < wanted || child.is_none() {
            self.tasks.insert(st.resume(Resume::Syscall, None)?);
            st = self.wait_within_call(tid, real, "fork to complete")?;
            match st.reason() {
                StopReason::Syscall => syscall_stops += 1,
                StopReason::NewTask { child: c } => child = Some(c),
                other => {
                    let what = format!("stopped with {other:?} while forking");
                    self.park(tid, st)?;
                    return Err(self.diverged(tid, "fork to complete", what));
                }
            }
            if syscall_stops > wanted {
                let r = st.regs()?.result();
                self.park(tid, st)?;
                return Err(self.diverged(
                    tid,
                    format!("fork to create task {}", ev.result),
                    format!("it returned {r}"),
                ));
            }
        }
        let child = child.expect("loop ends with a child");
        let rec_child = ev.result as Tid;
        let parent_pid = self.task(tid)?.pid;
        let thread = is_clone && flags & libc::CLONE_THREAD as u64 != 0;
        let mut task = Task::new(child, if thread { parent_pid } else { rec_child }, true);
        task.settid = settid.map(|a| (a, rec_child as u32));
        task.shares_memory = vfork;
        self.by_tid.insert(rec_child, task);
        if !thread {
            if let Some(b) = self.brks.get(&parent_pid).copied() {
                self.brks.insert(rec_child, b);
            }
            if let Some(e) = self.stack_ends.get(&parent_pid).copied() {
                self.stack_ends.insert(rec_child, e);
            }
        }
        if vfork {
            self.tasks.insert(st.resume(Resume::Syscall, None)?);
            self.task(tid)?.vfork_wait = Some((ev.clone(), data.to_vec()));
            return Ok(None);
        }
        Ok(Some(st))
    }

    /// A vfork parent comes out of the kernel (its child exec'd or exited):
    /// finish the vfork's event as for any other call.
    fn finish_vfork(&mut self, tid: Tid, ev: SyscallEvent, data: Vec<u8>) -> Result<()> {
        let real = self.task(tid)?.real;
        let mut st = loop {
            let st = self.wait_within_call(tid, real, "vfork to return")?;
            if st.reason() == StopReason::Syscall {
                break st;
            }
            // A stray signal (the child's SIGCHLD) on the way out.
            self.tasks.insert(st.resume(Resume::Syscall, None)?);
        };
        let mut regs = st.regs()?;
        regs.set_args(ev.args);
        regs.set_result(ev.result);
        st.set_regs(&regs)?;
        self.apply_writes(&mut st, tid, &ev, &data)?;
        self.park(tid, st)
    }

    fn replay_mmap(&mut self, tid: Tid, st: Stopped, ev: &SyscallEvent) -> Result<Stopped> {
        let [_, len, prot, flags, _, offset] = ev.args;
        let addr = ev.result as u64;
        let mem_pid = self.by_tid.get(&tid).map_or(tid, |t| t.pid);
        let mem = self
            .memories
            .remove(&mem_pid)
            .ok_or(ReplayError::Unsupported {
                event: self.event,
                what: format!("no address space for task {tid}"),
            })?;
        let keep = (flags as i32) & (libc::MAP_NORESERVE | libc::MAP_GROWSDOWN | libc::MAP_STACK);
        // A writable shared mapping of a file is how processes share memory:
        // the replayed ones map one copy of it, shared, as they did the file.
        let shared =
            (flags as i32) & libc::MAP_SHARED != 0 && (prot as i32) & libc::PROT_WRITE != 0;
        let res = match &ev.mapped_file {
            Some(mf) => {
                let snapshot = self.reader.file_path(&mf.file);
                let path = if shared {
                    match shared_copy(&mut self.shared_files, &self.scratch, &mf.path, &snapshot) {
                        Ok(p) => p,
                        Err(e) => {
                            self.memories.insert(mem_pid, mem);
                            return Err(e);
                        }
                    }
                } else {
                    snapshot
                };
                let m = FileMapping {
                    path: &path,
                    original: &mf.path,
                    start: addr,
                    len,
                    prot: prot as u32,
                    offset,
                    extra_flags: keep,
                    shared,
                };
                let mut inj = Injector {
                    tasks: &mut self.tasks,
                };
                inj.map_file(st, &mem, &m)
            }
            None => {
                let mut inj = Injector {
                    tasks: &mut self.tasks,
                };
                // A shared mapping of a file reel did not snapshot (a device)
                // is replayed as private zero memory.
                let mut flags = flags as i32;
                if flags & libc::MAP_ANONYMOUS == 0 {
                    flags = (flags & !(libc::MAP_SHARED | libc::MAP_SHARED_VALIDATE))
                        | libc::MAP_PRIVATE;
                }
                inj.map_anon_with(st, addr, len, prot as u32, flags)
            }
        };
        self.memories.insert(mem_pid, mem);
        res
    }

    fn replay_brk(&mut self, tid: Tid, st: Stopped, ev: &SyscallEvent) -> Result<Stopped> {
        let pid = self.by_tid.get(&tid).map_or(tid, |t| t.pid);
        let old = self.brks.get(&pid).copied().unwrap_or(0);
        let new = ev.result as u64;
        let (lo, hi) = (page_up(old), page_up(new));
        let mut inj = Injector {
            tasks: &mut self.tasks,
        };
        let st = if hi > lo && old != 0 {
            inj.map_anon(
                st,
                lo,
                hi - lo,
                (libc::PROT_READ | libc::PROT_WRITE) as u32,
                false,
            )?
        } else if hi < lo {
            inj.call(
                st,
                libc::SYS_munmap,
                [hi, lo - hi, 0, 0, 0, 0],
                "munmap of the shrunk heap",
            )?
            .0
        } else {
            st
        };
        self.brks.insert(pid, new);
        Ok(st)
    }

    fn on_tsc(&mut self, tid: Tid, kind: TscKind, value: u64, aux: u32, rip: u64) -> Result<()> {
        let expected = format!("{kind:?} at {rip:#x}");
        match self.advance(tid)? {
            Next::Stop(mut st) if st.reason() == StopReason::Signal(libc::SIGSEGV) => {
                let mut regs = st.regs()?;
                if regs.ip() != rip {
                    let actual = format!("a SIGSEGV at {:#x}", regs.ip());
                    self.park(tid, st)?;
                    return Err(self.diverged(tid, expected, actual));
                }
                let len = if kind == TscKind::Rdtscp { 3 } else { 2 };
                regs.set_tsc(value, (kind == TscKind::Rdtscp).then_some(aux));
                regs.set_ip(rip + len);
                st.set_regs(&regs)?;
                self.park(tid, st)
            }
            other => Err(self.unexpected(tid, other, &expected)),
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

    fn on_signal(&mut self, ev: &SignalEvent) -> Result<()> {
        let tid = ev.tid;
        let expected = format!(
            "signal {} at {:#x}",
            reel_syscalls::signal_name(ev.signo),
            ev.rip
        );
        match ev.delivery {
            SignalDelivery::Synchronous => {}
            SignalDelivery::BeforeSyscall => {
                // Recorded at a syscall entry: reach the same entry, then
                // back up before the instruction as the recorder did.
                let mut st = self.expect_syscall(tid, &expected)?;
                let mut regs = st.regs()?;
                let nr = regs.syscall_nr();
                regs.back_up_to_syscall(nr);
                st.set_regs(&regs)?;
                self.park(tid, st)?;
                self.send_recorded(tid, ev.signo)?;
            }
            SignalDelivery::AfterSyscall | SignalDelivery::DefaultAction => {
                self.send_recorded(tid, ev.signo)?;
                if let Some((mask, size)) = self.task(tid)?.temp_mask.take() {
                    self.wait_under_mask(tid, mask, size)?;
                }
            }
            SignalDelivery::Interrupted => {
                if !self.warned_interrupted {
                    self.warned_interrupted = true;
                    eprintln!(
                        "reel: warning: event {}: signal {} was delivered where reel interrupted a task that made no syscall; \
                         the replay delivers it after the same event, not necessarily at the same instruction",
                        self.event,
                        reel_syscalls::signal_name(ev.signo)
                    );
                }
                self.send_recorded(tid, ev.signo)?;
            }
        }
        match self.advance(tid)? {
            Next::Stop(mut st) if st.reason() == StopReason::Signal(ev.signo) => {
                if ev.delivery != SignalDelivery::Synchronous {
                    st.set_siginfo_bytes(&ev.siginfo)?;
                }
                let ip = st.regs()?.ip();
                // Signals delivered where they happened to arrive are only
                // placed between the same two events.
                let placed_exactly = !matches!(
                    ev.delivery,
                    SignalDelivery::DefaultAction | SignalDelivery::Interrupted
                );
                if placed_exactly && ip != ev.rip {
                    let actual = format!("it arrived at {ip:#x}");
                    self.park(tid, st)?;
                    return Err(self.diverged(tid, expected, actual));
                }
                self.task(tid)?.pending_signal = Some(ev.signo);
                self.park(tid, st)
            }
            other => Err(self.unexpected(tid, other, &expected)),
        }
    }

    /// The task's last call (emulated) was interrupted while it waited under
    /// a temporary signal mask. Have it really call rt_sigsuspend with that
    /// mask: with the signal already pending, the kernel returns at once and
    /// leaves the mask installed, to be restored after the handler, just as
    /// it did for the recorded call. Then give back the recorded registers.
    fn wait_under_mask(&mut self, tid: Tid, mask: u64, size: u64) -> Result<()> {
        let t = self.task(tid)?;
        let st = t.stopped.take().ok_or(ReplayError::Unsupported {
            event: self.event,
            what: format!("task {tid} is not stopped"),
        })?;
        let saved = st.regs()?;
        let (mut st, result) = self.run_in_place(
            tid,
            st,
            libc::SYS_rt_sigsuspend as u64,
            [mask, size, 0, 0, 0, 0],
        )?;
        if !reel_syscalls::is_interrupted(result) {
            self.park(tid, st)?;
            return Err(self.diverged(
                tid,
                "the recorded signal to interrupt the wait",
                format!("rt_sigsuspend returned {result}"),
            ));
        }
        st.set_regs(&saved)?;
        self.park(tid, st)
    }

    /// Sends a recorded asynchronous signal to the replayed task; its
    /// delivery stop is then expected (and not mistaken for a stray signal).
    fn send_recorded(&mut self, tid: Tid, signo: i32) -> Result<()> {
        let t = self.task(tid)?;
        t.injected = Some(signo);
        let real = t.real;
        reel_sys::send_signal(real, signo)?;
        Ok(())
    }

    fn on_exit(&mut self, tid: Tid, kind: ExitKind) -> Result<()> {
        if kind == ExitKind::EndedByExec {
            self.end_thread(tid)?;
            return self.forget_task(tid, kind);
        }
        let t = self.task(tid)?;
        if t.gone.is_none() && !t.exiting && t.pending_signal.is_none() {
            // Killed from outside (SIGKILL) at record time: do the same.
            if let ExitKind::Signaled(sig) = kind {
                let real = t.real;
                t.exiting = true;
                reel_sys::send_signal(real, sig)?;
            }
        }
        self.task(tid)?.exiting = true;
        let got = loop {
            match self.advance(tid)? {
                Next::Gone(k) => break k,
                Next::Stop(st) => {
                    // A fatal signal being delivered on the way out.
                    if let StopReason::Signal(s) = st.reason() {
                        if ExitKind::Signaled(s) == kind {
                            self.task(tid)?.pending_signal = Some(s);
                            self.park(tid, st)?;
                            continue;
                        }
                    }
                    let actual = self.describe_stop(&st);
                    self.park(tid, st)?;
                    return Err(self.diverged(tid, format!("the task to end ({kind:?})"), actual));
                }
            }
        };
        if got != kind {
            return Err(self.diverged(
                tid,
                format!("the task to end with {kind:?}"),
                format!("it ended with {got:?}"),
            ));
        }
        self.forget_task(tid, kind)
    }

    /// Drops a task that ended with `kind`.
    fn forget_task(&mut self, tid: Tid, kind: ExitKind) -> Result<()> {
        let pid = self.by_tid.remove(&tid).map_or(tid, |t| t.pid);
        // The last task of a process takes its address space with it.
        if !self
            .by_tid
            .values()
            .any(|t| t.pid == pid && t.gone.is_none())
        {
            self.memories.remove(&pid);
        }
        if Some(tid) == self.root {
            self.root_exit = Some(kind);
        }
        Ok(())
    }
}
