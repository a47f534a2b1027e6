//! The divergence checks: what the replayed task is about to do, compared
//! with what the recording saw, before the event has any effect. Each check
//! parks the task and returns the divergence (event, task, expected,
//! actual) on a mismatch. `docs/ARCHITECTURE.md` lists them per event kind.

use super::Engine;
use crate::Result;
use reel_sys::{Regs, Stopped};
use reel_trace::{ExecEvent, SyscallEvent, SyscallSite, Tid};

/// The argument registers, in order.
const ARG_REGS: [&str; 6] = ["rdi", "rsi", "rdx", "r10", "r8", "r9"];

/// The general registers a signal frame saves, as indices into
/// [`Regs::to_vec`] with their names (orig_rax, segments and bases aside:
/// the kernel does not restore them from the frame).
const SAVED_REGS: [(usize, &str); 18] = [
    (0, "r15"),
    (1, "r14"),
    (2, "r13"),
    (3, "r12"),
    (4, "rbp"),
    (5, "rbx"),
    (6, "r11"),
    (7, "r10"),
    (8, "r9"),
    (9, "r8"),
    (10, "rax"),
    (11, "rcx"),
    (12, "rdx"),
    (13, "rsi"),
    (14, "rdi"),
    (16, "rip"),
    (18, "eflags"),
    (19, "rsp"),
];
/// The arithmetic and direction flags of eflags: what the program computed
/// (the other bits belong to the kernel and the debugger, e.g. RF and TF).
const EFLAGS_PROGRAM: u64 = 0x0cd5;
const EFLAGS_INDEX: usize = 18;

/// How many argument registers syscall `nr` reads, from the table (all six
/// for a number reel does not know).
fn arity(nr: u64) -> usize {
    reel_syscalls::spec(nr).map_or(6, |s| s.args.len().min(6))
}

/// The registers among the first `n` arguments that differ, named.
fn differing_args(actual: &[u64; 6], recorded: &[u64; 6], n: usize) -> Vec<String> {
    (0..n)
        .filter(|&i| actual[i] != recorded[i])
        .map(|i| {
            format!(
                "{}={:#x} (recorded {:#x})",
                ARG_REGS[i], actual[i], recorded[i]
            )
        })
        .collect()
}

/// What differs between a syscall stop and the recorded call: the number,
/// the arguments the call uses, rip and rsp. `None` when they agree.
fn call_difference(
    regs: &Regs,
    nr: u64,
    args: &[u64; 6],
    site: Option<SyscallSite>,
) -> Option<String> {
    let (anr, aargs) = (regs.syscall_nr(), regs.args());
    let made = reel_syscalls::format_call(anr, &aargs);
    if anr != nr {
        return Some(format!("the program made {made}"));
    }
    let diffs = differing_args(&aargs, args, arity(nr));
    if !diffs.is_empty() {
        return Some(format!("the program made {made} with {}", diffs.join(", ")));
    }
    match site {
        Some(s) if s.rip != regs.ip() || s.rsp != regs.sp() => Some(format!(
            "it was made at rip={:#x} rsp={:#x} (recorded rip={:#x} rsp={:#x})",
            regs.ip(),
            regs.sp(),
            s.rip,
            s.rsp
        )),
        _ => None,
    }
}

impl Engine {
    /// Checks an execve/execveat entry against the recorded exec: where it
    /// was made (rip, rsp), the program path and argv it passes.
    pub(super) fn check_exec(&mut self, st: Stopped, ev: &ExecEvent) -> Result<Stopped> {
        let tid = ev.old_tid;
        let regs = st.regs()?;
        let expected = format!("execve of {}", ev.path);
        let nr = regs.syscall_nr();
        let args = regs.args();
        let mut actual = None;
        if let Some(s) = ev.site.filter(|s| s.rip != regs.ip() || s.rsp != regs.sp()) {
            actual = Some(format!(
                "it was made at rip={:#x} rsp={:#x} (recorded rip={:#x} rsp={:#x})",
                regs.ip(),
                regs.sp(),
                s.rip,
                s.rsp
            ));
        }
        if actual.is_none() {
            // execveat takes (dirfd, path, argv, ...); execve (path, argv, ...).
            let (path_at, argv_at) = if nr == libc::SYS_execveat as u64 {
                (args[1], args[2])
            } else {
                (args[0], args[1])
            };
            let mem = self.mem(tid)?;
            let path = mem.read_cstr(&st, path_at, 4096).unwrap_or_default();
            let mut argv = Vec::new();
            for i in 0..ev.argv.len() as u64 + 1 {
                match mem.read_u64(&st, argv_at + i * 8) {
                    Ok(0) | Err(_) => break,
                    Ok(p) => argv.push(mem.read_cstr(&st, p, 1 << 16).unwrap_or_default()),
                }
            }
            if path != ev.path {
                actual = Some(format!("the program execs {path}"));
            } else if argv != ev.argv {
                actual = Some(format!(
                    "the program passes argv {argv:?} (recorded {:?})",
                    ev.argv
                ));
            }
        }
        match actual {
            None => Ok(st),
            Some(actual) => {
                self.park(tid, st)?;
                Err(self.diverged(tid, expected, actual))
            }
        }
    }

