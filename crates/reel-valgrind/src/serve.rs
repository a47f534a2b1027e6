//! The session: valgrind runs for real under ptrace; every syscall its tool
//! binary makes stops here, and those it makes for the guest are answered
//! from the trace (or run for real where valgrind needs them to be real),
//! after being checked against the recorded call.

use crate::error::{Result, VgError};
use crate::plan::Plan;
use crate::tool::Valgrind;
use reel_sys::{Memory, Regs, Resume, StopReason, Stopped, TaskSet, Waited};
use reel_trace::{Event, FileId, SyscallEvent};
use std::collections::{HashMap, HashSet};

/// Recorded calls valgrind answers itself: it emulates them (brk, signal
/// state, the thread pointer, the exit), or they change an address space
/// valgrind laid out its own way (mmap through its address-space manager,
/// mprotect and munmap of what it placed, with its preload libraries among
/// the mappings). Those it issues run for real; the recorded ones are passed
/// over.
const VALGRIND_OWN: &[i64] = &[
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
const VALGRIND_MAYBE: &[i64] = &[
    libc::SYS_getrandom,
    libc::SYS_set_tid_address,
    libc::SYS_set_robust_list,
    libc::SYS_prlimit64,
    libc::SYS_getrlimit,
    libc::SYS_setrlimit,
    libc::SYS_readlink,
    libc::SYS_readlinkat,
];

fn listed(list: &[i64], nr: u64) -> bool {
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
    /// The next recorded event to match.
    pub(crate) cursor: usize,
    /// Where valgrind keeps the guest's registers, once seen.
    guest_state: Option<u64>,
    /// Guest descriptors that are real: snapshots opened for valgrind to map.
    pub(crate) real_fds: HashSet<i32>,
    /// Guest descriptors on valgrind's own preload libraries, which the
    /// recording never opened: every call on them runs for real.
    vg_fds: HashSet<i32>,
    /// The descriptor number at which each snapshot was handed to valgrind.
    pub(crate) prepared: HashMap<FileId, i32>,
    /// Whether the program has made a call yet (valgrind got that far).
    started: bool,
}

impl<'a> Session<'a> {
    pub(crate) fn new(
        plan: &'a Plan,
        vg: &'a Valgrind,
        tasks: TaskSet,
        pid: i32,
        prepared: HashMap<FileId, i32>,
    ) -> Session<'a> {
        Session {
            plan,
            vg,
            tasks,
            pid,
            mem: None,
            cursor: plan.exec + 1,
            guest_state: None,
            real_fds: HashSet::new(),
            vg_fds: HashSet::new(),
            prepared,
            started: false,
        }
    }

    /// Runs valgrind to its end.
    pub(crate) fn run(&mut self) -> Result<Outcome> {
        loop {
            let st = match self.tasks.wait(Some(self.pid))? {
                Waited::Stopped(st) => st,
                Waited::Exited(_, code) => return self.finish(code),
                Waited::Signaled(_, sig) => return self.finish(128 + sig),
            };
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
                StopReason::Seccomp => {
                    if let Err(e) = self.on_syscall(st) {
                        self.kill();
                        return Err(e);
                    }
                }
                StopReason::NewTask { child } => {
                    self.kill();
                    return Err(VgError::Unsupported {
                        event: self.event_number(),
                        what: format!(
                            "valgrind created task {child}: threads and processes do not run under valgrind yet"
                        ),
                    });
                }
                StopReason::Signal(sig) if sig != libc::SIGSTOP => self.cont(st, Some(sig))?,
                _ => self.cont(st, None)?,
            }
        }
    }

    fn kill(&mut self) {
        // SIGKILL needs no stop; the death is collected here.
        // A killed tracee still stops at its exit event: let it go on.
        let _ = reel_sys::send_signal(self.pid, libc::SIGKILL);
        loop {
            match self.tasks.wait(Some(self.pid)) {
                Ok(Waited::Stopped(st)) => match st.resume(Resume::Cont, None) {
                    Ok(r) => self.tasks.insert(r),
                    Err(_) => return,
                },
                _ => return,
            }
        }
    }

    pub(crate) fn cont(&mut self, st: Stopped, sig: Option<i32>) -> Result<()> {
        self.tasks.insert(st.resume(Resume::Cont, sig)?);
        Ok(())
    }

    /// The number of the next recorded event, for messages.
    pub(crate) fn event_number(&self) -> u64 {
        self.plan
            .events
            .get(self.cursor)
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
        for r in &self.plan.events[self.cursor.min(self.plan.events.len())..] {
            if let Event::Syscall(s) = &r.event {
                if !listed(VALGRIND_OWN, s.nr) && !listed(VALGRIND_MAYBE, s.nr) {
                    return Err(VgError::Divergence {
                        event: r.number,
                        tid: s.tid,
                        expected: reel_syscalls::format_call(s.nr, &s.args),
                        actual: format!(
                            "the program ended under valgrind (status {status}) before it"
                        ),
                    });
                }
            }
        }
        if !self.plan.complete {
            eprintln!("reel: the trace is incomplete (the recording was interrupted); valgrind ran the program past its end");
        }
        Ok(Outcome { status })
    }

    fn on_syscall(&mut self, st: Stopped) -> Result<()> {
        let regs = st.regs()?;
        let (nr, args) = (regs.syscall_nr(), regs.args());
        let at_site = regs.ip() == self.vg.site.rip;
        let guest = match self.guest_state {
            Some(p) if !at_site => self.matches_guest(&st, p, nr, &args),
            Some(_) => true,
            None => {
                let found = self.find_guest_state(&st, &regs, nr, &args);
                self.guest_state = found;
                found.is_some() || at_site
            }
        };
        if !guest {
            return self.cont(st, None);
        }
        self.started = true;
        self.serve(st, nr, args)
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

    /// Answers one guest call.
    fn serve(&mut self, st: Stopped, nr: u64, args: [u64; 6]) -> Result<()> {
        if listed(VALGRIND_OWN, nr) {
            // valgrind makes it with the guest's own arguments (an mmap
            // MAP_FIXED, its final exit): real, like the rest of its calls.
            return self.cont(st, None);
        }
        if self.on_valgrind_file(&st, nr, &args) {
            let (st, result) = self.run_real(st)?;
            if matches!(nr as i64, libc::SYS_open | libc::SYS_openat) && result >= 0 {
                self.vg_fds.insert(result as i32);
            } else if nr as i64 == libc::SYS_close {
                self.vg_fds.remove(&(args[0] as i32));
            }
            return self.cont(st, None);
        }
        let Some(idx) = self.align(nr, &args)? else {
            // The program has made its exit_group, which valgrind emulates;
            // what it does for the guest while it shuts down is its own.
            return self.cont(st, None);
        };
        let rec = &self.plan.events[idx];
        let Event::Syscall(ev) = &rec.event else {
            unreachable!("align returns syscalls")
        };
        self.check_args(rec.number, ev, nr, &args)?;
        self.cursor = idx + 1;
        self.answer(st, rec.number, ev, &rec.data, args, idx)
    }

    /// Whether the guest call concerns one of valgrind's own files (its
    /// preload libraries, which ld.so loads under valgrind only).
    fn on_valgrind_file(&self, st: &Stopped, nr: u64, args: &[u64; 6]) -> bool {
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

    /// The recorded call that valgrind's call `nr` stands for: the next one,
    /// past those valgrind answers itself; `None` once the program's exit
    /// call is all that is left.
    fn align(&mut self, nr: u64, args: &[u64; 6]) -> Result<Option<usize>> {
        let mut i = self.cursor;
        loop {
            let Some(r) = self.plan.events.get(i) else {
                return Err(VgError::Divergence {
                    event: self.plan.events.last().map_or(0, |r| r.number),
                    tid: self.plan.tid,
                    expected: "the end of the recording".into(),
                    actual: format!(
                        "valgrind issued {} for the program",
                        reel_syscalls::format_call(nr, args)
                    ),
                });
            };
            match &r.event {
                Event::Syscall(s)
                    if listed(VALGRIND_OWN, s.nr)
                        || (listed(VALGRIND_MAYBE, s.nr) && s.nr != nr) =>
                {
                    i += 1
                }
                Event::Syscall(s) if s.nr == nr => return Ok(Some(i)),
                Event::Syscall(s) => {
                    return Err(VgError::Divergence {
                        event: r.number,
                        tid: s.tid,
                        expected: reel_syscalls::format_call(s.nr, &s.args),
                        actual: format!(
                            "valgrind issued {} for the program",
                            reel_syscalls::format_call(nr, args)
                        ),
                    })
                }
                Event::Exit { .. } if self.exited_before(i) => return Ok(None),
                Event::Exit { tid, kind } => {
                    return Err(VgError::Divergence {
                        event: r.number,
                        tid: *tid,
                        expected: format!("the program's exit ({kind:?})"),
                        actual: format!(
                            "valgrind issued {} for the program",
                            reel_syscalls::format_call(nr, args)
                        ),
                    })
                }
                _ => i += 1,
            }
        }
    }

    /// Whether the last call recorded before event index `i` is the
    /// program's exit.
    fn exited_before(&self, i: usize) -> bool {
        self.plan.events[..i]
            .iter()
            .rev()
            .find_map(|r| match &r.event {
                Event::Syscall(s) => Some(s.nr),
                _ => None,
            })
            .is_some_and(|nr| nr as i64 == libc::SYS_exit_group || nr as i64 == libc::SYS_exit)
    }

    /// The number and every non-address argument must be the recorded ones.
    fn check_args(&self, number: u64, ev: &SyscallEvent, nr: u64, args: &[u64; 6]) -> Result<()> {
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
        self.tasks.insert(st.resume(Resume::Syscall, None)?);
        loop {
            match self.tasks.wait(Some(self.pid))? {
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
