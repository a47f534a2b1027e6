//! The recorder's event loop. It waits on all tasks at once, so that process
//! trees and threads extend it rather than replace it.

use crate::exec::{patch_vdso, snapshot_regions};
use crate::{RecordError, Result};
use reel_sys::spawn::{spawn, ChildPlan};
use reel_sys::{cpu, digest, proc, Memory, Resume, StopReason, Stopped, TaskSet, Waited};
use reel_syscalls::{Emit, Policy, Special, SyscallSpec};
use reel_trace::{
    CpuIdentity, CpuidLeaf, Echo, Event, ExecEvent, ExitKind, Header, Landmark, MappedFile,
    MemWrite, SignalDelivery, Summary, SyscallEvent, SyscallSite, Tid, TraceWriter, TscKind,
};
use std::collections::{HashMap, HashSet};

mod created;
mod echo_order;
mod fastpath;
mod guard;
mod landmarks;
mod memory;
mod schedule;
mod seccomp;
mod signals;
mod syscalls;
mod yields;
use std::ffi::CString;
use std::path::PathBuf;

/// What to record.
pub struct RecordOptions {
    /// Resolved path of the program.
    pub program: PathBuf,
    /// argv (`argv[0]` as the user typed it).
    pub argv: Vec<String>,
    /// Environment ("K=V").
    pub env: Vec<String>,
    /// Store a memory checksum at every event.
    pub checksum: bool,
    /// Bind the tracees to this CPU (see `Header::cpu_binding`).
    pub cpu: Option<u32>,
    /// Randomise scheduling decisions (see schedule.rs).
    pub chaos: bool,
    /// Go on recording after the program exits, until every process it
    /// left running is gone too (otherwise those are killed then).
    pub wait_all: bool,
    /// Make the calls of `reel_sys::syscallbuf::BUFFERED` in-process
    /// (session/fastpath.rs); off: every call stops.
    pub fast_path: bool,
}

/// How the recording ended.
pub struct RecordOutcome {
    /// How the initial process ended.
    pub exit: ExitKind,
    /// Number of events written.
    pub events: u64,
}

/// A syscall a task is in the middle of (between its entry and exit stops).
struct InSyscall {
    nr: u64,
    args: [u64; 6],
    site: SyscallSite,
    spec: Option<&'static SyscallSpec>,
    /// The event was already written (at PTRACE_EVENT_EXEC for execve, at
    /// the new-task stop for fork/clone): the exit stop adds nothing.
    recorded: bool,
    /// For execve: the path and argv, read at entry.
    exec_args: Option<(String, Vec<String>)>,
    /// The strings and structures its arguments point to, read at entry
    /// (for `dump`; see `reel_syscalls::capture_args`).
    arg_data: Vec<reel_trace::ArgData>,
}

struct Task {
    /// Thread-group id (the process).
    pid: Tid,
    syscall: Option<InSyscall>,
    /// Signals reel holds for delivery at the task's next syscall.
    held: std::collections::VecDeque<HeldSignal>,
    /// A signal reel sent to the task itself and whose delivery it awaits.
    injecting: Option<(HeldSignal, SignalDelivery)>,
    /// The task's last syscall was interrupted: the signal-delivery stop
    /// that follows is at that deterministic point.
    after_interrupt: bool,
    /// reel stopped the task with PTRACE_INTERRUPT to deliver a held signal.
    interrupted: bool,
    /// Where the signal reel is delivering after such an interruption goes in.
    landmark: Option<Landmark>,
    /// Traps at patched `pause` instructions since the task's last event.
    pause_hits: u64,
    /// CPU time of its process at the task's last event (0 before any):
    /// bounds how long it ran to a landmark (`Landmark::cpu_ns`).
    cpu_at_event: u64,
    /// A vfork child still running in this parent's memory.
    vfork_parent: Option<Tid>,
    /// A call that returned a restart code, and its event, not written yet:
    /// written if a signal is delivered next, dropped if the kernel makes
    /// the call again (the program never sees that return).
    restartable: Option<((Event, Vec<u8>), InSyscall)>,
    /// The program's own seccomp filters that apply to the task (seccomp.rs).
    filters: Vec<std::rc::Rc<Vec<reel_syscalls::filter::Insn>>>,
}

