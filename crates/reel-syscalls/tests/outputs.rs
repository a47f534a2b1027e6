//! Which memory calls write, with a fake tracee memory.

use reel_syscalls::{by_name, ioctl_is_described, output_ranges, TraceeMemory, MAX_OUTPUT_LEN};

/// Tracee memory made of a few regions.
#[derive(Default)]
struct FakeMemory {
    regions: Vec<(u64, Vec<u8>)>,
}

impl FakeMemory {
    fn put(&mut self, addr: u64, bytes: &[u8]) -> &mut Self {
        self.regions.push((addr, bytes.to_vec()));
        self
    }
    fn put_u64s(&mut self, addr: u64, words: &[u64]) -> &mut Self {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
        self.put(addr, &bytes)
    }
}

impl TraceeMemory for FakeMemory {
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        self.regions.iter().find_map(|(start, bytes)| {
            let off = usize::try_from(addr.checked_sub(*start)?).ok()?;
            bytes.get(off..off.checked_add(len)?).map(<[u8]>::to_vec)
        })
    }
}

fn ranges(name: &str, args: [u64; 6], result: i64, mem: &FakeMemory) -> Vec<(u64, u64)> {
    output_ranges(by_name(name).unwrap(), &args, result, mem)
}

fn no_mem() -> FakeMemory {
    FakeMemory::default()
}

const BUF: u64 = 0x7000_0000;
const BUF2: u64 = 0x7100_0000;

#[test]
fn read_writes_result_bytes() {
    assert_eq!(
        ranges("read", [0, BUF, 100, 0, 0, 0], 42, &no_mem()),
        [(BUF, 42)]
    );
    assert_eq!(ranges("read", [0, BUF, 100, 0, 0, 0], 0, &no_mem()), []);
    assert_eq!(ranges("read", [0, BUF, 100, 0, 0, 0], -11, &no_mem()), []);
    assert_eq!(
        ranges("getdents64", [3, BUF, 4096, 0, 0, 0], 480, &no_mem()),
        [(BUF, 480)]
    );
    assert_eq!(
        ranges("readlinkat", [3, BUF2, BUF, 64, 0, 0], 9, &no_mem()),
        [(BUF, 9)]
    );
}

#[test]
fn fixed_structures() {
    assert_eq!(
        ranges("fstat", [3, BUF, 0, 0, 0, 0], 0, &no_mem()),
        [(BUF, 144)]
    );
    assert_eq!(
        ranges("newfstatat", [3, BUF2, BUF, 0, 0, 0], 0, &no_mem()),
        [(BUF, 144)]
    );
    assert_eq!(
        ranges("statx", [3, BUF2, 0, 0xfff, BUF, 0], 0, &no_mem()),
        [(BUF, 256)]
    );
    assert_eq!(
        ranges("uname", [BUF, 0, 0, 0, 0, 0], 0, &no_mem()),
        [(BUF, 390)]
    );
    assert_eq!(ranges("fstat", [3, BUF, 0, 0, 0, 0], -9, &no_mem()), []);
    // NULL pointers are skipped: time(NULL), gettimeofday(&tv, NULL).
    assert_eq!(ranges("time", [0; 6], 1_700_000_000, &no_mem()), []);
    assert_eq!(
        ranges("time", [BUF, 0, 0, 0, 0, 0], 1_700_000_000, &no_mem()),
        [(BUF, 8)]
    );
    assert_eq!(
        ranges("gettimeofday", [BUF, 0, 0, 0, 0, 0], 0, &no_mem()),
        [(BUF, 16)]
    );
    assert_eq!(
        ranges("prlimit64", [0, 7, 0, BUF, 0, 0], 0, &no_mem()),
        [(BUF, 16)],
        "only the old limit is written"
    );
    assert_eq!(
        ranges("pipe2", [BUF, 0x80000, 0, 0, 0, 0], 0, &no_mem()),
        [(BUF, 8)]
    );
}

