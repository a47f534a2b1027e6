//! The program's own seccomp filters (see `reel_syscalls::filter`): reel
//! keeps them instead of letting the kernel install them, runs them at
//! each syscall entry of the tasks they apply to, and acts on the verdict as
//! the kernel would. ERRNO, TRACE (no tracer of the program's: ENOSYS) and
//! TRAP (SIGSYS with the kernel's siginfo) become `Filtered` events, then a
//! signal event for TRAP; KILL ends the process with SIGSYS.

use super::{HeldSignal, Recorder};
use crate::Result;
use reel_sys::{proc, Resume, Stopped};
use reel_syscalls::filter::{self, Insn, SeccompData, Verdict};
use reel_trace::{Event, SignalDelivery, SyscallEvent, SyscallSite};
use std::rc::Rc;

const SECCOMP_SET_MODE_STRICT: u64 = 0;
const SECCOMP_SET_MODE_FILTER: u64 = 1;
const SECCOMP_GET_ACTION_AVAIL: u64 = 2;
const SECCOMP_FILTER_FLAG_TSYNC: u64 = 1;
/// Flags that change nothing in how reel runs the filter (LOG, SPEC_ALLOW,
/// TSYNC_ESRCH, WAIT_KILLABLE_RECV).
const HARMLESS_FLAGS: u64 = 2 | 4 | 16 | 32;
const PR_SET_SECCOMP: u64 = 22;
/// `si_code` of a SIGSYS raised by a filter.
const SYS_SECCOMP: i32 = 1;

/// What a call to install or query a filter amounts to.
enum Request {
    /// Install this filter (on all threads of the process with TSYNC).
    Install(Vec<Insn>, bool),
    /// Answer with this result without running anything.
    Answer(i64),
}

impl Recorder {
    /// At a syscall entry: handles the program's seccomp calls and runs its
    /// filters. Gives the stop back when the call goes on as usual.
    pub(super) fn program_seccomp(
        &mut self,
        mut st: Stopped,
        nr: u64,
        args: &[u64; 6],
        site: SyscallSite,
    ) -> Result<Option<Stopped>> {
        let tid = st.tid();
        // The program's filters see every call first, its seccomp calls too.
        let filters = self
            .task_info
            .get(&tid)
            .map(|t| t.filters.clone())
            .unwrap_or_default();
        if !filters.is_empty() {
            let data = SeccompData {
                nr: nr as i32,
                arch: filter::AUDIT_ARCH_X86_64,
                ip: site.rip,
                args: *args,
            };
            let enosys = -(libc::ENOSYS as i64);
            match filter::run_all(&filters, &data) {
                Verdict::Allow | Verdict::Log => {}
                Verdict::Errno(e) => {
                    self.answer(st, nr, args, -(e as i64), site, true)?;
                    return Ok(None);
                }
                Verdict::Trace(_) | Verdict::UserNotif => {
                    self.answer(st, nr, args, enosys, site, true)?;
                    return Ok(None);
                }
                Verdict::Trap(data) => {
                    self.trap(st, nr, args, site, data)?;
                    return Ok(None);
                }
                v @ (Verdict::KillThread | Verdict::KillProcess) => {
                    self.kill(st, nr, args, site, v)?;
                    return Ok(None);
                }
            }
        }
        let request = if nr == libc::SYS_seccomp as u64 {
            self.seccomp_request(&st, args[0], args[1], args[2])
        } else if nr == libc::SYS_prctl as u64 && args[0] == PR_SET_SECCOMP {
            // prctl(PR_SET_SECCOMP, 1) is strict mode; 2 a filter, no flags.
            let op = match args[1] {
                1 => SECCOMP_SET_MODE_STRICT,
                2 => SECCOMP_SET_MODE_FILTER,
                _ => u64::MAX,
            };
            let prog = if op == SECCOMP_SET_MODE_STRICT {
                0
            } else {
                args[2]
            };
            self.seccomp_request(&st, op, 0, prog)
        } else {
            return Ok(Some(st));
        };
        let result = match request {
            Request::Install(prog, tsync) => {
                self.fast_filtered(&mut st)?;
                let prog = Rc::new(prog);
                let pid = self.task_info.get(&tid).map_or(tid, |t| t.pid);
                for (&other, t) in self.task_info.iter_mut() {
                    if other == tid || (tsync && t.pid == pid) {
                        t.filters.push(prog.clone());
                    }
                }
                0
            }
            Request::Answer(result) => result,
        };
        self.answer(st, nr, args, result, site, false)?;
        Ok(None)
    }

