//! One thread of a process runs user code at a time.
//!
//! Threads share memory, so the order in which their runs of user code
//! interleave is part of what replay must reproduce. Each process has one
//! "user-mode token": a thread runs its own code only while it holds it. A
//! thread gives the token up when it enters a syscall that may block (the
//! trace then gets a `SyscallEntry` event marking the end of its run) or when
//! it exits; the longest-waiting ready thread gets it next. Switches happen
//! only at syscalls, which replay can find again. A thread that runs too long
//! without a syscall while others wait (a spin loop) is preempted at a
//! landmark (landmarks.rs), which replay finds again.
//!
//! Different processes run concurrently, unless they share writable memory
//! (a writable shared mapping a fork passed on, or one file two processes
//! map shared): such processes join one sharing group, whose tasks take
//! turns under a single token, like threads.
//!
//! `record --chaos` randomises both decisions: which waiting thread gets
//! the token, and how long the holder may run while others wait (1-12 ms
//! instead of 50), so threads are preempted at random points, each at a
//! landmark. The trace holds the outcome, so a chaos recording replays as
//! exactly as any other.

use super::{Recorder, Task};
use crate::Result;
use reel_sys::{Resume, StopReason, Stopped};
use reel_trace::{Event, SyscallSite, Tid};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The runner key of the processes that share writable memory.
const SHARING_GROUP: Tid = 0;

/// How long a thread may run user code without a syscall while another
/// thread of its process waits, before reel preempts it.
pub(super) const TIMESLICE: Duration = Duration::from_millis(50);

/// Shortest and longest timeslice under `record --chaos`.
const CHAOS_SLICE_MS: (u64, u64) = (1, 12);

/// The random source of `record --chaos` (xorshift64*, seeded from the
/// kernel): its choices need not be reproducible, since their outcome (who
/// ran when, where threads were preempted) is what the trace records.
pub(super) struct Chaos(u64);

impl Chaos {
    pub(super) fn new() -> Chaos {
        let mut seed = [0u8; 8];
        if getrandom(&mut seed).is_err() {
            seed = (super::now_ms() | 1).to_le_bytes();
        }
        Chaos(u64::from_le_bytes(seed) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A random timeslice.
    fn slice(&mut self) -> Duration {
        let (lo, hi) = CHAOS_SLICE_MS;
        Duration::from_millis(lo + self.below(hi - lo + 1))
    }
}

/// Fills `buf` from the kernel's random source.
fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}

/// The user-mode token of one process.
#[derive(Default)]
pub(super) struct Runner {
    /// The thread running user code, since when, and for how long it may
    /// run while others wait.
    holder: Option<(Tid, Instant)>,
    /// The holder's timeslice (TIMESLICE, or random under --chaos).
    slice: Option<Duration>,
    /// Threads waiting for the token, with the signal to deliver on resume.
    ready: VecDeque<(Stopped, Option<i32>)>,
    /// A preemption was requested for the holder.
    preempting: bool,
}

impl Recorder {
    fn pid_of(&self, tid: Tid) -> Tid {
        self.task_info.get(&tid).map_or(tid, |t: &Task| t.pid)
    }

    /// Whose token `tid` needs: its process's, or the sharing group's.
    fn runner_key(&self, tid: Tid) -> Tid {
        let pid = self.pid_of(tid);
        if self.sharing.contains(&pid) {
            SHARING_GROUP
        } else {
            pid
        }
    }

    /// Task `tid` mapped writable memory shared: anonymous (shared with
    /// the processes it forks from now on) or of a file (shared with every
    /// other process that maps that file).
    pub(super) fn note_shared_mapping(&mut self, tid: Tid, flags: i32, fd: i32) {
        let pid = self.pid_of(tid);
        if flags & libc::MAP_ANONYMOUS != 0 {
            self.anon_sharers.insert(pid);
            return;
        }
        let Some(file) = reel_sys::proc::fd_identity(tid, fd) else {
            return;
        };
        let pids = self.shared_files.entry(file).or_default();
        pids.insert(pid);
        if pids.len() > 1 {
            for p in pids.clone() {
                self.join_sharing_group(p);
            }
        }
    }

