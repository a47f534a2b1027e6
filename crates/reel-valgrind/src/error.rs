use reel_trace::Tid;
use thiserror::Error;

/// Why a replay under valgrind could not start or stopped early.
#[derive(Debug, Error)]
pub enum VgError {
    /// A ptrace, memory or /proc operation failed.
    #[error(transparent)]
    Sys(#[from] reel_sys::SysError),
    /// Reading the trace failed.
    #[error(transparent)]
    Trace(#[from] reel_trace::TraceError),
    /// valgrind is not installed, or not a version reel knows.
    #[error("{0}")]
    Valgrind(String),
    /// The trace holds something that cannot run under valgrind (yet).
    #[error("--valgrind: event {event}: {what}")]
    Unsupported {
        /// The global event number.
        event: u64,
        /// What, and why.
        what: String,
    },
    /// What valgrind made the program do differs from the recording.
    #[error("replay under valgrind diverged at event {event} (task {tid}): expected {expected}, but {actual}")]
    Divergence {
        /// The global event number.
        event: u64,
        /// The recorded task id.
        tid: Tid,
        /// What the trace says.
        expected: String,
        /// What valgrind issued.
        actual: String,
    },
    /// A file of reel's own (the program's copy, the output) failed.
    #[error("{what}: {source}")]
    Io {
        /// What reel was doing.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, VgError>;
