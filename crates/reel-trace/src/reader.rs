//! The trace reader: opens a trace directory, checks its header and version,
//! and streams events with their data, one chunk in memory at a time.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::chunk::{self, ChunkStream, Kind, Next};
use crate::error::{IoContext, TraceError};
use crate::event::{Event, FileId, Header, RegionSource};
use crate::writer::Summary;
use crate::{
    fsutil, DATA_FILE, EVENTS_FILE, FILES_DIR, FORMAT_MAJOR, HEADER_FILE, SUMMARY_FILE, TRACE_MAGIC,
};

/// `header.json`: the header with a magic field identifying the file.
#[derive(Serialize, Deserialize)]
struct HeaderFile {
    magic: String,
    #[serde(flatten)]
    header: Header,
}

/// Writes `header.json` atomically.
pub(crate) fn write_header(dir: &Path, header: &Header) -> Result<(), TraceError> {
    let file = HeaderFile {
        magic: TRACE_MAGIC.to_string(),
        header: header.clone(),
    };
    let path = dir.join(HEADER_FILE);
    let json = serde_json::to_vec_pretty(&file).map_err(|e| TraceError::Encode {
        path: path.clone(),
        what: e.to_string(),
    })?;
    fsutil::write_atomic(dir, HEADER_FILE, &json)
}

/// Reads and validates `header.json` of the trace in `dir`.
pub(crate) fn read_header(dir: &Path) -> Result<Header, TraceError> {
    let meta = std::fs::metadata(dir).at(dir)?;
    if !meta.is_dir() {
        return Err(TraceError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let path = dir.join(HEADER_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(TraceError::NotATrace {
                path: dir.to_path_buf(),
            })
        }
        Err(e) => return Err(TraceError::io(&path, e)),
    };
    let bad = |what: String| TraceError::BadMetadata {
        path: path.clone(),
        what,
    };
    // Parse loosely first: a trace of another major version may have a
    // different shape, and must still get the version message.
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    if value.get("magic").and_then(|m| m.as_str()) != Some(TRACE_MAGIC) {
        return Err(TraceError::NotATrace {
            path: dir.to_path_buf(),
        });
    }
    let major = value
        .get("format_major")
        .and_then(|m| m.as_u64())
        .ok_or_else(|| bad("no format_major field".into()))?;
    if major != u64::from(FORMAT_MAJOR) {
        return Err(TraceError::IncompatibleVersion {
            path: dir.to_path_buf(),
            found: major,
            supported: FORMAT_MAJOR,
        });
    }
    let file: HeaderFile = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    Ok(file.header)
}

/// Reads `summary.json` if present.
pub(crate) fn read_summary(dir: &Path) -> Result<Option<Summary>, TraceError> {
    let path = dir.join(SUMMARY_FILE);
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| TraceError::BadMetadata {
                path,
                what: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(TraceError::io(&path, e)),
    }
}

/// `Event::data_len` without overflow: events read from disk are untrusted,
/// and a damaged region with `end < start` must not panic.
pub(crate) fn checked_data_len(event: &Event) -> Option<u64> {
    match event {
        Event::Syscall(s) => s
            .writes
            .iter()
            .try_fold(0u64, |acc, w| acc.checked_add(w.len)),
        Event::Exec(e) => e
            .regions
            .iter()
            .filter(|r| r.source == RegionSource::Data)
            .try_fold(0u64, |acc, r| acc.checked_add(r.end.checked_sub(r.start)?)),
        _ => Some(0),
    }
}

/// The path of snapshot `id` inside trace `dir`. An id cannot name anything
/// outside `files/`: separators and dot-names are neutralized.
pub(crate) fn snapshot_path(dir: &Path, id: &FileId) -> PathBuf {
    let mut name = id.0.replace('/', "_");
    if name.is_empty() || name == "." || name == ".." {
        name = format!("_{name}");
    }
    dir.join(FILES_DIR).join(name)
}

/// One event read back, with its global number and data-stream bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Global event number, from 1.
    pub number: u64,
    /// The event.
    pub event: Event,
    /// The bytes the event describes (`Event::data_len` of them).
    pub data: Vec<u8>,
}

/// Sequential reader of a trace.
pub struct TraceReader {
    dir: PathBuf,
    header: Header,
    summary: Option<Summary>,
    complete: bool,
    events: ChunkStream,
    /// Position of the next record in `events.payload`.
    ev_pos: usize,
    /// File offset of the current event chunk, for error messages.
    ev_chunk_at: u64,
    data: ChunkStream,
    /// Position of the next unread byte in `data.payload`.
    data_pos: usize,
    /// Total bytes of all data chunks read so far (the next chunk's `first`).
    data_read: u64,
    /// Data bytes handed out so far.
    data_used: u64,
    next_number: u64,
    finished: bool,
    skip_data: bool,
}

