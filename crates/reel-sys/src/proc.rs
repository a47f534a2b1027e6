//! Reading `/proc`: memory maps, the program break, file identities.

use crate::{Result, SysError};
use std::os::unix::fs::MetadataExt;

/// One line of `/proc/PID/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Readable.
    pub read: bool,
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
    /// Shared (`s`) rather than private (`p`).
    pub shared: bool,
    /// File offset.
    pub offset: u64,
    /// Device and inode (0 for anonymous memory).
    pub inode: u64,
    /// Path or pseudo-name (`[stack]`, `[heap]`, `[vdso]` ...), empty if none.
    pub name: String,
}

impl MapEntry {
    /// PROT_* bits of the mapping.
    pub fn prot(&self) -> u32 {
        let mut p = 0;
        if self.read {
            p |= libc::PROT_READ;
        }
        if self.write {
            p |= libc::PROT_WRITE;
        }
        if self.exec {
            p |= libc::PROT_EXEC;
        }
        p as u32
    }
}

/// Parses `/proc/PID/maps`.
pub fn maps(pid: i32) -> Result<Vec<MapEntry>> {
    let path = format!("/proc/{pid}/maps");
    let text = std::fs::read_to_string(&path).map_err(|source| SysError::Io {
        path: path.clone(),
        source,
    })?;
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            parse_map_line(l).ok_or_else(|| SysError::Parse {
                path: path.clone(),
                what: format!("bad line {l:?}"),
            })
        })
        .collect()
}

fn parse_map_line(line: &str) -> Option<MapEntry> {
    let mut it = line.splitn(6, ' ');
    let range = it.next()?;
    let perms = it.next()?.as_bytes();
    let offset = u64::from_str_radix(it.next()?, 16).ok()?;
    let _dev = it.next()?;
    let inode = it.next()?.parse().ok()?;
    let name = it.next().unwrap_or("").trim_start().to_string();
    let (a, b) = range.split_once('-')?;
    if perms.len() < 4 {
        return None;
    }
    Some(MapEntry {
        start: u64::from_str_radix(a, 16).ok()?,
        end: u64::from_str_radix(b, 16).ok()?,
        read: perms[0] == b'r',
        write: perms[1] == b'w',
        exec: perms[2] == b'x',
        shared: perms[3] == b's',
        offset,
        inode,
        name,
    })
}

/// The program break's start (`start_brk`, field 47 of `/proc/PID/stat`).
pub fn start_brk(pid: i32) -> Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|source| SysError::Io {
        path: path.clone(),
        source,
    })?;
    // The command name (field 2) may contain spaces; count after its ')'.
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    rest.split_whitespace()
        .nth(47 - 3)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| SysError::Parse {
            path,
            what: "no start_brk field".into(),
        })
}

/// What a process's memory costs, in KiB (`/proc/PID/smaps_rollup`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryUse {
    /// Resident pages, shared ones included.
    pub rss: u64,
    /// Its proportional share of them.
    pub pss: u64,
    /// Pages written since they were shared (copy-on-write copies), its
    /// own.
    pub private_dirty: u64,
}

/// The memory use of process `pid`.
pub fn memory_use(pid: i32) -> Result<MemoryUse> {
    let path = format!("/proc/{pid}/smaps_rollup");
    let text = std::fs::read_to_string(&path).map_err(|source| SysError::Io {
        path: path.clone(),
        source,
    })?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    Ok(MemoryUse {
        rss: field("Rss"),
        pss: field("Pss"),
        private_dirty: field("Private_Dirty"),
    })
}

/// Device and inode of what a tracee's file descriptor refers to.
pub fn fd_identity(pid: i32, fd: i32) -> Option<(u64, u64)> {
    let m = std::fs::metadata(format!("/proc/{pid}/fd/{fd}")).ok()?;
    Some((m.dev(), m.ino()))
}

/// Device and inode of one of reel's own file descriptors.
pub fn own_fd_identity(fd: i32) -> Option<(u64, u64)> {
    fd_identity(std::process::id() as i32, fd)
}

/// A process's signal dispositions, as bit masks (bit N-1 for signal N).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignalMasks {
    /// Signals with a handler installed.
    pub caught: u64,
    /// Signals set to SIG_IGN.
    pub ignored: u64,
    /// Signals the thread blocks.
    pub blocked: u64,
    /// Signals pending for the thread or its process.
    pub pending: u64,
}

impl SignalMasks {
    /// Whether signal `sig` has a handler.
    pub fn caught(&self, sig: i32) -> bool {
        (1..=64).contains(&sig) && self.caught & (1 << (sig - 1)) != 0
    }
    /// Whether some pending signal is not blocked (it is delivered on the
    /// thread's next return to user space).
    pub fn deliverable(&self) -> bool {
        self.pending & !self.blocked != 0
    }
    /// Whether signal `sig` is set to SIG_IGN.
    pub fn ignored(&self, sig: i32) -> bool {
        (1..=64).contains(&sig) && self.ignored & (1 << (sig - 1)) != 0
    }
}

/// The signal dispositions of thread `tid` (`/proc/TID/status`).
pub fn signal_masks(tid: i32) -> Result<SignalMasks> {
    let path = format!("/proc/{tid}/status");
    let text = std::fs::read_to_string(&path).map_err(|source| SysError::Io {
        path: path.clone(),
        source,
    })?;
    let mut m = SignalMasks::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let Ok(bits) = u64::from_str_radix(value.trim(), 16) else {
            continue;
        };
        match key {
            "SigCgt" => m.caught = bits,
            "SigIgn" => m.ignored = bits,
            "SigBlk" => m.blocked = bits,
            "SigPnd" | "ShdPnd" => m.pending |= bits,
            _ => {}
        }
    }
    Ok(m)
}

/// Path a tracee's file descriptor refers to (for display).
pub fn fd_path(pid: i32, fd: i32) -> String {
    std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| format!("fd {fd}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_maps_lines() {
        let e = parse_map_line(
            "7ffff7fc3000-7ffff7fc5000 r-xp 00001000 fe:01 1234   /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        )
        .unwrap();
        assert_eq!(e.start, 0x7ffff7fc3000);
        assert_eq!(e.end, 0x7ffff7fc5000);
        assert!(e.read && e.exec && !e.write && !e.shared);
        assert_eq!(e.offset, 0x1000);
        assert_eq!(e.name, "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
        let s = parse_map_line(
            "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]",
        )
        .unwrap();
        assert_eq!(s.name, "[stack]");
        let a = parse_map_line("555555559000-55555557a000 rw-p 00000000 00:00 0 ").unwrap();
        assert_eq!(a.name, "");
    }

    #[test]
    fn reads_own_start_brk() {
        assert!(start_brk(std::process::id() as i32).unwrap() > 0);
    }
}

/// CPU time (ns, user and system) that process `pid` used so far, from its
/// CPU-time clock (one syscall, no `/proc` read); None when it is gone.
pub fn process_cpu_ns(pid: i32) -> Option<u64> {
    // The kernel's MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED).
    let clock = ((!(pid as u32)) << 3) as i32 | 2;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into our local timespec.
    let r = unsafe { libc::clock_gettime(clock, &mut ts) };
    (r == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}
