//! The in-process syscall fast path: its ABI (the buffer the tracee logs
//! into), the patching of a syscall site and the per-site trampoline.
//!
//! A ptrace stop costs ~85 µs per syscall. At a site's first stop for a
//! call on the buffered list ([`buffered`]), reel replaces the site's
//! `syscall` (with the `mov eax, NR` or `xor eax, eax` before it, or the
//! instruction after it when needed for room) by a `jmp rel32` into a
//! trampoline on a page mapped near the site. The trampoline checks its
//! guards (the path is enabled, the buffer has room, the fd is one reel
//! marked safe), makes the call through the private code page's second
//! `syscall` (the only other one the seccomp filter lets through), and
//! appends number, arguments, result and the bytes the call wrote (or, for a
//! write, sent) to the
//! buffer. When a guard fails it makes the call from its own `syscall`,
//! which is traced like any other (and drains the buffer: the recorder
//! empties it at every ptrace stop).
//!
//! The same trampoline serves replay ([`MODE`] set): there it compares
//! the call's number and arguments with the next record the replayer put
//! in the buffer and, when they agree, returns the recorded result and
//! copies the recorded bytes without entering the kernel. Otherwise (no
//! record left, a mismatch: a divergence) it makes the call from its own
//! `syscall`, which stops, and the replayer takes over. On the fast path
//! the trampoline leaves rcx and r11 exactly as that `syscall` would (the
//! address after it, the flags), so registers agree at every point.
//!
//! This file is the one place that defines the layout; bump
//! [`PROTOCOL_VERSION`] when it changes.

use crate::{PAGE_SIZE, PRIVATE_LEN, PRIVATE_PAGE};
use iced_x86::{Code, Decoder, DecoderOptions, FlowControl, Instruction, Register};

mod trampoline;
pub use trampoline::{build, Trampoline};

/// Version of the buffer and trampoline layout.
pub const PROTOCOL_VERSION: u32 = 1;

/// The fast path's `syscall` in the private code page.
pub const FAST_SYSCALL: u64 = PRIVATE_PAGE + 0x10;
/// The rip the kernel reports for it: the seccomp filter allows it.
pub const FAST_SYSCALL_RIP: u64 = FAST_SYSCALL + 2;
/// The buffer's header page (after the code and scratch pages).
pub const HEADER: u64 = PRIVATE_PAGE + 2 * PAGE_SIZE;
/// Where the trampoline leaves the address the fast `syscall` returns to.
const RET_SLOT: i64 = 0;
const SAVE_RDI: i64 = 8;
const SAVE_RSI: i64 = 16;
/// Offset of the bytes used in the data area.
pub const USED: u64 = 24;
/// Non-zero while the fast path is on.
pub const ENABLED: u64 = 32;
/// Non-zero at replay: the trampolines take their results from records
/// the replayer wrote, from [`CURSOR`] up to [`END`].
pub const MODE: u64 = 40;
/// Offset in the data area of the next record replay hands out.
pub const CURSOR: u64 = 48;
/// End of the records replay hands out.
pub const END: u64 = 56;
/// A bitmap of the file descriptors the fast path may use.
pub const FD_MAP: u64 = 64;
/// File descriptors the bitmap covers.
pub const FD_LIMIT: u64 = 1024;
/// Offset of the data area from the header.
const DATA_OFF: i64 = PAGE_SIZE as i64;
/// Size of the data area.
pub const DATA_LEN: u64 = PRIVATE_LEN - 3 * PAGE_SIZE;
/// Bytes of a record before its data: nr, 6 arguments, result, length.
pub const RECORD_HEAD: u64 = 72;

/// The private code page's fast entry: `syscall; jmp [rip + to RET_SLOT]`.
pub fn fast_code() -> [u8; 8] {
    let disp = (HEADER as i64 + RET_SLOT - (FAST_SYSCALL as i64 + 8)) as i32;
    let d = disp.to_le_bytes();
    [0x0f, 0x05, 0xff, 0x25, d[0], d[1], d[2], d[3]]
}

/// What a buffered call writes to memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Out {
    /// Nothing.
    Nothing,
    /// `len` bytes at argument `arg`, when the call returns 0.
    Fixed {
        /// Argument holding the address.
        arg: usize,
        /// Bytes written.
        len: u32,
    },
    /// As many bytes as it returns, at argument `arg`.
    Returned {
        /// Argument holding the address.
        arg: usize,
        /// Argument bounding the count.
        count: usize,
    },
    /// Nothing, but it sends as many bytes as it returns from argument
    /// `arg` (a write): the record keeps them for the recorder to hash,
    /// as it hashes a traced call's; replay checks them at the call's stop.
    Sent {
        /// Argument holding the address.
        arg: usize,
        /// Argument bounding the count.
        count: usize,
    },
}

