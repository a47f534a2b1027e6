//! Tracee memory, through `/proc/PID/mem`: it reads and writes any mapped
//! page, including read-only ones (which `process_vm_writev` cannot).

use crate::task::Stopped;
use crate::{Result, SysError};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;

/// The memory of one process (one address space). Access requires a stopped
/// task of that process as proof that nothing runs concurrently.
#[derive(Debug)]
pub struct Memory {
    file: File,
    pid: i32,
}

impl Memory {
    /// Opens the address space of `task`'s process. Reopen after an execve:
    /// the handle refers to the old address space.
    pub fn open(task: &Stopped) -> Result<Memory> {
        let path = format!("/proc/{}/mem", task.tid());
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|source| SysError::Io { path, source })?;
        Ok(Memory {
            file,
            pid: task.tid(),
        })
    }

    /// Reads exactly `buf.len()` bytes at `addr`.
    pub fn read_into(&self, _task: &Stopped, addr: u64, buf: &mut [u8]) -> Result<()> {
        self.file
            .read_exact_at(buf, addr)
            .map_err(|source| SysError::Memory {
                op: "read",
                tid: self.pid,
                addr,
                len: buf.len(),
                source,
            })
    }

    /// Reads `len` bytes at `addr`.
    pub fn read(&self, task: &Stopped, addr: u64, len: usize) -> Result<Vec<u8>> {
        let mut v = vec![0u8; len];
        self.read_into(task, addr, &mut v)?;
        Ok(v)
    }

    /// Reads as many bytes as are readable at `addr`, up to `max` (for strings
    /// that may end near the end of a mapping).
    pub fn read_partial(&self, _task: &Stopped, addr: u64, max: usize) -> Vec<u8> {
        let mut v = vec![0u8; max];
        let mut got = 0;
        while got < max {
            match self.file.read_at(&mut v[got..], addr + got as u64) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        v.truncate(got);
        v
    }

    /// Reads a NUL-terminated string of at most `max` bytes.
    pub fn read_cstr(&self, task: &Stopped, addr: u64, max: usize) -> Option<String> {
        let mut out = Vec::new();
        let mut at = addr;
        while out.len() < max {
            let chunk = self.read_partial(task, at, 256);
            if chunk.is_empty() {
                return None;
            }
            if let Some(i) = chunk.iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..i]);
                return Some(String::from_utf8_lossy(&out).into_owned());
            }
            at += chunk.len() as u64;
            out.extend_from_slice(&chunk);
        }
        None
    }

    /// Reads a little-endian u64.
    pub fn read_u64(&self, task: &Stopped, addr: u64) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read_into(task, addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Writes all of `data` at `addr` (also into read-only mappings).
    pub fn write(&self, _task: &mut Stopped, addr: u64, data: &[u8]) -> Result<()> {
        self.file
            .write_all_at(data, addr)
            .map_err(|source| SysError::Memory {
                op: "write",
                tid: self.pid,
                addr,
                len: data.len(),
                source,
            })
    }
}
