//! The in-process syscall fast path, record side (the mechanism is in
//! `reel_sys::syscallbuf`).
//!
//! A call on the buffered list seen at a ptrace stop (the second time at
//! that site) gets its site patched once the call's own event is written (a `FastSite` event, made again
//! at the same event by replay). From then on the program makes that call
//! in-process and logs it in its process's buffer; the buffer is drained
//! at every ptrace stop of the thread that runs the process's user code
//! (only one does at a time, see schedule.rs), each record becoming an
//! ordinary `Syscall` event (without a site) with its own event number.
//! When the buffer is full the trampoline makes the call traced, and that
//! stop drains it.
//!
//! Reads and writes go in-process only on descriptors reel marked as never
//! blocking (regular files, /dev/null and kin) and not reel's own
//! stdout/stderr: marked at a traced call's exit, unmarked when the
//! descriptor is closed or replaced.

use super::Recorder;
use crate::Result;
use reel_sys::stub::{place_near, STUB_LEN};
use reel_sys::syscallbuf::{self as sb, Buffered};
use reel_sys::{StopReason, Stopped, PAGE_SIZE};
use reel_trace::{Event, FastSiteEvent, MemWrite, SyscallEvent, Tid};
use std::collections::{HashMap, HashSet};

/// Fast-path state of the recording.
#[derive(Default)]
pub(super) struct FastPath {
    /// `record --no-fast-path` turns it off.
    on: bool,
    /// Per process (address space).
    procs: HashMap<Tid, Proc>,
    /// Per thread: the site of the buffered call it is in, to patch once
    /// its event is written.
    pending: HashMap<Tid, (u64, u64)>,
    /// Threads preempted inside fast-path code: they give their token up
    /// at their next syscall instead (a landmark there could not be found
    /// by replay, whose trampolines differ).
    yield_due: HashSet<Tid>,
    /// Calls recorded from the buffer, and sites patched.
    pub(super) buffered_calls: u64,
    pub(super) sites: u64,
}

/// One process's fast path.
#[derive(Default, Clone)]
struct Proc {
    /// The buffer's header was set up (the path enabled).
    ready: bool,
    /// Sites already considered (by the address of their `syscall`).
    tried: HashSet<u64>,
    /// Traced calls seen per site not considered yet: a site is patched
    /// at its second call (one-shot calls, like most of ld.so's, are not
    /// worth a patch).
    seen: HashMap<u64, u32>,
    /// Trampoline pages: base, bytes used.
    pages: Vec<(u64, u64)>,
    /// Descriptors marked in the buffer's bitmap.
    fds: HashSet<i32>,
    /// The path is switched off for now (a signal waits for a stop).
    paused: bool,
}

/// Calls that close or replace a descriptor: the descriptor (or the first
/// of a range) is unmarked before they run.
fn closes_fd(nr: u64, args: &[u64; 6]) -> Option<(u64, u64)> {
    match nr as i64 {
        libc::SYS_close => Some((args[0], args[0])),
        libc::SYS_dup2 | libc::SYS_dup3 => Some((args[1], args[1])),
        libc::SYS_close_range => Some((args[0], args[1].min(sb::FD_LIMIT))),
        _ => None,
    }
}

impl FastPath {
    /// The fast path, on or off.
    pub(super) fn new(on: bool) -> FastPath {
        FastPath {
            on,
            ..Default::default()
        }
    }
}

impl Recorder {
    fn pid_for(&self, tid: Tid) -> Tid {
        self.task_info.get(&tid).map_or(tid, |t| t.pid)
    }