/// A condition the trampoline checks before taking the fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Argument 0 is a file descriptor reel marked in [`FD_MAP`].
    Fd,
    /// Argument `.0` is zero.
    Zero(usize),
    /// Argument `.0` is one of these values.
    OneOf(usize, &'static [u64]),
}

/// A syscall the fast path performs in-process.
#[derive(Debug, Clone, Copy)]
pub struct Buffered {
    /// Its number.
    pub nr: u64,
    /// What it writes.
    pub out: Out,
    /// What must hold for it to take the fast path.
    pub guards: &'static [Guard],
}

const fn b(nr: i64, out: Out, guards: &'static [Guard]) -> Buffered {
    Buffered {
        nr: nr as u64,
        out,
        guards,
    }
}

/// The calls the fast path buffers: none may block, and each writes memory
/// whose size is known before the call (a read's bounded by its count).
pub const BUFFERED: &[Buffered] = &[
    b(libc::SYS_getpid, Out::Nothing, &[]),
    b(libc::SYS_gettid, Out::Nothing, &[]),
    b(libc::SYS_getppid, Out::Nothing, &[]),
    b(libc::SYS_clock_gettime, Out::Fixed { arg: 1, len: 16 }, &[]),
    b(
        libc::SYS_gettimeofday,
        Out::Fixed { arg: 0, len: 16 },
        &[Guard::Zero(1)],
    ),
    b(libc::SYS_lseek, Out::Nothing, &[]),
    b(libc::SYS_fstat, Out::Fixed { arg: 1, len: 144 }, &[]),
    b(libc::SYS_newfstatat, Out::Fixed { arg: 2, len: 144 }, &[]),
    b(libc::SYS_statx, Out::Fixed { arg: 4, len: 256 }, &[]),
    b(
        libc::SYS_read,
        Out::Returned { arg: 1, count: 2 },
        &[Guard::Fd],
    ),
    b(
        libc::SYS_pread64,
        Out::Returned { arg: 1, count: 2 },
        &[Guard::Fd],
    ),
    b(
        libc::SYS_write,
        Out::Sent { arg: 1, count: 2 },
        &[Guard::Fd],
    ),
    b(
        libc::SYS_pwrite64,
        Out::Sent { arg: 1, count: 2 },
        &[Guard::Fd],
    ),
    b(libc::SYS_access, Out::Nothing, &[]),
    b(libc::SYS_faccessat, Out::Nothing, &[]),
    b(libc::SYS_faccessat2, Out::Nothing, &[]),
    b(
        libc::SYS_fcntl,
        Out::Nothing,
        &[Guard::OneOf(
            1,
            &[libc::F_GETFD as u64, libc::F_GETFL as u64],
        )],
    ),
    b(libc::SYS_getrandom, Out::Returned { arg: 0, count: 1 }, &[]),
];

/// The fast path's description of syscall `nr`, when it buffers it.
pub fn buffered(nr: u64) -> Option<&'static Buffered> {
    BUFFERED.iter().find(|b| b.nr == nr)
}

/// A syscall site that can be patched: the range the jump replaces.
#[derive(Debug, Clone)]
pub struct Site {
    /// First byte replaced.
    pub start: u64,
    /// End of the range replaced.
    pub end: u64,
    /// Address of the `syscall` instruction.
    pub syscall: u64,
    /// The instructions replaced before the `syscall` (setting eax).
    before: Vec<Instruction>,
    /// Those replaced after it.
    after: Vec<Instruction>,
}

