//! The landmark search: run a thread to the first point whose full state
//! equals a recorded landmark, and park it there.
//!
//! A filter at the landmark's instruction rejects passes whose state
//! differs without a ptrace stop when it can: the in-process compare stub
//! (`reel_sys::stub`), for an instruction a `jmp rel32` can replace; else
//! a plain `int3`, stepped over on every miss. On each candidate the tracer
//! compares the registers, the watched words, the vector state and the
//! memory digest. The thread reaching a syscall (or a fault, or its end)
//! first has diverged.

use super::Engine;
use crate::{ReplayError, Result};
use reel_sys::landmark::{self, first_difference};
use reel_sys::{stub, Memory, Resume, StopReason, Stopped, Waited};
use reel_trace::{Landmark, Position, Tid};

/// Whether `REEL_DEBUG` asks for debug lines.
pub(super) fn debug() -> bool {
    std::env::var_os("REEL_DEBUG").is_some_and(|v| !v.is_empty())
}

/// How the search filtered passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Search {
    /// The in-process compare stub.
    Stub,
    /// A breakpoint, stepped over on each miss.
    Breakpoint,
}

/// What the landmark searches of a replay did, for its summary.
#[derive(Debug, Default)]
pub(super) struct SearchStats {
    /// Landmarks reached with the stub.
    pub(super) stub: u64,
    /// Landmarks reached with breakpoints.
    pub(super) breakpoint: u64,
    /// ptrace stops on candidates, over all searches.
    pub(super) candidates: u64,
    /// Passes through landmark instructions, over all searches.
    pub(super) passes: u64,
}

/// How often a search checks the CPU time of the thread it runs.
const CPU_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// CPU time allowed for each ptrace stop of a search, on top of the
/// landmark's limit (generous: a stop costs the thread a few microseconds).
const STOP_NS: u64 = 200_000;

/// The filter installed at a landmark's instruction.
struct Filter {
    kind: Search,
    rip: u64,
    original: Vec<u8>,
    stub: Option<(u64, stub::Stub)>,
}