    /// Decodes seccomp(op, flags, uargs).
    fn seccomp_request(&mut self, st: &Stopped, op: u64, flags: u64, uargs: u64) -> Request {
        let einval = Request::Answer(-(libc::EINVAL as i64));
        let efault = Request::Answer(-(libc::EFAULT as i64));
        let Ok(mem) = self.mem(st.tid()) else {
            return efault;
        };
        match op {
            SECCOMP_SET_MODE_STRICT if flags == 0 && uargs == 0 => {
                Request::Install(filter::strict(), false)
            }
            SECCOMP_SET_MODE_FILTER
                if flags & !(SECCOMP_FILTER_FLAG_TSYNC | HARMLESS_FLAGS) == 0 =>
            {
                // struct sock_fprog: a u16 length, then the pointer.
                let (Ok(len), Ok(ptr)) = (mem.read(st, uargs, 2), mem.read_u64(st, uargs + 8))
                else {
                    return efault;
                };
                let len = u16::from_le_bytes([len[0], len[1]]) as usize;
                let Ok(bytes) = mem.read(st, ptr, len * 8) else {
                    return efault;
                };
                match filter::decode(&bytes) {
                    Some(prog) => Request::Install(prog, flags & SECCOMP_FILTER_FLAG_TSYNC != 0),
                    None => einval,
                }
            }
            SECCOMP_SET_MODE_FILTER => {
                eprintln!(
                    "reel: seccomp(SECCOMP_SET_MODE_FILTER) with flags {flags:#x} refused with EINVAL: a listener for the program's own filter (SECCOMP_FILTER_FLAG_NEW_LISTENER) is not supported"
                );
                einval
            }
            SECCOMP_GET_ACTION_AVAIL => match mem.read(st, uargs, 4) {
                Ok(b) if filter::action_available(u32::from_le_bytes([b[0], b[1], b[2], b[3]])) => {
                    Request::Answer(0)
                }
                Ok(_) => Request::Answer(-(libc::EOPNOTSUPP as i64)),
                Err(_) => efault,
            },
            _ => {
                eprintln!(
                    "reel: seccomp operation {op} refused with EINVAL: reel runs the program's filters itself and supports only SECCOMP_SET_MODE_STRICT, SECCOMP_SET_MODE_FILTER and SECCOMP_GET_ACTION_AVAIL"
                );
                einval
            }
        }
    }

    /// Answers the call at this entry stop with `result` without running
    /// it: a `Filtered` event when a filter decided, else a plain one.
    fn answer(
        &mut self,
        mut st: Stopped,
        nr: u64,
        args: &[u64; 6],
        result: i64,
        site: SyscallSite,
        filtered: bool,
    ) -> Result<()> {
        let mut regs = st.regs()?;
        regs.set_syscall_nr(u64::MAX);
        regs.set_result(result);
        st.set_regs(&regs)?;
        let tid = st.tid();
        let ev = if filtered {
            Event::Filtered {
                tid,
                nr,
                args: *args,
                result,
                site: Some(site),
            }
        } else {
            Event::Syscall(SyscallEvent::bare(tid, nr, *args, result, Some(site)))
        };
        self.append(&ev, &[])?;
        self.resume(st, Resume::Cont, None)
    }

    /// SECCOMP_RET_TRAP: the call is not made, rax keeps its number, and
    /// SIGSYS arrives as it returns, with the kernel's siginfo (the call's
    /// address, number and architecture, the filter's data in si_errno).
    fn trap(
        &mut self,
        st: Stopped,
        nr: u64,
        args: &[u64; 6],
        site: SyscallSite,
        data: u16,
    ) -> Result<()> {
        let tid = st.tid();
        let masks = proc::signal_masks(tid)?;
        if !masks.caught(libc::SIGSYS) || blocked(&masks, libc::SIGSYS) {
            // The kernel forces the default action then: death.
            return self.kill(st, nr, args, site, Verdict::KillProcess);
        }
        let mut info = vec![0u8; 128];
        info[0..4].copy_from_slice(&libc::SIGSYS.to_le_bytes());
        info[4..8].copy_from_slice(&(data as i32).to_le_bytes());
        info[8..12].copy_from_slice(&SYS_SECCOMP.to_le_bytes());
        info[16..24].copy_from_slice(&site.rip.to_le_bytes());
        info[24..28].copy_from_slice(&(nr as i32).to_le_bytes());
        info[28..32].copy_from_slice(&filter::AUDIT_ARCH_X86_64.to_le_bytes());
        if let Some(t) = self.task_info.get_mut(&tid) {
            let held = HeldSignal {
                signo: libc::SIGSYS,
                siginfo: info,
                since: std::time::Instant::now(),
            };
            t.injecting = Some((held, SignalDelivery::AfterSyscall));
        }
        reel_sys::send_signal(tid, libc::SIGSYS)?;
        self.answer(st, nr, args, nr as i64, site, true)
    }

    /// SECCOMP_RET_KILL_*: the process dies of SIGSYS, which reel sends
    /// once the call is answered. A thread alone cannot be killed by a
    /// signal (it would end the process), nor can a process that handles
    /// SIGSYS: those are ended with SIGKILL, and reel says so.
    fn kill(
        &mut self,
        st: Stopped,
        nr: u64,
        args: &[u64; 6],
        site: SyscallSite,
        verdict: Verdict,
    ) -> Result<()> {
        let tid = st.tid();
        let masks = proc::signal_masks(tid)?;
        let pid = self.task_info.get(&tid).map_or(tid, |t| t.pid);
        let threads = self.task_info.values().filter(|t| t.pid == pid).count();
        let lone_thread = verdict == Verdict::KillThread && threads > 1;
        let by_sigsys = !masks.caught(libc::SIGSYS)
            && !masks.ignored(libc::SIGSYS)
            && !blocked(&masks, libc::SIGSYS);
        let sig = if lone_thread || !by_sigsys {
            eprintln!(
                "reel: the program's seccomp filter kills task {tid} at {}: reel cannot end it with SIGSYS as the kernel would ({}); it ends the process with SIGKILL",
                reel_syscalls::name(nr),
                if lone_thread {
                    "one thread of several"
                } else {
                    "the program handles, ignores or blocks SIGSYS"
                }
            );
            libc::SIGKILL
        } else {
            libc::SIGSYS
        };
        // Unblocked and at its default action, it ends the process (the
        // kernel's own kill makes it so too).
        reel_sys::send_signal(tid, sig)?;
        self.answer(st, nr, args, -(libc::ENOSYS as i64), site, true)
    }
}

/// Whether `sig` is in the task's blocked mask.
fn blocked(masks: &proc::SignalMasks, sig: i32) -> bool {
    masks.blocked & (1u64 << (sig - 1)) != 0
}