/// Decodes the site of the `syscall` at `at` for call `nr`, given the
/// code `bytes` read from `from` (up to 128 bytes before it, some after).
/// None when the site has no known shape or a branch seen in the
/// decoded neighbourhood lands inside the range to replace.
pub fn plan_site(bytes: &[u8], from: u64, at: u64, nr: u64) -> Option<Site> {
    let off = at.checked_sub(from)? as usize;
    if bytes.get(off..off + 2)? != [0x0f, 0x05] {
        return None;
    }
    // The shapes of libc's wrappers: `mov eax, NR` or `xor eax, eax` (NR 0)
    // right before the syscall.
    let decode_one = |start: u64| {
        let s = start.checked_sub(from)? as usize;
        let mut d = Decoder::with_ip(64, bytes.get(s..)?, start, DecoderOptions::NONE);
        Some(d.decode())
    };
    let mut before = None;
    for len in [5u64, 2] {
        let Some(i) = at.checked_sub(len).and_then(decode_one) else {
            continue;
        };
        let sets_eax = match i.code() {
            Code::Mov_r32_imm32 => {
                i.op0_register() == Register::EAX && i.immediate32() as u64 == nr
            }
            Code::Xor_r32_rm32 | Code::Xor_rm32_r32 => {
                nr == 0 && i.op0_register() == Register::EAX && i.op1_register() == Register::EAX
            }
            _ => false,
        };
        if sets_eax && i.next_ip() == at {
            before = Some(i);
            break;
        }
    }
    let before = before?;
    let start = before.ip();
    let mut end = at + 2;
    let mut after = Vec::new();
    let mut d = Decoder::with_ip(64, bytes.get(off + 2..)?, end, DecoderOptions::NONE);
    while end - start < 5 {
        if !d.can_decode() {
            return None;
        }
        let i = d.decode();
        if i.is_invalid() || i.flow_control() != FlowControl::Next || i.is_ip_rel_memory_operand() {
            return None;
        }
        end = i.next_ip();
        after.push(i);
    }
    if branch_into(bytes, from, start, end) {
        return None;
    }
    Some(Site {
        start,
        end,
        syscall: at,
        before: vec![before],
        after,
    })
}

/// Whether a branch decoded around the site targets the inside of
/// `(start, end)`. Decoding starts at the first offset of `bytes` from
/// which the instructions fall on `start`.
fn branch_into(bytes: &[u8], from: u64, start: u64, end: u64) -> bool {
    let lead = (start - from) as usize;
    for skip in 0..=lead {
        let mut d = Decoder::with_ip(64, &bytes[skip..], from + skip as u64, DecoderOptions::NONE);
        let mut found = Vec::new();
        let mut synced = false;
        while d.can_decode() {
            let i = d.decode();
            if i.is_invalid() {
                break;
            }
            if i.ip() == start {
                synced = true;
            }
            if i.ip() < start && i.next_ip() > start {
                break;
            }
            found.push(i);
        }
        if !synced {
            continue;
        }
        return found.iter().any(|i| {
            matches!(
                i.flow_control(),
                FlowControl::ConditionalBranch
                    | FlowControl::UnconditionalBranch
                    | FlowControl::Call
            ) && (start + 1..end).contains(&i.near_branch_target())
        });
    }
    // No decoding falls on the site: its neighbourhood is not code we
    // understand.
    true
}

/// How many argument registers call `nr` reads (the replayer's own check
/// compares as many).
pub fn arity(nr: u64) -> usize {
    match nr as i64 {
        libc::SYS_getpid | libc::SYS_gettid | libc::SYS_getppid => 0,
        libc::SYS_clock_gettime | libc::SYS_gettimeofday | libc::SYS_fstat => 2,
        libc::SYS_access => 2,
        libc::SYS_lseek | libc::SYS_read | libc::SYS_write | libc::SYS_faccessat => 3,
        libc::SYS_fcntl | libc::SYS_getrandom => 3,
        libc::SYS_pread64 | libc::SYS_pwrite64 | libc::SYS_newfstatat => 4,
        libc::SYS_faccessat2 => 4,
        libc::SYS_statx => 5,
        _ => 6,
    }
}

/// Writes `records` in the buffer's format (see [`parse`]).
pub fn encode(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        out.extend_from_slice(&r.nr.to_le_bytes());
        for a in r.args {
            out.extend_from_slice(&a.to_le_bytes());
        }
        out.extend_from_slice(&r.result.to_le_bytes());
        out.extend_from_slice(&(r.data.len() as u64).to_le_bytes());
        out.extend_from_slice(&r.data);
        out.resize(out.len().div_ceil(8) * 8, 0);
    }
    out
}

/// One call read back from the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Syscall number.
    pub nr: u64,
    /// Its arguments.
    pub args: [u64; 6],
    /// Its result.
    pub result: i64,
    /// The bytes it wrote, at the address in the argument [`Out`] names.
    pub data: Vec<u8>,
}

/// Parses the first `used` bytes of a data area. None when they are not
/// a sequence of whole records.
pub fn parse(area: &[u8]) -> Option<Vec<Record>> {
    let word = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(area.get(at..at + 8)?.try_into().ok()?))
    };
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < area.len() {
        let nr = word(at)?;
        let mut args = [0u64; 6];
        for (i, a) in args.iter_mut().enumerate() {
            *a = word(at + 8 + 8 * i)?;
        }
        let result = word(at + 56)? as i64;
        let len = word(at + 64)? as usize;
        let start = at + RECORD_HEAD as usize;
        let data = area.get(start..start.checked_add(len)?)?.to_vec();
        out.push(Record {
            nr,
            args,
            result,
            data,
        });
        at = (start + len + 7) & !7;
    }
    Some(out)
}

