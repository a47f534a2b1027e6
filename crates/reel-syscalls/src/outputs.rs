//! Which tracee memory a syscall wrote: evaluating a row's [`Out`].
//!
//! The recorder calls [`output_ranges`] at the syscall-exit stop, reads those
//! ranges from the tracee and stores them; replay writes them back. The
//! `Custom` descriptions below read tracee memory *after* the call (e.g. the
//! `addrlen` a socket call updated), so they see what the kernel left there.
//!
//! Some descriptions deliberately cover a few bytes the kernel may not have
//! touched (a whole `fd_set`, a `siginfo` header): those bytes still hold the
//! values they had at record time, so writing them back at replay changes
//! nothing. Never the reverse: a byte the kernel wrote is always covered.

use crate::{Out, SyscallSpec};
use libc::{EFAULT, EINTR, EINVAL, EOVERFLOW};

/// Read access to the tracee's memory, as the recorder sees it at the
/// syscall-exit stop.
pub trait TraceeMemory {
    /// `len` bytes at `addr`, or `None` when they cannot be read.
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>>;
}

/// A closure reading tracee memory serves as one (the sessions pass
/// `&|addr, len| ...` over their own memory handle).
impl<F: Fn(u64, usize) -> Option<Vec<u8>>> TraceeMemory for F {
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        self(addr, len)
    }
}

/// No single output is longer than this; longer claims come from garbage
/// arguments and are cut here rather than trusted.
pub const MAX_OUTPUT_LEN: u64 = 1 << 30;

/// Addresses at or above this are never user memory on x86-64 (even with
/// 5-level paging).
const USER_TOP: u64 = 1 << 56;

/// The kernel refuses more iovecs than this (`UIO_MAXIOV`).
const UIO_MAXIOV: u64 = 1024;

/// Largest socket address the kernel copies out (`sizeof(struct sockaddr_storage)`).
const SOCKADDR_MAX: u64 = 128;

// Kernel-internal restart codes, visible to a tracer at syscall exit.
const ERESTARTSYS: i64 = 512;
const ERESTARTNOINTR: i64 = 513;
const ERESTARTNOHAND: i64 = 514;
const ERESTART_RESTARTBLOCK: i64 = 516;

/// The `(address, length)` ranges of tracee memory that the call described
/// by `spec` wrote, given its arguments and result.
///
/// Empty for a failed call (`result < 0`) except where the kernel writes even
/// then (the remaining time of an interrupted `nanosleep`, `poll`'s `revents`,
/// `waitid`'s `siginfo` ...). NULL pointers and empty ranges are left out, and
/// no range is longer than [`MAX_OUTPUT_LEN`] or reaches past user space.
pub fn output_ranges(
    spec: &SyscallSpec,
    args: &[u64; 6],
    result: i64,
    mem: &dyn TraceeMemory,
) -> Vec<(u64, u64)> {
    let mut ranges = Vec::new();
    collect(&spec.out, args, result, mem, &mut ranges);
    ranges.retain_mut(|(addr, len)| {
        *len = (*len).min(MAX_OUTPUT_LEN);
        *addr != 0 && *len != 0 && addr.checked_add(*len).is_some_and(|end| end <= USER_TOP)
    });
    ranges
}

fn collect(
    out: &Out,
    args: &[u64; 6],
    result: i64,
    mem: &dyn TraceeMemory,
    ranges: &mut Vec<(u64, u64)>,
) {
    match *out {
        // Custom descriptions decide for themselves what a failure wrote.
        Out::Custom(f) => ranges.extend(f(args, result, mem)),
        _ if result < 0 => {}
        Out::Nothing => {}
        Out::BufResult { arg } => ranges.push((args[arg], result as u64)),
        Out::Fixed { arg, size } => ranges.push((args[arg], size)),
        Out::SizedByArg { arg, size_arg } => ranges.push((args[arg], args[size_arg])),
        Out::IovResult { iov, cnt } => {
            ranges.extend(iov_fill(mem, args[iov], args[cnt], result as u64))
        }
        Out::Many(outs) => {
            for o in outs {
                collect(o, args, result, mem, ranges);
            }
        }
    }
}

