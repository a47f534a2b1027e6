//! The chunk container shared by the event and data streams.
//!
//! A stream file is a plain concatenation of chunks; each is a 40-byte header
//! followed by its payload (layout in `docs/trace-format.md`). The header has
//! its own checksum so that a damaged length field is detected before it is
//! trusted, and every length is bounded so that no input can make a reader
//! allocate more than a few megabytes.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{IoContext, TraceError};

/// Magic bytes opening every chunk.
pub(crate) const CHUNK_MAGIC: [u8; 4] = *b"RLCK";
/// Size of a chunk header in bytes.
pub(crate) const HEADER_LEN: usize = 40;
/// Largest uncompressed payload a chunk may hold. Writers aim for
/// [`TARGET_CHUNK`]; the margin lets one oversized event still fit.
pub(crate) const MAX_RAW: usize = 16 << 20;
/// Largest stored payload: zstd's worst-case expansion of `MAX_RAW` is far below
/// this margin.
pub(crate) const MAX_STORED: usize = MAX_RAW + (1 << 20);
/// Uncompressed size at which the writer closes a chunk.
pub(crate) const TARGET_CHUNK: usize = 256 << 10;
/// Payload size of an end chunk: total events and total data bytes.
pub(crate) const END_PAYLOAD_LEN: usize = 16;

/// What a chunk holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Length-prefixed bincode events (event stream).
    Events = 1,
    /// Raw bytes of the data stream.
    Data = 2,
    /// The end marker of a finished recording (event stream only).
    End = 3,
}

/// How the payload is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    /// As is (used when compression would not shrink it).
    Raw = 0,
    /// One zstd frame.
    Zstd = 1,
}

/// A decoded chunk header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChunkHeader {
    pub kind: Kind,
    pub codec: Codec,
    pub seq: u64,
    /// Event stream: number of the chunk's first event (End: total events).
    /// Data stream: offset in the data stream of the chunk's first byte.
    pub first: u64,
    pub raw_len: u32,
    pub stored_len: u32,
    pub payload_crc: u32,
}

impl ChunkHeader {
    /// Serializes the header, computing the header checksum.
    pub(crate) fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..4].copy_from_slice(&CHUNK_MAGIC);
        h[4] = self.kind as u8;
        h[5] = self.codec as u8;
        // h[6..8] reserved, zero.
        h[8..16].copy_from_slice(&self.seq.to_le_bytes());
        h[16..24].copy_from_slice(&self.first.to_le_bytes());
        h[24..28].copy_from_slice(&self.raw_len.to_le_bytes());
        h[28..32].copy_from_slice(&self.stored_len.to_le_bytes());
        h[32..36].copy_from_slice(&self.payload_crc.to_le_bytes());
        let crc = crc32fast::hash(&h[0..36]);
        h[36..40].copy_from_slice(&crc.to_le_bytes());
        h
    }

    /// Parses and validates a header; the error says what is wrong.
    pub(crate) fn decode(h: &[u8; HEADER_LEN]) -> Result<ChunkHeader, String> {
        if h[0..4] != CHUNK_MAGIC {
            return Err(format!("bad chunk magic {:02x?}", &h[0..4]));
        }
        let stored_crc = u32::from_le_bytes(le4(&h[36..40]));
        if crc32fast::hash(&h[0..36]) != stored_crc {
            return Err("chunk header checksum mismatch".into());
        }
        let kind = match h[4] {
            1 => Kind::Events,
            2 => Kind::Data,
            3 => Kind::End,
            k => return Err(format!("unknown chunk kind {k}")),
        };
        let codec = match h[5] {
            0 => Codec::Raw,
            1 => Codec::Zstd,
            c => return Err(format!("unknown chunk codec {c}")),
        };
        if h[6] != 0 || h[7] != 0 {
            return Err("reserved chunk header bytes are not zero".into());
        }
        let hdr = ChunkHeader {
            kind,
            codec,
            seq: u64::from_le_bytes(le8(&h[8..16])),
            first: u64::from_le_bytes(le8(&h[16..24])),
            raw_len: u32::from_le_bytes(le4(&h[24..28])),
            stored_len: u32::from_le_bytes(le4(&h[28..32])),
            payload_crc: u32::from_le_bytes(le4(&h[32..36])),
        };
        if hdr.raw_len as usize > MAX_RAW {
            return Err(format!("chunk length {} exceeds the maximum", hdr.raw_len));
        }
        if hdr.stored_len as usize > MAX_STORED {
            return Err(format!(
                "stored chunk length {} exceeds the maximum",
                hdr.stored_len
            ));
        }
        if codec == Codec::Raw && hdr.stored_len != hdr.raw_len {
            return Err("uncompressed chunk with differing lengths".into());
        }
        Ok(hdr)
    }
}