/// Where a record's data went: (address, length), from its call's [`Out`].
pub fn output_of(rec: &Record) -> Option<(u64, u64)> {
    let call = buffered(rec.nr)?;
    match call.out {
        Out::Nothing | Out::Sent { .. } => None,
        Out::Fixed { arg, .. } | Out::Returned { arg, .. } => {
            (!rec.data.is_empty()).then(|| (rec.args[arg], rec.data.len() as u64))
        }
    }
}

/// The bytes a record's call sent (a write's), when its [`Out`] says so.
pub fn sent_of(rec: &Record) -> Option<&[u8]> {
    match buffered(rec.nr)?.out {
        Out::Sent { .. } => (rec.result > 0).then_some(&rec.data[..]),
        _ => None,
    }
}

/// Whether a trampoline answers call `nr` from a record at replay (a
/// write is replayed at its stop instead, see [`Out::Sent`]).
pub fn answered_in_replay(nr: u64) -> bool {
    buffered(nr).is_some_and(|b| !matches!(b.out, Out::Sent { .. }))
}

/// The instruction pointer of task `tid` of a traced process, as
/// `/proc/TID/syscall` shows it for a task that is stopped or blocked in a
/// call. None while it runs.
pub fn task_pc(tid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{tid}/syscall")).ok()?;
    let last = s.split_whitespace().last()?;
    u64::from_str_radix(last.trim_start_matches("0x"), 16).ok()
}

/// Whether reads and writes of file descriptor `fd` of task `tid` never
/// wait for another process: a regular file, or /dev/null, zero, full,
/// random or urandom.
pub fn fd_never_blocks(tid: i32, fd: i32) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(m) = std::fs::metadata(format!("/proc/{tid}/fd/{fd}")) else {
        return false;
    };
    if m.is_file() {
        return true;
    }
    let (major, minor) = (libc::major(m.rdev()), libc::minor(m.rdev()));
    m.file_type().is_char_device() && major == 1 && matches!(minor, 3 | 5 | 7 | 8 | 9)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// glibc's getppid and read wrappers, as this machine's libc has them.
    const GETPPID: [u8; 8] = [0xb8, 0x6e, 0, 0, 0, 0x0f, 0x05, 0xc3];
    const READ: [u8; 22] = [
        0x80, 0x3d, 0x31, 0x33, 0x0e, 0x00, 0x00, 0x74, 0x17, 0x31, 0xc0, 0x0f, 0x05, 0x48, 0x3d,
        0x00, 0xf0, 0xff, 0xff, 0x77, 0x5b, 0xc3,
    ];

    #[test]
    fn plans_and_builds_glibc_shapes() {
        let at = 0x7fff_f7ea_a4f0;
        let site = plan_site(&GETPPID, at, at + 5, 0x6e).expect("getppid plan");
        assert_eq!((site.start, site.end), (at, at + 7));
        let t = build(&site, buffered(0x6e).unwrap(), at + 0x10_0000).expect("getppid trampoline");
        assert_eq!(t.patch.len(), 7);
        assert!(t.resume.is_none());
        let site = plan_site(&READ, at, at + 11, 0).expect("read plan");
        assert_eq!((site.start, site.end), (at + 9, at + 19));
        let t = build(&site, buffered(0).unwrap(), at - 0x10_0000).expect("read trampoline");
        assert!(t.resume.is_some());
        if let Some(out) = std::env::var_os("DUMP_TRAMPOLINE") {
            std::fs::write(out, &t.code).unwrap();
        }
        // A branch into the range forbids it.
        let mut jumpy = READ;
        jumpy[8] = 0x02; // je -> at + 11 (the syscall)
        assert!(plan_site(&jumpy, at, at + 11, 0).is_none());
    }

    #[test]
    fn parses_records() {
        let mut area = Vec::new();
        for w in [39u64, 1, 2, 3, 4, 5, 6, 77, 3] {
            area.extend_from_slice(&w.to_le_bytes());
        }
        area.extend_from_slice(b"abc\0\0\0\0\0");
        let recs = parse(&area).expect("parsed");
        assert_eq!(encode(&recs), area);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].data, b"abc");
        assert_eq!(recs[0].result, 77);
        assert!(parse(&area[..40]).is_none());
    }
}
