//! The one table of x86-64 system call behaviour.
//!
//! Recorder and replayer both look a syscall up here: its name, how to print
//! its arguments, which tracee memory it writes, and what replay does with it.
//! To learn how reel treats a syscall, read its row in [`TABLE`] (`src/table.rs`); nothing else
//! in reel decides that.
//!
//! # Notes for the recorder and the replayer
//!
//! - Use [`policy_for`] rather than `spec.policy`: a few argument values
//!   (`prctl(PR_SET_SECCOMP)`, `clone(CLONE_VM)` ...) are treated differently
//!   from the rest of their syscall.
//! - [`output_ranges`] is meant for the syscall-exit stop: `Custom` outputs
//!   read tracee memory the kernel just updated (`*addrlen`, `msg_controllen`,
//!   iovec arrays ...). It is also meaningful for failed calls: a few write
//!   even then (interrupted `nanosleep`/`poll`/`select`, `waitid`, `capget`).
//! - `mremap` is `Execute { check_result: true }`: when the call may move the
//!   mapping (MREMAP_MAYMOVE), replay should pass MREMAP_FIXED with the
//!   recorded address, or the kernel may pick another place.
//! - `restart_syscall` continues an interrupted `nanosleep`, `clock_nanosleep`
//!   or `poll`; it writes what the original call would have written, with the
//!   original arguments: the recorder must apply the original row.
//! - The kernel also writes tracee memory outside any syscall's outputs: the
//!   `clear_child_tid` word (`set_tid_address`) and robust futex lists when a
//!   thread exits. Those rows are executed at replay so that happens again.
//! - `ioctl` requests that neither encode their size nor are listed are
//!   assumed to write nothing: [`ioctl_is_described`] tells which, so the
//!   recorder can warn.

#![warn(missing_docs)]

mod decode;
pub mod filter;
mod format;
mod outputs;
mod table;

pub use decode::{
    capture_args, format_args_decoded, open_flags, read_c_string, BufData, Captured, Display,
    MAX_PATH,
};
pub use format::{errno_name, format_args, format_result, signal_name};
pub use outputs::{ioctl_is_described, output_ranges, semctl_getall, TraceeMemory, MAX_OUTPUT_LEN};
pub use table::TABLE;

/// How an argument is printed by `reel dump`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// Signed decimal.
    Int,
    /// Unsigned hexadecimal (flags, masks, sizes are fine as hex too).
    Hex,
    /// A file descriptor (decimal; `AT_FDCWD` shown by name).
    Fd,
    /// A pointer (hex, `NULL` for 0).
    Ptr,
    /// A pointer to a NUL-terminated path: the recorder captures the string
    /// (up to PATH_MAX) at entry, `dump` prints it quoted.
    Path,
    /// A signal number (printed by name).
    Signal,
    /// A NULL-terminated array of string pointers (execve's argv): captured
    /// (up to 64 entries of 256 bytes), printed as a list.
    Argv,
    /// A pointer to a `struct sockaddr` whose length is the next argument:
    /// captured, printed decoded (`{AF_INET, 127.0.0.1:80}`).
    SockAddr,
    /// open/openat flags, by name (`O_RDONLY|O_CLOEXEC`).
    OpenFlags,
    /// A file mode, in octal.
    Mode,
    /// `AT_*` flags of the *at calls, by name.
    AtFlags,
    /// access(2)'s mode (`R_OK|W_OK`, `F_OK`).
    AccessMode,
    /// mmap/mprotect protection (`PROT_READ|PROT_EXEC`).
    Prot,
    /// mmap flags (`MAP_PRIVATE|MAP_ANONYMOUS`).
    MapFlags,
}