fn le4(s: &[u8]) -> [u8; 4] {
    let mut a = [0u8; 4];
    a.copy_from_slice(s);
    a
}

fn le8(s: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    a
}

/// Builds a whole chunk (header + payload) ready to be written with one
/// `write` call, compressing when that helps.
pub(crate) fn build_chunk(
    compressor: &mut zstd::bulk::Compressor<'_>,
    kind: Kind,
    seq: u64,
    first: u64,
    raw: &[u8],
) -> std::io::Result<Vec<u8>> {
    let compressed = if raw.len() >= 64 {
        Some(compressor.compress(raw)?)
    } else {
        None
    };
    // Incompressible data (already-compressed files, random bytes) is stored
    // raw: it saves the reader a pointless decompression.
    let (codec, payload): (Codec, &[u8]) = match &compressed {
        Some(c) if c.len() < raw.len() => (Codec::Zstd, c),
        _ => (Codec::Raw, raw),
    };
    let hdr = ChunkHeader {
        kind,
        codec,
        seq,
        first,
        raw_len: raw.len() as u32,
        stored_len: payload.len() as u32,
        payload_crc: crc32fast::hash(payload),
    };
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&hdr.encode());
    out.extend_from_slice(payload);
    Ok(out)
}

/// The payload of an end chunk.
pub(crate) fn end_payload(events: u64, data_bytes: u64) -> [u8; END_PAYLOAD_LEN] {
    let mut p = [0u8; END_PAYLOAD_LEN];
    p[0..8].copy_from_slice(&events.to_le_bytes());
    p[8..16].copy_from_slice(&data_bytes.to_le_bytes());
    p
}

/// Parses an end chunk payload into (total events, total data bytes).
pub(crate) fn parse_end_payload(p: &[u8]) -> Option<(u64, u64)> {
    if p.len() != END_PAYLOAD_LEN {
        return None;
    }
    Some((
        u64::from_le_bytes(le8(&p[0..8])),
        u64::from_le_bytes(le8(&p[8..16])),
    ))
}

/// Whether the last bytes of an event stream are an intact end chunk. Checks
/// only the tail, so it is cheap enough for `reel ls`.
pub(crate) fn has_end_marker(path: &Path) -> bool {
    let total = (HEADER_LEN + END_PAYLOAD_LEN) as u64;
    let Ok(mut f) = File::open(path) else {
        return false;
    };
    let Ok(len) = f.metadata().map(|m| m.len()) else {
        return false;
    };
    if len < total || f.seek(SeekFrom::Start(len - total)).is_err() {
        return false;
    }
    let mut buf = [0u8; HEADER_LEN + END_PAYLOAD_LEN];
    if f.read_exact(&mut buf).is_err() {
        return false;
    }
    let mut h = [0u8; HEADER_LEN];
    h.copy_from_slice(&buf[..HEADER_LEN]);
    match ChunkHeader::decode(&h) {
        Ok(hdr) => {
            hdr.kind == Kind::End
                && hdr.codec == Codec::Raw
                && hdr.raw_len as usize == END_PAYLOAD_LEN
                && crc32fast::hash(&buf[HEADER_LEN..]) == hdr.payload_crc
        }
        Err(_) => false,
    }
}

/// What reading the next chunk of a stream gave.
pub(crate) enum Next {
    /// A whole, verified chunk; its payload is in the stream's buffer.
    Chunk(ChunkHeader),
    /// The file ends exactly at a chunk boundary.
    Eof,
    /// The file ends inside a chunk (or in a zero-filled tail left by a crash).
    /// Carries the offset of the incomplete chunk.
    Truncated(u64),
}

/// Sequential reader of the chunks of one stream file.
pub(crate) struct ChunkStream {
    file: File,
    path: PathBuf,
    /// Length of the file when opened: a recording still in progress may grow
    /// it, but this reader sees a consistent prefix.
    len: u64,
    /// Offset of the next chunk header.
    offset: u64,
    /// Sequence number expected next.
    seq: u64,
    stored: Vec<u8>,
    /// Decoded payload of the last chunk returned.
    pub payload: Vec<u8>,
    decompressor: zstd::bulk::Decompressor<'static>,
}

