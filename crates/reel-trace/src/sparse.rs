//! Files with holes: a sparse 100 GB file or a 1 TB memfd holds a few pages
//! of data, and its snapshot must hold just those, not a terabyte of zeros.
//!
//! `SEEK_DATA`/`SEEK_HOLE` give the ranges that may hold data. A file
//! without holes is hashed and copied as a plain byte stream (its snapshot
//! id is the BLAKE3 hash of its contents, as always). A file with holes is
//! copied range by range, its holes left as holes, and its id is the BLAKE3
//! hash of a canonical form that does not depend on where the filesystem
//! put the holes: the size, then page by page, runs of zero pages as their
//! count and other pages as their bytes. The same contents with other holes
//! (a copy of it, say) hash the same.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use crate::event::FileId;

/// The granularity of the canonical form.
const PAGE: u64 = 4096;

/// How much is read at a time.
const BLOCK: u64 = 1 << 20;

/// Domain separation of the canonical form from plain contents.
const SPARSE_TAG: &[u8] = b"reel sparse file v1\0";

/// The page-aligned ranges of `file` (of length `len`) that may hold data,
/// in order, merged, the last one ending at `len` at most.
pub(crate) fn data_ranges(file: &File, len: u64) -> io::Result<Vec<(u64, u64)>> {
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    let mut off = 0;
    while off < len {
        let Some(start) = reel_sys::fs::seek_data(file, off)? else {
            break;
        };
        if start >= len {
            break;
        }
        let end = reel_sys::fs::seek_hole(file, start)?
            .unwrap_or(len)
            .clamp(start + 1, len);
        let (s, e) = (start / PAGE * PAGE, (end.div_ceil(PAGE) * PAGE).min(len));
        match ranges.last_mut() {
            Some(last) if last.1 >= s => last.1 = last.1.max(e),
            _ => ranges.push((s, e)),
        }
        off = end;
    }
    Ok(ranges)
}

/// How many bytes of `file` may hold data (its size when it has no holes).
pub fn data_size(file: &File) -> io::Result<u64> {
    let len = file.metadata()?.len();
    Ok(data_ranges(file, len)?.iter().map(|(s, e)| e - s).sum())
}

/// Whether `ranges` cover the whole of a file of length `len`.
fn dense(ranges: &[(u64, u64)], len: u64) -> bool {
    len == 0 || ranges == [(0, len)]
}

/// The canonical form's hasher: runs of zero pages are counted, not hashed.
struct Canonical {
    hasher: blake3::Hasher,
    zeros: u64,
}

impl Canonical {
    fn new(len: u64) -> Canonical {
        let mut hasher = blake3::Hasher::new();
        hasher.update(SPARSE_TAG);
        hasher.update(&len.to_le_bytes());
        Canonical { hasher, zeros: 0 }
    }

    fn page(&mut self, bytes: &[u8]) -> bool {
        if bytes.iter().all(|&b| b == 0) {
            self.zeros += 1;
            return false;
        }
        self.flush();
        self.hasher.update(b"D");
        self.hasher.update(bytes);
        true
    }

    fn flush(&mut self) {
        if self.zeros > 0 {
            self.hasher.update(b"Z");
            self.hasher.update(&self.zeros.to_le_bytes());
            self.zeros = 0;
        }
    }

    fn finish(mut self) -> FileId {
        self.flush();
        FileId(self.hasher.finalize().to_hex().to_string())
    }
}

/// Reads `file[off..off + buf.len()]` whole (a short read past the end,
/// if the file shrank meanwhile, leaves zeros).
fn read_full(file: &File, off: u64, buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], off + done as u64) {
            Ok(0) => {
                buf[done..].fill(0);
                return Ok(());
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Hashes `src` (its snapshot id) and, with `dst`, copies it there, holes
/// as holes. Returns the id and the bytes read (the data it holds). With
/// `max_write`, fails with `ErrorKind::FileTooLarge` rather than write more
/// than that: the disk is never filled, whatever the file.
pub(crate) fn transfer(
    src: &File,
    dst: Option<&File>,
    buf: &mut Vec<u8>,
    max_write: Option<u64>,
) -> io::Result<(FileId, u64)> {
    let mut written = 0u64;
    let mut write = |bytes: &[u8], off: u64| -> io::Result<()> {
        let Some(d) = dst else { return Ok(()) };
        written += bytes.len() as u64;
        if max_write.is_some_and(|m| written > m) {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "more data than a snapshot may hold",
            ));
        }
        d.write_all_at(bytes, off)
    };
    let len = src.metadata()?.len();
    let ranges = data_ranges(src, len)?;
    buf.resize(BLOCK as usize, 0);
    let mut read = 0;
    if dense(&ranges, len) {
        let mut hasher = blake3::Hasher::new();
        let mut off = 0;
        while off < len {
            let n = BLOCK.min(len - off) as usize;
            read_full(src, off, &mut buf[..n])?;
            hasher.update(&buf[..n]);
            write(&buf[..n], off)?;
            off += n as u64;
        }
        read += len;
        if let Some(d) = dst {
            d.set_len(len)?;
        }
        return Ok((FileId(hasher.finalize().to_hex().to_string()), read));
    }
    let mut canon = Canonical::new(len);
    let mut pos = 0;
    for &(start, end) in &ranges {
        canon.zeros += (start - pos) / PAGE;
        let mut off = start;
        while off < end {
            let n = BLOCK.min(end - off) as usize;
            read_full(src, off, &mut buf[..n])?;
            for (i, page) in buf[..n].chunks(PAGE as usize).enumerate() {
                // Zero pages stay holes in the copy too.
                if canon.page(page) {
                    write(page, off + (i as u64) * PAGE)?;
                }
            }
            off += n as u64;
        }
        read += end - start;
        pos = end;
    }
    canon.zeros += (len - pos).div_ceil(PAGE);
    if let Some(d) = dst {
        d.set_len(len)?;
    }
    Ok((canon.finish(), read))
}