/// What replay does with a syscall, and what record does besides running it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Record its result and memory writes; replay returns them without running it.
    Emulate,
    /// Runs for real at record and at replay because it shapes the address space
    /// or task state the replay depends on (mprotect, arch_prctl, rt_sigaction ...).
    /// Replay executes it with the recorded arguments; when `check_result` is set
    /// a different result is a divergence, otherwise the recorded result is
    /// returned to the program (e.g. `set_tid_address` returns a tid).
    Execute {
        /// Whether replay's result must equal the recorded one.
        check_result: bool,
    },
    /// Needs dedicated code in both sessions; the variant names it.
    Special(Special),
    /// reel makes it fail with this errno at record time (never running it), so
    /// the program falls back to something reel records; replay returns the same.
    Refuse {
        /// The positive errno returned.
        errno: i32,
    },
    /// Not supported yet: at record the program gets ENOSYS and reel warns,
    /// naming the syscall; the trace stays replayable.
    Unsupported,
}

/// Syscalls handled by dedicated code in the recorder and the replayer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// execve/execveat: replay rebuilds the address space from snapshots.
    Execve,
    /// mmap: file mappings are replayed from snapshots, at the recorded address.
    Mmap,
    /// brk: replay maps/unmaps the heap growth at the recorded addresses.
    Brk,
    /// exit: the thread ends.
    Exit,
    /// exit_group: the process ends.
    ExitGroup,
    /// fork, vfork, clone (of a process, not a thread): a new task. Replay
    /// creates it with fork semantics (a vfork child gets its own copy of
    /// memory, so that replaying its exec cannot touch the parent's).
    Clone,
    /// mremap: replay runs it, forcing the recorded new address when the
    /// kernel was allowed to move the mapping.
    Mremap,
    /// shmat, shmdt: System V shared memory. The recorder snapshots a
    /// segment at its first attach (the `mapped_file` of the event); replay
    /// maps one file of its own per segment, shared, at the recorded
    /// address, and shmdt unmaps it.
    Shm,
}

/// How a syscall's data reaches a file descriptor (used to echo writes to
/// reel's stdout/stderr during replay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    /// `fd` argument index, buffer argument index; the length is the result.
    Buf {
        /// Index of the fd argument.
        fd: usize,
        /// Index of the buffer argument.
        buf: usize,
    },
    /// The kernel copies data from another file to the descriptor at
    /// `args[fd]` (sendfile, splice, tee, copy_file_range): the bytes never
    /// pass through the program's memory, so replay could not reproduce them
    /// from it. When that descriptor is reel's stdout or stderr the recorder
    /// fails the call with EINVAL, as kernels do for many file pairs, and the
    /// program falls back to read and write.
    InKernel {
        /// Index of the destination fd argument.
        fd: usize,
    },
    /// `fd` argument index and the index of a `struct msghdr *` argument
    /// whose iovec array (`msg_iov`, `msg_iovlen`) holds the bytes (sendmsg).
    Msg {
        /// Index of the fd argument.
        fd: usize,
        /// Index of the msghdr argument.
        msg: usize,
    },
    /// `fd` argument index, iovec array argument index, count argument index.
    Iov {
        /// Index of the fd argument.
        fd: usize,
        /// Index of the iovec array argument.
        iov: usize,
        /// Index of the iovec count argument.
        cnt: usize,
    },
}