impl ChunkStream {
    /// Opens a stream file.
    pub(crate) fn open(path: &Path) -> Result<ChunkStream, TraceError> {
        let file = File::open(path).at(path)?;
        let len = file.metadata().at(path)?.len();
        let mut decompressor = zstd::bulk::Decompressor::new().at(path)?;
        // A damaged frame header could ask for a huge window; our chunks never
        // need more than their own size (at most 16 MiB = 2^24).
        decompressor
            .set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(24))
            .at(path)?;
        Ok(ChunkStream {
            file,
            path: path.to_path_buf(),
            len,
            offset: 0,
            seq: 0,
            stored: Vec::new(),
            payload: Vec::new(),
            decompressor,
        })
    }

    /// An independent reader at the same place (its own file handle).
    pub(crate) fn try_clone(&self) -> Result<ChunkStream, TraceError> {
        let mut c = ChunkStream::open(&self.path)?;
        c.len = self.len;
        c.offset = self.offset;
        c.seq = self.seq;
        c.payload = self.payload.clone();
        Ok(c)
    }

    /// Offset of the next chunk (or of the end of the file).
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// A corruption error at `offset` of this file.
    pub(crate) fn corrupt(&self, offset: u64, what: impl Into<String>) -> TraceError {
        TraceError::Corrupt {
            file: self.path.clone(),
            offset,
            what: what.into(),
        }
    }

    /// Reads, verifies and decodes the next chunk into `self.payload`.
    pub(crate) fn next_chunk(&mut self) -> Result<Next, TraceError> {
        let start = self.offset;
        let remaining = self.len - start;
        if remaining == 0 {
            return Ok(Next::Eof);
        }
        if remaining < HEADER_LEN as u64 {
            return Ok(Next::Truncated(start));
        }
        self.file.seek(SeekFrom::Start(start)).at(&self.path)?;
        let mut h = [0u8; HEADER_LEN];
        self.file.read_exact(&mut h).at(&self.path)?;
        let hdr = match ChunkHeader::decode(&h) {
            Ok(hdr) => hdr,
            Err(what) => {
                // A machine that lost power may leave the file longer than
                // the data that reached the disk, padded with zeros: that is
                // a truncation, not damage.
                if self.zero_tail(start)? {
                    return Ok(Next::Truncated(start));
                }
                return Err(self.corrupt(start, what));
            }
        };
        if hdr.seq != self.seq {
            return Err(self.corrupt(
                start,
                format!("chunk sequence number {}, expected {}", hdr.seq, self.seq),
            ));
        }
        let stored_len = hdr.stored_len as usize;
        if remaining < (HEADER_LEN + stored_len) as u64 {
            return Ok(Next::Truncated(start));
        }
        self.stored.clear();
        self.stored.resize(stored_len, 0);
        self.file.read_exact(&mut self.stored).at(&self.path)?;
        if crc32fast::hash(&self.stored) != hdr.payload_crc {
            return Err(self.corrupt(start, "chunk payload checksum mismatch"));
        }
        let payload_at = start + HEADER_LEN as u64;
        match hdr.codec {
            Codec::Raw => std::mem::swap(&mut self.payload, &mut self.stored),
            Codec::Zstd => {
                self.payload.clear();
                self.payload.reserve(hdr.raw_len as usize);
                let n = self
                    .decompressor
                    .decompress_to_buffer(&self.stored[..], &mut self.payload)
                    .map_err(|e| self.corrupt(payload_at, format!("zstd: {e}")))?;
                if n != hdr.raw_len as usize {
                    return Err(self.corrupt(
                        payload_at,
                        format!("chunk decompressed to {n} bytes, expected {}", hdr.raw_len),
                    ));
                }
            }
        }
        self.offset = payload_at + stored_len as u64;
        self.seq += 1;
        Ok(Next::Chunk(hdr))
    }

    /// Whether every byte from `from` to the end of the file is zero.
    fn zero_tail(&mut self, from: u64) -> Result<bool, TraceError> {
        self.file.seek(SeekFrom::Start(from)).at(&self.path)?;
        let mut left = self.len - from;
        let mut buf = vec![0u8; 64 << 10];
        while left > 0 {
            let n = (left as usize).min(buf.len());
            self.file.read_exact(&mut buf[..n]).at(&self.path)?;
            if buf[..n].iter().any(|&b| b != 0) {
                return Ok(false);
            }
            left -= n as u64;
        }
        Ok(true)
    }
}