    /// At any ptrace stop: turns the records the thread logged since the
    /// last drain into events. Only the thread running its process's user
    /// code writes the buffer, so only its stops drain it.
    pub(super) fn fast_drain(&mut self, st: &mut Stopped) -> Result<()> {
        let tid = st.tid();
        let pid = self.pid_for(tid);
        if !self.fast.procs.get(&pid).is_some_and(|p| p.ready) {
            return Ok(());
        }
        if self.token_holder(tid).is_some_and(|h| h != tid) {
            return Ok(());
        }
        // A thread stopped inside a trampoline (a signal, an interruption)
        // may be half-way through appending a record: it would then count
        // the records drained now again. Its next stop drains them.
        let at_call = matches!(
            st.reason(),
            StopReason::Seccomp | StopReason::Syscall | StopReason::ExitEvent { .. }
        );
        if !at_call && self.in_trampoline(pid, st.regs()?.ip()) {
            return Ok(());
        }
        let paused = self.fast.procs.get(&pid).is_some_and(|p| p.paused);
        let holding = self
            .task_info
            .values()
            .any(|t| t.pid == pid && !t.held.is_empty());
        if paused && !holding && !self.has_program_filters(pid) {
            self.set_enabled(st, pid, true)?;
        }
        let mem = self.mem(tid)?;
        let used = match mem.read_u64(st, sb::HEADER + sb::USED) {
            Ok(u) => u.min(sb::DATA_LEN),
            // The address space is going away.
            Err(_) => return Ok(()),
        };
        if used == 0 {
            return Ok(());
        }
        let area = mem.read(st, sb::HEADER + PAGE_SIZE, used as usize)?;
        mem.write(st, sb::HEADER + sb::USED, &0u64.to_le_bytes())?;
        let records = sb::parse(&area).ok_or_else(|| crate::RecordError::Unsupported {
            tid,
            what: "the fast path's buffer holds a damaged record".into(),
        })?;
        for rec in records {
            let mut ev = SyscallEvent::bare(tid, rec.nr, rec.args, rec.result, None);
            let mut data = &rec.data[..];
            if let Some((addr, len)) = sb::output_of(&rec) {
                ev.writes.push(MemWrite { addr, len });
            } else if let Some(sent) = sb::sent_of(&rec) {
                // As for a traced write: the hash replay checks, and the
                // start of the bytes for `dump`.
                ev.emitted = Some(reel_trace::emitted_hash(sent));
                ev.arg_data.push(super::syscalls::sent_prefix(1, sent));
                data = &[];
            } else {
                data = &[];
            }
            self.fast.buffered_calls += 1;
            self.append(&Event::Syscall(ev), data)?;
        }
        Ok(())
    }

    /// At a syscall's entry stop: unmark a descriptor it closes, and note
    /// a site to patch.
    pub(super) fn fast_on_entry(&mut self, st: &mut Stopped) -> Result<()> {
        if !self.fast.on {
            return Ok(());
        }
        let regs = st.regs()?;
        let (nr, args) = (regs.syscall_nr(), regs.args());
        let tid = st.tid();
        let pid = self.pid_for(tid);
        if let Some((lo, hi)) = closes_fd(nr, &args) {
            let marked: Vec<i32> = self
                .fast
                .procs
                .get(&pid)
                .map(|p| {
                    p.fds
                        .iter()
                        .copied()
                        .filter(|&f| (lo..=hi).contains(&(f as u64)))
                        .collect()
                })
                .unwrap_or_default();
            for fd in marked {
                self.mark_fd(st, pid, fd, false)?;
            }
        }
        let site = regs.ip().wrapping_sub(2);
        // Sites tried already, and the trampolines' own (traced) calls.
        let tried = self.fast.procs.get(&pid).is_some_and(|p| {
            p.tried.contains(&site)
                || p.pages
                    .iter()
                    .any(|&(b, _)| (b..b + STUB_LEN).contains(&site))
        });
        let private = reel_sys::PRIVATE_PAGE..reel_sys::PRIVATE_PAGE + reel_sys::PRIVATE_LEN;
        // A vfork child runs in its parent's memory: it patches nothing
        // there (the parent's account of its pages would miss them).
        let borrowed = self
            .task_info
            .get(&tid)
            .is_some_and(|t| t.vfork_parent.is_some());
        if sb::buffered(nr).is_some()
            && !tried
            && !borrowed
            && !private.contains(&site)
            && !self.has_program_filters(pid)
        {
            let p = self.fast.procs.entry(pid).or_default();
            let n = p.seen.entry(site).or_default();
            *n += 1;
            if *n >= 2 {
                p.seen.remove(&site);
                self.fast.pending.insert(tid, (site, nr));
            }
        }
        Ok(())
    }