impl Engine {
    /// Runs `tid` until its state equals `lm`, and parks it there (at the
    /// landmark's instruction, not yet executed). `what` names the event.
    pub(super) fn run_to_landmark(&mut self, tid: Tid, lm: &Landmark, what: &str) -> Result<()> {
        let expected = format!("{what} at landmark {:#x}", lm.rip());
        let (mut st, mut sig) = self.take_for_search(tid, &expected)?;
        let pid = self.task(tid)?.pid;
        let stack_end = self.stack_ends.get(&pid).copied();
        if sig.is_none() && self.matches(&st, lm, stack_end)?.is_none() {
            self.stats.breakpoint += 1;
            return self.park(tid, st);
        }
        let (filter, back) = self.install(st, lm, sig.is_some())?;
        st = back;
        if debug() {
            eprintln!(
                "reel: debug: event {}: searching the landmark at {:#x} with {:?}{}",
                self.event,
                lm.rip(),
                filter.kind,
                filter
                    .stub
                    .as_ref()
                    .map_or(String::new(), |(b, _)| format!(" at {b:#x}"))
            );
        }
        let real = st.tid();
        let mut hits = 0u64;
        let mut last_miss = String::from(NEVER_REACHED);
        let mut how = Resume::Sysemu;
        // A thread that diverged into a loop that never passes the filter
        // would run for ever: bounded by its CPU time (not the clock: a
        // loaded machine gives it little), checked while it runs.
        let cpu_start = reel_sys::proc::process_cpu_ns(real);
        let cpu_limit = lm.cpu_limit_ns();
        let mut cut = false;
        // Each ptrace stop (a breakpoint pass, a patched `pause`) costs the
        // thread kernel time the recorded run may not have had: allowed for.
        let mut stops = 0u64;
        loop {
            self.tasks.insert(st.resume(how, sig.take())?);
            how = Resume::Sysemu;
            let waited = loop {
                if let Some(w) = self.tasks.wait_for(real, CPU_POLL)? {
                    stops += 1;
                    break w;
                }
                let used = reel_sys::proc::process_cpu_ns(real)
                    .zip(cpu_start)
                    .map(|(now, start)| now.saturating_sub(start));
                let limit = cpu_limit.map(|l| l.saturating_add(stops.saturating_mul(STOP_NS)));
                if !cut && used.zip(limit).is_some_and(|(u, l)| u > l) {
                    // Its next stop is this interrupt (or a stop that
                    // came first, handled as usual).
                    self.tasks.interrupt(real)?;
                    cut = true;
                }
            };
            let mut next = match waited {
                Waited::Stopped(s) => s,
                Waited::Exited(_, c) => {
                    self.mark_gone(tid, reel_trace::ExitKind::Exited(c));
                    return Err(self.diverged(
                        tid,
                        expected,
                        format!("the task exited ({c}) first; {last_miss}"),
                    ));
                }
                Waited::Signaled(_, s) => {
                    self.mark_gone(tid, reel_trace::ExitKind::Signaled(s));
                    return Err(self.diverged(
                        tid,
                        expected,
                        format!("the task was killed by signal {s} first; {last_miss}"),
                    ));
                }
            };
            match next.reason() {
                StopReason::Signal(libc::SIGTRAP) if self.pause_trap(tid, &mut next)?.is_some() => {
                    // A patched `pause` on the way: counted, stepped over.
                    st = next;
                }
                StopReason::Signal(libc::SIGTRAP) => {
                    let mut regs = next.regs()?;
                    let candidate = match &filter.stub {
                        Some((_, s)) => regs.ip() == s.trap_end,
                        None => regs.ip() == filter.rip + 1,
                    };
                    let over = filter
                        .stub
                        .as_ref()
                        .is_some_and(|(_, s)| regs.ip() == s.limit_end)
                        || (filter.stub.is_none()
                            && candidate
                            && lm.pass_limit().is_some_and(|l| hits + 1 >= l));
                    if !candidate && !over {
                        return self.search_failed(tid, next, &filter, expected, &last_miss);
                    }
                    regs.set_ip(filter.rip);
                    next.set_regs(&regs)?;
                    if over {
                        // (A pass at the limit that matches is still the landmark.)
                        if let Some(miss) = self.matches(&next, lm, stack_end)? {
                            last_miss = format!("the last pass differed in {miss}");
                            return self
                                .search_exhausted(tid, next, &filter, lm, expected, &last_miss);
                        }
                    }
                    hits += 1;
                    self.stats.candidates += 1;
                    match self.matches(&next, lm, stack_end)? {
                        None => {
                            let passes = match filter.kind {
                                Search::Stub => self.mem(tid)?.read_u64(&next, stub::PASSES)?,
                                Search::Breakpoint => hits,
                            };
                            let st = self.remove(next, &filter)?;
                            self.stats.passes += passes;
                            match filter.kind {
                                Search::Stub => self.stats.stub += 1,
                                Search::Breakpoint => self.stats.breakpoint += 1,
                            }
                            self.last_landmark = Some(Position {
                                event: self.event - 1,
                                hits: passes,
                            });
                            return self.park(tid, st);
                        }
                        Some(miss) => {
                            if debug() && hits <= 3 {
                                eprintln!("reel: debug: candidate {hits} differs in {miss}");
                            }
                            last_miss = format!("the closest pass differed in {miss}");
                            match &filter.stub {
                                Some((_, s)) => {
                                    regs.set_ip(s.resume);
                                    next.set_regs(&regs)?;
                                    st = next;
                                }
                                None => st = self.step_over(next, &filter)?,
                            }
                        }
                    }
                }
                StopReason::Signal(s) => {
                    let info = next.siginfo()?;
                    if reel_syscalls::is_fault_signal(s, info.si_code) {
                        return self.search_failed(tid, next, &filter, expected, &last_miss);
                    }
                    // Not the replay's: discarded, as in `advance`.
                    st = next;
                }
                StopReason::GroupStop(_) if cut => {
                    let passes = match filter.kind {
                        Search::Stub => self.mem_of(&next)?.read_u64(&next, stub::PASSES)?,
                        Search::Breakpoint => hits,
                    };
                    let why = if passes > 0 {
                        closest_pass(&last_miss)
                    } else {
                        last_miss.as_str()
                    };
                    let passes =
                        format!("{passes} passes through the landmark's instruction ({why})");
                    return self.search_out_of_time(tid, next, &filter, lm, expected, passes);
                }
                StopReason::GroupStop(_) => {
                    self.first_stop(tid, &mut next)?;
                    st = next;
                }
                _ => return self.search_failed(tid, next, &filter, expected, &last_miss),
            }
        }
    }

