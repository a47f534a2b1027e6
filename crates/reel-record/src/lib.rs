//! The recording session: runs a program under ptrace, answers or observes
//! each of its syscalls according to the syscall table, and writes every
//! source of non-determinism into a trace.

#![warn(missing_docs)]

mod exec;
mod session;
mod unrecordable;

pub use session::{cpu_identity, header, record, RecordOptions, RecordOutcome};

use thiserror::Error;

/// Why a recording failed (the program's own failures are not errors).
#[derive(Debug, Error)]
pub enum RecordError {
    /// A ptrace, memory or /proc operation failed.
    #[error(transparent)]
    Sys(#[from] reel_sys::SysError),
    /// Writing the trace failed.
    #[error(transparent)]
    Trace(#[from] reel_trace::TraceError),
    /// The program could not be started.
    #[error("cannot start {program}: {what}")]
    Start {
        /// The program.
        program: String,
        /// Why.
        what: String,
    },
    /// The tracee did something reel cannot record.
    #[error("task {tid}: {what}")]
    Unsupported {
        /// The task.
        tid: i32,
        /// What.
        what: String,
    },
}

/// Result type of the recorder.
pub type Result<T> = std::result::Result<T, RecordError>;