impl Task {
    fn new(pid: Tid) -> Task {
        Task {
            pid,
            syscall: None,
            held: Default::default(),
            injecting: None,
            after_interrupt: false,
            interrupted: false,
            landmark: None,
            pause_hits: 0,
            cpu_at_event: 0,
            vfork_parent: None,
            restartable: None,
            filters: Vec::new(),
        }
    }
}

/// An asynchronous signal as it arrived.
#[derive(Debug, Clone)]
struct HeldSignal {
    signo: i32,
    siginfo: Vec<u8>,
    /// When it arrived (a task that makes no syscall gets it after a while).
    since: std::time::Instant,
}

struct Recorder {
    writer: TraceWriter,
    tasks: TaskSet,
    task_info: HashMap<Tid, Task>,
    memories: HashMap<Tid, Memory>,
    stdout_id: Option<(u64, u64)>,
    stderr_id: Option<(u64, u64)>,
    checksum: bool,
    warned: HashSet<u64>,
    /// ioctl requests already warned about.
    warned_ioctls: HashSet<u64>,
    /// Files mapped shared, already warned about.
    warned_shared: HashSet<String>,
    /// Files (device, inode) the recorded tree created (see created.rs).
    created_files: HashSet<(u64, u64)>,
    /// Tasks in an open that will create its (missing) file.
    creating: HashSet<Tid>,
    /// Per process (or sharing group): which task may run user code (see
    /// schedule.rs).
    runners: HashMap<Tid, schedule::Runner>,
    /// Processes that share writable memory with other processes.
    sharing: HashSet<Tid>,
    /// Processes with a writable anonymous shared mapping (shared with
    /// whatever they fork).
    anon_sharers: HashSet<Tid>,
    /// Files mapped shared and writable (device, inode), by process.
    shared_files: HashMap<(u64, u64), HashSet<Tid>>,
    /// Per process: the `pause` instructions patched to trap (yields.rs).
    patches: HashMap<Tid, HashSet<u64>>,
    /// `record --chaos`: the random source of scheduling decisions.
    chaos: Option<schedule::Chaos>,
    root_pid: Tid,
    root_exit: Option<ExitKind>,
    /// `record --wait`: see [`RecordOptions::wait_all`].
    wait_all: bool,
    /// The program exited and reel killed what it left running.
    ending: bool,
    events: u64,
    /// First stops of new tasks whose creation is not recorded yet.
    held: HashMap<Tid, Stopped>,
    /// vfork parents back from the kernel before their child's exec (or
    /// exit) was recorded; they wait, so that none of their events precedes
    /// what released them.
    vfork_held: HashMap<Tid, Stopped>,
    /// Looks for RDRAND/RDSEED in executable mappings (None when CPUID
    /// faulting could make them trap).
    unrecordable: Option<crate::unrecordable::Scanner>,
    /// The in-process syscall fast path (fastpath.rs).
    fast: fastpath::FastPath,
    /// Echoed writes, one at a time (echo_order.rs).
    echo: echo_order::EchoOrder,
    /// Shared files and System V segments (memory.rs).
    sysv: memory::MemState,
}

