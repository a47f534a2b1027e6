use thiserror::Error;

/// Failures of low-level operations on tracees; each names the task or file.
#[derive(Debug, Error)]
pub enum SysError {
    /// A ptrace request failed.
    #[error("ptrace {op} on task {tid}: {source}")]
    Ptrace {
        /// The request.
        op: &'static str,
        /// The task.
        tid: i32,
        /// The errno.
        source: nix::Error,
    },
    /// Reading or writing tracee memory failed.
    #[error("{op} {len} bytes at {addr:#x} in task {tid}: {source}")]
    Memory {
        /// "read" or "write".
        op: &'static str,
        /// The task.
        tid: i32,
        /// Start address.
        addr: u64,
        /// Length.
        len: usize,
        /// The cause.
        source: std::io::Error,
    },
    /// A system call made by reel itself failed.
    #[error("{what}: {source}")]
    Os {
        /// What reel was doing.
        what: String,
        /// The errno.
        source: nix::Error,
    },
    /// A file under /proc or elsewhere could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A syscall injected into the tracee did not complete as expected.
    #[error("injected {syscall} in task {tid}: {what}")]
    Inject {
        /// Syscall name.
        syscall: String,
        /// The task.
        tid: i32,
        /// What happened instead.
        what: String,
    },
    /// Data read from /proc did not have the expected form.
    #[error("unexpected contents in {path}: {what}")]
    Parse {
        /// The path.
        path: String,
        /// The problem.
        what: String,
    },
}

impl SysError {
    pub(crate) fn os(what: impl Into<String>, source: nix::Error) -> Self {
        SysError::Os {
            what: what.into(),
            source,
        }
    }
}