impl TraceReader {
    /// Opens the trace in `dir`: checks it is a reel trace of a supported
    /// major version and whether it was finished properly.
    pub fn open(dir: &Path) -> Result<TraceReader, TraceError> {
        let header = read_header(dir)?;
        let summary = read_summary(dir)?;
        let events_path = dir.join(EVENTS_FILE);
        let complete = summary.is_some() && chunk::has_end_marker(&events_path);
        Ok(TraceReader {
            dir: dir.to_path_buf(),
            header,
            summary,
            complete,
            events: ChunkStream::open(&events_path)?,
            ev_pos: 0,
            ev_chunk_at: 0,
            data: ChunkStream::open(&dir.join(DATA_FILE))?,
            data_pos: 0,
            data_read: 0,
            data_used: 0,
            next_number: 1,
            finished: false,
            skip_data: false,
        })
    }

    /// Makes `next` skip the data stream (records then carry empty data):
    /// cheaper for scans that need only events, like `reel ps`. Has no effect
    /// once reading has started.
    pub fn without_data(mut self) -> TraceReader {
        if self.next_number == 1 && self.ev_pos == 0 {
            self.skip_data = true;
        }
        self
    }

    /// An independent reader at the same position: reading on from either
    /// does not move the other (a replay checkpoint keeps one).
    pub fn try_clone(&self) -> Result<TraceReader, TraceError> {
        Ok(TraceReader {
            dir: self.dir.clone(),
            header: self.header.clone(),
            summary: self.summary.clone(),
            complete: self.complete,
            events: self.events.try_clone()?,
            ev_pos: self.ev_pos,
            ev_chunk_at: self.ev_chunk_at,
            data: self.data.try_clone()?,
            data_pos: self.data_pos,
            data_read: self.data_read,
            data_used: self.data_used,
            next_number: self.next_number,
            finished: self.finished,
            skip_data: self.skip_data,
        })
    }

    /// The trace directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The summary, present when the recording finished properly.
    pub fn summary(&self) -> Option<&Summary> {
        self.summary.as_ref()
    }

    /// Whether the recording finished properly: the summary and an intact end
    /// marker are present. An incomplete trace reads up to its last whole chunk.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Where snapshot `id` is stored.
    pub fn file_path(&self, id: &FileId) -> PathBuf {
        snapshot_path(&self.dir, id)
    }

    /// The next event, or `Ok(None)` at the end of the trace — the end marker
    /// of a complete trace, or the last whole chunk of an incomplete one.
    #[allow(clippy::should_implement_trait)] // fallible, so not an Iterator
    pub fn next(&mut self) -> Result<Option<Record>, TraceError> {
        if self.finished {
            return Ok(None);
        }
        match self.next_inner() {
            Ok(r) => {
                if r.is_none() {
                    self.finished = true;
                }
                Ok(r)
            }
            Err(e) => {
                // After damage the position is unknown: stop for good rather
                // than read garbage on a retry.
                self.finished = true;
                Err(e)
            }
        }
    }