/// Records `opts.program` into the trace written by `writer` (whose header
/// the caller built). Returns when every task has exited.
pub fn record(opts: &RecordOptions, writer: TraceWriter) -> Result<RecordOutcome> {
    let cstr = |s: &str| {
        CString::new(s).map_err(|_| RecordError::Start {
            program: opts.program.display().to_string(),
            what: "an argument or variable contains a NUL byte".into(),
        })
    };
    let plan = ChildPlan::Record {
        path: cstr(&opts.program.to_string_lossy())?,
        argv: opts.argv.iter().map(|a| cstr(a)).collect::<Result<_>>()?,
        envp: opts.env.iter().map(|a| cstr(a)).collect::<Result<_>>()?,
    };
    let mut tasks = TaskSet::new();
    let first = spawn(&plan, opts.cpu, &mut tasks)?;
    // The terminal's Ctrl-C reaches the program directly (same process
    // group); reel must not die of it, nor forward it a second time.
    reel_sys::fs::ignore_terminal_interrupts();
    reel_sys::fs::catch_termination_signals();
    let root = first.tid();
    let mut rec = Recorder {
        writer,
        tasks,
        task_info: HashMap::new(),
        memories: HashMap::new(),
        stdout_id: proc::own_fd_identity(1),
        stderr_id: proc::own_fd_identity(2),
        checksum: opts.checksum,
        warned: HashSet::new(),
        warned_ioctls: HashSet::new(),
        warned_shared: HashSet::new(),
        created_files: HashSet::new(),
        creating: HashSet::new(),
        runners: HashMap::new(),
        sharing: HashSet::new(),
        anon_sharers: HashSet::new(),
        shared_files: HashMap::new(),
        patches: HashMap::new(),
        chaos: opts.chaos.then(schedule::Chaos::new),
        root_pid: root,
        root_exit: None,
        wait_all: opts.wait_all,
        ending: false,
        events: 0,
        held: HashMap::new(),
        vfork_held: HashMap::new(),
        unrecordable: (!reel_sys::cpu::cpuid_faulting()).then(Default::default),
        fast: fastpath::FastPath::new(opts.fast_path),
        echo: Default::default(),
        sysv: Default::default(),
    };
    rec.task_info.insert(root, Task::new(root));
    rec.memories.insert(root, Memory::open(&first)?);
    rec.on_stop(first)?;
    let run = rec.run();
    if let Some(line) = rec.fast_summary() {
        eprintln!("{line}");
    }
    let exit = rec.root_exit.unwrap_or(ExitKind::Signaled(libc::SIGKILL));
    let summary = Summary {
        exit: rec.root_exit,
        events: rec.events,
        end_time_ms: now_ms(),
    };
    match run {
        Ok(()) => {
            rec.writer.finish(&summary)?;
            Ok(RecordOutcome {
                exit,
                events: summary.events,
            })
        }
        // Dropping the writer flushes what was recorded: the trace stays
        // replayable up to the failure.
        Err(e) => Err(e),
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Recorder {
    fn run(&mut self) -> Result<()> {
        while !self.task_info.is_empty() {
            let holding = self.task_info.values().any(|t| !t.held.is_empty());
            let waiting = self.someone_waits();
            let waited = if holding || waiting {
                let limit = if waiting {
                    self.poll_limit()
                } else {
                    signals::HOLD_LIMIT
                };
                match self.tasks.wait_timeout(limit)? {
                    Some(w) => w,
                    None => {
                        self.interrupt_overdue()?;
                        self.preempt_overdue()?;
                        self.pass_on_termination()?;
                        continue;
                    }
                }
            } else {
                match self.tasks.wait_interruptible()? {
                    Some(w) => w,
                    None => {
                        self.pass_on_termination()?;
                        continue;
                    }
                }
            };
            match waited {
                Waited::Stopped(st) => self.on_stop(st)?,
                Waited::Exited(tid, code) => self.on_gone(tid, ExitKind::Exited(code))?,
                Waited::Signaled(tid, sig) => self.on_gone(tid, ExitKind::Signaled(sig))?,
            }
            // Deadlines are checked after every stop too, not only when a
            // wait times out: a repeating timer stops the task (and ends the
            // wait) more often than the limit, which would otherwise never
            // be reached.
            self.interrupt_overdue()?;
            self.preempt_overdue()?;
        }
        Ok(())
    }

    /// SIGTERM, SIGHUP (or another signal that would kill reel) sent to
    /// reel from outside goes to the recorded program, which ends (or not)
    /// as it would have without reel; the recording goes on until it does
    /// and the trace is finished properly. One a recorded process sent (to
    /// its process group, reel included) already reached its targets, and
    /// one from the kernel (a hangup) reaches the program on its own: reel
    /// just survives those.
    fn pass_on_termination(&mut self) -> Result<()> {
        for (sig, sender) in reel_sys::fs::take_caught_signals() {
            let Some(sender) = sender else { continue };
            let recorded = self.task_info.values().any(|t| t.pid == sender);
            if !recorded && self.task_info.contains_key(&self.root_pid) {
                reel_sys::send_signal(self.root_pid, sig)?;
            }
        }
        Ok(())
    }

    fn append(&mut self, event: &Event, data: &[u8]) -> Result<u64> {
        self.events += 1;
        // Yield points are counted from the thread's previous event.
        if let Some(t) = self.task_info.get_mut(&event.tid()) {
            t.pause_hits = 0;
            t.cpu_at_event = reel_sys::proc::process_cpu_ns(t.pid).unwrap_or(t.cpu_at_event);
        }
        Ok(self.writer.append(event, data)?)
    }

    /// Resumes a task. Into its own code (PTRACE_CONT, but for a task on its
    /// way out) only when its process's token allows it (schedule.rs).
    fn resume(&mut self, st: Stopped, how: Resume, sig: Option<i32>) -> Result<()> {
        if how == Resume::Cont && !matches!(st.reason(), StopReason::ExitEvent { .. }) {
            return self.resume_user(st, sig);
        }
        let r = st.resume(how, sig)?;
        self.tasks.insert(r);
        Ok(())
    }

    fn mem(&self, tid: Tid) -> Result<&Memory> {
        let pid = self.task_info.get(&tid).map_or(tid, |t| t.pid);
        self.memories
            .get(&pid)
            .ok_or_else(|| RecordError::Unsupported {
                tid,
                what: "no memory handle for its process".into(),
            })
    }

    /// The vfork child `tid` exec'd: its parent may go on.
    fn release_vfork_parent(&mut self, tid: Tid) -> Result<()> {
        let parent = self
            .task_info
            .get_mut(&tid)
            .and_then(|t| t.vfork_parent.take());
        if let Some(pst) = parent.and_then(|p| self.vfork_held.remove(&p)) {
            self.resume(pst, Resume::Cont, None)?;
        }
        Ok(())
    }

    fn on_gone(&mut self, tid: Tid, kind: ExitKind) -> Result<()> {
        // A thread whose sibling is in execve was ended by that exec (the
        // kernel kills the other threads); say so, whatever status waitpid
        // reported, so that replay, whose exec does not run for real, ends
        // that thread itself.
        let pid = self.task_info.get(&tid).map(|t| t.pid);
        let killed_by_exec = self.task_info.iter().any(|(&o, t)| {
            o != tid
                && Some(t.pid) == pid
                && t.syscall.as_ref().is_some_and(|sc| {
                    sc.nr == libc::SYS_execve as u64 || sc.nr == libc::SYS_execveat as u64
                })
        });
        let kind = if killed_by_exec {
            ExitKind::EndedByExec
        } else {
            kind
        };
        self.forget_ready(tid);
        self.echo_done(tid)?;
        self.release_token(tid, None)?;
        if let Some(t) = self.task_info.remove(&tid) {
            if !self.task_info.values().any(|o| o.pid == t.pid) {
                self.memories.remove(&t.pid);
                self.runners.remove(&t.pid);
                self.sharing.remove(&t.pid);
                self.anon_sharers.remove(&t.pid);
                for pids in self.shared_files.values_mut() {
                    pids.remove(&t.pid);
                }
            }
            if tid == self.root_pid {
                self.root_exit = Some(kind);
            }
            self.append(&Event::Exit { tid, kind }, &[])?;
            if let Some(parent) = t.vfork_parent {
                if let Some(pst) = self.vfork_held.remove(&parent) {
                    self.resume(pst, Resume::Cont, None)?;
                }
            }
            // A process exit is a natural point to make the trace durable.
            self.writer.flush()?;
        }
        self.end_with_program();
        Ok(())
    }

    /// Once the recorded program (the root process, all its threads) is
    /// gone, the recording ends: the processes it left running (a daemon
    /// that double-forked, background jobs) are killed, as rr does without
    /// `--wait`, so that their deaths end the trace instead of reel waiting
    /// for ever.
    fn end_with_program(&mut self) {
        let root_gone =
            self.root_exit.is_some() && !self.task_info.values().any(|t| t.pid == self.root_pid);
        if self.wait_all || self.ending || !root_gone || self.task_info.is_empty() {
            return;
        }
        self.ending = true;
        let left: HashSet<Tid> = self.task_info.values().map(|t| t.pid).collect();
        eprintln!(
            "reel: the program exited; ending the {} process(es) it left running (record --wait waits for them)",
            left.len()
        );
        let tids = self.task_info.keys().chain(self.held.keys());
        for &tid in tids.collect::<Vec<_>>() {
            // SIGKILL to one thread ends its whole process; ESRCH (already
            // gone) is fine.
            let _ = reel_sys::send_signal(tid, libc::SIGKILL);
        }
    }

    fn on_stop(&mut self, st: Stopped) -> Result<()> {
        let tid = st.tid();
        self.echo_forget(tid);
        if !self.task_info.contains_key(&tid) {
            // A new task reports its first stop before its parent's fork
            // event may have been seen: hold it until its creation is recorded,
            // so that its events never precede that.
            self.held.insert(tid, st);
            return Ok(());
        }
        let pid = self.task_info[&tid].pid;
        if let std::collections::hash_map::Entry::Vacant(e) = self.memories.entry(pid) {
            e.insert(Memory::open(&st)?);
        }
        if !matches!(st.reason(), StopReason::GroupStop(_)) {
            self.interrupt_consumed(tid);
        }
        let mut st = st;
        self.fast_drain(&mut st)?;
        match st.reason() {
            StopReason::Seccomp => self.on_syscall_entry(st),
            StopReason::Syscall => self.on_syscall_exit(st),
            StopReason::Exec { former_tid } => self.on_exec(st, former_tid),
            StopReason::ExitEvent { .. } => {
                // A leader that ends alone (the bare exit syscall) is only
                // reported gone once its last thread is: its token goes to
                // the next thread now, or they would wait for ever. Other
                // threads pass it on when reaped, after the kernel cleared
                // their tid for pthread_join (passing it here would race
                // with that clearing).
                if tid == pid {
                    self.release_token(tid, None)?;
                }
                self.resume(st, Resume::Cont, None)
            }
            StopReason::GroupStop(_) => match self.on_preempted(st)? {
                Some(st) => self.on_group_stop(st),
                None => Ok(()),
            },
            StopReason::NewTask { child } => self.on_new_task(st, child),
            StopReason::Signal(sig) => self.on_signal(st, sig),
        }
    }

    fn read_exec_args(
        &self,
        st: &Stopped,
        nr: u64,
        args: &[u64; 6],
    ) -> Result<(String, Vec<String>)> {
        let mem = self.mem(st.tid())?;
        // execveat takes (dirfd, path, argv, ...); execve (path, argv, ...).
        let (path_at, argv_at) = if nr == libc::SYS_execveat as u64 {
            (args[1], args[2])
        } else {
            (args[0], args[1])
        };
        let path = mem.read_cstr(st, path_at, 4096).unwrap_or_default();
        let mut argv = Vec::new();
        if argv_at != 0 {
            for i in 0..4096u64 {
                let p = match mem.read_u64(st, argv_at + i * 8) {
                    Ok(p) => p,
                    Err(_) => break,
                };
                if p == 0 {
                    break;
                }
                argv.push(mem.read_cstr(st, p, 1 << 16).unwrap_or_default());
            }
        }
        Ok((path, argv))
    }

    fn on_exec(&mut self, mut st: Stopped, former_tid: i32) -> Result<()> {
        let tid = st.tid();
        let pid = tid;
        // The old address space is gone: reopen the memory handle.
        let mem = Memory::open(&st)?;
        patch_vdso(&mut st, &mem)?;
        let mut data = Vec::new();
        let regions = snapshot_regions(&st, &mem, &mut self.writer, &mut data)?;
        if let Some(scanner) = self.unrecordable.as_mut() {
            scanner.scan(&st, &mem, &proc::maps(pid)?);
        }
        let mut regs = st.regs()?;
        // execve returns 0 in the new program.
        regs.set_result(0);
        let xstate = st.xstate()?;
        let brk = proc::start_brk(pid)?;
        let signals = proc::signal_masks(tid)?;
        let pending = self
            .task_info
            .get_mut(&former_tid)
            .and_then(|t| t.syscall.as_mut());
        let (path, argv, site) = match pending {
            Some(sc) => {
                sc.recorded = true;
                let (p, a) = sc.exec_args.clone().unwrap_or_default();
                (p, a, Some(sc.site))
            }
            None => (String::new(), Vec::new(), None),
        };
        if former_tid != tid {
            self.exec_took_leader(tid, former_tid)?;
        }
        if let Some(t) = self.task_info.get_mut(&tid) {
            t.pid = pid;
        }
        self.memories.insert(pid, mem);
        self.patches.remove(&pid);
        self.fast_forget(pid);
        let ev = ExecEvent {
            tid,
            old_tid: former_tid,
            path,
            argv,
            regions,
            regs: regs.to_vec(),
            xstate,
            brk,
            site,
            sig_ignored: signals.ignored,
            sig_blocked: signals.blocked,
        };
        self.append(&Event::Exec(ev), &data)?;
        // The exec dropped reel's pages; the filter still trusts their
        // address, so they must be reel's again before the program runs.
        let st = reel_sys::inject::map_private_pages(st, &mut self.tasks, &self.memories[&pid])?;
        if let Some(t) = self.task_info.get_mut(&tid) {
            // The injected call ran the execve's return path: no exit stop follows.
            t.syscall = None;
        }
        self.release_vfork_parent(tid)?;
        self.resume(st, Resume::Cont, None)
    }

    /// Thread `former_tid` exec'd and took the id of its process's leader
    /// `tid`, which the kernel ended without a report of its own (its id
    /// lives on): its end is written now, before the exec, and the exec'ing
    /// thread carries on under the new id, with the token it held.
    fn exec_took_leader(&mut self, tid: Tid, former_tid: Tid) -> Result<()> {
        if self.task_info.contains_key(&tid) {
            self.forget_ready(tid);
            self.release_token(tid, None)?;
            self.task_info.remove(&tid);
            self.append(
                &Event::Exit {
                    tid,
                    kind: ExitKind::EndedByExec,
                },
                &[],
            )?;
        }
        if let Some(t) = self.task_info.remove(&former_tid) {
            self.task_info.insert(tid, t);
        }
        self.rename_holder(former_tid, tid);
        Ok(())
    }

    /// fork/vfork/clone created `child`: the creating call's event is written
    /// now, before the child can run, with the child's tid as its result.
    fn on_new_task(&mut self, st: Stopped, child: Tid) -> Result<()> {
        let tid = st.tid();
        let parent_pid = self.task_info.get(&tid).map_or(tid, |t| t.pid);
        let sc = self.task_info.get_mut(&tid).and_then(|t| t.syscall.take());
        let Some(mut sc) = sc else {
            return Err(RecordError::Unsupported {
                tid,
                what: format!("created task {child} outside a syscall reel saw"),
            });
        };
        let thread = sc.nr == libc::SYS_clone as u64 && sc.args[0] & libc::CLONE_THREAD as u64 != 0;
        let vfork = sc.nr == libc::SYS_vfork as u64
            || (sc.nr == libc::SYS_clone as u64 && sc.args[0] & libc::CLONE_VFORK as u64 != 0);
        self.append_syscall(&st, &sc, child as i64)?;
        sc.recorded = true;
        if let Some(t) = self.task_info.get_mut(&tid) {
            t.syscall = Some(sc);
        }
        let mut task = Task::new(if thread { parent_pid } else { child });
        task.vfork_parent = vfork.then_some(tid);
        // Filters are inherited by every child, thread or process.
        task.filters = self
            .task_info
            .get(&tid)
            .map(|t| t.filters.clone())
            .unwrap_or_default();
        self.task_info.insert(child, task);
        if !thread {
            // A fork copies the patched code too.
            if let Some(p) = self.patches.get(&parent_pid).cloned() {
                self.patches.insert(child, p);
            }
            self.fast_fork(parent_pid, child);
        }
        if !thread && self.maps_shared_memory(parent_pid) {
            // It inherits the shared mappings: parent and child now share.
            self.join_sharing_group(parent_pid);
            self.join_sharing_group(child);
        }
        self.resume(st, Resume::Syscall, None)?;
        if let Some(first) = self.held.remove(&child) {
            self.on_stop(first)?;
        }
        Ok(())
    }

    /// Whether the faulting instruction is RDTSC or RDTSCP (trapped by PR_SET_TSC).
    fn tsc_instruction(&self, st: &Stopped) -> Result<Option<TscKind>> {
        let rip = st.regs()?.ip();
        let code = self.mem(st.tid())?.read_partial(st, rip, 3);
        Ok(match code.as_slice() {
            [0x0f, 0x31, ..] => Some(TscKind::Rdtsc),
            [0x0f, 0x01, 0xf9] => Some(TscKind::Rdtscp),
            _ => None,
        })
    }
}

/// Why the ELF file `path` (as seen by task `tid`) cannot run under reel, if
/// it is a 32-bit or x32 program.
fn foreign_binary(tid: Tid, path: &str) -> Option<String> {
    let full = if path.starts_with('/') {
        std::path::PathBuf::from(path)
    } else {
        std::path::Path::new(&format!("/proc/{tid}/cwd")).join(path)
    };
    let mut head = [0u8; 20];
    use std::io::Read;
    let mut f = std::fs::File::open(full).ok()?;
    f.read_exact(&mut head).ok()?;
    if &head[..4] != b"\x7fELF" {
        return None;
    }
    let machine = u16::from_le_bytes([head[18], head[19]]);
    match (head[4], machine) {
        (2, 62) => None,
        (1, 3) => Some("a 32-bit (i386) program".into()),
        (1, 62) => Some("an x32 program".into()),
        (_, m) => Some(format!(
            "an ELF program for another machine (e_machine {m})"
        )),
    }
}

/// Builds the trace header for a recording of `argv` with `env`.
pub fn header(
    argv: &[String],
    env: &[String],
    checksums: bool,
    cpu_binding: Option<u32>,
) -> Header {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    Header {
        format_major: reel_trace::FORMAT_MAJOR,
        format_minor: reel_trace::FORMAT_MINOR,
        reel_version: env!("CARGO_PKG_VERSION").to_string(),
        argv: argv.to_vec(),
        env: env.to_vec(),
        cwd: std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        start_time_ms: now_ms(),
        hostname: read("/proc/sys/kernel/hostname"),
        kernel: read("/proc/sys/kernel/osrelease"),
        cpu: cpu_identity(),
        checksums,
        cpu_binding,
    }
}

/// The CPU identity of this machine, as stored in trace headers.
pub fn cpu_identity() -> CpuIdentity {
    CpuIdentity {
        vendor: cpu::vendor(),
        brand: cpu::brand(),
        leaves: cpu::all_leaves()
            .into_iter()
            .map(|l| CpuidLeaf {
                leaf: l.leaf,
                subleaf: l.subleaf,
                eax: l.regs[0],
                ebx: l.regs[1],
                ecx: l.regs[2],
                edx: l.regs[3],
            })
            .collect(),
        xcr0: cpu::xcr0(),
        cpuid_faulting: cpu::cpuid_faulting(),
    }
}