    /// Whether process `pid` has memory a child it forks would share.
    pub(super) fn maps_shared_memory(&self, pid: Tid) -> bool {
        self.sharing.contains(&pid)
            || self.anon_sharers.contains(&pid)
            || self.shared_files.values().any(|p| p.contains(&pid))
    }

    /// Process `pid` shares writable memory with other processes (or
    /// inherited such a mapping): from now on its tasks take turns with the
    /// other processes of the sharing group. Its waiting tasks move over.
    pub(super) fn join_sharing_group(&mut self, pid: Tid) {
        if !self.sharing.insert(pid) {
            return;
        }
        if let Some(old) = self.runners.remove(&pid) {
            // The holder, if any, is the task that just mapped: it is stopped
            // and asks for the group's token when it resumes.
            let group = self.runners.entry(SHARING_GROUP).or_default();
            group.ready.extend(old.ready);
        }
    }

    /// Resumes a task into its own code once it holds its process's token.
    pub(super) fn resume_user(&mut self, st: Stopped, sig: Option<i32>) -> Result<()> {
        let tid = st.tid();
        let key = self.runner_key(tid);
        let runner = self.runners.entry(key).or_default();
        match runner.holder {
            Some((h, _)) if h != tid => {
                runner.ready.push_back((st, sig));
                Ok(())
            }
            _ => {
                if runner.holder.is_none() {
                    runner.holder = Some((tid, Instant::now()));
                    runner.slice = self.chaos.as_mut().map(Chaos::slice);
                }
                let r = st.resume(Resume::Cont, sig)?;
                self.tasks.insert(r);
                Ok(())
            }
        }
    }

    /// Whether other tasks take turns with `tid` (threads of its process,
    /// or the sharing group), so that switching between them matters.
    fn has_siblings(&self, tid: Tid) -> bool {
        let key = self.runner_key(tid);
        self.task_info
            .keys()
            .any(|&other| other != tid && self.runner_key(other) == key)
    }

    /// `tid` stops running user code (it entered a blocking syscall, or is
    /// gone): mark the end of its run when that matters, and pass the token.
    pub(super) fn release_token(
        &mut self,
        tid: Tid,
        entering: Option<(u64, [u64; 6], SyscallSite)>,
    ) -> Result<()> {
        let pid = self.runner_key(tid);
        let holds = self
            .runners
            .get(&pid)
            .is_some_and(|r| r.holder.is_some_and(|(h, _)| h == tid));
        if !holds {
            return Ok(());
        }
        if let (Some((nr, args, site)), true) = (entering, self.has_siblings(tid)) {
            let ev = Event::SyscallEntry {
                tid,
                nr,
                args,
                site: Some(site),
            };
            self.append(&ev, &[])?;
        }
        let runner = self.runners.get_mut(&pid).expect("checked above");
        runner.holder = None;
        runner.preempting = false;
        self.schedule(pid)
    }

    /// Task `old` now has the id `new` (it exec'd as a non-leader thread):
    /// the token it holds is still its own.
    pub(super) fn rename_holder(&mut self, old: Tid, new: Tid) {
        for r in self.runners.values_mut() {
            if let Some((h, _)) = r.holder.as_mut().filter(|(h, _)| *h == old) {
                *h = new;
            }
        }
    }

    /// A task that died (killed with its process, say) while waiting for
    /// the token no longer waits.
    pub(super) fn forget_ready(&mut self, tid: Tid) {
        let pid = self.runner_key(tid);
        if let Some(r) = self.runners.get_mut(&pid) {
            r.ready.retain(|(st, _)| st.tid() != tid);
        }
    }