#[test]
fn readv_fills_iovecs_in_order() {
    let mut mem = no_mem();
    let iov = 0x6000_0000;
    mem.put_u64s(iov, &[BUF, 4, BUF2, 10, BUF2 + 0x100, 10]);
    assert_eq!(
        ranges("readv", [3, iov, 3, 0, 0, 0], 7, &mem),
        [(BUF, 4), (BUF2, 3)]
    );
    assert_eq!(
        ranges("preadv2", [3, iov, 3, 0, 0, 0], 24, &mem),
        [(BUF, 4), (BUF2, 10), (BUF2 + 0x100, 10)]
    );
    assert_eq!(ranges("readv", [3, iov, 3, 0, 0, 0], 0, &mem), []);
    // An unreadable iovec array yields nothing rather than guesses.
    assert_eq!(ranges("readv", [3, 0x1234_0000, 3, 0, 0, 0], 7, &mem), []);
}

#[test]
fn ioctl_requests() {
    let ioctl = |req: u64, result: i64| ranges("ioctl", [1, req, BUF, 0, 0, 0], result, &no_mem());
    assert_eq!(
        ioctl(0x5401, 0),
        [(BUF, 36)],
        "TCGETS: kernel struct termios"
    );
    assert_eq!(ioctl(0x5413, 0), [(BUF, 8)], "TIOCGWINSZ");
    assert_eq!(ioctl(0x541B, 0), [(BUF, 4)], "FIONREAD");
    assert_eq!(ioctl(0x540F, 0), [(BUF, 4)], "TIOCGPGRP");
    assert_eq!(ioctl(0x8004_5430, 0), [(BUF, 4)], "TIOCGPTN, _IOR-encoded");
    assert_eq!(
        ioctl(0x802C_542A, 0),
        [(BUF, 44)],
        "TCGETS2: struct termios2"
    );
    assert_eq!(ioctl(0x5421, 0), [], "FIONBIO");
    assert_eq!(ioctl(0x5402, 0), [], "TCSETS");
    assert_eq!(ioctl(0x4004_5431, 0), [], "TIOCSPTLCK, _IOW-encoded");
    assert_eq!(ioctl(0x5401, -25), [], "TCGETS on a non-tty: ENOTTY");
    assert!(ioctl_is_described(0x5401));
    assert!(ioctl_is_described(0x8004_5430));
    assert!(ioctl_is_described(0xAE00)); // KVM_GET_API_VERSION, _IO('\xae', 0)
    assert!(!ioctl_is_described(0x541C)); // TIOCLINUX: subcommand-specific
}

#[test]
fn siocgifconf_reads_the_updated_length() {
    let mut mem = no_mem();
    let mut ifc = 80u32.to_ne_bytes().to_vec();
    ifc.extend([0; 4]);
    ifc.extend(BUF2.to_ne_bytes());
    mem.put(BUF, &ifc);
    assert_eq!(
        ranges("ioctl", [4, 0x8912, BUF, 0, 0, 0], 0, &mem),
        [(BUF, 4), (BUF2, 80)]
    );
}

/// A msghdr at `at` after the kernel updated it, from its fields
/// `[name, namelen, iov, iovlen, control, controllen]` (flags are 0).
fn msghdr(mem: &mut FakeMemory, at: u64, fields: [u64; 6]) {
    // namelen is a u32 followed by padding, flags an int followed by padding.
    let mut words = fields.to_vec();
    words.push(0);
    mem.put_u64s(at, &words);
}

#[test]
fn recvmsg_covers_name_data_control_and_header() {
    let (msg, iov, name, control) = (0x6000_0000, 0x6100_0000, 0x6200_0000, 0x6300_0000);
    let mut mem = no_mem();
    msghdr(&mut mem, msg, [name, 16, iov, 2, control, 24]);
    mem.put_u64s(iov, &[BUF, 8, BUF2, 100]);
    assert_eq!(
        ranges("recvmsg", [5, msg, 0, 0, 0, 0], 20, &mem),
        [
            (name, 16),
            (msg + 8, 4),
            (BUF, 8),
            (BUF2, 12),
            (control, 24),
            (msg + 40, 12),
        ]
    );
    // No name, no control: data and the header fields only.
    let mut mem = no_mem();
    msghdr(&mut mem, msg, [0, 0, iov, 1, 0, 0]);
    mem.put_u64s(iov, &[BUF, 8]);
    assert_eq!(
        ranges("recvmsg", [5, msg, 0, 0, 0, 0], 5, &mem),
        [(BUF, 5), (msg + 40, 12)]
    );
    assert_eq!(ranges("recvmsg", [5, msg, 0, 0, 0, 0], -11, &mem), []);
}

