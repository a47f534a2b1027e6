//! The error type of the trace crate. Every variant names the path concerned so
//! that a message shown to the user says which file is at fault.

use std::path::PathBuf;

/// Everything that can go wrong writing, reading or managing traces.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// An I/O operation on `path` failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file holds more data than one snapshot may (`record --max-snapshot`).
    #[error("{}: holds more than {limit} bytes of data, the most a snapshot may hold (see record --max-snapshot)", path.display())]
    SnapshotTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// A new trace must go into a directory that does not exist or is empty.
    #[error("{}: directory exists and is not empty", path.display())]
    DirNotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// The path given as a trace is not a directory.
    #[error("{}: not a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// The directory has no reel header.
    #[error("{}: not a reel trace (no {})", path.display(), crate::HEADER_FILE)]
    NotATrace {
        /// The directory.
        path: PathBuf,
    },
    /// The trace was written in a format major version this reader does not support.
    #[error(
        "{}: trace format version {found}.x is not supported (this reel reads version {supported}.x; {})",
        path.display(),
        if *found < u64::from(*supported) { "the trace was recorded by an older reel" } else { "the trace was recorded by a newer reel" }
    )]
    IncompatibleVersion {
        /// The trace directory.
        path: PathBuf,
        /// The major version found in the header.
        found: u64,
        /// The major version this build supports.
        supported: u32,
    },
    /// The header (or summary) file exists but cannot be understood.
    #[error("{}: unreadable: {what}", path.display())]
    BadMetadata {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A stream file is damaged at a given byte offset.
    #[error("{}: corrupt at byte offset {offset}: {what}", file.display())]
    Corrupt {
        /// The damaged file.
        file: PathBuf,
        /// Byte offset in that file where the damage was detected.
        offset: u64,
        /// What was found.
        what: String,
    },
    /// `append` was given a data slice whose length disagrees with the event.
    #[error("event carries {expected} bytes of data but {given} were given")]
    DataLength {
        /// What the event describes (`Event::data_len`).
        expected: u64,
        /// The length of the slice passed.
        given: u64,
    },
    /// An event could not be encoded.
    #[error("cannot encode event for {}: {what}", path.display())]
    Encode {
        /// The trace directory.
        path: PathBuf,
        /// What went wrong.
        what: String,
    },
    /// The background writer failed earlier; the trace is incomplete.
    #[error("{}: trace writer failed earlier: {what}", path.display())]
    WriterFailed {
        /// The trace directory.
        path: PathBuf,
        /// The first error seen.
        what: String,
    },
    /// A snapshot was requested of something that is not a regular file.
    #[error("{}: cannot snapshot: {what}", path.display())]
    NotSnapshotable {
        /// The path given.
        path: PathBuf,
        /// Why.
        what: String,
    },
    /// No trace was named and the store has no `latest-trace` link.
    #[error("no latest trace in {} (record one first, or name a trace)", root.display())]
    NoLatestTrace {
        /// The trace store root.
        root: PathBuf,
    },
    /// A trace name resolved to nothing.
    #[error("trace '{name}' not found (neither a path nor a trace in {})", root.display())]
    TraceNotFound {
        /// The name given.
        name: String,
        /// The trace store root searched.
        root: PathBuf,
    },
    /// The trace store root could not be determined.
    #[error("cannot locate the trace directory: set REEL_TRACE_DIR or HOME")]
    NoStoreRoot,
}

impl TraceError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TraceError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Attaches a path to I/O results, so `?` yields a [`TraceError::Io`].
pub(crate) trait IoContext<T> {
    /// Maps an I/O error to one naming `path`.
    fn at(self, path: &std::path::Path) -> Result<T, TraceError>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T, TraceError> {
        self.map_err(|e| TraceError::io(path, e))
    }
}