fn read_u32(mem: &dyn TraceeMemory, addr: u64) -> Option<u32> {
    let b = mem.read(addr, 4)?;
    Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

fn read_u64(mem: &dyn TraceeMemory, addr: u64) -> Option<u64> {
    let b = mem.read(addr, 8)?;
    Some(u64::from_ne_bytes(b.get(..8)?.try_into().ok()?))
}

/// Whether `result` says the call was interrupted by a signal (the kernel's
/// internal restart codes are what a tracer sees at syscall exit).
fn interrupted(result: i64) -> bool {
    matches!(
        -result,
        x if x == i64::from(EINTR)
            || x == ERESTARTSYS
            || x == ERESTARTNOINTR
            || x == ERESTARTNOHAND
            || x == ERESTART_RESTARTBLOCK
    )
}

/// The iovec array at `iov` (`cnt` entries) filled in order with `total` bytes.
fn iov_fill(mem: &dyn TraceeMemory, iov: u64, cnt: u64, total: u64) -> Vec<(u64, u64)> {
    let mut ranges = Vec::new();
    if total == 0 || iov == 0 {
        return ranges;
    }
    let cnt = cnt.min(UIO_MAXIOV);
    // The kernel read this array for the call, so it is readable now.
    let Some(raw) = mem.read(iov, (cnt * 16) as usize) else {
        return ranges;
    };
    let mut left = total;
    for entry in raw.chunks_exact(16) {
        if left == 0 {
            break;
        }
        let base = u64::from_ne_bytes(entry[..8].try_into().unwrap());
        let len = u64::from_ne_bytes(entry[8..].try_into().unwrap());
        let take = len.min(left);
        ranges.push((base, take));
        left -= take;
    }
    ranges
}

/// `args[B]` receives `min(result, args[L])` bytes: calls that report the
/// full size but copy at most the buffer (getxattr, listxattr, syslog ...).
pub(crate) fn buf_upto<const B: usize, const L: usize>(
    args: &[u64; 6],
    result: i64,
    _: &dyn TraceeMemory,
) -> Vec<(u64, u64)> {
    if result <= 0 {
        return Vec::new();
    }
    vec![(args[B], (result as u64).min(args[L]))]
}

/// A socket address at `args[A]` whose length the kernel stored in the u32
/// at `args[L]` (accept, accept4, getsockname, getpeername, recvfrom).
///
/// The kernel copies `min(buffer, actual)` bytes but stores the actual length;
/// the buffer size it was given is gone by now, so a truncated address is
/// covered up to its actual length (at most 128 bytes).
pub(crate) fn sockaddr_out<const A: usize, const L: usize>(
    args: &[u64; 6],
    result: i64,
    mem: &dyn TraceeMemory,
) -> Vec<(u64, u64)> {
    let (addr, lenp) = (args[A], args[L]);
    if result < 0 || addr == 0 || lenp == 0 {
        return Vec::new();
    }
    let len = read_u32(mem, lenp).map_or(0, |n| u64::from(n).min(SOCKADDR_MAX));
    vec![(addr, len), (lenp, 4)]
}

/// recvfrom(fd, buf, len, flags, src_addr, addrlen): with MSG_TRUNC the
/// result can exceed `len`, but no more than `len` bytes are copied.
pub(crate) fn recvfrom(args: &[u64; 6], result: i64, mem: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result < 0 {
        return Vec::new();
    }
    let mut v = vec![(args[1], (result as u64).min(args[2]))];
    v.extend(sockaddr_out::<4, 5>(args, result, mem));
    v
}

/// getsockopt(fd, level, name, optval, optlen): `*optlen` bytes at optval.
pub(crate) fn getsockopt(args: &[u64; 6], result: i64, mem: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    let (optval, optlen) = (args[3], args[4]);
    if result < 0 || optlen == 0 {
        return Vec::new();
    }
    let len = read_u32(mem, optlen).map_or(0, u64::from);
    vec![(optval, len), (optlen, 4)]
}

// struct msghdr on x86-64.
const MSG_NAME: u64 = 0;
const MSG_NAMELEN: u64 = 8;
const MSG_IOV: u64 = 16;
const MSG_IOVLEN: u64 = 24;
const MSG_CONTROL: u64 = 32;
const MSG_CONTROLLEN: u64 = 40;
const MSGHDR_SIZE: u64 = 56;
/// struct mmsghdr: a msghdr and the u32 msg_len, padded to 64.
const MMSGHDR_SIZE: u64 = 64;

/// What receiving `bytes` bytes into the msghdr at `msg` wrote: the address,
/// the data in the iovecs, the control data, and the header fields the
/// kernel updates (msg_namelen, msg_controllen, msg_flags).
fn recv_into_msghdr(mem: &dyn TraceeMemory, msg: u64, bytes: u64) -> Vec<(u64, u64)> {
    let Some(hdr) = mem.read(msg, MSGHDR_SIZE as usize) else {
        return Vec::new();
    };
    let field = |off: u64| {
        let off = off as usize;
        u64::from_ne_bytes(hdr[off..off + 8].try_into().unwrap())
    };
    let namelen = u64::from(u32::from_ne_bytes(
        hdr[MSG_NAMELEN as usize..MSG_NAMELEN as usize + 4]
            .try_into()
            .unwrap(),
    ));
    let mut v = Vec::new();
    if field(MSG_NAME) != 0 {
        v.push((field(MSG_NAME), namelen.min(SOCKADDR_MAX)));
        v.push((msg + MSG_NAMELEN, 4));
    }
    v.extend(iov_fill(mem, field(MSG_IOV), field(MSG_IOVLEN), bytes));
    // After the call msg_controllen is the number of control bytes written.
    v.push((field(MSG_CONTROL), field(MSG_CONTROLLEN)));
    // msg_controllen (8) and msg_flags (4) are always stored.
    v.push((msg + MSG_CONTROLLEN, 12));
    v
}

/// recvmsg(fd, msg, flags).
pub(crate) fn recvmsg(args: &[u64; 6], result: i64, mem: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result < 0 || args[1] == 0 {
        return Vec::new();
    }
    recv_into_msghdr(mem, args[1], result as u64)
}

/// recvmmsg(fd, msgvec, vlen, flags, timeout): `result` messages, each with
/// its byte count in msg_len; the remaining time is stored when any arrived.
pub(crate) fn recvmmsg(args: &[u64; 6], result: i64, mem: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result <= 0 || args[1] == 0 {
        return Vec::new();
    }
    let count = (result as u64).min(args[2]).min(UIO_MAXIOV);
    let mut v = Vec::new();
    for i in 0..count {
        let m = args[1] + i * MMSGHDR_SIZE;
        let len = read_u32(mem, m + MSGHDR_SIZE).map_or(0, u64::from);
        v.extend(recv_into_msghdr(mem, m, len));
        v.push((m + MSGHDR_SIZE, 4));
    }
    v.push((args[4], 16));
    v
}

/// sendmmsg(fd, msgvec, vlen, flags): msg_len of each message sent.
pub(crate) fn sendmmsg(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result <= 0 || args[1] == 0 {
        return Vec::new();
    }
    let count = (result as u64).min(args[2]).min(UIO_MAXIOV);
    (0..count)
        .map(|i| (args[1] + i * MMSGHDR_SIZE + MSGHDR_SIZE, 4))
        .collect()
}

/// poll(fds, nfds, timeout): the revents of every entry (the whole array is
/// covered). Also stored when interrupted.
pub(crate) fn poll(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result < 0 && !interrupted(result) {
        return Vec::new();
    }
    vec![(args[0], args[1].saturating_mul(8))]
}

/// ppoll(fds, nfds, tsp, sigmask, sigsetsize): as poll, plus the remaining
/// time, which the kernel stores whatever the result.
pub(crate) fn ppoll(args: &[u64; 6], result: i64, mem: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    let mut v = poll(args, result, mem);
    if result != -i64::from(EFAULT) {
        v.push((args[2], 16));
    }
    v
}

/// select/pselect6(nfds, readfds, writefds, exceptfds, timeout, ...): the
/// three sets on success; the remaining time (timeval or timespec, both 16
/// bytes) whatever the result.
pub(crate) fn select(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    let mut v = Vec::new();
    if result >= 0 {
        // nfds is an int; the kernel may clamp it further to its fd table size,
        // writing less than this: the rest of the set is unchanged.
        let nfds = (args[0] as u32 as i32).max(0) as u64;
        let set_bytes = nfds.div_ceil(64) * 8;
        v.extend([1, 2, 3].map(|i| (args[i], set_bytes)));
    }
    if result != -i64::from(EFAULT) {
        v.push((args[4], 16));
    }
    v
}

/// epoll_wait/epoll_pwait/epoll_pwait2(epfd, events, maxevents, ...):
/// `result` packed 12-byte `struct epoll_event`s.
pub(crate) fn epoll_wait(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result <= 0 {
        return Vec::new();
    }
    let n = (result as u64).min(args[2] as u32 as u64);
    vec![(args[1], n * 12)]
}

/// nanosleep(req, rem): rem is stored only when a signal interrupted the sleep.
pub(crate) fn nanosleep(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result < 0 && interrupted(result) {
        vec![(args[1], 16)]
    } else {
        Vec::new()
    }
}

/// clock_nanosleep(clock, flags, req, rem): like nanosleep, but an absolute
/// (TIMER_ABSTIME) sleep stores nothing.
pub(crate) fn clock_nanosleep(
    args: &[u64; 6],
    result: i64,
    _: &dyn TraceeMemory,
) -> Vec<(u64, u64)> {
    const TIMER_ABSTIME: u64 = 1;
    if result < 0 && interrupted(result) && args[1] & TIMER_ABSTIME == 0 {
        vec![(args[3], 16)]
    } else {
        Vec::new()
    }
}

/// wait4(pid, status, options, rusage): both only when a child was reaped
/// (result > 0; WNOHANG with nothing to reap returns 0 and stores nothing).
pub(crate) fn wait4(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result <= 0 {
        return Vec::new();
    }
    vec![(args[1], 4), (args[3], 144)]
}

/// waitid(idtype, id, infop, options, rusage): the kernel stores the siginfo
/// fields it reports (signo, errno, code, pid, uid, status: the first 28
/// bytes) whatever the result, and the rusage when a child was found.
pub(crate) fn waitid(args: &[u64; 6], result: i64, mem: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    let (infop, ru) = (args[2], args[4]);
    if result == -i64::from(EFAULT) {
        return Vec::new();
    }
    let mut v = vec![(infop, 28)];
    // si_signo is SIGCHLD when a child was found, 0 otherwise. Without infop
    // we cannot tell, and cover the rusage (unchanged when not written).
    let found = infop == 0 || read_u32(mem, infop).is_some_and(|s| s != 0);
    if result == 0 && found {
        v.push((ru, 144));
    }
    v
}

/// getgroups(size, list): `result` gids, unless size was 0 (a count query).
pub(crate) fn getgroups(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result <= 0 || args[0] as u32 == 0 {
        return Vec::new();
    }
    vec![(args[1], result as u64 * 4)]
}

/// capget(header, data): the kernel rewrites header->version when it does
/// not know it (EINVAL, or success with data NULL: a version probe), and
/// fills one (v1) or two (v2, v3) 12-byte data structs.
pub(crate) fn capget(args: &[u64; 6], result: i64, mem: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    let (hdr, data) = (args[0], args[1]);
    if result != 0 && result != -i64::from(EINVAL) {
        return Vec::new();
    }
    let mut v = vec![(hdr, 4)];
    if result == 0 && data != 0 {
        let structs = match read_u32(mem, hdr) {
            Some(0x1998_0330) => 1,
            Some(0x2007_1026 | 0x2008_0522) => 2,
            _ => 0,
        };
        v.push((data, structs * 12));
    }
    v
}

/// mincore(addr, length, vec): one byte per page.
pub(crate) fn mincore(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result < 0 {
        return Vec::new();
    }
    vec![(args[2], args[1].div_ceil(4096))]
}

/// futex(uaddr, op, val, timeout, uaddr2, val3): the operations that change
/// futex words. The PI operations may change the word even when they fail.
pub(crate) fn futex(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    const FUTEX_WAKE_OP: u64 = 5;
    const FUTEX_LOCK_PI: u64 = 6;
    const FUTEX_UNLOCK_PI: u64 = 7;
    const FUTEX_TRYLOCK_PI: u64 = 8;
    const FUTEX_WAIT_REQUEUE_PI: u64 = 11;
    const FUTEX_CMP_REQUEUE_PI: u64 = 12;
    const FUTEX_LOCK_PI2: u64 = 13;
    // Without FUTEX_PRIVATE_FLAG (128) and FUTEX_CLOCK_REALTIME (256).
    let op = args[1] & 0x7f;
    if result == -i64::from(EFAULT) {
        return Vec::new();
    }
    match op {
        FUTEX_WAKE_OP if result >= 0 => vec![(args[4], 4)],
        FUTEX_LOCK_PI | FUTEX_UNLOCK_PI | FUTEX_TRYLOCK_PI | FUTEX_LOCK_PI2 => {
            vec![(args[0], 4)]
        }
        FUTEX_WAIT_REQUEUE_PI | FUTEX_CMP_REQUEUE_PI => vec![(args[4], 4)],
        _ => Vec::new(),
    }
}

/// fcntl(fd, cmd, arg): the commands that store a structure at arg.
pub(crate) fn fcntl(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    const F_GETLK: u32 = 5;
    const F_GETOWN_EX: u32 = 16;
    const F_OFD_GETLK: u32 = 36;
    const F_GET_RW_HINT: u32 = 1024 + 11;
    const F_GET_FILE_RW_HINT: u32 = 1024 + 13;
    if result < 0 {
        return Vec::new();
    }
    let size = match args[1] as u32 {
        // struct flock: type, whence, start, len, pid, padded to 32.
        F_GETLK | F_OFD_GETLK => 32,
        // struct f_owner_ex: type, pid.
        F_GETOWN_EX => 8,
        F_GET_RW_HINT | F_GET_FILE_RW_HINT => 8,
        _ => return Vec::new(),
    };
    vec![(args[2], size)]
}

/// prctl(option, arg2, arg3, arg4, arg5): the "get" options that store at arg2.
pub(crate) fn prctl(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    const PR_GET_PDEATHSIG: u64 = 2;
    const PR_GET_NAME: u64 = 16;
    const PR_GET_TSC: u64 = 25;
    const PR_GET_CHILD_SUBREAPER: u64 = 37;
    const PR_GET_TID_ADDRESS: u64 = 40;
    const PR_SCHED_CORE: u64 = 62;
    const PR_SCHED_CORE_GET: u64 = 0;
    const PR_GET_SHADOW_STACK_STATUS: u64 = 74;
    const PR_GET_AUXV: u64 = 0x4155_5856;
    if result < 0 {
        return Vec::new();
    }
    let (option, arg2) = (args[0] as u32 as u64, args[1]);
    match option {
        PR_GET_PDEATHSIG | PR_GET_TSC | PR_GET_CHILD_SUBREAPER => vec![(arg2, 4)],
        // TASK_COMM_LEN.
        PR_GET_NAME => vec![(arg2, 16)],
        PR_GET_TID_ADDRESS | PR_GET_SHADOW_STACK_STATUS => vec![(arg2, 8)],
        // Copies min(size, auxv size) and returns the auxv size.
        PR_GET_AUXV => vec![(arg2, (result as u64).min(args[2]))],
        PR_SCHED_CORE if arg2 == PR_SCHED_CORE_GET => vec![(args[4], 8)],
        _ => Vec::new(),
    }
}

/// arch_prctl(code, addr): the "get" codes that store at addr.
pub(crate) fn arch_prctl(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result < 0 {
        return Vec::new();
    }
    let size = match args[0] as u32 {
        // ARCH_GET_FS, ARCH_GET_GS
        0x1003 | 0x1004 => 8,
        // ARCH_GET_XCOMP_SUPP, ARCH_GET_XCOMP_PERM, ARCH_GET_XCOMP_GUEST_PERM
        0x1021 | 0x1022 | 0x1024 => 8,
        // ARCH_CET_STATUS of old out-of-tree CET kernels, still probed by glibc 2.28-2.38.
        0x3001 => 24,
        // ARCH_GET_UNTAG_MASK, ARCH_GET_MAX_TAG_BITS
        0x4001 | 0x4003 => 8,
        // ARCH_SHSTK_STATUS
        0x5005 => 8,
        _ => return Vec::new(),
    };
    vec![(args[1], size)]
}

/// The IPC_64 flag some libcs add to SysV IPC commands.
const IPC_64: u32 = 0x100;

/// semctl(semid, semnum, cmd, arg): the status commands. GETALL writes an
/// array as long as the set, which only the kernel knows: the recorder adds
/// that write itself ([`semctl_getall`]).
pub(crate) fn semctl(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result < 0 {
        return Vec::new();
    }
    let size = match args[2] as u32 & !IPC_64 {
        // IPC_STAT, SEM_STAT, SEM_STAT_ANY: struct semid64_ds
        2 | 18 | 20 => 104,
        // IPC_INFO, SEM_INFO: struct seminfo
        3 | 19 => 40,
        _ => return Vec::new(),
    };
    vec![(args[3], size)]
}

/// For semctl(GETALL) (whatever the IPC_64 flag), the array argument: it
/// receives one `unsigned short` per semaphore of the set.
pub fn semctl_getall(nr: u64, args: &[u64; 6]) -> Option<u64> {
    const GETALL: u32 = 13;
    (nr == libc::SYS_semctl as u64 && args[2] as u32 & !IPC_64 == GETALL).then_some(args[3])
}

/// shmctl(shmid, cmd, buf): the status commands.
pub(crate) fn shmctl(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result < 0 {
        return Vec::new();
    }
    let size = match args[1] as u32 & !IPC_64 {
        // IPC_STAT, SHM_STAT, SHM_STAT_ANY: struct shmid64_ds
        2 | 13 | 15 => 112,
        // IPC_INFO: struct shminfo64
        3 => 72,
        // SHM_INFO: struct shm_info
        14 => 48,
        _ => return Vec::new(),
    };
    vec![(args[2], size)]
}

/// msgctl(msqid, cmd, buf): the status commands.
pub(crate) fn msgctl(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result < 0 {
        return Vec::new();
    }
    let size = match args[1] as u32 & !IPC_64 {
        // IPC_STAT, MSG_STAT, MSG_STAT_ANY: struct msqid64_ds
        2 | 11 | 13 => 120,
        // IPC_INFO, MSG_INFO: struct msginfo
        3 | 12 => 32,
        _ => return Vec::new(),
    };
    vec![(args[2], size)]
}

/// msgrcv(msqid, msgp, msgsz, msgtyp, flags): the long mtype, then `result` bytes.
pub(crate) fn msgrcv(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result < 0 {
        return Vec::new();
    }
    vec![(args[1], 8 + result as u64)]
}

/// syslog(type, buf, len): the read actions (2, 3, 4) copy `result` bytes.
pub(crate) fn syslog(args: &[u64; 6], result: i64, mem: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    match args[0] as u32 {
        2..=4 => buf_upto::<1, 2>(args, result, mem),
        _ => Vec::new(),
    }
}

/// keyctl(cmd, ...): the commands that copy data out.
pub(crate) fn keyctl(args: &[u64; 6], result: i64, mem: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result < 0 {
        return Vec::new();
    }
    match args[0] as u32 {
        // DESCRIBE, READ, GET_SECURITY, DH_COMPUTE: (.., buffer, buflen)
        6 | 11 | 17 | 23 => buf_upto::<2, 3>(args, result, mem),
        // PKEY_QUERY: struct keyctl_pkey_query
        24 => vec![(args[4], 56)],
        // PKEY_ENCRYPT, PKEY_DECRYPT, PKEY_SIGN: (params, info, in, out)
        25..=27 => vec![(args[4], result as u64)],
        // CAPABILITIES(buffer, buflen)
        31 => buf_upto::<1, 2>(args, result, mem),
        _ => Vec::new(),
    }
}

/// get_mempolicy(mode, nodemask, maxnode, addr, flags).
pub(crate) fn get_mempolicy(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result < 0 {
        return Vec::new();
    }
    // The kernel writes ALIGN(maxnode - 1, 64) / 8 bytes of mask.
    let mask_bytes = args[2].saturating_sub(1).div_ceil(64) * 8;
    vec![(args[0], 4), (args[1], mask_bytes)]
}

/// move_pages(pid, count, pages, nodes, status, flags): one int per page.
pub(crate) fn move_pages(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result < 0 {
        return Vec::new();
    }
    vec![(args[4], args[1].saturating_mul(4))]
}

/// name_to_handle_at(dirfd, path, handle, mount_id, flags): the handle
/// (header and handle_bytes of data) and the mount id (u64 with
/// AT_HANDLE_MNT_ID_UNIQUE). On EOVERFLOW only the header, with the needed size.
pub(crate) fn name_to_handle_at(
    args: &[u64; 6],
    result: i64,
    mem: &dyn TraceeMemory,
) -> Vec<(u64, u64)> {
    const MAX_HANDLE_SZ: u64 = 128;
    const AT_HANDLE_MNT_ID_UNIQUE: u64 = 1;
    let (fh, mnt_id) = (args[2], args[3]);
    let handle = match result {
        0 => 8 + read_u32(mem, fh).map_or(0, |n| u64::from(n).min(MAX_HANDLE_SZ)),
        r if r == -i64::from(EOVERFLOW) => 8,
        _ => return Vec::new(),
    };
    let id = if args[4] & AT_HANDLE_MNT_ID_UNIQUE != 0 {
        8
    } else {
        4
    };
    vec![(fh, handle), (mnt_id, id)]
}

/// sched_getattr(pid, attr, size, flags): the kernel stores min(size, its
/// struct size) bytes and puts that number in attr->size.
pub(crate) fn sched_getattr(
    args: &[u64; 6],
    result: i64,
    mem: &dyn TraceeMemory,
) -> Vec<(u64, u64)> {
    if result < 0 {
        return Vec::new();
    }
    let written = read_u32(mem, args[1]).map_or(0, u64::from);
    vec![(args[1], written.min(args[2]))]
}

/// statmount(req, buf, bufsize, flags): buf->size is the size written.
pub(crate) fn statmount(args: &[u64; 6], result: i64, mem: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result < 0 {
        return Vec::new();
    }
    let written = read_u32(mem, args[1]).map_or(0, u64::from);
    vec![(args[1], written.min(args[2]))]
}

/// listmount(req, mnt_ids, nr_mnt_ids, flags): `result` u64 ids.
pub(crate) fn listmount(args: &[u64; 6], result: i64, _: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result <= 0 {
        return Vec::new();
    }
    vec![(args[1], (result as u64).min(args[2]) * 8)]
}

/// lsm_get_self_attr(attr, ctx, size, flags): `*size` bytes of contexts;
/// on E2BIG only the needed size.
pub(crate) fn lsm_get_self_attr(
    args: &[u64; 6],
    result: i64,
    mem: &dyn TraceeMemory,
) -> Vec<(u64, u64)> {
    let (ctx, size) = (args[1], args[2]);
    if result == -i64::from(libc::E2BIG) {
        return vec![(size, 4)];
    }
    if result < 0 {
        return Vec::new();
    }
    let written = read_u32(mem, size).map_or(0, u64::from);
    vec![(ctx, written), (size, 4)]
}

/// lsm_list_modules(ids, size, flags): `result` u64 ids; on E2BIG only the size.
pub(crate) fn lsm_list_modules(
    args: &[u64; 6],
    result: i64,
    _: &dyn TraceeMemory,
) -> Vec<(u64, u64)> {
    if result == -i64::from(libc::E2BIG) {
        return vec![(args[1], 4)];
    }
    if result < 0 {
        return Vec::new();
    }
    vec![(args[0], result as u64 * 8), (args[1], 4)]
}

/// getxattrat(dirfd, path, at_flags, name, args, args_size): the value goes
/// where `struct xattr_args { u64 value; u32 size; u32 flags; }` says.
pub(crate) fn getxattrat(args: &[u64; 6], result: i64, mem: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result <= 0 {
        return Vec::new();
    }
    let (Some(value), Some(size)) = (read_u64(mem, args[4]), read_u32(mem, args[4] + 8)) else {
        return Vec::new();
    };
    vec![(value, (result as u64).min(u64::from(size)))]
}

// ioctl requests whose number does not encode the size (legacy encodings),
// with the bytes they store at arg.
const LEGACY_IOCTL_OUT: &[(u32, u64)] = &[
    (0x5401, 36), // TCGETS: the kernel's struct termios (NCCS = 19), not glibc's 60
    (0x5405, 18), // TCGETA: struct termio
    (0x540F, 4),  // TIOCGPGRP
    (0x5411, 4),  // TIOCOUTQ
    (0x5413, 8),  // TIOCGWINSZ
    (0x5415, 4),  // TIOCMGET
    (0x5419, 4),  // TIOCGSOFTCAR
    (0x541B, 4),  // FIONREAD / TIOCINQ
    (0x541E, 72), // TIOCGSERIAL: struct serial_struct
    (0x5424, 4),  // TIOCGETD
    (0x5429, 4),  // TIOCGSID
    (0x542E, 32), // TIOCGRS485: struct serial_rs485
    (0x5456, 36), // TIOCGLCKTRMIOS
    (0x5459, 4),  // TIOCSERGETLSR
    (0x5460, 8),  // FIOQSIZE
    (0x8903, 4),  // FIOGETOWN
    (0x8904, 4),  // SIOCGPGRP
    (0x8905, 4),  // SIOCATMARK
    (0x8906, 16), // SIOCGSTAMP (struct timeval)
    (0x8907, 16), // SIOCGSTAMPNS (struct timespec)
    (0x8910, 40), // SIOCGIFNAME: struct ifreq
    (0x8913, 40), // SIOCGIFFLAGS
    (0x8915, 40), // SIOCGIFADDR
    (0x8917, 40), // SIOCGIFDSTADDR
    (0x8919, 40), // SIOCGIFBRDADDR
    (0x891B, 40), // SIOCGIFNETMASK
    (0x891D, 40), // SIOCGIFMETRIC
    (0x891F, 40), // SIOCGIFMEM
    (0x8921, 40), // SIOCGIFMTU
    (0x8927, 40), // SIOCGIFHWADDR
    (0x8933, 40), // SIOCGIFINDEX
    (0x8935, 40), // SIOCGIFPFLAGS
    (0x8942, 40), // SIOCGIFTXQLEN
    (0x8970, 40), // SIOCGIFMAP
    (0x125E, 4),  // BLKROGET
    (0x1260, 8),  // BLKGETSIZE (unsigned long)
    (0x1263, 8),  // BLKRAGET (long)
    (0x1268, 4),  // BLKSSZGET
    (0x1278, 4),  // BLKIOMIN
    (0x1279, 4),  // BLKIOOPT
    (0x127A, 4),  // BLKALIGNOFF
    (0x127B, 4),  // BLKPBSZGET
    (0x127C, 4),  // BLKDISCARDZEROES
    (0x127E, 2),  // BLKROTATIONAL (unsigned short)
];

// Legacy requests known to store nothing at arg.
const LEGACY_IOCTL_NONE: &[u32] = &[
    0x5402, 0x5403, 0x5404, // TCSETS, TCSETSW, TCSETSF
    0x5406, 0x5407, 0x5408, // TCSETA, TCSETAW, TCSETAF
    0x5409, 0x540A, 0x540B, // TCSBRK, TCXONC, TCFLSH
    0x540C, 0x540D, 0x540E, // TIOCEXCL, TIOCNXCL, TIOCSCTTY
    0x5410, 0x5412, 0x5414, // TIOCSPGRP, TIOCSTI, TIOCSWINSZ
    0x5416, 0x5417, 0x5418, // TIOCMBIS, TIOCMBIC, TIOCMSET
    0x541A, 0x541D, 0x541F, // TIOCSSOFTCAR, TIOCCONS, TIOCSSERIAL
    0x5420, 0x5421, 0x5422, // TIOCPKT, FIONBIO, TIOCNOTTY
    0x5423, 0x5425, 0x5427, // TIOCSETD, TCSBRKP, TIOCSBRK
    0x5428, 0x542F, 0x5437, // TIOCCBRK, TIOCSRS485, TIOCVHANGUP
    0x5441, 0x5450, 0x5451, // TIOCGPTPEER, FIONCLEX, FIOCLEX
    0x5452, 0x5457, // FIOASYNC, TIOCSLCKTRMIOS
    0x8901, 0x8902, // FIOSETOWN, SIOCSPGRP
    0x8914, 0x8916, 0x8918, // SIOCSIFFLAGS, SIOCSIFADDR, SIOCSIFDSTADDR
    0x891A, 0x891C, 0x891E, // SIOCSIFBRDADDR, SIOCSIFNETMASK, SIOCSIFMETRIC
    0x8922, 0x8924, 0x8943, // SIOCSIFMTU, SIOCSIFHWADDR, SIOCSIFTXQLEN
];

/// Request types (`_IOC_TYPE`) that use legacy, non-size-encoding numbers.
const LEGACY_IOCTL_TYPES: &[u32] = &[0x12, 0x4B, 0x4C, 0x53, 0x54, 0x56, 0x89, 0x8B];

const IOC_READ: u32 = 2;
const SIOCGIFCONF: u32 = 0x8912;

/// Whether reel knows what memory `ioctl(fd, request, arg)` writes: a
/// request it lists, or one whose number encodes direction and size. The
/// recorder should warn about the others, which are assumed to write nothing.
pub fn ioctl_is_described(request: u64) -> bool {
    let req = request as u32;
    let (dir, ty) = (req >> 30, (req >> 8) & 0xff);
    LEGACY_IOCTL_OUT.iter().any(|&(r, _)| r == req)
        || LEGACY_IOCTL_NONE.contains(&req)
        || req == SIOCGIFCONF
        || dir != 0
        || !LEGACY_IOCTL_TYPES.contains(&ty)
}

/// ioctl(fd, request, arg): the listed legacy requests, SIOCGIFCONF, and
/// any request whose `_IOC` encoding has the read direction (`size` bytes).
pub(crate) fn ioctl(args: &[u64; 6], result: i64, mem: &dyn TraceeMemory) -> Vec<(u64, u64)> {
    if result < 0 {
        return Vec::new();
    }
    let (req, arg) = (args[1] as u32, args[2]);
    if let Some(&(_, size)) = LEGACY_IOCTL_OUT.iter().find(|&&(r, _)| r == req) {
        return vec![(arg, size)];
    }
    if req == SIOCGIFCONF {
        // struct ifconf { int ifc_len; char *ifc_buf; }: ifc_len is now the
        // number of bytes stored in ifc_buf (or needed, when it is NULL).
        let len = read_u32(mem, arg).map_or(0, u64::from);
        let buf = read_u64(mem, arg + 8).unwrap_or(0);
        return vec![(arg, 4), (buf, len)];
    }
    let (dir, size) = (req >> 30, u64::from((req >> 16) & 0x3fff));
    if dir & IOC_READ != 0 {
        vec![(arg, size)]
    } else {
        Vec::new()
    }
}

/// clone with CLONE_PARENT_SETTID stores the child's tid at `args[2]` in the
/// parent (x86-64 argument order: flags, stack, parent_tid, child_tid, tls);
/// with CLONE_PIDFD it stores the new pidfd there instead (the kernel
/// refuses the two together).
pub(crate) fn clone_parent_tid(
    args: &[u64; 6],
    result: i64,
    _: &dyn TraceeMemory,
) -> Vec<(u64, u64)> {
    let stores = (libc::CLONE_PARENT_SETTID | libc::CLONE_PIDFD) as u64;
    if result > 0 && args[0] & stores != 0 && args[2] != 0 {
        vec![(args[2], 4)]
    } else {
        Vec::new()
    }
}