#[test]
fn recvmmsg_uses_each_msg_len() {
    let (vec, iov) = (0x6000_0000u64, 0x6100_0000u64);
    let mut mem = no_mem();
    for i in 0..2u64 {
        msghdr(&mut mem, vec + i * 64, [0, 0, iov + i * 16, 1, 0, 0]);
        mem.put(vec + i * 64 + 56, &(3 + i as u32).to_ne_bytes());
        mem.put_u64s(iov + i * 16, &[BUF + i * 0x1000, 100]);
    }
    assert_eq!(
        ranges("recvmmsg", [5, vec, 8, 0, 0, 0], 2, &mem),
        [
            (BUF, 3),
            (vec + 40, 12),
            (vec + 56, 4),
            (BUF + 0x1000, 4),
            (vec + 64 + 40, 12),
            (vec + 64 + 56, 4),
        ]
    );
}

#[test]
fn accept_and_recvfrom_use_the_updated_address_length() {
    let mut mem = no_mem();
    mem.put(BUF2, &16u32.to_ne_bytes());
    assert_eq!(
        ranges("accept4", [3, BUF, BUF2, 0, 0, 0], 4, &mem),
        [(BUF, 16), (BUF2, 4)]
    );
    assert_eq!(ranges("accept", [3, 0, 0, 0, 0, 0], 4, &mem), []);
    assert_eq!(ranges("accept", [3, BUF, BUF2, 0, 0, 0], -11, &mem), []);
    // With MSG_TRUNC the result may exceed the buffer.
    assert_eq!(
        ranges(
            "recvfrom",
            [3, 0x5000_0000, 10, 0x20, BUF, BUF2],
            1500,
            &mem
        ),
        [(0x5000_0000, 10), (BUF, 16), (BUF2, 4)]
    );
    let mut mem = no_mem();
    mem.put(BUF2, &4u32.to_ne_bytes());
    assert_eq!(
        ranges("getsockopt", [3, 1, 4, BUF, BUF2, 0], 0, &mem),
        [(BUF, 4), (BUF2, 4)]
    );
}

#[test]
fn wait4_and_waitid() {
    assert_eq!(
        ranges("wait4", [u64::MAX, BUF, 0, 0, 0, 0], 1234, &no_mem()),
        [(BUF, 4)]
    );
    assert_eq!(
        ranges("wait4", [u64::MAX, BUF, 0, BUF2, 0, 0], 1234, &no_mem()),
        [(BUF, 4), (BUF2, 144)]
    );
    // WNOHANG, nothing to reap.
    assert_eq!(
        ranges("wait4", [u64::MAX, BUF, 1, BUF2, 0, 0], 0, &no_mem()),
        []
    );
    assert_eq!(
        ranges("wait4", [u64::MAX, BUF, 0, 0, 0, 0], -10, &no_mem()),
        []
    );
    let mut mem = no_mem();
    mem.put(BUF, &(libc::SIGCHLD as u32).to_ne_bytes());
    assert_eq!(
        ranges("waitid", [0, 0, BUF, 4, BUF2, 0], 0, &mem),
        [(BUF, 28), (BUF2, 144)]
    );
    // waitid stores the siginfo header even when it fails.
    assert_eq!(
        ranges("waitid", [0, 0, BUF, 4, 0, 0], -10, &mem),
        [(BUF, 28)]
    );
}