    /// At a syscall's exit stop, once its event is written: mark the
    /// descriptor it read or wrote, and patch its site.
    pub(super) fn fast_on_exit(
        &mut self,
        mut st: Stopped,
        nr: u64,
        args: &[u64; 6],
        result: i64,
    ) -> Result<Stopped> {
        let tid = st.tid();
        let site = self.fast.pending.remove(&tid);
        if !self.fast.on {
            return Ok(st);
        }
        let pid = self.pid_for(tid);
        let rw = [
            libc::SYS_read,
            libc::SYS_pread64,
            libc::SYS_write,
            libc::SYS_pwrite64,
        ];
        // A vfork child shares the memory but not the descriptors.
        let shares_memory = self
            .task_info
            .get(&tid)
            .is_some_and(|t| t.vfork_parent.is_some());
        let fd = args[0] as i32;
        if rw.contains(&(nr as i64))
            && result >= 0
            && !shares_memory
            && (0..sb::FD_LIMIT as i32).contains(&fd)
            && self
                .fast
                .procs
                .get(&pid)
                .is_some_and(|p| p.ready && !p.fds.contains(&fd))
            && sb::fd_never_blocks(tid, fd)
            && self.echo_target(tid, fd).is_none()
        {
            self.mark_fd(&mut st, pid, fd, true)?;
        }
        if let (Some((site, want)), Some(call)) = (site, sb::buffered(nr)) {
            if want == nr && !self.has_program_filters(pid) {
                st = self.patch_site(st, pid, site, call)?;
            }
        }
        Ok(st)
    }

    /// Sets or clears `fd` in the process's bitmap.
    fn mark_fd(&mut self, st: &mut Stopped, pid: Tid, fd: i32, on: bool) -> Result<()> {
        let Some(p) = self.fast.procs.get_mut(&pid) else {
            return Ok(());
        };
        if on {
            p.fds.insert(fd);
        } else {
            p.fds.remove(&fd);
        }
        let word_at = sb::HEADER + sb::FD_MAP + (fd as u64 / 64) * 8;
        let mem = self.mem(st.tid())?;
        let mut word = mem.read_u64(st, word_at)?;
        let bit = 1u64 << (fd as u64 % 64);
        word = if on { word | bit } else { word & !bit };
        mem.write(st, word_at, &word.to_le_bytes())?;
        Ok(())
    }

    /// Redirects the site whose `syscall` is at `site` into a new
    /// trampoline, when its shape allows, and records that.
    fn patch_site(&mut self, st: Stopped, pid: Tid, site: u64, call: &Buffered) -> Result<Stopped> {
        let tid = st.tid();
        let mut st = st;
        let regs = st.regs()?;
        if regs.ip() != site + 2 {
            return Ok(st);
        }
        let proc = self.fast.procs.entry(pid).or_default();
        if !proc.tried.insert(site) {
            return Ok(st);
        }
        let mem = self.mem(tid)?;
        let Some((bytes, from)) = [128u64, 64, 16].iter().find_map(|&back| {
            let from = site.checked_sub(back)?;
            let b = mem.read_partial(&st, from, back as usize + 64);
            (b.len() > back as usize + 2).then_some((b, from))
        }) else {
            return Ok(st);
        };
        let Some(plan) = sb::plan_site(&bytes, from, site, call.nr) else {
            return Ok(st);
        };
        // No other thread may stand inside the range (it would resume in
        // the middle of the jump).
        for (&other, t) in &self.task_info {
            if other == tid || t.pid != pid {
                continue;
            }
            match sb::task_pc(other) {
                Some(pc) if pc <= plan.start || pc >= plan.end => {}
                _ => return Ok(st),
            }
        }
        // A trampoline page in reach with room, or a new one.
        let reach = |base: u64| base.abs_diff(plan.start) < (i32::MAX as u64) - 2 * STUB_LEN;
        let pages = self.fast.procs[&pid].pages.clone();
        let mut chosen = None;
        for (i, &(base, used)) in pages.iter().enumerate() {
            if !reach(base) {
                continue;
            }
            if let Some(t) = sb::build(&plan, call, base + used) {
                if used + t.code.len() as u64 <= STUB_LEN {
                    chosen = Some((Some(i), base + used, t));
                    break;
                }
            }
        }
        let mut new_page = None;
        if chosen.is_none() {
            let maps: Vec<(u64, u64)> = reel_sys::proc::maps(tid)?
                .iter()
                .map(|m| (m.start, m.end))
                .collect();
            let Some(base) = place_near(plan.start, &maps) else {
                return Ok(st);
            };
            let Some(t) = sb::build(&plan, call, base) else {
                return Ok(st);
            };
            let (back, got) = reel_sys::inject::syscall(
                st,
                &mut self.tasks,
                libc::SYS_mmap as u64,
                [
                    base,
                    STUB_LEN,
                    (libc::PROT_READ | libc::PROT_EXEC) as u64,
                    (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE) as u64,
                    u64::MAX,
                    0,
                ],
            )?;
            st = back;
            if got as u64 != base {
                return Ok(st);
            }
            new_page = Some(base);
            chosen = Some((None, base, t));
        }
        let Some((index, at, tramp)) = chosen else {
            return Ok(st);
        };
        let len = tramp.code.len() as u64;
        let p = self.fast.procs.get_mut(&pid).expect("inserted above");
        match index {
            Some(i) => p.pages[i].1 += len,
            None => p.pages.push((at, len)),
        }
        let first = !p.ready;
        p.ready = true;
        let original = bytes[(plan.start - from) as usize..(plan.end - from) as usize].to_vec();
        let mem = self.mem(tid)?;
        mem.write(&mut st, at, &tramp.code)?;
        mem.write(&mut st, plan.start, &tramp.patch)?;
        if first {
            mem.write(&mut st, sb::HEADER + sb::ENABLED, &1u64.to_le_bytes())?;
        }
        if let Some(r) = tramp.resume {
            let mut regs = st.regs()?;
            regs.set_ip(r);
            st.set_regs(&regs)?;
        }
        self.fast.sites += 1;
        self.append(
            &Event::FastSite(FastSiteEvent {
                tid,
                nr: call.nr,
                page: new_page,
                stub: at,
                code: tramp.code.clone(),
                addr: plan.start,
                original,
                patched: tramp.patch.clone(),
                resume: tramp.resume,
            }),
            &[],
        )?;
        Ok(st)
    }

