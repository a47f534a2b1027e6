//! Answering one guest call that matched its recorded event: from the trace
//! (result, and memory outputs placed at the addresses of the actual call),
//! or for real where valgrind needs it real (a file it will map, a change
//! to the address space it placed).

use crate::error::{Result, VgError};
use crate::serve::Session;
use reel_sys::Stopped;
use reel_syscalls::{Policy, Special};
use reel_trace::{Echo, SyscallEvent};
use std::io::Write;

impl Session<'_> {
    pub(crate) fn answer(
        &mut self,
        st: Stopped,
        number: u64,
        ev: &SyscallEvent,
        data: &[u8],
        args: [u64; 6],
        idx: usize,
    ) -> Result<()> {
        let nr = ev.nr;
        if let Some(file) = self.plan.mapped_opens.get(&idx) {
            // valgrind will map this descriptor itself: it must be the
            // snapshot, at the recorded number.
            let from = self.prepared[file];
            let flags = if args[2] & libc::O_CLOEXEC as u64 != 0
                || (nr as i64 == libc::SYS_open && args[1] & libc::O_CLOEXEC as u64 != 0)
            {
                libc::O_CLOEXEC as u64
            } else {
                0
            };
            let dup = [from as u64, ev.result as u64, flags, 0, 0, 0];
            let (st, got) = self.run_instead(st, libc::SYS_dup3 as u64, dup, args)?;
            self.real_fds.insert(ev.result as i32);
            return self.check_result(st, number, ev, got);
        }
        if nr as i64 == libc::SYS_close && self.real_fds.remove(&(args[0] as i32)) {
            let (st, got) = self.run_real(st)?;
            return self.check_result(st, number, ev, got);
        }
        let spec = reel_syscalls::spec(nr);
        let policy = spec.map(|s| reel_syscalls::policy_for(s, &args));
        match policy {
            Some(Policy::Execute { check_result }) => {
                let (st, got) = self.run_real(st)?;
                if check_result {
                    return self.check_result(st, number, ev, got);
                }
                self.cont(st, None)
            }
            Some(Policy::Special(Special::Clone | Special::Execve)) => Err(VgError::Unsupported {
                event: number,
                what: format!(
                    "{}: new tasks and programs do not run under valgrind yet",
                    reel_syscalls::name(nr)
                ),
            }),
            Some(Policy::Special(Special::Shm)) => Err(VgError::Unsupported {
                event: number,
                what: format!(
                    "{}: System V shared memory does not replay under valgrind yet",
                    reel_syscalls::name(nr)
                ),
            }),
            _ => self.emulate(st, number, ev, data, args),
        }
    }

    fn check_result(
        &mut self,
        st: Stopped,
        number: u64,
        ev: &SyscallEvent,
        got: i64,
    ) -> Result<()> {
        if got != ev.result {
            return Err(VgError::Divergence {
                event: number,
                tid: ev.tid,
                expected: format!(
                    "{} = {}",
                    reel_syscalls::format_call(ev.nr, &ev.args),
                    ev.result
                ),
                actual: format!("under valgrind it returned {got}"),
            });
        }
        self.cont(st, None)
    }

    /// Runs syscall `nr` with `with` in place of the guest's call, then gives
    /// the guest its own argument registers back.
    fn run_instead(
        &mut self,
        mut st: Stopped,
        nr: u64,
        with: [u64; 6],
        orig: [u64; 6],
    ) -> Result<(Stopped, i64)> {
        let mut regs = st.regs()?;
        let orig_nr = regs.syscall_nr();
        regs.set_syscall_nr(nr);
        regs.set_args(with);
        st.set_regs(&regs)?;
        let (mut st, got) = self.run_real(st)?;
        let mut regs = st.regs()?;
        regs.set_args(orig);
        regs.set_syscall_nr(orig_nr);
        st.set_regs(&regs)?;
        Ok((st, got))
    }

    /// The recorded answer: the call is skipped, its result and memory
    /// outputs come from the trace; bytes it sends are checked against the
    /// recorded hash and echoed where they went when recorded.
    fn emulate(
        &mut self,
        mut st: Stopped,
        number: u64,
        ev: &SyscallEvent,
        data: &[u8],
        args: [u64; 6],
    ) -> Result<()> {
        let spec = reel_syscalls::spec(ev.nr);
        let mem = self.mem.as_ref().expect("memory is open after the exec");
        if let (Some(spec), Some(want)) = (spec, ev.emitted) {
            let view = |a: u64, l: usize| mem.read(&st, a, l).ok();
            let bytes = reel_syscalls::emitted_bytes(spec, &args, ev.result, &view);
            let got = bytes.as_deref().map(reel_trace::emitted_hash);
            if got != Some(want) {
                return Err(VgError::Divergence {
                    event: number,
                    tid: ev.tid,
                    expected: format!(
                        "{} sending the recorded bytes",
                        reel_syscalls::format_call(ev.nr, &ev.args)
                    ),
                    actual: "the program sends different bytes under valgrind".into(),
                });
            }
            if let (Some(target), Some(b)) = (ev.echo, bytes) {
                echo(target, &b)?;
            }
        }
        self.write_outputs(&mut st, number, ev, data, &args)?;
        let mut regs = st.regs()?;
        // No syscall runs; the kernel returns what rax holds.
        regs.set_syscall_nr(u64::MAX);
        regs.set_result(ev.result);
        st.set_regs(&regs)?;
        self.cont(st, None)
    }

    /// Writes the recorded memory outputs of `ev` where the actual call
    /// (with `args`) has them.
    pub(crate) fn write_outputs(
        &self,
        st: &mut Stopped,
        number: u64,
        ev: &SyscallEvent,
        data: &[u8],
        args: &[u64; 6],
    ) -> Result<()> {
        let placed = match reel_syscalls::spec(ev.nr) {
            Some(spec) => self.place_writes(st, number, spec, ev, data, args)?,
            None => Vec::new(),
        };
        let mem = self.mem.as_ref().expect("memory is open after the exec");
        for (addr, range) in placed {
            mem.write(st, addr, &data[range])?;
        }
        Ok(())
    }

    /// Where each recorded memory write goes in the actual call: the same
    /// offset into the same output of the call, the outputs being computed
    /// from the recorded and the actual arguments alike.
    fn place_writes(
        &self,
        st: &Stopped,
        number: u64,
        spec: &reel_syscalls::SyscallSpec,
        ev: &SyscallEvent,
        data: &[u8],
        args: &[u64; 6],
    ) -> Result<Vec<(u64, std::ops::Range<usize>)>> {
        let mut spans = Vec::new();
        let mut off = 0usize;
        for w in &ev.writes {
            spans.push((w.addr, w.len, off..off + w.len as usize));
            off += w.len as usize;
        }
        if off > data.len() {
            return Err(VgError::Unsupported {
                event: number,
                what: "the event has less data than its memory writes".into(),
            });
        }
        if spans.is_empty() {
            return Ok(Vec::new());
        }
        if *args == ev.args {
            return Ok(spans.into_iter().map(|(a, _, r)| (a, r)).collect());
        }
        // The recorded memory after the call, as far as the trace has it.
        let recorded = |addr: u64, len: usize| -> Option<Vec<u8>> {
            spans.iter().find_map(|(a, l, r)| {
                (addr >= *a && addr + len as u64 <= a + l).then(|| {
                    let s = r.start + (addr - a) as usize;
                    data[s..s + len].to_vec()
                })
            })
        };
        let mem = self.mem.as_ref().expect("memory is open after the exec");
        let actual = |addr: u64, len: usize| mem.read(st, addr, len).ok();
        let rec = reel_syscalls::output_ranges(spec, &ev.args, ev.result, &recorded);
        let act = reel_syscalls::output_ranges(spec, args, ev.result, &actual);
        let contained =
            |a: u64, l: u64| rec.iter().position(|(ra, rl)| a >= *ra && a + l <= ra + rl);
        let by_containment =
            rec.len() == act.len() && spans.iter().all(|(a, l, _)| contained(*a, *l).is_some());
        let mut out = Vec::new();
        for (k, (a, l, r)) in spans.iter().enumerate() {
            let place = if by_containment {
                let j = contained(*a, *l).expect("checked");
                let at = a - rec[j].0;
                (at + l <= act[j].1).then(|| act[j].0 + at)
            } else {
                // Outputs the trace cannot locate (iovec buffers): in order.
                act.get(k).and_then(|(aa, al)| (*l <= *al).then_some(*aa))
            };
            let Some(addr) = place else {
                return Err(VgError::Divergence {
                    event: number,
                    tid: ev.tid,
                    expected: format!(
                        "{} writing {l} bytes at {a:#x}",
                        reel_syscalls::format_call(ev.nr, &ev.args)
                    ),
                    actual: format!(
                        "the call under valgrind ({}) has no output for them",
                        reel_syscalls::format_call(ev.nr, args)
                    ),
                });
            };
            out.push((addr, r.clone()));
        }
        Ok(out)
    }
}

fn echo(target: Echo, bytes: &[u8]) -> Result<()> {
    let res = match target {
        Echo::Stdout => {
            let mut o = std::io::stdout().lock();
            o.write_all(bytes).and_then(|_| o.flush())
        }
        Echo::Stderr => {
            let mut o = std::io::stderr().lock();
            o.write_all(bytes).and_then(|_| o.flush())
        }
    };
    res.map_err(|source| VgError::Io {
        what: "writing the program's output".into(),
        source,
    })
}