/// Which tracee memory a syscall writes, in terms of its arguments and result.
/// Evaluated at record time only on success (result >= 0), except `Custom`.
#[derive(Debug, Clone, Copy)]
pub enum Out {
    /// Writes nothing to tracee memory.
    Nothing,
    /// `args[arg]` receives `result` bytes (read, getdents64, getrandom, readlink ...).
    BufResult {
        /// Index of the buffer argument.
        arg: usize,
    },
    /// `args[arg]`, when not NULL, receives `size` bytes (fstat, uname, clock_gettime ...).
    Fixed {
        /// Index of the pointer argument.
        arg: usize,
        /// Bytes written.
        size: u64,
    },
    /// `args[arg]`, when not NULL, receives `args[size_arg]` bytes.
    SizedByArg {
        /// Index of the pointer argument.
        arg: usize,
        /// Index of the size argument.
        size_arg: usize,
    },
    /// The iovec array `args[iov]` with `args[cnt]` entries is filled in order
    /// with `result` bytes (readv, preadv, preadv2).
    IovResult {
        /// Index of the iovec array argument.
        iov: usize,
        /// Index of the count argument.
        cnt: usize,
    },
    /// Several independent outputs.
    Many(&'static [Out]),
    /// Needs to look at the arguments or tracee memory (ioctl, recvmsg, select ...).
    /// Unlike the other variants it is evaluated for failed calls too.
    Custom(OutputFn),
}

/// A custom output description: `(args, result, tracee memory)` to the
/// `(address, length)` ranges written. Called at the syscall-exit stop, for
/// failed calls too: it decides what a failure wrote.
pub type OutputFn = fn(&[u64; 6], i64, &dyn TraceeMemory) -> Vec<(u64, u64)>;

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct SyscallSpec {
    /// The x86-64 syscall number.
    pub nr: u64,
    /// The kernel's name for it (`newfstatat`, not `fstatat`).
    pub name: &'static str,
    /// Its arguments, for printing; the length is the argument count.
    pub args: &'static [ArgKind],
    /// What record and replay do with it.
    pub policy: Policy,
    /// What memory it writes.
    pub out: Out,
    /// Whether it sends data to a file descriptor that might be reel's stdout/stderr.
    pub emit: Option<Emit>,
    /// Whether it can block indefinitely (read from a pipe, wait4, futex wait ...):
    /// the scheduler may switch threads at such a call.
    pub may_block: bool,
}

/// The row for syscall `nr`, or `None` for a number the kernel does not define.
///
/// O(1): a compile-time index maps numbers to rows (this runs on every syscall).
#[inline]
pub fn spec(nr: u64) -> Option<&'static SyscallSpec> {
    let i = *table::INDEX.get(usize::try_from(nr).ok()?)?;
    (i != table::NO_ROW).then(|| &TABLE[usize::from(i)])
}

/// Whether a refusal of `nr` (its table row's `Refuse`) goes without a
/// `reel:` warning: the kernel itself answers ENOSYS to the obsolete calls,
/// and libc falls back without the program telling the difference when
/// rseq or clone3 fail (glibc makes both at every start and thread).
/// Every other refused call is named in a warning the first time.
pub fn refused_quietly(nr: u64) -> bool {
    const QUIET: &[&str] = &[
        "rseq",
        "clone3",
        "seccomp",
        "uselib",
        "_sysctl",
        "create_module",
        "get_kernel_syms",
        "query_module",
        "nfsservctl",
        "getpmsg",
        "putpmsg",
        "afs_syscall",
        "tuxcall",
        "security",
        "vserver",
        "epoll_ctl_old",
        "epoll_wait_old",
        "lookup_dcookie",
    ];
    spec(nr).is_some_and(|s| QUIET.contains(&s.name))
}

/// Whether `nr` could be a syscall of some x86-64 kernel: the 64-bit
/// table ends below 512 (512 and up are x32 numbers); negative numbers and
/// x32-flagged ones are not 64-bit syscalls at all.
pub fn may_exist(nr: u64) -> bool {
    nr < 512
}

/// The row for a syscall name.
pub fn by_name(name: &str) -> Option<&'static SyscallSpec> {
    TABLE.iter().find(|s| s.name == name)
}

