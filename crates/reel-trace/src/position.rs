//! Execution points between events: landmarks and positions.
//!
//! An event number names the moment an event happened. Between two events a
//! thread computes without syscalls; to name a point in there (where reel
//! preempted a thread, where an asynchronous signal went in, where gdb
//! stops in reverse execution) reel uses the thread's full state at that
//! point, a [`Landmark`], and counts how often the thread passed the
//! landmark's instruction on the way, a [`Position`].

use serde::{Deserialize, Serialize};

/// The full state of a thread at an instruction boundary, recorded where
/// reel interrupted it. With one thread running and no syscall in between,
/// two equal full states have equal futures, so replay stops the thread at
/// the first point whose state equals this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Landmark {
    /// General registers in the kernel's `user_regs_struct` order (as
    /// [`crate::ExecEvent::regs`]): rip, flags, fs/gs base included.
    pub regs: Vec<u64>,
    /// Hash of the vector state (x87, SSE, AVX ...), without the XSAVE
    /// header, whose bytes depend on the run rather than on the program.
    pub vector_hash: u64,
    /// Digest of the memory the thread can write, its live stack included.
    pub memory_digest: u64,
    /// Memory words (address, value at the landmark) that changed from one
    /// pass through `rip` to the next at record time: where a loop keeps its
    /// progress when its registers repeat. A cheap first filter for replay.
    pub words: Vec<(u64, u64)>,
    /// CPU time (ns) the thread's process used from the thread's previous
    /// event to the landmark: an upper bound of how long the thread ran to
    /// reach it, which bounds the replay's search ([`Landmark::pass_limit`]).
    /// `u64::MAX` when unknown.
    pub cpu_ns: u64,
}

/// Most passes through one instruction per nanosecond of CPU time: a pass
/// takes a branch, and no core takes more than a few per cycle.
pub const PASSES_PER_NS: u64 = 16;

/// How many times the recorded thread's CPU time a replay's search may take.
pub const CPU_FACTOR: u64 = 8;

impl Landmark {
    /// How many passes through the landmark's instruction the replay may
    /// see before it knows the thread has diverged: more than the recorded
    /// thread could have made in its CPU time (None when that is unknown).
    pub fn pass_limit(&self) -> Option<u64> {
        (self.cpu_ns != u64::MAX).then(|| {
            self.cpu_ns
                .saturating_mul(PASSES_PER_NS)
                .saturating_add(1 << 20)
        })
    }

    /// How much CPU time (ns) the replayed thread may spend looking for the
    /// landmark before it knows it has diverged, whether or not it passes the
    /// instruction (a loop that never reaches it): [`CPU_FACTOR`] times what
    /// the recorded thread used (a compare stub adds a nanosecond or two to
    /// each pass; measured, a replay uses about the recording's CPU time),
    /// plus 2 s for short runs.
    /// None when unknown.
    pub fn cpu_limit_ns(&self) -> Option<u64> {
        (self.cpu_ns != u64::MAX).then(|| {
            self.cpu_ns
                .saturating_mul(CPU_FACTOR)
                .saturating_add(2_000_000_000)
        })
    }

    /// The instruction pointer of the landmark.
    pub fn rip(&self) -> u64 {
        self.regs.get(16).copied().unwrap_or(0)
    }
}

/// A point of a replay: just after event `event`, or, with `hits` > 0, the
/// `hits`-th time after it that the thread running then reached the
/// instruction of the landmark it was searching for (the landmark itself is
/// the last of those hits). Totally ordered: by event, then by hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    /// The last event replayed.
    pub event: u64,
    /// Passes through the landmark's instruction since that event.
    pub hits: u64,
}

impl Position {
    /// The point right after event `event`.
    pub fn at_event(event: u64) -> Position {
        Position { event, hits: 0 }
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.hits == 0 {
            write!(f, "event {}", self.event)
        } else {
            write!(f, "event {} + {} landmark hits", self.event, self.hits)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_order_by_event_then_hits() {
        let a = Position::at_event(3);
        let b = Position { event: 3, hits: 7 };
        let c = Position::at_event(4);
        assert!(a < b && b < c);
        assert_eq!(b.to_string(), "event 3 + 7 landmark hits");
        assert_eq!(c.to_string(), "event 4");
    }
}
