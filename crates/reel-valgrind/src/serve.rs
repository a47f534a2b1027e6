//! The session: valgrind runs for real under ptrace; every syscall its tool
//! binary makes stops here, and those it makes for the guest are answered
//! from the trace (or run for real where valgrind needs them to be real),
//! after being checked against the recorded call.

use crate::error::{Result, VgError};
use crate::plan::Plan;
use crate::sched::Schedule;
use crate::tool::Valgrind;
use reel_sys::{Memory, Regs, Resume, StopReason, Stopped, TaskSet, Waited};
use reel_trace::{Event, FileId, SyscallEvent, Tid};
use std::collections::{HashMap, HashSet};

/// Recorded calls valgrind answers itself: it emulates them (brk, signal
/// state, the thread pointer, the exit), or they change an address space
/// valgrind laid out its own way (mmap through its address-space manager,
/// mprotect and munmap of what it placed, with its preload libraries among
/// the mappings). Those it issues run for real; the recorded ones are passed
/// over.
pub(crate) const VALGRIND_OWN: &[i64] = &[
    libc::SYS_brk,
    libc::SYS_mmap,
    libc::SYS_mremap,
    libc::SYS_mprotect,
    libc::SYS_munmap,
    libc::SYS_madvise,
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_sigaltstack,
    libc::SYS_arch_prctl,
    libc::SYS_rseq,
    libc::SYS_exit,
    libc::SYS_exit_group,
];

/// Recorded calls valgrind may answer itself (limits it adjusts, the
/// program's own path) or that the program does not make under a tool that
/// replaces malloc (glibc's malloc seeds itself with getrandom): skipped
/// when the guest's next call is a different one.
pub(crate) const VALGRIND_MAYBE: &[i64] = &[
    libc::SYS_getrandom,
    // valgrind answers clone3 with ENOSYS itself (as reel did when recording).
    libc::SYS_clone3,
    libc::SYS_set_tid_address,
    libc::SYS_set_robust_list,
    libc::SYS_prlimit64,
    libc::SYS_getrlimit,
    libc::SYS_setrlimit,
    libc::SYS_readlink,
    libc::SYS_readlinkat,
];

pub(crate) fn listed(list: &[i64], nr: u64) -> bool {
    list.iter().any(|&n| n as u64 == nr)
}

/// How the replay under valgrind ended.
#[derive(Debug)]
pub struct Outcome {
    /// valgrind's exit status (the program's, unless a tool option changes it).
    pub status: i32,
}

pub(crate) struct Session<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) vg: &'a Valgrind,
    pub(crate) tasks: TaskSet,
    pub(crate) pid: i32,
    pub(crate) mem: Option<Memory>,
    /// Which recorded events were met, in what order threads may go.
    pub(crate) sched: Schedule,
    /// The recorded thread each of valgrind's threads runs.
    pub(crate) rec_of: HashMap<i32, Tid>,
    /// Threads just created whose first stop has not been seen.
    pub(crate) starting: HashSet<i32>,
    /// Threads stopped before taking valgrind's lock, waiting for their turn.
    pub(crate) held_lock: Vec<Stopped>,
    /// Threads stopped at a guest call that is not due yet (no lock held).
    pub(crate) held_site: Vec<(Stopped, u64, [u64; 6])>,
    /// Whether one-byte reads on valgrind's descriptors are trapped.
    lock_trapped: bool,
    /// valgrind's own descriptors start here.
    own_fds: u32,
    /// Where valgrind keeps each thread's guest registers, once seen.
    guest_state: HashMap<i32, u64>,
    /// Guest descriptors that are real: snapshots opened for valgrind to map.
    pub(crate) real_fds: HashSet<i32>,
    /// Guest descriptors on valgrind's own preload libraries, which the
    /// recording never opened: every call on them runs for real.
    pub(crate) vg_fds: HashSet<i32>,
    /// The descriptor number at which each snapshot was handed to valgrind.
    pub(crate) prepared: HashMap<FileId, i32>,
    /// Whether the program has made a call yet (valgrind got that far).
    pub(crate) started: bool,
    /// Whether the tool's pthread_create spins in sched_yield until the new
    /// thread ran (helgrind): such yields stand for the creator's switch.
    pub(crate) tool_yields: bool,
    /// Threads whose recorded switch such a yield stood for.
    pub(crate) yielding: HashSet<Tid>,
}