    /// Switches the process's fast path on or off (calls then stop: a
    /// held signal is delivered at the next one).
    fn set_enabled(&mut self, st: &mut Stopped, pid: Tid, on: bool) -> Result<()> {
        let Some(p) = self.fast.procs.get_mut(&pid).filter(|p| p.ready) else {
            return Ok(());
        };
        p.paused = !on;
        self.mem(st.tid())?
            .write(st, sb::HEADER + sb::ENABLED, &u64::from(on).to_le_bytes())?;
        Ok(())
    }

    /// Whether a thread of process `pid` runs under a seccomp filter of the
    /// program's own: reel runs those filters at the ptrace stop of each
    /// call, so none of the process's calls may be made in-process.
    fn has_program_filters(&self, pid: Tid) -> bool {
        self.task_info
            .values()
            .any(|t| t.pid == pid && !t.filters.is_empty())
    }

    /// The stopped task's process is about to get a seccomp filter of its
    /// own: its fast path goes off for good (sites already patched stop at
    /// their trampoline's traced `syscall`, where the filter then runs).
    pub(super) fn fast_filtered(&mut self, st: &mut Stopped) -> Result<()> {
        let pid = self.pid_for(st.tid());
        self.set_enabled(st, pid, false)
    }

    /// A signal is held for the stopped task: its process's calls stop
    /// again until it is delivered.
    pub(super) fn fast_hold(&mut self, st: &mut Stopped) -> Result<()> {
        let pid = self.pid_for(st.tid());
        if self
            .fast
            .procs
            .get(&pid)
            .is_some_and(|p| p.ready && !p.paused)
        {
            self.set_enabled(st, pid, false)?;
        }
        Ok(())
    }

    /// Whether `rip` is in code of the fast path (a trampoline, the
    /// private page) in process `pid`.
    fn in_fast_code(&self, pid: Tid, rip: u64) -> bool {
        let private = reel_sys::PRIVATE_PAGE..reel_sys::PRIVATE_PAGE + reel_sys::PRIVATE_LEN;
        private.contains(&rip) || self.in_trampoline(pid, rip)
    }

    /// The code of the fast path in process `pid`: the private area and
    /// the trampoline pages.
    pub(super) fn fast_code_ranges(&self, pid: Tid) -> Vec<std::ops::Range<u64>> {
        let private = reel_sys::PRIVATE_PAGE..reel_sys::PRIVATE_PAGE + reel_sys::PRIVATE_LEN;
        let pages = self.fast.procs.get(&pid).map(|p| p.pages.as_slice());
        std::iter::once(private)
            .chain(
                pages
                    .unwrap_or_default()
                    .iter()
                    .map(|&(b, _)| b..b + STUB_LEN),
            )
            .collect()
    }

