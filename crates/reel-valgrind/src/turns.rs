//! Serving the guest's calls in the recorded order of its threads (see
//! sched.rs): which recorded event a call stands for, whether it is due,
//! and what happens to a thread whose turn has not come.

use crate::error::{Result, VgError};
use crate::serve::{listed, Aligned, Session, VALGRIND_MAYBE, VALGRIND_OWN};
use reel_sys::Stopped;
use reel_trace::{Event, Tid};

impl Session<'_> {
    /// Whether valgrind's shutdown may run freely: every awaited event up
    /// to the program's exit_group is met.
    fn free(&mut self) -> bool {
        self.sched.past(&self.plan.events, self.plan.end)
    }

    /// A thread is about to take valgrind's lock: it may when its next
    /// recorded event is due, else it waits here (holding nothing).
    pub(crate) fn on_lock(&mut self, st: Stopped, rec: Tid) -> Result<()> {
        if self.free() || self.sched.may_run(&self.plan.events, rec) {
            return self.cont(st, None);
        }
        self.held_lock.push(st);
        Ok(())
    }

    /// Lets go every held thread whose turn has come.
    pub(crate) fn release_due(&mut self) -> Result<()> {
        loop {
            let mut moved = false;
            let free = self.free();
            for st in std::mem::take(&mut self.held_lock) {
                let rec = self.rec_of.get(&st.tid()).copied();
                if free || rec.is_some_and(|r| self.sched.may_run(&self.plan.events, r)) {
                    self.cont(st, None)?;
                    moved = true;
                } else {
                    self.held_lock.push(st);
                }
            }
            for (st, nr, args) in std::mem::take(&mut self.held_site) {
                let rec = self.rec_of[&st.tid()];
                moved |= self.guest_call(st, rec, nr, args, true)?;
            }
            if !moved {
                return Ok(());
            }
        }
    }

    /// Answers one guest call of recorded thread `rec`, or holds it until
    /// its turn (`at_site`: a blocking call, made without valgrind's lock).
    /// Returns whether the thread went on.
    pub(crate) fn guest_call(
        &mut self,
        st: Stopped,
        rec: Tid,
        nr: u64,
        args: [u64; 6],
        at_site: bool,
    ) -> Result<bool> {
        if listed(VALGRIND_OWN, nr) {
            // valgrind makes it with the guest's own arguments (an mmap
            // MAP_FIXED, its final exit): real, like the rest of its calls.
            self.cont(st, None)?;
            return Ok(true);
        }
        if self.on_valgrind_file(&st, nr, &args) {
            let (st, result) = self.run_real(st)?;
            if matches!(nr as i64, libc::SYS_open | libc::SYS_openat) && result >= 0 {
                self.vg_fds.insert(result as i32);
            } else if nr as i64 == libc::SYS_close {
                self.vg_fds.remove(&(args[0] as i32));
            }
            self.cont(st, None)?;
            return Ok(true);
        }
        if rec != self.plan.tid && self.free() {
            // The program is ending: valgrind's shutdown of its threads.
            self.cont(st, None)?;
            return Ok(true);
        }
        if self.tool_yields && nr == libc::SYS_sched_yield as u64 && !self.yield_recorded(rec) {
            return self.tool_yield(st, rec, args);
        }
        let Some(al) = self.align(rec, nr, &args)? else {
            // The program has made its exit_group, which valgrind emulates;
            // what it does for the guest while it shuts down is its own.
            self.cont(st, None)?;
            return Ok(true);
        };
        let first = al.entry.or(al.call).expect("an alignment has an event");
        if let Some(b) = self.sched.blocker(&self.plan.events, rec, first) {
            return self.not_due(st, rec, nr, args, at_site, b);
        }
        if let Some(e) = al.entry {
            self.sched.meet(&self.plan.events, rec, e);
        }
        let Some(idx) = al.call else {
            // Its thread ended inside this call when recorded: it waits
            // for the program's end.
            if at_site {
                self.held_site.push((st, nr, args));
                return Ok(false);
            }
            return Err(self.out_of_turn(first, rec, nr, &args));
        };
        if let Some(b) = self.sched.blocker(&self.plan.events, rec, idx) {
            return self.not_due(st, rec, nr, args, at_site, b);
        }
        let rec_ev = &self.plan.events[idx];
        let Event::Syscall(ev) = &rec_ev.event else {
            unreachable!("align returns syscalls")
        };
        self.check_args(rec_ev.number, ev, nr, &args)?;
        self.sched.meet(&self.plan.events, rec, idx);
        self.yielding.remove(&rec);
        if !at_site {
            self.check_runs_on(rec, nr, &args)?;
        }
        self.answer(st, rec_ev.number, ev, &rec_ev.data, args, idx)?;
        Ok(true)
    }

    /// `rec`'s next recorded event, past those valgrind answers itself.
    fn next_recorded(&self, rec: Tid, nr: u64) -> Option<usize> {
        let events = &self.plan.events;
        (self.sched.cursor(rec)..events.len()).find(|&k| {
            let r = &events[k];
            r.event.tid() == rec
                && !self.sched.is_done(k)
                && !matches!(&r.event, Event::Syscall(s)
                    if listed(VALGRIND_OWN, s.nr) || (listed(VALGRIND_MAYBE, s.nr) && s.nr != nr))
                && !matches!(&r.event, Event::Tsc { .. } | Event::FastSite(_))
        })
    }

    /// Whether `rec`'s next recorded call is a sched_yield of its own.
    fn yield_recorded(&self, rec: Tid) -> bool {
        let nr = libc::SYS_sched_yield as u64;
        self.next_recorded(rec, nr)
            .is_some_and(|k| match &self.plan.events[k].event {
                Event::Syscall(s) => s.nr == nr,
                Event::SyscallEntry { nr: n, .. } => *n == nr,
                _ => false,
            })
    }

    /// A sched_yield the recording does not have, from helgrind's
    /// pthread_create, which spins until the new thread has run. It stands
    /// for the creator's next recorded switch, which must come next (the
    /// creator's code up to it then runs after the new thread's turn, and
    /// the recorded result of the call it switched at is served when it
    /// makes it); answered without running once the creator's turn is back.
    fn tool_yield(&mut self, st: Stopped, rec: Tid, args: [u64; 6]) -> Result<bool> {
        let nr = libc::SYS_sched_yield as u64;
        if !self.yielding.contains(&rec) {
            let next = self.next_recorded(rec, nr);
            let entry =
                next.filter(|&k| matches!(self.plan.events[k].event, Event::SyscallEntry { .. }));
            let Some(k) = entry else {
                let k = next.unwrap_or(self.plan.events.len().saturating_sub(1));
                let r = &self.plan.events[k];
                return Err(VgError::Divergence {
                    event: r.number,
                    tid: rec,
                    expected: self.describe(k),
                    actual: format!(
                        "helgrind's pthread_create in thread {rec} waits (sched_yield) for the new thread to run first, and the recording did not switch threads there"
                    ),
                });
            };
            if self.sched.blocker(&self.plan.events, rec, k).is_some() {
                self.held_site.push((st, nr, args));
                return Ok(false);
            }
            self.sched.meet(&self.plan.events, rec, k);
            // The creator makes the call it switched at only after the
            // new thread's turn: its recorded result waits for it.
            let events = &self.plan.events;
            if let Some(c) = (k + 1..events.len()).find(|&c| events[c].event.tid() == rec) {
                if matches!(&events[c].event, Event::Syscall(_)) {
                    self.sched.defer(c);
                }
            }
            self.yielding.insert(rec);
        }
        if !self.sched.may_run(&self.plan.events, rec) {
            self.held_site.push((st, nr, args));
            return Ok(false);
        }
        let mut st = st;
        let mut regs = st.regs()?;
        regs.set_syscall_nr(u64::MAX);
        regs.set_result(0);
        st.set_regs(&regs)?;
        self.cont(st, None)?;
        Ok(true)
    }

    /// A guest call whose turn has not come (`b` is due first): a thread
    /// without the lock waits; one holding it is a divergence.
    fn not_due(
        &mut self,
        st: Stopped,
        rec: Tid,
        nr: u64,
        args: [u64; 6],
        at_site: bool,
        b: usize,
    ) -> Result<bool> {
        if at_site {
            // It is past its own earlier events (a switch recorded at a
            // call valgrind answers without a syscall): others may go.
            let first = self.align(rec, nr, &args)?.and_then(|a| a.entry.or(a.call));
            if let Some(k) = first {
                self.sched.pass(&self.plan.events, rec, k);
            }
            self.held_site.push((st, nr, args));
            return Ok(false);
        }
        Err(self.out_of_turn(b, rec, nr, &args))
    }

    /// After a call made under valgrind's lock, thread `rec` runs on: the
    /// recording must not have switched to another thread there.
    fn check_runs_on(&mut self, rec: Tid, nr: u64, args: &[u64; 6]) -> Result<()> {
        // Calls other threads wait in whose results are due come first.
        self.release_due()?;
        if self.free() || self.sched.may_run(&self.plan.events, rec) {
            return Ok(());
        }
        let events = &self.plan.events;
        let next = self.sched.next_of(events, rec).unwrap_or(events.len());
        let Some(b) = self.sched.blocker(events, rec, next) else {
            return Ok(());
        };
        Err(VgError::Divergence {
            event: events[b].number,
            tid: events[b].event.tid(),
            expected: self.describe(b),
            actual: format!(
                "valgrind runs thread {rec} on after {} (it gives its lock up only around calls that may block), where the recording switched threads",
                reel_syscalls::format_call(nr, args)
            ),
        })
    }

    fn out_of_turn(&self, b: usize, rec: Tid, nr: u64, args: &[u64; 6]) -> VgError {
        let r = &self.plan.events[b];
        VgError::Divergence {
            event: r.number,
            tid: r.event.tid(),
            expected: self.describe(b),
            actual: format!(
                "under valgrind thread {rec} issued {} first",
                reel_syscalls::format_call(nr, args)
            ),
        }
    }

    /// Event `k`, for a divergence report.
    fn describe(&self, k: usize) -> String {
        match &self.plan.events[k].event {
            Event::Syscall(s) => reel_syscalls::format_call(s.nr, &s.args),
            Event::SyscallEntry { tid, nr, args, .. } => format!(
                "thread {tid} entering {} (a thread switch)",
                reel_syscalls::format_call(*nr, args)
            ),
            Event::Exit { tid, .. } => format!("the end of thread {tid}"),
            other => format!("{other:?}"),
        }
    }

    /// No thread of valgrind runs and none may go: the recorded event due
    /// is one valgrind does not make.
    pub(crate) fn stuck(&mut self) -> VgError {
        let waiting = self.held_lock.len() + self.held_site.len();
        let Some(k) = self.sched.head(&self.plan.events) else {
            return VgError::Valgrind(format!(
                "valgrind's {waiting} threads all wait, with every recorded event met"
            ));
        };
        let r = &self.plan.events[k];
        VgError::Divergence {
            event: r.number,
            tid: r.event.tid(),
            expected: self.describe(k),
            actual: format!("under valgrind no thread can make it ({waiting} wait for their turn)"),
        }
    }

    /// The recorded event of thread `rec` that its call `nr` stands for:
    /// the next one, past those valgrind answers itself; `None` once the
    /// program has made its exit call.
    fn align(&mut self, rec: Tid, nr: u64, args: &[u64; 6]) -> Result<Option<Aligned>> {
        let events = &self.plan.events;
        let mut i = self.sched.cursor(rec);
        let mut entry = None;
        let issued = || {
            format!(
                "valgrind issued {} for thread {rec}",
                reel_syscalls::format_call(nr, args)
            )
        };
        loop {
            let Some(r) = events.get(i) else {
                if entry.is_some() {
                    return Ok(Some(Aligned { entry, call: None }));
                }
                return Err(VgError::Divergence {
                    event: events.last().map_or(0, |r| r.number),
                    tid: rec,
                    expected: "the end of the recording".into(),
                    actual: issued(),
                });
            };
            if r.event.tid() != rec || self.sched.is_done(i) {
                i += 1;
                continue;
            }
            let mismatch = |expected: String| VgError::Divergence {
                event: r.number,
                tid: rec,
                expected,
                actual: issued(),
            };
            match &r.event {
                Event::SyscallEntry { nr: n, .. } if entry.is_none() && *n == nr => {
                    entry = Some(i);
                }
                Event::SyscallEntry { nr: n, .. }
                    if entry.is_none() && listed(VALGRIND_OWN, *n) => {}
                Event::SyscallEntry { .. } => return Err(mismatch(self.describe(i))),
                Event::Syscall(s) if entry.is_some() => {
                    if s.nr != nr {
                        return Err(mismatch(self.describe(i)));
                    }
                    return Ok(Some(Aligned {
                        entry,
                        call: Some(i),
                    }));
                }
                Event::Syscall(s)
                    if listed(VALGRIND_OWN, s.nr)
                        || (listed(VALGRIND_MAYBE, s.nr) && s.nr != nr) => {}
                Event::Syscall(s) if s.nr == nr => {
                    return Ok(Some(Aligned {
                        entry: None,
                        call: Some(i),
                    }))
                }
                Event::Syscall(_) => return Err(mismatch(self.describe(i))),
                Event::Exit { .. } if entry.is_some() => {
                    return Ok(Some(Aligned { entry, call: None }))
                }
                Event::Exit { .. } if self.exited_before(rec, i) => return Ok(None),
                Event::Exit { kind, .. } => {
                    return Err(mismatch(format!("the end of thread {rec} ({kind:?})")))
                }
                _ => {}
            }
            i += 1;
        }
    }

    /// Whether thread `rec`'s last call before event index `i` ended it,
    /// or the program's exit_group came before.
    fn exited_before(&self, rec: Tid, i: usize) -> bool {
        if self.plan.end.is_some_and(|e| e < i) {
            return true;
        }
        self.plan.events[..i]
            .iter()
            .rev()
            .find_map(|r| match &r.event {
                Event::Syscall(s) if s.tid == rec => Some(s.nr),
                _ => None,
            })
            .is_some_and(|nr| nr as i64 == libc::SYS_exit_group || nr as i64 == libc::SYS_exit)
    }

    /// A thread of valgrind ended: its recorded thread's remaining events
    /// must be its end (and calls valgrind answers itself).
    pub(crate) fn thread_gone(&mut self, tid: i32) -> Result<()> {
        let Some(rec) = self.rec_of.remove(&tid) else {
            return Ok(());
        };
        self.starting.remove(&tid);
        if self.free() {
            return Ok(());
        }
        let events = &self.plan.events;
        for k in self.sched.cursor(rec)..events.len() {
            let r = &events[k];
            if r.event.tid() != rec || self.sched.is_done(k) {
                continue;
            }
            match &r.event {
                Event::Syscall(s) if listed(VALGRIND_OWN, s.nr) || listed(VALGRIND_MAYBE, s.nr) => {
                }
                Event::Exit { .. } => {
                    self.sched.meet(events, rec, k);
                    return Ok(());
                }
                Event::Syscall(_) | Event::SyscallEntry { .. } => {
                    return Err(VgError::Divergence {
                        event: r.number,
                        tid: rec,
                        expected: self.describe(k),
                        actual: format!("thread {rec} ended under valgrind before it"),
                    })
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The guest's clone, which valgrind makes with its own stack and
    /// without the TLS argument: checked against the recorded clone by its
    /// flags, run for real; the program sees the recorded thread id.
    pub(crate) fn guest_clone(&mut self, st: Stopped, rec: Tid, gargs: [u64; 6]) -> Result<()> {
        let nr = libc::SYS_clone as u64;
        let Some(al) = self.align(rec, nr, &gargs)? else {
            return self.cont(st, None);
        };
        let idx = match al {
            Aligned {
                entry: None,
                call: Some(idx),
            } => idx,
            _ => return Err(self.out_of_turn(al.entry.unwrap_or(0), rec, nr, &gargs)),
        };
        if let Some(b) = self.sched.blocker(&self.plan.events, rec, idx) {
            return Err(self.out_of_turn(b, rec, nr, &gargs));
        }
        let rec_ev = &self.plan.events[idx];
        let number = rec_ev.number;
        let data = &rec_ev.data;
        let Event::Syscall(ev) = &rec_ev.event else {
            unreachable!("align returns syscalls")
        };
        if ev.args[0] != gargs[0] {
            return Err(VgError::Divergence {
                event: number,
                tid: rec,
                expected: reel_syscalls::format_call(ev.nr, &ev.args),
                actual: format!(
                    "valgrind issued {} (the flags differ)",
                    reel_syscalls::format_call(nr, &gargs)
                ),
            });
        }
        self.sched.meet(&self.plan.events, rec, idx);
        self.check_runs_on(rec, nr, &gargs)?;
        let (mut st, got) = self.run_real(st)?;
        if got <= 0 {
            return Err(VgError::Divergence {
                event: number,
                tid: rec,
                expected: format!(
                    "{} = {}",
                    reel_syscalls::format_call(ev.nr, &ev.args),
                    ev.result
                ),
                actual: format!("under valgrind it returned {got}"),
            });
        }
        self.rec_of.insert(got as i32, ev.result as Tid);
        self.starting.insert(got as i32);
        self.write_outputs(&mut st, number, ev, data, &gargs)?;
        let mut regs = st.regs()?;
        regs.set_result(ev.result);
        st.set_regs(&regs)?;
        self.cont(st, None)
    }
}