#[test]
fn sleeps_store_the_remaining_time_only_when_interrupted() {
    let eintr = -i64::from(libc::EINTR);
    let restart_block = -516;
    assert_eq!(
        ranges("nanosleep", [BUF, BUF2, 0, 0, 0, 0], 0, &no_mem()),
        []
    );
    assert_eq!(
        ranges("nanosleep", [BUF, BUF2, 0, 0, 0, 0], eintr, &no_mem()),
        [(BUF2, 16)]
    );
    assert_eq!(
        ranges(
            "nanosleep",
            [BUF, BUF2, 0, 0, 0, 0],
            restart_block,
            &no_mem()
        ),
        [(BUF2, 16)]
    );
    assert_eq!(
        ranges("nanosleep", [BUF, 0, 0, 0, 0, 0], eintr, &no_mem()),
        []
    );
    assert_eq!(
        ranges("nanosleep", [BUF, BUF2, 0, 0, 0, 0], -22, &no_mem()),
        []
    );
    assert_eq!(
        ranges(
            "clock_nanosleep",
            [1, 0, BUF, BUF2, 0, 0],
            restart_block,
            &no_mem()
        ),
        [(BUF2, 16)]
    );
    // TIMER_ABSTIME: nothing.
    assert_eq!(
        ranges("clock_nanosleep", [1, 1, BUF, BUF2, 0, 0], eintr, &no_mem()),
        []
    );
}

#[test]
fn polling_calls() {
    assert_eq!(
        ranges("poll", [BUF, 3, 100, 0, 0, 0], 1, &no_mem()),
        [(BUF, 24)]
    );
    assert_eq!(
        ranges("poll", [BUF, 3, 100, 0, 0, 0], -516, &no_mem()),
        [(BUF, 24)]
    );
    assert_eq!(ranges("poll", [BUF, 3, 100, 0, 0, 0], -14, &no_mem()), []);
    assert_eq!(
        ranges("ppoll", [BUF, 2, BUF2, 0, 8, 0], 0, &no_mem()),
        [(BUF, 16), (BUF2, 16)]
    );
    // select(5, &r, NULL, &e, &tv): one 8-byte word per set, and the timeout.
    assert_eq!(
        ranges("select", [5, BUF, 0, BUF + 8, BUF2, 0], 1, &no_mem()),
        [(BUF, 8), (BUF + 8, 8), (BUF2, 16)]
    );
    assert_eq!(
        ranges("select", [65, BUF, 0, 0, 0, 0], 1, &no_mem()),
        [(BUF, 16)]
    );
    assert_eq!(
        ranges("pselect6", [5, BUF, 0, 0, BUF2, 0], -4, &no_mem()),
        [(BUF2, 16)]
    );
    assert_eq!(
        ranges("epoll_wait", [4, BUF, 16, 100, 0, 0], 3, &no_mem()),
        [(BUF, 36)]
    );
    assert_eq!(
        ranges("epoll_pwait2", [4, BUF, 16, 0, 0, 0], 0, &no_mem()),
        []
    );
}