    /// Whether `rip` is in one of the trampoline pages of process `pid`.
    fn in_trampoline(&self, pid: Tid, rip: u64) -> bool {
        self.fast.procs.get(&pid).is_some_and(|p| {
            p.pages
                .iter()
                .any(|&(b, _)| (b..b + STUB_LEN).contains(&rip))
        })
    }

    /// A thread reel interrupted to preempt it stands in fast-path code:
    /// instead of a landmark there, its calls stop again and it gives its
    /// token up at the next one. Returns the stop back otherwise.
    pub(super) fn fast_defer_preemption(&mut self, mut st: Stopped) -> Result<Option<Stopped>> {
        let tid = st.tid();
        let pid = self.pid_for(tid);
        if !self.in_fast_code(pid, st.regs()?.ip()) {
            return Ok(Some(st));
        }
        self.set_enabled(&mut st, pid, false)?;
        self.fast.yield_due.insert(tid);
        self.resume(st, reel_sys::Resume::Cont, None)?;
        Ok(None)
    }

    /// A thread reel interrupted to deliver a held signal stands in
    /// fast-path code: no landmark there either; its calls stop again and
    /// the next one delivers the signal. Returns the stop back otherwise.
    pub(super) fn fast_defer_interrupt(&mut self, mut st: Stopped) -> Result<Option<Stopped>> {
        let pid = self.pid_for(st.tid());
        if !self.in_fast_code(pid, st.regs()?.ip()) {
            return Ok(Some(st));
        }
        self.set_enabled(&mut st, pid, false)?;
        self.resume(st, reel_sys::Resume::Cont, None)?;
        Ok(None)
    }

    /// Whether the thread entering a syscall must give its token up there
    /// (see [`Recorder::fast_defer_preemption`]).
    pub(super) fn fast_take_yield(&mut self, tid: Tid) -> bool {
        self.fast.yield_due.remove(&tid)
    }

    /// The process exec'd: its sites, pages and buffer are gone.
    pub(super) fn fast_forget(&mut self, pid: Tid) {
        self.fast.procs.remove(&pid);
    }

    /// A fork copies the parent's patched code, pages and buffer (drained
    /// at the fork's stop, so empty).
    pub(super) fn fast_fork(&mut self, parent_pid: Tid, child_pid: Tid) {
        if let Some(p) = self.fast.procs.get(&parent_pid).cloned() {
            self.fast.procs.insert(child_pid, p);
        }
    }

    /// The fast path's account, for `REEL_DEBUG`.
    pub(super) fn fast_summary(&self) -> Option<String> {
        (self.fast.on && std::env::var_os("REEL_DEBUG").is_some()).then(|| {
            format!(
                "reel: fast path: {} sites patched, {} calls buffered of {} events",
                self.fast.sites, self.fast.buffered_calls, self.events
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use reel_sys::syscallbuf::{self as sb, Guard, Out};

    /// What the trampolines compare and copy agrees with the syscall table
    /// both sessions use.
    #[test]
    fn buffered_calls_agree_with_the_table() {
        for b in sb::BUFFERED {
            let spec = reel_syscalls::spec(b.nr).expect("a row for every buffered call");
            assert_eq!(spec.args.len(), sb::arity(b.nr), "arity of {}", spec.name);
            let mut args = [0x1000u64, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000];
            for g in b.guards {
                match *g {
                    Guard::Zero(a) => args[a] = 0,
                    Guard::OneOf(a, v) => args[a] = v[0],
                    Guard::Fd => args[0] = 3,
                }
            }
            let result = match b.out {
                Out::Returned { .. } | Out::Sent { .. } => 5,
                _ => 0,
            };
            if let Out::Sent { arg, .. } = b.out {
                let sends =
                    matches!(spec.emit, Some(reel_syscalls::Emit::Buf { buf, .. }) if buf == arg);
                assert!(sends, "{} sends its argument {arg}", spec.name);
            }
            let want: Vec<(u64, u64)> = match b.out {
                Out::Nothing | Out::Sent { .. } => vec![],
                Out::Fixed { arg, len } => vec![(args[arg], len as u64)],
                Out::Returned { arg, .. } => vec![(args[arg], 5)],
            };
            let got = reel_syscalls::output_ranges(spec, &args, result, &|_, _| None);
            assert_eq!(got, want, "outputs of {}", spec.name);
        }
    }
}