    /// Ends a search that cannot match: the filter removed, the task
    /// parked where it stands, the divergence reported.
    fn give_up(
        &mut self,
        tid: Tid,
        st: Stopped,
        filter: &Filter,
        expected: String,
        actual: String,
    ) -> Result<()> {
        let st = self.remove(st, filter)?;
        self.park(tid, st)?;
        Err(self.diverged(tid, expected, actual))
    }

    /// The task stopped somewhere other than at a candidate: remove the
    /// filter, park it, report the divergence.
    fn search_failed(
        &mut self,
        tid: Tid,
        st: Stopped,
        filter: &Filter,
        expected: String,
        last_miss: &str,
    ) -> Result<()> {
        let mut last_miss = last_miss.to_string();
        if filter.stub.is_some() && !last_miss.starts_with("the closest") {
            // Every pass was rejected in the stub, on registers or words.
            let passes = self.mem_of(&st)?.read_u64(&st, stub::PASSES).unwrap_or(0);
            last_miss = format!(
                "{passes} passes through the landmark's instruction, none with the recorded registers and watched words"
            );
        }
        let actual = format!(
            "{} before the landmark matched ({last_miss})",
            self.describe_stop(&st)
        );
        self.give_up(tid, st, filter, expected, actual)
    }

    /// The thread passed the landmark's instruction more often than it
    /// could have in the recording (a loop that diverged and would spin for
    /// ever): remove the filter, park it there, report the divergence.
    fn search_exhausted(
        &mut self,
        tid: Tid,
        st: Stopped,
        filter: &Filter,
        lm: &Landmark,
        expected: String,
        last_miss: &str,
    ) -> Result<()> {
        let limit = lm.pass_limit().unwrap_or(0);
        let closest = closest_pass(last_miss);
        let actual = format!(
            "{limit} passes through the landmark's instruction without a match, more than the recorded thread could make in its {:.3} s of CPU time ({closest})",
            lm.cpu_ns as f64 / 1e9
        );
        self.give_up(tid, st, filter, expected, actual)
    }

    /// The thread used far more CPU time than the recorded one did to reach
    /// the landmark (it diverged, and computes without reaching it): remove
    /// the filter, park it, report the divergence.
    fn search_out_of_time(
        &mut self,
        tid: Tid,
        st: Stopped,
        filter: &Filter,
        lm: &Landmark,
        expected: String,
        passes: String,
    ) -> Result<()> {
        let actual = format!(
            "more than {:.3} s of CPU time without a match ({}x the {:.3} s the recorded thread used, and 2 s); {passes}",
            lm.cpu_limit_ns().unwrap_or(0) as f64 / 1e9,
            reel_trace::CPU_FACTOR,
            lm.cpu_ns as f64 / 1e9
        );
        self.give_up(tid, st, filter, expected, actual)
    }