    /// Gives the token of process `pid` to the longest-waiting ready thread.
    fn schedule(&mut self, pid: Tid) -> Result<()> {
        let Some(runner) = self.runners.get_mut(&pid) else {
            return Ok(());
        };
        if runner.holder.is_some() {
            return Ok(());
        }
        // Under --chaos any waiting thread may be next, not the longest-waiting.
        let pick = match self.chaos.as_mut() {
            Some(c) if runner.ready.len() > 1 => c.below(runner.ready.len() as u64) as usize,
            _ => 0,
        };
        if let Some((st, sig)) = runner.ready.remove(pick) {
            runner.holder = Some((st.tid(), Instant::now()));
            runner.slice = self.chaos.as_mut().map(Chaos::slice);
            let r = st.resume(Resume::Cont, sig)?;
            self.tasks.insert(r);
        }
        Ok(())
    }

    /// Whether `tid` holds its token while other threads wait for it.
    pub(super) fn others_wait_for(&self, tid: Tid) -> bool {
        self.runners
            .get(&self.runner_key(tid))
            .is_some_and(|r| r.holder.is_some_and(|(h, _)| h == tid) && !r.ready.is_empty())
    }

    /// The holder `st` gives its token up at a yield point: it waits at
    /// the back of the queue, the next thread runs.
    pub(super) fn switch_away(&mut self, st: Stopped) -> Result<()> {
        let key = self.runner_key(st.tid());
        let Some(runner) = self.runners.get_mut(&key) else {
            return self.resume(st, Resume::Cont, None);
        };
        runner.holder = None;
        runner.preempting = false;
        runner.ready.push_back((st, None));
        self.schedule(key)
    }

    /// How long the event loop may wait while threads wait for a token:
    /// the shortest timeslice in force.
    pub(super) fn poll_limit(&self) -> Duration {
        if self.chaos.is_some() {
            Duration::from_millis(CHAOS_SLICE_MS.0)
        } else {
            TIMESLICE
        }
    }

    /// Whether some thread holds a token while others wait for it (then the
    /// event loop must not block forever: the holder may be spinning).
    pub(super) fn someone_waits(&self) -> bool {
        self.runners
            .values()
            .any(|r| r.holder.is_some() && !r.ready.is_empty())
    }

    /// Whether `tid` holds its token past its timeslice while others wait:
    /// at a syscall entry (a deterministic point) it then gives the token
    /// up, as at a call that may block. A PTRACE_INTERRUPT sent to preempt
    /// it is no help there: the syscall stop it reaches first takes the
    /// interrupt's place, so a thread that makes only quick syscalls would
    /// never be preempted.
    pub(super) fn overdue_at_syscall(&self, tid: Tid) -> bool {
        self.runners.get(&self.runner_key(tid)).is_some_and(|r| {
            r.holder.is_some_and(|(h, since)| {
                h == tid && !r.ready.is_empty() && since.elapsed() >= r.slice.unwrap_or(TIMESLICE)
            })
        })
    }

    /// Preempts holders that ran a whole timeslice while others waited.
    pub(super) fn preempt_overdue(&mut self) -> Result<()> {
        let now = Instant::now();
        let mut overdue = Vec::new();
        let tasks = &self.tasks;
        for r in self.runners.values_mut() {
            if let Some((h, since)) = r.holder {
                let slice = r.slice.unwrap_or(TIMESLICE);
                // A holder reel has in hand (at a syscall stop) is not
                // interrupted (PTRACE_INTERRUPT needs a running task): it is
                // asked again once it runs, not forgotten until its next
                // blocking call.
                if !r.preempting
                    && !r.ready.is_empty()
                    && now.duration_since(since) >= slice
                    && tasks.is_running(h)
                {
                    r.preempting = true;
                    overdue.push(h);
                }
            }
        }
        for tid in overdue {
            self.tasks.interrupt(tid)?;
        }
        Ok(())
    }

