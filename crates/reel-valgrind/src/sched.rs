//! Threads under valgrind run in the recorded order.
//!
//! valgrind runs one guest thread at a time: the one holding its scheduler
//! lock, a byte passed through a pipe (a one-byte `read` takes it, a write
//! gives it back). A thread gives the lock up around each guest call that
//! may block (issued from the guest-syscall site), at the end of a
//! timeslice, and when it exits; it keeps it across the other calls.
//! When recording, reel switched threads only where a thread entered a call
//! that may block (a `SyscallEntry` event) or ended.
//!
//! So reel traps the one-byte reads that take the lock and lets a thread
//! take it only when its next recorded event is the earliest event not yet
//! met (the recorded run of user code that leads to it is its turn); a
//! thread at the guest-syscall site holds no lock, and waits there until
//! its recorded call is due. A thread that holds the lock cannot be made to
//! wait: if valgrind keeps it running where the recording switched to
//! another thread, or it makes a call before another thread's earlier
//! event, the replay stops with a divergence rather than analyse another
//! schedule.

use crate::serve::{listed, VALGRIND_OWN};
use reel_trace::{Event, Record, Tid};
use std::collections::{HashMap, HashSet};

/// Which recorded events have been met, and where each thread stands.
pub(crate) struct Schedule {
    done: Vec<bool>,
    /// Per recorded thread: the first of its events not yet aligned.
    cursor: HashMap<Tid, usize>,
    /// Every event before it is met or not awaited.
    low: usize,
    /// The first event after the exec.
    start: usize,
    /// Recorded results of calls a thread has yet to make (see
    /// `Session::tool_yield`): they wait for the call, not the call for
    /// other threads.
    deferred: HashSet<usize>,
}

/// Whether replay under valgrind waits for event `r` to be met in order:
/// the calls valgrind does not answer itself, the recorded switches, the
/// ends of threads.
pub(crate) fn awaited(r: &Record) -> bool {
    match &r.event {
        Event::Syscall(s) => !listed(VALGRIND_OWN, s.nr),
        Event::SyscallEntry { .. } | Event::Exit { .. } => true,
        _ => false,
    }
}

impl Schedule {
    pub(crate) fn new(events: &[Record], start: usize) -> Schedule {
        Schedule {
            done: vec![false; events.len()],
            cursor: HashMap::new(),
            low: start,
            start,
            deferred: HashSet::new(),
        }
    }

    /// Where thread `tid`'s alignment starts.
    pub(crate) fn cursor(&self, tid: Tid) -> usize {
        self.cursor.get(&tid).copied().unwrap_or(self.start)
    }

    /// The earliest awaited event not yet met.
    pub(crate) fn head(&mut self, events: &[Record]) -> Option<usize> {
        while self.low < events.len() && (self.done[self.low] || !awaited(&events[self.low])) {
            self.low += 1;
        }
        (self.low < events.len()).then_some(self.low)
    }

    /// The first awaited event of another thread than `tid` before `upto`
    /// that is not met yet: what `tid`'s event `upto` must wait for.
    pub(crate) fn blocker(&mut self, events: &[Record], tid: Tid, upto: usize) -> Option<usize> {
        let from = self.head(events)?;
        (from..upto.min(events.len())).find(|&k| {
            !self.done[k]
                && awaited(&events[k])
                && events[k].event.tid() != tid
                && !self.deferred.contains(&k)
        })
    }

    /// `tid`'s next awaited event not yet met (past a deferred result).
    pub(crate) fn next_of(&self, events: &[Record], tid: Tid) -> Option<usize> {
        (self.cursor(tid)..events.len()).find(|&k| {
            !self.done[k]
                && awaited(&events[k])
                && events[k].event.tid() == tid
                && !self.deferred.contains(&k)
        })
    }

    /// Event `k`, the recorded result of a call its thread makes later,
    /// no longer holds other threads up.
    pub(crate) fn defer(&mut self, k: usize) {
        self.deferred.insert(k);
    }

    /// Whether `tid` may run its user code now: its next event is due.
    pub(crate) fn may_run(&mut self, events: &[Record], tid: Tid) -> bool {
        match self.next_of(events, tid) {
            Some(k) => self.blocker(events, tid, k).is_none(),
            None => false,
        }
    }

    /// `tid` met event `k`: it and `tid`'s events passed over before it
    /// are done.
    pub(crate) fn meet(&mut self, events: &[Record], tid: Tid, k: usize) {
        self.pass(events, tid, k);
        self.deferred.remove(&k);
        self.done[k] = true;
        self.cursor.insert(tid, k + 1);
    }

    /// `tid` waits at a call that stands for event `k`: the events of its
    /// own it passed over before are done (it is past them).
    pub(crate) fn pass(&mut self, events: &[Record], tid: Tid, k: usize) {
        let from = self.cursor(tid).min(k);
        for (j, r) in events.iter().enumerate().take(k).skip(from) {
            if r.event.tid() == tid {
                self.done[j] = true;
            }
        }
        self.cursor.insert(tid, k);
    }

    /// Whether event `k` was met.
    pub(crate) fn is_done(&self, k: usize) -> bool {
        self.done[k]
    }

    /// Whether every awaited event before `end` (the program's
    /// exit_group) is met: valgrind's shutdown then runs freely.
    pub(crate) fn past(&mut self, events: &[Record], end: Option<usize>) -> bool {
        match (self.head(events), end) {
            (None, _) => true,
            (Some(h), Some(e)) => h > e,
            (Some(_), None) => false,
        }
    }
}
