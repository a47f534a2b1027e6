//! reel-trace: the on-disk trace format.
//!
//! A trace is a directory (see `docs/trace-format.md`) holding a JSON header,
//! an event stream and a data stream written as compressed, checksummed chunks
//! by [`TraceWriter`], file snapshots, and — once the recording finished
//! properly — a summary and an end marker. [`TraceReader`] streams it back;
//! [`TraceStore`] manages the directory of traces (`reel ls`, `rm`, `pack` ...).
//!
//! This crate knows nothing of ptrace: it stores what the recorder hands it.

#![warn(missing_docs)]

mod chunk;
mod error;
pub mod event;
mod fsutil;
mod pool;
mod position;
mod reader;
mod snapshot;
pub mod sparse;
mod store;
mod writer;

pub use error::TraceError;
pub use event::*;
pub use position::{Landmark, Position, CPU_FACTOR, PASSES_PER_NS};
pub use reader::{Record, TraceReader};
pub use snapshot::{read_index as read_snapshot_index, SnapshotEntry, SnapshotKind};
pub use store::{
    is_trace_dir, pack, scan_processes, PackReport, ProcessInfo, TraceInfo, TraceStore,
};
pub use writer::{Summary, TraceWriter};

/// Major format version. A reader accepts only traces with this major version:
/// it changes whenever an older reader could misread a newer trace.
pub const FORMAT_MAJOR: u32 = 4;

/// Minor format version: bumped for additions a reader of the same major
/// version may safely ignore (new optional header fields, new files).
pub const FORMAT_MINOR: u32 = 0;

/// The value of the `magic` field of `header.json`, identifying a reel trace.
pub const TRACE_MAGIC: &str = "reel-trace";

/// Name of the header file inside a trace directory.
pub const HEADER_FILE: &str = "header.json";
/// Name of the summary file, written when a recording finishes properly.
pub const SUMMARY_FILE: &str = "summary.json";
/// Name of the event stream file.
pub const EVENTS_FILE: &str = "events.rz";
/// Name of the data stream file.
pub const DATA_FILE: &str = "data.rz";
/// Name of the directory of file snapshots.
pub const FILES_DIR: &str = "files";
/// Name of the snapshot index (one JSON object per line).
pub const SNAPSHOT_INDEX: &str = "snapshots.jsonl";

/// Result type of this crate.
pub type Result<T, E = TraceError> = std::result::Result<T, E>;