    /// `tid` reached a stop other than an interrupt's: the kernel clears a
    /// pending PTRACE_INTERRUPT at any trap, so a preemption or signal
    /// interruption asked of it is gone and must be asked again once it
    /// runs. Left marked as pending, it would never be sent again, and a
    /// thread that then spins without syscalls would hold its token (and
    /// the recording) for ever.
    pub(super) fn interrupt_consumed(&mut self, tid: Tid) {
        let key = self.runner_key(tid);
        if let Some(r) = self.runners.get_mut(&key) {
            if r.holder.is_some_and(|(h, _)| h == tid) {
                r.preempting = false;
            }
        }
        if let Some(t) = self.task_info.get_mut(&tid) {
            t.interrupted = false;
        }
    }

    /// A PTRACE_INTERRUPT stop of a thread reel preempted: record it, queue
    /// it, run the next. Returns the stop back when it was not a preemption.
    pub(super) fn on_preempted(&mut self, st: Stopped) -> Result<Option<Stopped>> {
        let tid = st.tid();
        let pid = self.runner_key(tid);
        let preempted = matches!(st.reason(), StopReason::GroupStop(_))
            && self
                .runners
                .get(&pid)
                .is_some_and(|r| r.preempting && r.holder.is_some_and(|(h, _)| h == tid));
        if !preempted {
            return Ok(Some(st));
        }
        let Some(st) = self.fast_defer_preemption(st)? else {
            return Ok(None);
        };
        let (st, landmark) = self.place_landmark(st)?;
        // Stepping to a landmark stops at fast-path code: deferred too.
        let Some(mut st) = self.fast_defer_preemption(st)? else {
            return Ok(None);
        };
        if let Some(t) = self.task_info.get_mut(&tid) {
            // A signal interruption that this stop answered as well is
            // asked for again once the thread runs.
            t.interrupted = false;
        }
        let rip = landmark.rip();
        self.append(
            &Event::Preempted {
                tid,
                rip,
                landmark: Some(landmark),
            },
            &[],
        )?;
        // A spin loop with `pause` yields at its pauses from now on.
        self.patch_pauses(&mut st)?;
        let runner = self.runners.get_mut(&pid).expect("checked above");
        runner.holder = None;
        runner.preempting = false;
        runner.ready.push_back((st, None));
        self.schedule(pid)?;
        Ok(None)
    }
}

impl Recorder {
    /// The thread that holds the token `tid` needs, if any.
    pub(super) fn token_holder(&self, tid: Tid) -> Option<Tid> {
        self.runners
            .get(&self.runner_key(tid))
            .and_then(|r| r.holder.map(|(h, _)| h))
    }

    /// Whether a digest of `tid`'s memory taken now is what replay will see
    /// at this event: no other thread of its process is running user code
    /// (the token is `tid`'s or nobody's) nor waiting in a call the kernel
    /// may complete meanwhile by writing memory (a read, a poll ...), whose
    /// event comes later. Otherwise the digest would catch their writes
    /// half-way (`record --checksum` then skips this event).
    pub(super) fn digest_is_consistent(&self, tid: Tid) -> bool {
        let key = self.runner_key(tid);
        let holder = self
            .runners
            .get(&key)
            .and_then(|r| r.holder.map(|(h, _)| h));
        if holder.is_some_and(|h| h != tid) {
            return false;
        }
        let pid = self.pid_of(tid);
        self.task_info.iter().all(|(&other, t)| {
            other == tid
                || t.pid != pid
                || t.syscall.as_ref().is_none_or(|sc| {
                    let quiet = |s: &reel_syscalls::SyscallSpec| match s.out {
                        reel_syscalls::Out::Nothing => true,
                        // A futex wait writes nothing (its row decides from
                        // the arguments alone).
                        _ if sc.nr == libc::SYS_futex as u64 => {
                            reel_syscalls::output_ranges(s, &sc.args, 0, &|_, _| None).is_empty()
                        }
                        _ => false,
                    };
                    sc.recorded || sc.spec.is_some_and(quiet)
                })
        })
    }
}
