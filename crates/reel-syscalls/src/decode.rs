//! What the table's argument kinds mean beyond a register: the strings and
//! structures the recorder captures at syscall entry (paths, argv, socket
//! addresses), and their strace-like display with flags by name.

use crate::{ArgKind, SyscallSpec, TraceeMemory};
use std::fmt::Write;

/// Longest path captured (the kernel's PATH_MAX).
pub const MAX_PATH: usize = 4096;
/// Most argv entries captured, and the longest entry.
const MAX_ARGV: usize = 64;
const MAX_ARGV_ENTRY: usize = 256;
/// Longest socket address captured (`struct sockaddr_storage`).
const MAX_SOCKADDR: u64 = 128;

/// Memory an argument points to, captured at syscall entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Captured {
    /// Index of the argument.
    pub arg: u8,
    /// One item for a string or structure, one per entry for an argv array.
    pub items: Vec<Vec<u8>>,
    /// Whether it was cut short (a longer string, more argv entries).
    pub truncated: bool,
}

/// Reads the NUL-terminated string at `addr`, at most `max` bytes, with a
/// reader that may fail on unmapped memory: reads stop at page boundaries,
/// so a string that ends just before an unmapped page is still read whole.
/// Returns the bytes and whether the string was longer than `max`.
pub fn read_c_string(addr: u64, max: usize, mem: &dyn TraceeMemory) -> Option<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < max {
        let to_page_end = 4096 - (at % 4096);
        let want = to_page_end.min((max - out.len()) as u64);
        let chunk = mem.read(at, want as usize)?;
        if let Some(nul) = chunk.iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..nul]);
            return Some((out, false));
        }
        out.extend_from_slice(&chunk);
        at = at.checked_add(want)?;
    }
    Some((out, true))
}

/// Captures what the string, argv and sockaddr arguments of a call point to
/// (`read(addr, len)` reads tracee memory). Unreadable memory (a bad
/// pointer: the call will fail with EFAULT) is skipped.
pub fn capture_args(spec: &SyscallSpec, args: &[u64; 6], mem: &dyn TraceeMemory) -> Vec<Captured> {
    let mut out = Vec::new();
    for (i, kind) in spec.args.iter().enumerate() {
        let value = args[i];
        if value == 0 {
            continue;
        }
        let captured = match kind {
            ArgKind::Path => read_c_string(value, MAX_PATH, mem).map(|(s, truncated)| Captured {
                arg: i as u8,
                items: vec![s],
                truncated,
            }),
            ArgKind::Argv => Some(capture_argv(i, value, mem)),
            ArgKind::SockAddr => {
                let len = args.get(i + 1).copied().unwrap_or(0).min(MAX_SOCKADDR);
                mem.read(value, len as usize).map(|b| Captured {
                    arg: i as u8,
                    items: vec![b],
                    truncated: false,
                })
            }
            _ => None,
        };
        out.extend(captured);
    }
    out
}

fn capture_argv(i: usize, mut at: u64, mem: &dyn TraceeMemory) -> Captured {
    let mut c = Captured {
        arg: i as u8,
        ..Captured::default()
    };
    while let Some(ptr) = mem
        .read(at, 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
    {
        if ptr == 0 {
            break;
        }
        if c.items.len() == MAX_ARGV {
            c.truncated = true;
            break;
        }
        let Some((s, cut)) = read_c_string(ptr, MAX_ARGV_ENTRY, mem) else {
            break;
        };
        c.truncated |= cut;
        c.items.push(s);
        at += 8;
    }
    c
}

/// How much of the data of reads and writes `dump` shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Display {
    /// Show at most this many bytes of a buffer read or written; `None`:
    /// show buffers as pointers.
    pub data: Option<usize>,
}

/// The bytes a buffer argument held, for display: the data a read returned
/// or the start of what a write sent, and the call's full length.
pub struct BufData<'a> {
    /// Index of the buffer argument.
    pub arg: usize,
    /// The bytes known (maybe fewer than `len`).
    pub bytes: &'a [u8],
    /// How many bytes the call transferred.
    pub len: u64,
}