    fn next_inner(&mut self) -> Result<Option<Record>, TraceError> {
        while self.ev_pos >= self.events.payload.len() {
            let at = self.events.offset();
            match self.events.next_chunk()? {
                Next::Chunk(h) if h.kind == Kind::Events => {
                    if h.first != self.next_number {
                        return Err(self.events.corrupt(
                            at,
                            format!(
                                "chunk starts at event {}, expected {}",
                                h.first, self.next_number
                            ),
                        ));
                    }
                    if self.events.payload.is_empty() {
                        return Err(self.events.corrupt(at, "empty event chunk"));
                    }
                    self.ev_pos = 0;
                    self.ev_chunk_at = at;
                }
                Next::Chunk(h) if h.kind == Kind::End => {
                    self.check_end(at)?;
                    return Ok(None);
                }
                Next::Chunk(_) => {
                    return Err(self.events.corrupt(at, "data chunk in the event stream"))
                }
                Next::Eof | Next::Truncated(_) if !self.complete => return Ok(None),
                Next::Eof => {
                    return Err(self
                        .events
                        .corrupt(at, "event stream ends before its end marker"))
                }
                Next::Truncated(off) => {
                    return Err(self.events.corrupt(off, "truncated chunk"));
                }
            }
        }

        let at = self.ev_chunk_at;
        let number = self.next_number;
        let payload = &self.events.payload;
        let pos = self.ev_pos;
        let Some(len_bytes) = payload.get(pos..pos + 4) else {
            return Err(self
                .events
                .corrupt(at, format!("event {number}: truncated record")));
        };
        let len =
            u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
        let Some(body) = payload.get(pos + 4..pos + 4 + len) else {
            return Err(self.events.corrupt(
                at,
                format!("event {number}: record length {len} exceeds its chunk"),
            ));
        };
        let event: Event = match postcard::take_from_bytes(body) {
            Ok((event, [])) => event,
            Ok((_, rest)) => {
                return Err(self.events.corrupt(
                    at,
                    format!("event {number}: {} bytes after the record", rest.len()),
                ))
            }
            Err(e) => {
                return Err(self
                    .events
                    .corrupt(at, format!("event {number}: undecodable: {e}")))
            }
        };
        self.ev_pos = pos + 4 + len;
        let data_len = checked_data_len(&event).ok_or_else(|| {
            self.events
                .corrupt(at, format!("event {number}: impossible data length"))
        })?;
        let data = if self.skip_data {
            Vec::new()
        } else {
            match self.read_data(data_len, number)? {
                Some(d) => d,
                // Incomplete trace whose data stream ends first: the event
                // is not whole, so the trace ends before it.
                None => return Ok(None),
            }
        };
        self.next_number += 1;
        Ok(Some(Record {
            number,
            event,
            data,
        }))
    }

    /// Reads `n` bytes of the data stream; `None` if an incomplete trace's
    /// data stream ends first.
    fn read_data(&mut self, n: u64, number: u64) -> Result<Option<Vec<u8>>, TraceError> {
        if n == 0 {
            return Ok(Some(Vec::new()));
        }
        // The length comes from disk: grow as bytes really arrive rather than
        // trusting it for one allocation.
        let mut out = Vec::with_capacity(n.min(chunk::MAX_RAW as u64) as usize);
        while (out.len() as u64) < n {
            if self.data_pos >= self.data.payload.len() {
                let at = self.data.offset();
                match self.data.next_chunk()? {
                    Next::Chunk(h) if h.kind == Kind::Data => {
                        if h.first != self.data_read {
                            return Err(self.data.corrupt(
                                at,
                                format!(
                                    "chunk starts at data offset {}, expected {}",
                                    h.first, self.data_read
                                ),
                            ));
                        }
                        if self.data.payload.is_empty() {
                            return Err(self.data.corrupt(at, "empty data chunk"));
                        }
                        self.data_read += self.data.payload.len() as u64;
                        self.data_pos = 0;
                    }
                    Next::Chunk(_) => {
                        return Err(self
                            .data
                            .corrupt(at, "unexpected chunk kind in data stream"))
                    }
                    Next::Eof | Next::Truncated(_) if !self.complete => return Ok(None),
                    Next::Eof | Next::Truncated(_) => {
                        return Err(self.data.corrupt(
                            at,
                            format!("data stream ends inside the data of event {number}"),
                        ))
                    }
                }
            }
            let avail = &self.data.payload[self.data_pos..];
            let take = (avail.len() as u64).min(n - out.len() as u64) as usize;
            out.extend_from_slice(&avail[..take]);
            self.data_pos += take;
        }
        self.data_used += n;
        Ok(Some(out))
    }

    /// Verifies the end marker at `at` against what was read, and that
    /// nothing follows in either stream.
    fn check_end(&mut self, at: u64) -> Result<(), TraceError> {
        let Some((events, data_bytes)) = chunk::parse_end_payload(&self.events.payload) else {
            return Err(self.events.corrupt(at, "malformed end marker"));
        };
        if events != self.next_number - 1 {
            return Err(self.events.corrupt(
                at,
                format!(
                    "end marker counts {events} events, the stream holds {}",
                    self.next_number - 1
                ),
            ));
        }
        let tail = self.events.offset();
        if !matches!(self.events.next_chunk()?, Next::Eof) {
            return Err(self.events.corrupt(tail, "bytes after the end marker"));
        }
        if !self.skip_data {
            if data_bytes != self.data_used {
                return Err(self.events.corrupt(
                    at,
                    format!(
                        "end marker counts {data_bytes} data bytes, events use {}",
                        self.data_used
                    ),
                ));
            }
            let tail = self.data.offset();
            if self.data_pos < self.data.payload.len()
                || !matches!(self.data.next_chunk()?, Next::Eof)
            {
                return Err(self
                    .data
                    .corrupt(tail, "data stream holds bytes no event uses"));
            }
        }
        Ok(())
    }
}