    /// Checks the syscall entry the task is stopped at against the recorded
    /// call `nr(args)` made at `site`. The call is described as `expected`.
    pub(super) fn check_call(
        &mut self,
        tid: Tid,
        st: Stopped,
        nr: u64,
        args: &[u64; 6],
        site: Option<SyscallSite>,
        expected: &str,
    ) -> Result<Stopped> {
        let regs = st.regs()?;
        match call_difference(&regs, nr, args, site) {
            None => Ok(st),
            Some(actual) => {
                self.park(tid, st)?;
                Err(self.diverged(tid, expected, actual))
            }
        }
    }

    /// For a call that sent bytes (write, writev, sendto ...): the bytes the
    /// replayed program is sending, checked against the recorded hash when
    /// there is one. Returns them for echoing (when the recording echoed
    /// them or kept their hash).
    pub(super) fn check_emitted(
        &mut self,
        tid: Tid,
        st: Stopped,
        ev: &SyscallEvent,
    ) -> Result<(Stopped, Option<Vec<u8>>)> {
        if ev.emitted.is_none() && ev.echo.is_none() {
            return Ok((st, None));
        }
        let Some(spec) = reel_syscalls::spec(ev.nr) else {
            return Ok((st, None));
        };
        let bytes = {
            let mem = self.mem(tid)?;
            let view = |addr, len| mem.read(&st, addr, len).ok();
            reel_syscalls::emitted_bytes(spec, &ev.args, ev.result, &view)
        };
        let Some(want) = ev.emitted else {
            return Ok((st, bytes));
        };
        let got = bytes.as_deref().map(reel_trace::emitted_hash);
        if got == Some(want) {
            return Ok((st, bytes));
        }
        let expected = format!(
            "{} to send {} bytes with hash {want:016x}",
            reel_syscalls::format_call(ev.nr, &ev.args),
            ev.result
        );
        let actual = match got {
            Some(h) => format!("the program's bytes have hash {h:016x} (not printed)"),
            None => "the program's buffer cannot be read".to_string(),
        };
        self.park(tid, st)?;
        Err(self.diverged(tid, expected, actual))
    }

    /// Checks the registers of a task at a signal-delivery stop against
    /// those recorded there (the ones the kernel saves in the signal frame).
    pub(super) fn check_signal_regs(
        &mut self,
        tid: Tid,
        st: Stopped,
        recorded: &[u64],
        expected: &str,
    ) -> Result<Stopped> {
        let now = st.regs()?.to_vec();
        if recorded.len() != now.len() {
            // A trace without them (or of another register layout).
            return Ok(st);
        }
        let diffs: Vec<String> = SAVED_REGS
            .iter()
            .filter_map(|&(i, name)| {
                let mask = if i == EFLAGS_INDEX {
                    EFLAGS_PROGRAM
                } else {
                    u64::MAX
                };
                (now[i] & mask != recorded[i] & mask).then(|| {
                    format!(
                        "{name}={:#x} (recorded {:#x})",
                        now[i] & mask,
                        recorded[i] & mask
                    )
                })
            })
            .collect();
        if diffs.is_empty() {
            return Ok(st);
        }
        self.park(tid, st)?;
        Err(self.diverged(
            tid,
            expected,
            format!("it arrived with {}", diffs.join(", ")),
        ))
    }

    /// The result of an executed call whose recorded result cannot be
    /// compared as is: `set_tid_address` returns the caller's tid (the
    /// replay's real tid stands for the recorded one), `rt_sigreturn` the
    /// restored rax.
    pub(super) fn check_unchecked_result(
        &mut self,
        tid: Tid,
        st: Stopped,
        ev: &SyscallEvent,
    ) -> Result<Stopped> {
        let got = st.regs()?.result();
        let (want, shown) = if ev.nr == libc::SYS_set_tid_address as u64 {
            if ev.result != i64::from(tid) {
                (ev.result, ev.result)
            } else {
                (i64::from(st.tid()), ev.result)
            }
        } else if ev.nr == libc::SYS_rt_sigreturn as u64 {
            (ev.result, ev.result)
        } else {
            return Ok(st);
        };
        if got == want {
            return Ok(st);
        }
        let call = reel_syscalls::format_call(ev.nr, &ev.args);
        self.park(tid, st)?;
        Err(self.diverged(
            tid,
            format!("{call} = {shown:#x}"),
            format!("it returned {got:#x}"),
        ))
    }
}