/// Writes `len` bytes from `fill(offset, buf)` (a block at a time) into the
/// empty file `dst`, zero pages as holes, writing at most `max_write` bytes.
pub(crate) fn fill_file(
    dst: &File,
    len: u64,
    buf: &mut Vec<u8>,
    max_write: Option<u64>,
    fill: &mut dyn FnMut(u64, &mut [u8]) -> io::Result<()>,
) -> io::Result<()> {
    buf.resize(BLOCK as usize, 0);
    let mut written = 0u64;
    let mut off = 0;
    while off < len {
        let n = BLOCK.min(len - off) as usize;
        fill(off, &mut buf[..n])?;
        for (i, page) in buf[..n].chunks(PAGE as usize).enumerate() {
            if page.iter().all(|&b| b == 0) {
                continue;
            }
            written += page.len() as u64;
            if max_write.is_some_and(|m| written > m) {
                return Err(io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    "more data than a snapshot may hold",
                ));
            }
            dst.write_all_at(page, off + (i as u64) * PAGE)?;
        }
        off += n as u64;
    }
    dst.set_len(len)
}

/// Copies the file at `src` to a new file `dst`, holes as holes (the
/// replay's own copy of a file mapped shared).
pub fn copy_file(src: &std::path::Path, dst: &std::path::Path) -> io::Result<()> {
    let from = File::open(src)?;
    let to = File::create(dst)?;
    transfer(&from, Some(&to), &mut Vec::new(), None)?;
    Ok(())
}

/// Makes the file at `dst` (mapped shared by replayed processes, so it is
/// rewritten in place, never replaced) hold what the file at `src` holds.
pub fn update_file(src: &std::path::Path, dst: &std::path::Path) -> io::Result<()> {
    let from = File::open(src)?;
    let to = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dst)?;
    let len = from.metadata()?.len();
    let new = data_ranges(&from, len)?;
    let old = data_ranges(&to, to.metadata()?.len())?;
    let mut buf = vec![0u8; BLOCK as usize];
    for &(start, end) in &new {
        let mut off = start;
        while off < end {
            let n = BLOCK.min(end - off) as usize;
            read_full(&from, off, &mut buf[..n])?;
            to.write_all_at(&buf[..n], off)?;
            off += n as u64;
        }
    }
    // Data the old contents had where the new have holes: zeros now.
    buf.fill(0);
    for &(start, end) in &old {
        let mut off = start;
        while off < end.min(len) {
            let covered = new.iter().find(|&&(s, e)| s <= off && off < e);
            let next = match covered {
                Some(&(_, e)) => e,
                None => {
                    let stop = new
                        .iter()
                        .map(|&(s, _)| s)
                        .filter(|&s| s > off)
                        .min()
                        .unwrap_or(u64::MAX)
                        .min(end.min(len))
                        .min(off + BLOCK);
                    to.write_all_at(&buf[..(stop - off) as usize], off)?;
                    stop
                }
            };
            off = next;
        }
    }
    to.set_len(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_of(f: &File) -> FileId {
        transfer(f, None, &mut Vec::new(), None).unwrap().0
    }

    #[test]
    fn a_dense_file_hashes_as_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a");
        std::fs::write(&p, b"hello world").unwrap();
        let f = File::open(&p).unwrap();
        let want = blake3::hash(b"hello world").to_hex().to_string();
        assert_eq!(id_of(&f).0, want);
    }

    #[test]
    fn a_sparse_file_is_copied_with_its_holes_and_hashes_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        let f = File::create(&p).unwrap();
        let len = 64 << 30; // 64 GiB of apparent size
        f.set_len(len).unwrap();
        f.write_all_at(b"first", 0).unwrap();
        f.write_all_at(b"middle", 40 << 30).unwrap();
        drop(f);
        let src = File::open(&p).unwrap();
        let q = dir.path().join("copy");
        let dst = File::create(&q).unwrap();
        let (id, read) = transfer(&src, Some(&dst), &mut Vec::new(), None).unwrap();
        assert!(read < 1 << 24, "read {read} bytes");
        drop(dst);
        let copy = File::open(&q).unwrap();
        assert_eq!(copy.metadata().unwrap().len(), len);
        let mut b = [0u8; 6];
        copy.read_exact_at(&mut b, 40 << 30).unwrap();
        assert_eq!(&b, b"middle");
        assert!(data_size(&copy).unwrap() < 1 << 24);
        assert_eq!(id_of(&copy), id);
        // Other contents, other id.
        let g = std::fs::OpenOptions::new().write(true).open(&q).unwrap();
        g.write_all_at(b"x", 1 << 30).unwrap();
        assert_ne!(id_of(&copy), id);
    }

    #[test]
    fn a_file_is_updated_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let f = File::create(&a).unwrap();
        f.set_len(1 << 24).unwrap();
        f.write_all_at(b"new", 5 << 20).unwrap();
        let g = File::create(&b).unwrap();
        g.write_all_at(&[7u8; 8192], 1 << 20).unwrap();
        update_file(&a, &b).unwrap();
        let want = std::fs::read(&a).unwrap();
        assert_eq!(std::fs::read(&b).unwrap(), want);
    }
}