#[test]
fn calls_with_flag_dependent_outputs() {
    // fcntl F_GETLK stores a struct flock; F_SETFL nothing.
    assert_eq!(
        ranges("fcntl", [3, 5, BUF, 0, 0, 0], 0, &no_mem()),
        [(BUF, 32)]
    );
    assert_eq!(ranges("fcntl", [3, 4, 0x800, 0, 0, 0], 0, &no_mem()), []);
    // prctl PR_GET_NAME stores 16 bytes; PR_SET_NAME nothing.
    assert_eq!(
        ranges("prctl", [16, BUF, 0, 0, 0, 0], 0, &no_mem()),
        [(BUF, 16)]
    );
    assert_eq!(ranges("prctl", [15, BUF, 0, 0, 0, 0], 0, &no_mem()), []);
    // arch_prctl ARCH_GET_FS stores 8 bytes; ARCH_SET_FS nothing.
    assert_eq!(
        ranges("arch_prctl", [0x1003, BUF, 0, 0, 0, 0], 0, &no_mem()),
        [(BUF, 8)]
    );
    assert_eq!(
        ranges("arch_prctl", [0x1002, BUF, 0, 0, 0, 0], 0, &no_mem()),
        []
    );
    // getgroups(0, NULL) only counts.
    assert_eq!(ranges("getgroups", [0, 0, 0, 0, 0, 0], 3, &no_mem()), []);
    assert_eq!(
        ranges("getgroups", [32, BUF, 0, 0, 0, 0], 3, &no_mem()),
        [(BUF, 12)]
    );
    // getxattr with size 0 asks for the size: nothing is copied.
    assert_eq!(
        ranges("getxattr", [BUF2, BUF2, BUF, 0, 0, 0], 30, &no_mem()),
        []
    );
    assert_eq!(
        ranges("getxattr", [BUF2, BUF2, BUF, 64, 0, 0], 30, &no_mem()),
        [(BUF, 30)]
    );
    // FUTEX_WAKE_OP changes the word at uaddr2; FUTEX_WAIT nothing.
    assert_eq!(
        ranges("futex", [BUF, 0x85, 1, 1, BUF2, 0], 1, &no_mem()),
        [(BUF2, 4)]
    );
    assert_eq!(ranges("futex", [BUF, 0x80, 1, 0, 0, 0], 0, &no_mem()), []);
    // FUTEX_LOCK_PI may set FUTEX_WAITERS before timing out.
    assert_eq!(
        ranges("futex", [BUF, 0x86, 0, BUF2, 0, 0], -110, &no_mem()),
        [(BUF, 4)]
    );
    assert_eq!(
        ranges("mincore", [0x1000, 8193, BUF, 0, 0, 0], 0, &no_mem()),
        [(BUF, 3)]
    );
}

#[test]
fn capget_version_probe() {
    let mut mem = no_mem();
    mem.put(BUF, &0x2008_0522u32.to_ne_bytes());
    // capget(&hdr{version: 0}, NULL) rewrites the version and succeeds.
    assert_eq!(ranges("capget", [BUF, 0, 0, 0, 0, 0], 0, &mem), [(BUF, 4)]);
    assert_eq!(
        ranges("capget", [BUF, BUF2, 0, 0, 0, 0], -22, &mem),
        [(BUF, 4)]
    );
    assert_eq!(
        ranges("capget", [BUF, BUF2, 0, 0, 0, 0], 0, &mem),
        [(BUF, 4), (BUF2, 24)]
    );
    assert_eq!(ranges("capget", [BUF, BUF2, 0, 0, 0, 0], -1, &mem), []);
}

#[test]
fn absurd_lengths_are_cut_and_kernel_addresses_dropped() {
    assert_eq!(
        ranges("read", [0, BUF, u64::MAX, 0, 0, 0], 4 << 30, &no_mem()),
        [(BUF, MAX_OUTPUT_LEN)]
    );
    assert_eq!(
        ranges(
            "fstat",
            [3, 0xffff_8000_0000_0000, 0, 0, 0, 0],
            0,
            &no_mem()
        ),
        []
    );
    assert_eq!(
        ranges("fstat", [3, u64::MAX - 10, 0, 0, 0, 0], 0, &no_mem()),
        []
    );
    // A garbage iovec count is bounded by UIO_MAXIOV before anything is read.
    assert_eq!(
        ranges("readv", [3, BUF, u64::MAX, 0, 0, 0], 10, &no_mem()),
        []
    );
}

#[test]
fn failing_calls_write_nothing() {
    let mut mem = no_mem();
    mem.put(BUF2, &16u32.to_ne_bytes());
    for name in [
        "read",
        "pread64",
        "readv",
        "fstat",
        "stat",
        "statx",
        "getdents64",
        "getcwd",
        "getrandom",
        "ioctl",
        "fcntl",
        "prctl",
        "accept",
        "recvfrom",
        "getsockopt",
        "wait4",
        "epoll_wait",
        "getxattr",
        "rt_sigaction",
        "clock_gettime",
        "pipe2",
    ] {
        let args = [3, BUF, BUF2, BUF, BUF2, BUF];
        assert_eq!(ranges(name, args, -14, &mem), [], "{name}");
        assert_eq!(ranges(name, args, -9, &mem), [], "{name}");
    }
}