/// The policy for one particular call: the row's policy, except for the few
/// argument values that need another treatment than the rest of their
/// syscall. The recorder should use this rather than `spec.policy`.
///
/// - `prctl(PR_SET_SECCOMP)`, like the `seccomp` syscall, never reaches
///   the kernel: the recorder runs the program's filters itself (see
///   [`filter`]) and answers the call; the policy here (EINVAL) is what
///   replay sees. `prctl(PR_SET_TSC)` is refused with EINVAL (reel traps
///   RDTSC with it).
/// - `prctl(PR_SET_MM)` (rewrites brk/stack/auxv bounds) and
///   `prctl(PR_SET_SYSCALL_USER_DISPATCH)` are unsupported.
/// - `arch_prctl(ARCH_SET_CPUID)` is refused with ENODEV, what kernels without
///   CPUID faulting return, because reel may use CPUID faulting itself.
/// - `clone(CLONE_VM)` without `CLONE_VFORK` or `CLONE_THREAD` is
///   unsupported (parent and child would run at once in one memory, outside
///   the thread scheduler).
/// - A call that would map, unmap, move or change reel's private pages
///   ([`touches_reel_pages`]) is refused with EPERM: code placed there could
///   make syscalls the seccomp filter lets through unrecorded.
pub fn policy_for(spec: &SyscallSpec, args: &[u64; 6]) -> Policy {
    if touches_reel_pages(spec.nr, args) {
        return Policy::Refuse { errno: libc::EPERM };
    }
    const PR_SET_SECCOMP: u32 = 22;
    const PR_SET_TSC: u32 = 26;
    const PR_SET_MM: u32 = 35;
    const PR_SET_SYSCALL_USER_DISPATCH: u32 = 59;
    const ARCH_SET_CPUID: u32 = 0x1012;
    match (spec.nr as i64, args[0] as u32) {
        (libc::SYS_prctl, PR_SET_SECCOMP | PR_SET_TSC) => Policy::Refuse {
            errno: libc::EINVAL,
        },
        (libc::SYS_prctl, PR_SET_MM | PR_SET_SYSCALL_USER_DISPATCH) => Policy::Unsupported,
        (libc::SYS_arch_prctl, ARCH_SET_CPUID) => Policy::Refuse {
            errno: libc::ENODEV,
        },
        // A process sharing memory with its parent while both run is a
        // thread reel would not know to schedule (CLONE_VFORK, where the
        // parent waits, and CLONE_THREAD are fine).
        (libc::SYS_clone, _)
            if args[0] & libc::CLONE_VM as u64 != 0
                && args[0] & (libc::CLONE_VFORK | libc::CLONE_THREAD) as u64 == 0 =>
        {
            Policy::Unsupported
        }
        _ => spec.policy,
    }
}

/// Clears `CLONE_UNTRACED` from the flags of a `clone` call (`args`): its
/// child must be traced like any other, when recording and when replaying.
/// Returns whether the flag was set.
pub fn drop_untraced(nr: u64, args: &mut [u64; 6]) -> bool {
    let untraced = libc::CLONE_UNTRACED as u64;
    if nr != libc::SYS_clone as u64 || args[0] & untraced == 0 {
        return false;
    }
    args[0] &= !untraced;
    true
}

/// The syscall's name, or `syscall_N` for an unknown number.
pub fn name(nr: u64) -> String {
    spec(nr).map_or_else(|| format!("syscall_{nr}"), |s| s.name.to_string())
}

/// Whether signal `sig` with `si_code` `code` was raised by the instruction
/// the task was executing (a fault), rather than sent.
pub fn is_fault_signal(sig: i32, code: i32) -> bool {
    code > 0
        && matches!(
            sig,
            libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP
        )
}

/// Whether a syscall result says a signal cut the call short (EINTR, or one
/// of the kernel's restart codes that userspace sees only under ptrace).
pub fn is_interrupted(result: i64) -> bool {
    const ERESTARTSYS: i64 = 512;
    const ERESTARTNOINTR: i64 = 513;
    const ERESTARTNOHAND: i64 = 514;
    const ERESTART_RESTARTBLOCK: i64 = 516;
    matches!(
        -result,
        ERESTARTSYS | ERESTARTNOINTR | ERESTARTNOHAND | ERESTART_RESTARTBLOCK
    ) || result == -(libc::EINTR as i64)
}

/// `name(args)` as `reel dump` and divergence reports show a call.
pub fn format_call(nr: u64, args: &[u64; 6]) -> String {
    match spec(nr) {
        Some(s) => format!("{}({})", s.name, format_args(s, args)),
        None => format!("syscall_{nr}({args:#x?})"),
    }
}