    /// The task, stopped, for a search, with the signal it must get first.
    fn take_for_search(&mut self, tid: Tid, expected: &str) -> Result<(Stopped, Option<i32>)> {
        let event = self.event;
        let t = self.task(tid)?;
        if t.gone.is_some() || t.dying || t.vfork_wait.is_some() {
            return Err(self.diverged(tid, expected, "the task is not running user code"));
        }
        if std::mem::take(&mut t.initial) {
            let real = t.real;
            loop {
                match self.tasks.wait(Some(real))? {
                    Waited::Stopped(mut st) if matches!(st.reason(), StopReason::GroupStop(_)) => {
                        self.first_stop(tid, &mut st)?;
                        return Ok((st, None));
                    }
                    Waited::Stopped(st) => self.tasks.insert(st.resume(Resume::Sysemu, None)?),
                    _ => return Err(self.diverged(tid, expected, "the new task ended at once")),
                }
            }
        }
        let st = t.stopped.take().ok_or(ReplayError::Unsupported {
            event,
            what: format!("task {tid} is not stopped"),
        })?;
        if std::mem::take(&mut t.fresh) {
            let actual = self.describe_stop(&st);
            self.park(tid, st)?;
            return Err(self.diverged(tid, expected, actual));
        }
        let sig = t.pending_signal.take();
        Ok((st, sig))
    }

    /// Where the state of `st` differs from `lm`, if it does.
    fn matches(
        &self,
        st: &Stopped,
        lm: &Landmark,
        stack_end: Option<u64>,
    ) -> Result<Option<String>> {
        let regs = st.regs()?.to_vec();
        if let Some((name, want, got)) = first_difference(&lm.regs, &regs) {
            return Ok(Some(format!("{name} ({got:#x}, recorded {want:#x})")));
        }
        let mem = self.mem_of(st)?;
        for &(addr, value) in &lm.words {
            let got = mem.read_u64(st, addr)?;
            if got != value {
                return Ok(Some(format!(
                    "the word at {addr:#x} ({got:#x}, recorded {value:#x})"
                )));
            }
        }
        if landmark::vector_hash(&st.xstate()?) != lm.vector_hash {
            return Ok(Some("the vector registers".into()));
        }
        if landmark::memory_digest(st, mem, stack_end)? != lm.memory_digest {
            return Ok(Some("memory (digest)".into()));
        }
        Ok(None)
    }

    fn mem_of(&self, st: &Stopped) -> Result<&Memory> {
        self.by_tid
            .iter()
            .find(|(_, t)| t.real == st.tid())
            .and_then(|(_, t)| self.memories.get(&t.pid))
            .ok_or(ReplayError::Unsupported {
                event: self.event,
                what: "no address space for the searching task".into(),
            })
    }

    /// Installs the filter at the landmark's instruction: the stub when the
    /// instruction allows it and a page nearby is free, else a breakpoint.
    fn install(&mut self, st: Stopped, lm: &Landmark, signal: bool) -> Result<(Filter, Stopped)> {
        let rip = lm.rip();
        let mut st = st;
        let span = landmark::patch_span(&st, self.mem_of(&st)?, rip);
        // REEL_LANDMARK_SEARCH=breakpoint forces the fallback (for tests,
        // and for machines where patching code is not wanted).
        let forced = std::env::var("REEL_LANDMARK_SEARCH").is_ok_and(|v| v == "breakpoint");
        let mut span = span.filter(|_| !forced);
        if let Some(sp) = &span {
            // The thread itself must not resume inside the patch (it sits
            // after the first displaced instruction, back from a handler):
            // step it out first. With a signal to deliver first, its
            // handler would return there: no patch then.
            let end = rip + sp.iter().map(|i| i.len() as u64).sum::<u64>();
            let inside = |st: &Stopped| -> Result<bool> {
                let at = st.regs()?.ip();
                Ok(at > rip && at < end)
            };
            if inside(&st)? {
                if signal {
                    span = None;
                } else {
                    for _ in 0..16 {
                        if !inside(&st)? {
                            break;
                        }
                        st = self.single_step(st)?;
                    }
                    if inside(&st)? {
                        span = None;
                    }
                }
            }
        }
        if let Some(span) = span {
            let maps: Vec<(u64, u64)> = reel_sys::proc::maps(st.tid())?
                .iter()
                .map(|m| (m.start, m.end))
                .collect();
            let built = stub::place_near(rip, &maps).and_then(|base| {
                stub::build(base, &span, &lm.regs, &lm.words, lm.pass_limit()).map(|s| (base, s))
            });
            if let Some((base, s)) = built {
                let (back, got) = reel_sys::inject::syscall(
                    st,
                    &mut self.tasks,
                    libc::SYS_mmap as u64,
                    [
                        base,
                        stub::STUB_LEN,
                        (libc::PROT_READ | libc::PROT_EXEC) as u64,
                        (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE)
                            as u64,
                        u64::MAX,
                        0,
                    ],
                )?;
                st = back;
                if got as u64 == base {
                    let mem = self.mem_of(&st)?;
                    let original = mem.read(&st, rip, landmark::PATCH_LEN)?;
                    mem.write(&mut st, base, &s.code)?;
                    mem.write(&mut st, stub::PASSES, &0u64.to_le_bytes())?;
                    mem.write(&mut st, rip, &s.patch)?;
                    let filter = Filter {
                        kind: Search::Stub,
                        rip,
                        original,
                        stub: Some((base, s)),
                    };
                    return Ok((filter, st));
                }
            }
        }
        let mem = self.mem_of(&st)?;
        let original = mem.read(&st, rip, 1)?;
        mem.write(&mut st, rip, &[0xcc])?;
        let filter = Filter {
            kind: Search::Breakpoint,
            rip,
            original,
            stub: None,
        };
        Ok((filter, st))
    }