/// The arguments of a call, strace-like: captured strings in quotes, flags
/// by name, buffers abbreviated when `display.data` asks for them.
pub fn format_args_decoded(
    spec: &SyscallSpec,
    args: &[u64; 6],
    captured: &[Captured],
    buf: Option<&BufData>,
    display: Display,
) -> String {
    let mut s = String::new();
    for (i, (kind, &value)) in spec.args.iter().zip(args).enumerate() {
        // As strace does, open's mode only when the flags create a file.
        let creates = libc::O_CREAT as u64 | libc::O_TMPFILE as u64;
        if *kind == ArgKind::Mode
            && i > 0
            && spec.args[i - 1] == ArgKind::OpenFlags
            && args[i - 1] & creates == 0
        {
            continue;
        }
        if i > 0 {
            s.push_str(", ");
        }
        if let Some(b) = buf.filter(|b| b.arg == i) {
            match display.data {
                Some(max) => quote(&mut s, b.bytes, max, b.len > b.bytes.len() as u64),
                None => format_value(&mut s, *kind, value),
            }
            continue;
        }
        match captured.iter().find(|c| c.arg as usize == i) {
            Some(c) => format_captured(&mut s, *kind, c),
            None => format_value(&mut s, *kind, value),
        }
    }
    s
}

fn format_captured(s: &mut String, kind: ArgKind, c: &Captured) {
    match kind {
        ArgKind::Argv => {
            s.push('[');
            for (k, item) in c.items.iter().enumerate() {
                if k > 0 {
                    s.push_str(", ");
                }
                quote(s, item, usize::MAX, false);
            }
            if c.truncated {
                s.push_str(", ...");
            }
            s.push(']');
        }
        ArgKind::SockAddr => sockaddr(s, c.items.first().map_or(&[][..], |v| v)),
        _ => quote(
            s,
            c.items.first().map_or(&[][..], |v| v),
            usize::MAX,
            c.truncated,
        ),
    }
}

/// One argument from its register alone.
pub(crate) fn format_value(s: &mut String, kind: ArgKind, value: u64) {
    // Writing to a String cannot fail.
    let _ = match kind {
        ArgKind::Int => write!(s, "{}", value as i64),
        ArgKind::Hex => write!(s, "{value:#x}"),
        // fds and signals are C ints: the upper half of the register is noise.
        ArgKind::Fd => match value as i32 {
            -100 => write!(s, "AT_FDCWD"),
            fd => write!(s, "{fd}"),
        },
        ArgKind::Ptr | ArgKind::Path | ArgKind::Argv | ArgKind::SockAddr if value == 0 => {
            write!(s, "NULL")
        }
        ArgKind::Ptr | ArgKind::Path | ArgKind::Argv | ArgKind::SockAddr => {
            write!(s, "{value:#x}")
        }
        ArgKind::Signal => write!(s, "{}", crate::signal_name(value as i32)),
        ArgKind::Mode => write!(s, "0{:o}", value as u32),
        ArgKind::OpenFlags => {
            s.push_str(&open_flags(value as u32));
            Ok(())
        }
        ArgKind::AtFlags => {
            s.push_str(&flags(value as u32, AT_FLAGS, "0"));
            Ok(())
        }
        ArgKind::AccessMode => {
            s.push_str(&flags(value as u32, ACCESS, "F_OK"));
            Ok(())
        }
        ArgKind::Prot => {
            s.push_str(&flags(value as u32, PROT, "PROT_NONE"));
            Ok(())
        }
        ArgKind::MapFlags => {
            s.push_str(&flags(value as u32, MAP, "0"));
            Ok(())
        }
    };
}

/// `bytes` as a C string literal, cut after `max` bytes (`...` when cut or
/// when `more` says the data went on).
fn quote(s: &mut String, bytes: &[u8], max: usize, more: bool) {
    s.push('"');
    for &b in bytes.iter().take(max) {
        let _ = match b {
            b'"' => write!(s, "\\\""),
            b'\\' => write!(s, "\\\\"),
            b'\n' => write!(s, "\\n"),
            b'\t' => write!(s, "\\t"),
            b'\r' => write!(s, "\\r"),
            0x20..=0x7e => write!(s, "{}", b as char),
            _ => write!(s, "\\x{b:02x}"),
        };
    }
    s.push('"');
    if more || bytes.len() > max {
        s.push_str("...");
    }
}