/// For a call that waits with a temporary signal mask installed (pselect6,
/// ppoll, epoll_pwait, epoll_pwait2, rt_sigsuspend): the address and size of
/// that mask, when it has one.
pub fn temporary_sigmask(nr: u64, args: &[u64; 6], mem: &dyn TraceeMemory) -> Option<(u64, u64)> {
    let (ptr, size) = match nr as i64 {
        libc::SYS_rt_sigsuspend => (args[0], args[1]),
        libc::SYS_ppoll => (args[3], args[4]),
        libc::SYS_epoll_pwait | libc::SYS_epoll_pwait2 => (args[4], args[5]),
        libc::SYS_pselect6 => {
            // args[5] points to { const sigset_t *ss; size_t ss_len; }.
            if args[5] == 0 {
                return None;
            }
            let b = mem.read(args[5], 16)?;
            (
                u64::from_le_bytes(b[..8].try_into().ok()?),
                u64::from_le_bytes(b[8..].try_into().ok()?),
            )
        }
        _ => return None,
    };
    (ptr != 0).then_some((ptr, size))
}

/// The bytes a successful call that emits data (write, writev, sendto ...)
/// sent to its file descriptor: the first `result` bytes of its buffer or
/// iovec array, read from tracee memory. `None` for a call that sends
/// nothing from memory (failed, `InKernel`, not emitting) or whose buffer
/// cannot be read.
pub fn emitted_bytes(
    spec: &SyscallSpec,
    args: &[u64; 6],
    result: i64,
    mem: &dyn TraceeMemory,
) -> Option<Vec<u8>> {
    if result <= 0 {
        return None;
    }
    let total = usize::try_from(result).ok()?;
    match spec.emit? {
        Emit::Buf { buf, .. } => mem.read(args[buf], total),
        Emit::InKernel { .. } => None,
        Emit::Msg { msg, .. } => {
            // struct msghdr: name, namelen (+pad), iov at 16, iovlen at 24.
            let hdr = mem.read(args[msg], 32)?;
            let iov = u64::from_le_bytes(hdr[16..24].try_into().ok()?);
            let cnt = u64::from_le_bytes(hdr[24..32].try_into().ok()?);
            gather(mem, iov, cnt, total)
        }
        Emit::Iov { iov, cnt, .. } => gather(mem, args[iov], args[cnt], total),
    }
}

/// The first `total` bytes of the `cnt` buffers of the iovec array at `iov`.
fn gather(mem: &dyn TraceeMemory, iov: u64, cnt: u64, total: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(total.min(1 << 20));
    // The kernel accepts at most IOV_MAX (1024) entries.
    for i in 0..cnt.min(1024) {
        if out.len() >= total {
            break;
        }
        let entry = mem.read(iov + i * 16, 16)?;
        let base = u64::from_le_bytes(entry[..8].try_into().ok()?);
        let len = u64::from_le_bytes(entry[8..].try_into().ok()?);
        let take = usize::try_from(len).ok()?.min(total - out.len());
        if take > 0 {
            out.extend_from_slice(&mem.read(base, take)?);
        }
    }
    (out.len() == total).then_some(out)
}

/// Whether call `nr` with `args` would map over, unmap, move or change the
/// protection of reel's private pages (`reel_sys::PRIVATE_PAGE`, which stay
/// in every recorded address space).
pub fn touches_reel_pages(nr: u64, args: &[u64; 6]) -> bool {
    let overlaps = |addr: u64, len: u64| {
        let end = addr.saturating_add(len.max(1));
        addr < reel_sys::PRIVATE_PAGE + reel_sys::PRIVATE_LEN && end > reel_sys::PRIVATE_PAGE
    };
    match nr as i64 {
        // Only MAP_FIXED replaces what is there; a hint is moved elsewhere
        // and MAP_FIXED_NOREPLACE fails by itself.
        libc::SYS_mmap => args[3] & libc::MAP_FIXED as u64 != 0 && overlaps(args[0], args[1]),
        libc::SYS_munmap
        | libc::SYS_mprotect
        | libc::SYS_pkey_mprotect
        | libc::SYS_madvise
        | libc::SYS_mseal
        | libc::SYS_remap_file_pages => overlaps(args[0], args[1]),
        libc::SYS_mremap => {
            overlaps(args[0], args[1])
                || (args[3] & libc::MREMAP_FIXED as u64 != 0 && overlaps(args[4], args[2]))
        }
        libc::SYS_shmat => args[1] != 0 && overlaps(args[1], 1),
        _ => false,
    }
}
