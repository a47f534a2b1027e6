//! The replay session: re-executes a recorded program, answers its syscalls
//! from the trace, really executes only what shapes its address space, and
//! checks at every event that it still does what it did when recorded.

#![warn(missing_docs)]

mod autopilot;
mod engine;
mod image;
mod timeline;

pub use autopilot::{replay, replay_with_progress};
pub use engine::{Constraints, Engine, Image, ReplayOptions, ReplayOutcome, Stop, WatchKind};
pub use timeline::{Mark, Points, Rerun, Timeline};

use reel_trace::Tid;
use thiserror::Error;

/// Why a replay stopped before the end of the trace.
#[derive(Debug, Error)]
pub enum ReplayError {
    /// A ptrace, memory or /proc operation failed.
    #[error(transparent)]
    Sys(#[from] reel_sys::SysError),
    /// Reading the trace failed.
    #[error(transparent)]
    Trace(#[from] reel_trace::TraceError),
    /// The program did something other than what was recorded.
    #[error("replay diverged at event {event} (task {tid}): expected {expected}, but {actual}")]
    Divergence {
        /// The global event number.
        event: u64,
        /// The recorded task id.
        tid: Tid,
        /// What the trace says.
        expected: String,
        /// What happened.
        actual: String,
    },
    /// The trace holds something this replayer cannot reproduce.
    #[error("event {event}: {what}")]
    Unsupported {
        /// The global event number.
        event: u64,
        /// What.
        what: String,
    },
    /// A file snapshot the trace refers to is gone from its `files/`.
    #[error("the trace's snapshot of {original} ({snapshot}) is missing: the trace is damaged")]
    MissingSnapshot {
        /// The path the program had mapped.
        original: String,
        /// Where the snapshot should be.
        snapshot: String,
    },
    /// Writing the program's output failed.
    #[error("writing the replayed output: {0}")]
    Output(std::io::Error),
}

/// Result type of the replayer.
pub type Result<T> = std::result::Result<T, ReplayError>;