/// A `struct sockaddr`: AF_UNIX paths, AF_INET/AF_INET6 addresses and ports.
fn sockaddr(s: &mut String, b: &[u8]) {
    let family = match b {
        [lo, hi, ..] => u16::from_le_bytes([*lo, *hi]),
        _ => {
            s.push_str("{}");
            return;
        }
    };
    let port = |b: &[u8]| b.get(2..4).map_or(0, |p| u16::from_be_bytes([p[0], p[1]]));
    let _ = match family as i32 {
        libc::AF_UNIX => {
            let path = &b[2..];
            if path.first() == Some(&0) && path.len() > 1 {
                // An abstract socket: the name is every byte after the NUL.
                s.push_str("{AF_UNIX, @");
                quote(s, &path[1..], usize::MAX, false);
                s.push('}');
                Ok(())
            } else {
                let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
                s.push_str("{AF_UNIX, ");
                quote(s, &path[..end], usize::MAX, false);
                s.push('}');
                Ok(())
            }
        }
        libc::AF_INET if b.len() >= 8 => write!(
            s,
            "{{AF_INET, {}.{}.{}.{}:{}}}",
            b[4],
            b[5],
            b[6],
            b[7],
            port(b)
        ),
        libc::AF_INET6 if b.len() >= 24 => {
            let ip: [u8; 16] = b[8..24].try_into().expect("16 bytes");
            write!(
                s,
                "{{AF_INET6, [{}]:{}}}",
                std::net::Ipv6Addr::from(ip),
                port(b)
            )
        }
        f => write!(s, "{{family {f}}}"),
    };
}

const O_FLAGS: &[(u32, &str)] = &[
    (libc::O_CREAT as u32, "O_CREAT"),
    (libc::O_EXCL as u32, "O_EXCL"),
    (libc::O_NOCTTY as u32, "O_NOCTTY"),
    (libc::O_TRUNC as u32, "O_TRUNC"),
    (libc::O_APPEND as u32, "O_APPEND"),
    (libc::O_NONBLOCK as u32, "O_NONBLOCK"),
    (libc::O_DSYNC as u32, "O_DSYNC"),
    (libc::O_ASYNC as u32, "O_ASYNC"),
    (libc::O_DIRECT as u32, "O_DIRECT"),
    (libc::O_LARGEFILE as u32, "O_LARGEFILE"),
    (libc::O_DIRECTORY as u32, "O_DIRECTORY"),
    (libc::O_NOFOLLOW as u32, "O_NOFOLLOW"),
    (libc::O_NOATIME as u32, "O_NOATIME"),
    (libc::O_CLOEXEC as u32, "O_CLOEXEC"),
    // O_SYNC includes O_DSYNC's bit; O_TMPFILE includes O_DIRECTORY's.
    (libc::O_SYNC as u32, "O_SYNC"),
    (libc::O_PATH as u32, "O_PATH"),
    (libc::O_TMPFILE as u32, "O_TMPFILE"),
];

const AT_FLAGS: &[(u32, &str)] = &[
    (libc::AT_SYMLINK_NOFOLLOW as u32, "AT_SYMLINK_NOFOLLOW"),
    (libc::AT_REMOVEDIR as u32, "AT_REMOVEDIR"),
    (libc::AT_SYMLINK_FOLLOW as u32, "AT_SYMLINK_FOLLOW"),
    (libc::AT_NO_AUTOMOUNT as u32, "AT_NO_AUTOMOUNT"),
    (libc::AT_EMPTY_PATH as u32, "AT_EMPTY_PATH"),
    (libc::AT_STATX_FORCE_SYNC as u32, "AT_STATX_FORCE_SYNC"),
    (libc::AT_STATX_DONT_SYNC as u32, "AT_STATX_DONT_SYNC"),
];

const ACCESS: &[(u32, &str)] = &[(4, "R_OK"), (2, "W_OK"), (1, "X_OK")];

const PROT: &[(u32, &str)] = &[
    (libc::PROT_READ as u32, "PROT_READ"),
    (libc::PROT_WRITE as u32, "PROT_WRITE"),
    (libc::PROT_EXEC as u32, "PROT_EXEC"),
];