/// Where a guest call falls in its thread's recorded events.
pub(crate) struct Aligned {
    /// The recorded switch where it entered the call, if any.
    pub(crate) entry: Option<usize>,
    /// The recorded call; `None` when it never returned (its thread ended
    /// inside it, with the program).
    pub(crate) call: Option<usize>,
}

impl<'a> Session<'a> {
    pub(crate) fn new(
        plan: &'a Plan,
        vg: &'a Valgrind,
        tasks: TaskSet,
        pid: i32,
        prepared: HashMap<FileId, i32>,
        own_fds: u32,
    ) -> Session<'a> {
        Session {
            plan,
            vg,
            tasks,
            pid,
            mem: None,
            sched: Schedule::new(&plan.events, plan.exec + 1),
            rec_of: HashMap::from([(pid, plan.tid)]),
            starting: HashSet::new(),
            held_lock: Vec::new(),
            held_site: Vec::new(),
            lock_trapped: plan.threads.len() > 1,
            own_fds,
            guest_state: HashMap::new(),
            real_fds: HashSet::new(),
            vg_fds: HashSet::new(),
            prepared,
            started: false,
            tool_yields: false,
            yielding: HashSet::new(),
        }
    }

    /// Runs valgrind to its end.
    pub(crate) fn run(&mut self) -> Result<Outcome> {
        let out = self.run_loop();
        if out.is_err() {
            self.kill();
        }
        out
    }

    fn run_loop(&mut self) -> Result<Outcome> {
        loop {
            self.release_due()?;
            if self.tasks.is_empty() && self.starting.is_empty() {
                return Err(self.stuck());
            }
            let st = match self.tasks.wait(None)? {
                Waited::Stopped(st) => st,
                Waited::Exited(t, code) if t == self.pid => return self.finish(code),
                Waited::Signaled(t, sig) if t == self.pid => return self.finish(128 + sig),
                Waited::Exited(t, _) | Waited::Signaled(t, _) => {
                    self.thread_gone(t)?;
                    continue;
                }
            };
            self.starting.remove(&st.tid());
            match st.reason() {
                StopReason::Exec { .. } => {
                    let mut st = st;
                    let mem = Memory::open(&st)?;
                    // As when recording; valgrind hands the guest its own
                    // auxv, so the guest then makes real (served) time calls.
                    reel_sys::auxv::hide_vdso(&mut st, &mem)?;
                    self.mem = Some(mem);
                    self.cont(st, None)?;
                }
                StopReason::Seccomp => self.on_syscall(st)?,
                StopReason::Signal(sig) if sig != libc::SIGSTOP => self.cont(st, Some(sig))?,
                // New threads report here (and are known from their clone).
                _ => self.cont(st, None)?,
            }
        }
    }

    fn kill(&mut self) {
        // SIGKILL needs no stop; the death is collected here. Held threads
        // die with the process; a killed tracee still stops at its exit
        // event: let it go on.
        let _ = reel_sys::send_signal(self.pid, libc::SIGKILL);
        self.held_lock.clear();
        self.held_site.clear();
        loop {
            match self.tasks.wait(None) {
                Ok(Waited::Stopped(st)) => match st.resume(Resume::Cont, None) {
                    Ok(r) => self.tasks.insert(r),
                    Err(_) => continue,
                },
                Ok(Waited::Exited(t, _) | Waited::Signaled(t, _)) if t == self.pid => return,
                Ok(_) => continue,
                Err(_) => return,
            }
        }
    }

    pub(crate) fn cont(&mut self, st: Stopped, sig: Option<i32>) -> Result<()> {
        self.tasks.insert(st.resume(Resume::Cont, sig)?);
        Ok(())
    }

    /// The number of the next recorded event, for messages.
    pub(crate) fn event_number(&mut self) -> u64 {
        let head = self.sched.head(&self.plan.events);
        head.and_then(|k| self.plan.events.get(k))
            .or(self.plan.events.last())
            .map_or(0, |r| r.number)
    }

    /// valgrind exited: every recorded call must have been met.
    fn finish(&mut self, status: i32) -> Result<Outcome> {
        if !self.started {
            return Err(VgError::Valgrind(format!(
                "valgrind exited with status {status} before the program made its first call (its own message is above)"
            )));
        }
        for (k, r) in self.plan.events.iter().enumerate().skip(self.plan.exec + 1) {
            let Event::Syscall(s) = &r.event else {
                continue;
            };
            // Threads the program's exit_group ended make no more calls.
            let after_end = s.tid != self.plan.tid && self.plan.end.is_some_and(|e| k > e);
            if self.sched.is_done(k)
                || after_end
                || listed(VALGRIND_OWN, s.nr)
                || listed(VALGRIND_MAYBE, s.nr)
            {
                continue;
            }
            return Err(VgError::Divergence {
                event: r.number,
                tid: s.tid,
                expected: reel_syscalls::format_call(s.nr, &s.args),
                actual: format!("the program ended under valgrind (status {status}) before it"),
            });
        }
        if !self.plan.complete {
            eprintln!("reel: the trace is incomplete (the recording was interrupted); valgrind ran the program past its end");
        }
        Ok(Outcome { status })
    }

    fn on_syscall(&mut self, st: Stopped) -> Result<()> {
        let regs = st.regs()?;
        let (nr, args) = (regs.syscall_nr(), regs.args());
        let tid = st.tid();
        let Some(&rec) = self.rec_of.get(&tid) else {
            return self.cont(st, None);
        };
        let at_site = regs.ip() == self.vg.site.rip;
        if self.lock_trapped
            && !at_site
            && nr == libc::SYS_read as u64
            && args[0] >= u64::from(self.own_fds)
            && args[2] == 1
        {
            return self.on_lock(st, rec);
        }
        let guest = match self.guest_state.get(&tid) {
            Some(&p) if !at_site => self.matches_guest(&st, p, nr, &args),
            Some(_) => true,
            None => {
                let found = self.find_guest_state(&st, &regs, nr, &args);
                if let Some(p) = found {
                    self.guest_state.insert(tid, p);
                }
                found.is_some() || at_site
            }
        };
        if !guest {
            // valgrind makes the guest's clone its own way (its stack, no
            // TLS): the guest state holds the call the guest asked for.
            if nr == libc::SYS_clone as u64 {
                if let Some(gargs) = self.guest_call_in_state(&st, tid, nr) {
                    self.started = true;
                    return self.guest_clone(st, rec, gargs);
                }
            }
            return self.cont(st, None);
        }
        self.started = true;
        self.guest_call(st, rec, nr, args, at_site).map(|_| ())
    }

    /// The six arguments of guest call `nr` when thread `tid`'s guest state
    /// holds that call.
    fn guest_call_in_state(&self, st: &Stopped, tid: i32, nr: u64) -> Option<[u64; 6]> {
        let p = *self.guest_state.get(&tid)?;
        let mem = self.mem.as_ref()?;
        let off = self.vg.site.offsets;
        let span = off.iter().max().copied().unwrap_or(0) + 8;
        let bytes = mem.read(st, p, span as usize).ok()?;
        let at = |o: u64| u64::from_le_bytes(bytes[o as usize..o as usize + 8].try_into().unwrap());
        (at(off[0]) == nr).then(|| std::array::from_fn(|i| at(off[i + 1])))
    }

    /// Whether the guest state at `p` holds syscall `nr` with `args`: then
    /// valgrind is making the guest's call.
    fn matches_guest(&self, st: &Stopped, p: u64, nr: u64, args: &[u64; 6]) -> bool {
        let Some(mem) = &self.mem else { return false };
        let off = self.vg.site.offsets;
        let span = off.iter().max().copied().unwrap_or(0) + 8;
        let Ok(bytes) = mem.read(st, p, span as usize) else {
            return false;
        };
        let at = |o: u64| u64::from_le_bytes(bytes[o as usize..o as usize + 8].try_into().unwrap());
        at(off[0]) == nr && (0..6).all(|i| at(off[i + 1]) == args[i])
    }

    /// valgrind passes the guest state down the call chain to the syscall:
    /// look for a pointer to it among the callee-saved registers and the
    /// words of the stack.
    fn find_guest_state(&self, st: &Stopped, regs: &Regs, nr: u64, args: &[u64; 6]) -> Option<u64> {
        let mem = self.mem.as_ref()?;
        let r = regs.raw();
        let mut candidates = vec![r.rbx, r.rbp, r.r12, r.r13, r.r14, r.r15];
        let stack = mem.read_partial(st, regs.sp(), 8192);
        candidates.extend(
            stack
                .chunks_exact(8)
                .map(|w| u64::from_le_bytes(w.try_into().unwrap())),
        );
        let mut seen = HashSet::new();
        candidates
            .into_iter()
            .filter(|&v| (0x10000..0x8000_0000_0000).contains(&v) && v % 8 == 0 && seen.insert(v))
            .flat_map(|v| [v, v + 16])
            .find(|&p| self.matches_guest(st, p, nr, args))
    }

    /// Whether the guest call concerns one of valgrind's own files (its
    /// preload libraries, which ld.so loads under valgrind only).
    pub(crate) fn on_valgrind_file(&self, st: &Stopped, nr: u64, args: &[u64; 6]) -> bool {
        let path_arg = match nr as i64 {
            libc::SYS_open => Some(args[0]),
            libc::SYS_openat => Some(args[1]),
            _ => None,
        };
        if let (Some(p), Some(mem)) = (path_arg, &self.mem) {
            let lib = self.vg.lib_dir.to_string_lossy().into_owned();
            return mem
                .read_cstr(st, p, 4096)
                .is_some_and(|s| s.starts_with(&format!("{lib}/")));
        }
        let takes_fd = reel_syscalls::spec(nr)
            .and_then(|s| s.args.first())
            .is_some_and(|k| *k == reel_syscalls::ArgKind::Fd);
        takes_fd && self.vg_fds.contains(&(args[0] as i32))
    }

    /// The number and every non-address argument must be the recorded ones.
    pub(crate) fn check_args(
        &self,
        number: u64,
        ev: &SyscallEvent,
        nr: u64,
        args: &[u64; 6],
    ) -> Result<()> {
        use reel_syscalls::ArgKind;
        let Some(spec) = reel_syscalls::spec(nr) else {
            return Ok(());
        };
        for (i, kind) in spec.args.iter().enumerate() {
            let compared = matches!(
                kind,
                ArgKind::Int | ArgKind::Hex | ArgKind::Fd | ArgKind::Signal
            );
            if compared && ev.args[i] != args[i] {
                return Err(VgError::Divergence {
                    event: number,
                    tid: ev.tid,
                    expected: reel_syscalls::format_call(ev.nr, &ev.args),
                    actual: format!(
                        "valgrind issued {} (argument {} differs)",
                        reel_syscalls::format_call(nr, args),
                        i + 1
                    ),
                });
            }
        }
        Ok(())
    }

    /// Lets the call the task is stopped at (a seccomp stop) run for real;
    /// returns the task at its exit stop, and the result.
    pub(crate) fn run_real(&mut self, st: Stopped) -> Result<(Stopped, i64)> {
        let tid = st.tid();
        self.tasks.insert(st.resume(Resume::Syscall, None)?);
        loop {
            match self.tasks.wait(Some(tid))? {
                Waited::Stopped(st) if st.reason() == StopReason::Syscall => {
                    let r = st.regs()?.result();
                    return Ok((st, r));
                }
                Waited::Stopped(st) => {
                    let sig = match st.reason() {
                        StopReason::Signal(s) => Some(s),
                        _ => None,
                    };
                    self.tasks.insert(st.resume(Resume::Syscall, sig)?);
                }
                Waited::Exited(_, c) | Waited::Signaled(_, c) => {
                    return Err(VgError::Unsupported {
                        event: self.event_number(),
                        what: format!("valgrind ended (status {c}) inside a call reel let run"),
                    })
                }
            }
        }
    }
}