    /// Puts the original bytes back (and unmaps the stub).
    fn remove(&mut self, st: Stopped, filter: &Filter) -> Result<Stopped> {
        let mut st = st;
        self.mem_of(&st)?
            .write(&mut st, filter.rip, &filter.original)?;
        if let Some((base, _)) = &filter.stub {
            let (back, _) = reel_sys::inject::syscall(
                st,
                &mut self.tasks,
                libc::SYS_munmap as u64,
                [*base, stub::STUB_LEN, 0, 0, 0, 0],
            )?;
            st = back;
        }
        Ok(st)
    }

    /// Executes the instruction under the breakpoint, then sets it again.
    fn step_over(&mut self, st: Stopped, filter: &Filter) -> Result<Stopped> {
        let mut st = st;
        self.mem_of(&st)?
            .write(&mut st, filter.rip, &filter.original)?;
        let mut st = self.single_step(st)?;
        self.mem_of(&st)?.write(&mut st, filter.rip, &[0xcc])?;
        Ok(st)
    }

    /// Executes one instruction (a stray signal on the way is discarded).
    fn single_step(&mut self, st: Stopped) -> Result<Stopped> {
        let mut st = st;
        let real = st.tid();
        let from = st.regs()?.ip();
        loop {
            self.tasks.insert(st.resume(Resume::SingleStep, None)?);
            match self.tasks.wait(Some(real))? {
                Waited::Stopped(s) => {
                    let trapped = s.reason() == StopReason::Signal(libc::SIGTRAP);
                    st = s;
                    if trapped || st.regs()?.ip() != from {
                        return Ok(st);
                    }
                }
                _ => {
                    return Err(ReplayError::Unsupported {
                        event: self.event,
                        what: "the task ended while reel stepped it".into(),
                    })
                }
            }
        }
    }

    /// The summary line of the landmark searches, when there were any.
    pub(super) fn search_summary(&self) -> Option<String> {
        let s = &self.stats;
        (s.stub + s.breakpoint > 0).then(|| {
            format!(
                "reel: replay reached {} landmarks (compare stub: {}, breakpoint: {}), {} candidate stops over {} passes",
                s.stub + s.breakpoint,
                s.stub,
                s.breakpoint,
                s.candidates,
                s.passes
            )
        })
    }
}

/// What a search says of its passes before any reached a comparison.
const NEVER_REACHED: &str = "the landmark's instruction was never reached";

/// What differed in the closest pass, for a search that made passes: when
/// the filter let none by to be compared, that none matched the recorded
/// state (not that the instruction was never reached).
fn closest_pass(last_miss: &str) -> &str {
    if last_miss == NEVER_REACHED {
        "none had the recorded registers and watched words"
    } else {
        last_miss
    }
}