const MAP: &[(u32, &str)] = &[
    (libc::MAP_SHARED as u32, "MAP_SHARED"),
    (libc::MAP_PRIVATE as u32, "MAP_PRIVATE"),
    (libc::MAP_FIXED as u32, "MAP_FIXED"),
    (libc::MAP_ANONYMOUS as u32, "MAP_ANONYMOUS"),
    (libc::MAP_GROWSDOWN as u32, "MAP_GROWSDOWN"),
    (libc::MAP_DENYWRITE as u32, "MAP_DENYWRITE"),
    (libc::MAP_EXECUTABLE as u32, "MAP_EXECUTABLE"),
    (libc::MAP_LOCKED as u32, "MAP_LOCKED"),
    (libc::MAP_NORESERVE as u32, "MAP_NORESERVE"),
    (libc::MAP_POPULATE as u32, "MAP_POPULATE"),
    (libc::MAP_NONBLOCK as u32, "MAP_NONBLOCK"),
    (libc::MAP_STACK as u32, "MAP_STACK"),
    (libc::MAP_HUGETLB as u32, "MAP_HUGETLB"),
    (libc::MAP_FIXED_NOREPLACE as u32, "MAP_FIXED_NOREPLACE"),
];

/// `O_RDONLY|O_CLOEXEC`: the access mode, then the flags set, then any
/// unknown bits in hex.
pub fn open_flags(v: u32) -> String {
    let mode = match v & 3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    };
    let rest = flags(v & !3, O_FLAGS, "");
    if rest.is_empty() {
        mode.to_string()
    } else {
        format!("{mode}|{rest}")
    }
}

/// The names of the bits set in `v`, `|`-separated (a name whose bits
/// include another's takes them all), unknown bits in hex; `zero` for 0.
fn flags(v: u32, names: &[(u32, &str)], zero: &str) -> String {
    if v == 0 {
        return zero.to_string();
    }
    let mut left = v;
    let mut parts: Vec<String> = Vec::new();
    // Wider names first, so O_SYNC is not shown as O_DSYNC plus a bit.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by_key(|&k| std::cmp::Reverse(names[k].0.count_ones()));
    let mut shown: Vec<usize> = Vec::new();
    for k in order {
        let bits = names[k].0;
        if bits != 0 && left & bits == bits {
            left &= !bits;
            shown.push(k);
        }
    }
    // In the table's order, as strace prints them.
    shown.sort_unstable();
    parts.extend(shown.iter().map(|&k| names[k].1.to_string()));
    if left != 0 {
        parts.push(format!("{left:#x}"));
    }
    parts.join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_by_name() {
        assert_eq!(open_flags(0o2000000), "O_RDONLY|O_CLOEXEC");
        assert_eq!(open_flags(0o1101), "O_WRONLY|O_CREAT|O_TRUNC");
        assert_eq!(open_flags(0o4010002), "O_RDWR|O_SYNC");
        assert_eq!(flags(0, ACCESS, "F_OK"), "F_OK");
        assert_eq!(flags(5, ACCESS, "F_OK"), "R_OK|X_OK");
        assert_eq!(
            flags(0x1000_0000 | 1, PROT, "PROT_NONE"),
            "PROT_READ|0x10000000"
        );
    }

    #[test]
    fn strings_stop_at_nul_and_page_ends() {
        let mem: Vec<u8> = b"/etc/hostname\0junk".to_vec();
        let base = 4096 * 3 - 5; // the string crosses a page boundary
        let read = |addr: u64, len: usize| -> Option<Vec<u8>> {
            let off = addr.checked_sub(base)? as usize;
            // Reads may not cross a page.
            assert!(addr / 4096 == (addr + len as u64 - 1) / 4096);
            Some(mem.get(off..)?.iter().copied().take(len).collect())
        };
        assert_eq!(
            read_c_string(base, 100, &read),
            Some((b"/etc/hostname".to_vec(), false))
        );
        assert_eq!(
            read_c_string(base, 4, &read),
            Some((b"/etc".to_vec(), true))
        );
    }

    #[test]
    fn sockaddrs() {
        let mut s = String::new();
        let mut inet = vec![2u8, 0, 0x1f, 0x90, 127, 0, 0, 1];
        inet.extend([0; 8]);
        sockaddr(&mut s, &inet);
        assert_eq!(s, "{AF_INET, 127.0.0.1:8080}");
        s.clear();
        sockaddr(&mut s, b"\x01\x00/run/x.sock\0");
        assert_eq!(s, "{AF_UNIX, \"/run/x.sock\"}");
    }
}
