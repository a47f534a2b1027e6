//! The table itself: one row per x86-64 system call number.
//!
//! Rows are in ascending number order; [`INDEX`] maps a number to its row in
//! O(1) and is built, and checked for duplicates, at compile time.
//!
//! Conventions of the rows:
//! - the default is `Emulate`, writes nothing, emits nothing, does not block;
//!   the builder methods below say what differs;
//! - sizes are those of the x86-64 kernel structures (`struct stat` 144,
//!   `struct statx` 256, `struct rusage` 144, `struct timespec` 16 ...);
//! - syscalls the 64-bit kernel no longer implements (`create_module`,
//!   `tuxcall` ...) are refused with ENOSYS, which is what the kernel returns.

use crate::outputs as o;
use crate::ArgKind::{self, *};
use crate::Out::{self, *};
use crate::{Emit, Policy, Special, SyscallSpec};
use libc::{ENOSYS, EPERM};

/// A row with the defaults: emulated, writes nothing, emits nothing, never blocks.
const fn sys(nr: u64, name: &'static str, args: &'static [ArgKind]) -> SyscallSpec {
    SyscallSpec {
        nr,
        name,
        args,
        policy: Policy::Emulate,
        out: Nothing,
        emit: None,
        may_block: false,
    }
}

/// `args[arg]`, when not NULL, receives `size` bytes.
const fn fixed(arg: usize, size: u64) -> Out {
    Fixed { arg, size }
}

// Builder methods used only to write the table compactly.
impl SyscallSpec {
    const fn writes(self, out: Out) -> Self {
        SyscallSpec { out, ..self }
    }
    const fn blocks(self) -> Self {
        SyscallSpec {
            may_block: true,
            ..self
        }
    }
    const fn emits(self, emit: Emit) -> Self {
        SyscallSpec {
            emit: Some(emit),
            ..self
        }
    }
    const fn execute(self) -> Self {
        SyscallSpec {
            policy: Policy::Execute { check_result: true },
            ..self
        }
    }
    const fn execute_unchecked(self) -> Self {
        SyscallSpec {
            policy: Policy::Execute {
                check_result: false,
            },
            ..self
        }
    }
    const fn special(self, s: Special) -> Self {
        SyscallSpec {
            policy: Policy::Special(s),
            ..self
        }
    }
    const fn refuse(self, errno: i32) -> Self {
        SyscallSpec {
            policy: Policy::Refuse { errno },
            ..self
        }
    }
    const fn unsupported(self) -> Self {
        SyscallSpec {
            policy: Policy::Unsupported,
            ..self
        }
    }
}

// Sizes of kernel structures on x86-64.
const STAT: u64 = 144;
const STATX: u64 = 256;
const STATFS: u64 = 120;
const TIMESPEC: u64 = 16;
const TIMEVAL: u64 = 16;
const ITIMER: u64 = 32; // struct itimerval and struct itimerspec
const RUSAGE: u64 = 144;
const RLIMIT: u64 = 16;
const SIGINFO: u64 = 128;
const SIGSET: u64 = 8;
const KSIGACTION: u64 = 32; // handler, flags, restorer, mask
const STACK_T: u64 = 24;
const TIMEX: u64 = 208;
const UTSNAME: u64 = 390;
const SYSINFO: u64 = 112;
const TMS: u64 = 32;
const MQ_ATTR: u64 = 64;
const CACHESTAT: u64 = 40;

const WRITE_BUF: Emit = Emit::Buf { fd: 0, buf: 1 };
const WRITE_IOV: Emit = Emit::Iov {
    fd: 0,
    iov: 1,
    cnt: 2,
};

const ROWS: &[SyscallSpec] = &[
    sys(0, "read", &[Fd, Ptr, Int])
        .writes(BufResult { arg: 1 })
        .blocks(),
    sys(1, "write", &[Fd, Ptr, Int]).emits(WRITE_BUF).blocks(),
    // Opening a FIFO blocks until the other end opens.
    sys(2, "open", &[Path, OpenFlags, Mode]).blocks(),
    sys(3, "close", &[Fd]),
    sys(4, "stat", &[Path, Ptr]).writes(fixed(1, STAT)),
    sys(5, "fstat", &[Fd, Ptr]).writes(fixed(1, STAT)),
    sys(6, "lstat", &[Path, Ptr]).writes(fixed(1, STAT)),
    sys(7, "poll", &[Ptr, Int, Int])
        .writes(Custom(o::poll))
        .blocks(),
    sys(8, "lseek", &[Fd, Int, Int]),
    sys(9, "mmap", &[Ptr, Int, Prot, MapFlags, Fd, Int]).special(Special::Mmap),
    sys(10, "mprotect", &[Ptr, Int, Prot]).execute(),
    sys(11, "munmap", &[Ptr, Int]).execute(),
    sys(12, "brk", &[Ptr]).special(Special::Brk),
    // Signal dispositions, masks and stacks must be real at replay too, or
    // recorded signals would be delivered differently.
    sys(13, "rt_sigaction", &[Signal, Ptr, Ptr, Int])
        .writes(fixed(2, KSIGACTION))
        .execute(),
    sys(14, "rt_sigprocmask", &[Int, Ptr, Ptr, Int])
        .writes(fixed(2, SIGSET))
        .execute(),
    // It restores the registers saved in the signal frame: its "result" is rax.
    sys(15, "rt_sigreturn", &[]).execute_unchecked(),
    sys(16, "ioctl", &[Fd, Hex, Ptr])
        .writes(Custom(o::ioctl))
        .blocks(),
    sys(17, "pread64", &[Fd, Ptr, Int, Int]).writes(BufResult { arg: 1 }),
    sys(18, "pwrite64", &[Fd, Ptr, Int, Int]).emits(WRITE_BUF),
    sys(19, "readv", &[Fd, Ptr, Int])
        .writes(IovResult { iov: 1, cnt: 2 })
        .blocks(),
    sys(20, "writev", &[Fd, Ptr, Int]).emits(WRITE_IOV).blocks(),
    sys(21, "access", &[Path, AccessMode]),
    sys(22, "pipe", &[Ptr]).writes(fixed(0, 8)),
    sys(23, "select", &[Int, Ptr, Ptr, Ptr, Ptr])
        .writes(Custom(o::select))
        .blocks(),
    // A deterministic point where the scheduler may switch threads.
    sys(24, "sched_yield", &[]).blocks(),
    // The kernel may move the mapping: replay must get the recorded address
    // (see the crate's notes on mremap).
    sys(25, "mremap", &[Ptr, Int, Int, Hex, Ptr]).special(Special::Mremap),
    sys(26, "msync", &[Ptr, Int, Hex]),
    sys(27, "mincore", &[Ptr, Int, Ptr]).writes(Custom(o::mincore)),
    // MADV_DONTNEED & co. change memory contents: it must run at replay.
    sys(28, "madvise", &[Ptr, Int, Int]).execute(),
    // System V shared memory: replay maps a file of its own per segment
    // where the recorded attach was (see Special::Shm).
    sys(29, "shmget", &[Int, Int, Hex]),
    sys(30, "shmat", &[Int, Ptr, Hex]).special(Special::Shm),
    sys(31, "shmctl", &[Int, Int, Ptr]).writes(Custom(o::shmctl)),
    sys(32, "dup", &[Fd]),
    sys(33, "dup2", &[Fd, Fd]),
    sys(34, "pause", &[]).blocks(),
    sys(35, "nanosleep", &[Ptr, Ptr])
        .writes(Custom(o::nanosleep))
        .blocks(),
    sys(36, "getitimer", &[Int, Ptr]).writes(fixed(1, ITIMER)),
    sys(37, "alarm", &[Int]),
    sys(38, "setitimer", &[Int, Ptr, Ptr]).writes(fixed(2, ITIMER)),
    sys(39, "getpid", &[]),
    sys(40, "sendfile", &[Fd, Fd, Ptr, Int])
        .writes(fixed(2, 8))
        .emits(Emit::InKernel { fd: 0 })
        .blocks(),
    sys(41, "socket", &[Int, Hex, Int]),
    sys(42, "connect", &[Fd, SockAddr, Int]).blocks(),
    sys(43, "accept", &[Fd, Ptr, Ptr])
        .writes(Custom(o::sockaddr_out::<1, 2>))
        .blocks(),
    sys(44, "sendto", &[Fd, Ptr, Int, Hex, SockAddr, Int])
        .emits(WRITE_BUF)
        .blocks(),
    sys(45, "recvfrom", &[Fd, Ptr, Int, Hex, Ptr, Ptr])
        .writes(Custom(o::recvfrom))
        .blocks(),
    sys(46, "sendmsg", &[Fd, Ptr, Hex])
        .emits(Emit::Msg { fd: 0, msg: 1 })
        .blocks(),
    sys(47, "recvmsg", &[Fd, Ptr, Hex])
        .writes(Custom(o::recvmsg))
        .blocks(),
    sys(48, "shutdown", &[Fd, Int]),
    sys(49, "bind", &[Fd, SockAddr, Int]),
    sys(50, "listen", &[Fd, Int]),
    sys(51, "getsockname", &[Fd, Ptr, Ptr]).writes(Custom(o::sockaddr_out::<1, 2>)),
    sys(52, "getpeername", &[Fd, Ptr, Ptr]).writes(Custom(o::sockaddr_out::<1, 2>)),
    sys(53, "socketpair", &[Int, Hex, Int, Ptr]).writes(fixed(3, 8)),
    sys(54, "setsockopt", &[Fd, Int, Int, Ptr, Int]),
    sys(55, "getsockopt", &[Fd, Int, Int, Ptr, Ptr]).writes(Custom(o::getsockopt)),
    // Process creation comes with the multi-process work.
    sys(56, "clone", &[Hex, Ptr, Ptr, Ptr, Hex])
        .special(Special::Clone)
        .writes(Custom(o::clone_parent_tid)),
    sys(57, "fork", &[]).special(Special::Clone),
    sys(58, "vfork", &[]).special(Special::Clone),
    sys(59, "execve", &[Path, Argv, Ptr]).special(Special::Execve),
    sys(60, "exit", &[Int]).special(Special::Exit),
    sys(61, "wait4", &[Int, Ptr, Hex, Ptr])
        .writes(Custom(o::wait4))
        .blocks(),
    sys(62, "kill", &[Int, Signal]),
    sys(63, "uname", &[Ptr]).writes(fixed(0, UTSNAME)),
    sys(64, "semget", &[Int, Int, Hex]),
    sys(65, "semop", &[Int, Ptr, Int]).blocks(),
    // GETALL fills an array as long as the set, which the arguments do not
    // say: the recorder adds that write (session/memory.rs).
    sys(66, "semctl", &[Int, Int, Int, Ptr]).writes(Custom(o::semctl)),
    sys(67, "shmdt", &[Ptr]).special(Special::Shm),
    sys(68, "msgget", &[Int, Hex]),
    sys(69, "msgsnd", &[Int, Ptr, Int, Hex]).blocks(),
    sys(70, "msgrcv", &[Int, Ptr, Int, Int, Hex])
        .writes(Custom(o::msgrcv))
        .blocks(),
    sys(71, "msgctl", &[Int, Int, Ptr]).writes(Custom(o::msgctl)),
    // F_SETLKW and F_OFD_SETLKW wait for the lock.
    sys(72, "fcntl", &[Fd, Int, Hex])
        .writes(Custom(o::fcntl))
        .blocks(),
    sys(73, "flock", &[Fd, Hex]).blocks(),
    sys(74, "fsync", &[Fd]),
    sys(75, "fdatasync", &[Fd]),
    sys(76, "truncate", &[Path, Int]),
    sys(77, "ftruncate", &[Fd, Int]),
    sys(78, "getdents", &[Fd, Ptr, Int]).writes(BufResult { arg: 1 }),
    // The result is the length including the NUL, which is what was copied.
    sys(79, "getcwd", &[Ptr, Int]).writes(BufResult { arg: 0 }),
    sys(80, "chdir", &[Path]),
    sys(81, "fchdir", &[Fd]),
    sys(82, "rename", &[Path, Path]),
    sys(83, "mkdir", &[Path, Mode]),
    sys(84, "rmdir", &[Path]),
    sys(85, "creat", &[Path, Mode]).blocks(),
    sys(86, "link", &[Path, Path]),
    sys(87, "unlink", &[Path]),
    sys(88, "symlink", &[Path, Path]),
    sys(89, "readlink", &[Path, Ptr, Int]).writes(BufResult { arg: 1 }),
    sys(90, "chmod", &[Path, Mode]),
    sys(91, "fchmod", &[Fd, Hex]),
    sys(92, "chown", &[Path, Int, Int]),
    sys(93, "fchown", &[Fd, Int, Int]),
    sys(94, "lchown", &[Path, Int, Int]),
    sys(95, "umask", &[Hex]),
    sys(96, "gettimeofday", &[Ptr, Ptr]).writes(Many(&[fixed(0, TIMEVAL), fixed(1, 8)])),
    sys(97, "getrlimit", &[Int, Ptr]).writes(fixed(1, RLIMIT)),
    sys(98, "getrusage", &[Int, Ptr]).writes(fixed(1, RUSAGE)),
    sys(99, "sysinfo", &[Ptr]).writes(fixed(0, SYSINFO)),
    sys(100, "times", &[Ptr]).writes(fixed(0, TMS)),
    // reel is already the tracer: PTRACE_TRACEME and attaching to a traced
    // task fail with EPERM natively, so programs handle EPERM.
    sys(101, "ptrace", &[Int, Int, Ptr, Ptr]).refuse(EPERM),
    sys(102, "getuid", &[]),
    sys(103, "syslog", &[Int, Ptr, Int]).writes(Custom(o::syslog)),
    sys(104, "getgid", &[]),
    sys(105, "setuid", &[Int]),
    sys(106, "setgid", &[Int]),
    sys(107, "geteuid", &[]),
    sys(108, "getegid", &[]),
    sys(109, "setpgid", &[Int, Int]),
    sys(110, "getppid", &[]),
    sys(111, "getpgrp", &[]),
    sys(112, "setsid", &[]),
    sys(113, "setreuid", &[Int, Int]),
    sys(114, "setregid", &[Int, Int]),
    sys(115, "getgroups", &[Int, Ptr]).writes(Custom(o::getgroups)),
    sys(116, "setgroups", &[Int, Ptr]),
    sys(117, "setresuid", &[Int, Int, Int]),
    sys(118, "getresuid", &[Ptr, Ptr, Ptr]).writes(Many(&[fixed(0, 4), fixed(1, 4), fixed(2, 4)])),
    sys(119, "setresgid", &[Int, Int, Int]),
    sys(120, "getresgid", &[Ptr, Ptr, Ptr]).writes(Many(&[fixed(0, 4), fixed(1, 4), fixed(2, 4)])),
    sys(121, "getpgid", &[Int]),
    sys(122, "setfsuid", &[Int]),
    sys(123, "setfsgid", &[Int]),
    sys(124, "getsid", &[Int]),
    sys(125, "capget", &[Ptr, Ptr]).writes(Custom(o::capget)),
    sys(126, "capset", &[Ptr, Ptr]),
    // The kernel rejects a size above 8 and copies exactly `sigsetsize` bytes.
    sys(127, "rt_sigpending", &[Ptr, Int]).writes(SizedByArg {
        arg: 0,
        size_arg: 1,
    }),
    sys(128, "rt_sigtimedwait", &[Ptr, Ptr, Ptr, Int])
        .writes(fixed(1, SIGINFO))
        .blocks(),
    sys(129, "rt_sigqueueinfo", &[Int, Signal, Ptr]),
    // Emulated: replay delivers the recorded signal at this event.
    sys(130, "rt_sigsuspend", &[Ptr, Int]).blocks(),
    sys(131, "sigaltstack", &[Ptr, Ptr])
        .writes(fixed(1, STACK_T))
        .execute(),
    sys(132, "utime", &[Path, Ptr]),
    sys(133, "mknod", &[Path, Hex, Hex]),
    // Maps a library (when the kernel still has it): shapes the address space.
    sys(134, "uselib", &[Path]).refuse(ENOSYS),
    // Only affects later execs, and replay rebuilds execs from the trace.
    sys(135, "personality", &[Hex]),
    sys(136, "ustat", &[Hex, Ptr]).writes(fixed(1, 32)),
    sys(137, "statfs", &[Path, Ptr]).writes(fixed(1, STATFS)),
    sys(138, "fstatfs", &[Fd, Ptr]).writes(fixed(1, STATFS)),
    // Obsolete; option 2 writes a string of unknown length.
    sys(139, "sysfs", &[Int, Hex, Ptr]).unsupported(),
    sys(140, "getpriority", &[Int, Int]),
    sys(141, "setpriority", &[Int, Int, Int]),
    sys(142, "sched_setparam", &[Int, Ptr]),
    sys(143, "sched_getparam", &[Int, Ptr]).writes(fixed(1, 4)),
    sys(144, "sched_setscheduler", &[Int, Int, Ptr]),
    sys(145, "sched_getscheduler", &[Int]),
    sys(146, "sched_get_priority_max", &[Int]),
    sys(147, "sched_get_priority_min", &[Int]),
    sys(148, "sched_rr_get_interval", &[Int, Ptr]).writes(fixed(1, TIMESPEC)),
    // Locked pages change what madvise(MADV_DONTNEED) answers (EINVAL):
    // replay locks them too (the recorded result is what the program sees).
    sys(149, "mlock", &[Ptr, Int]).execute_unchecked(),
    sys(150, "munlock", &[Ptr, Int]).execute_unchecked(),
    sys(151, "mlockall", &[Hex]),
    sys(152, "munlockall", &[]),
    sys(153, "vhangup", &[]),
    // Changes the LDT, which segment loads use: runs at replay too. Reading
    // (func 0 and 2) copies `result` bytes.
    sys(154, "modify_ldt", &[Int, Ptr, Int])
        .writes(BufResult { arg: 1 })
        .execute(),
    sys(155, "pivot_root", &[Path, Path]),
    // Removed from the kernel (5.5).
    sys(156, "_sysctl", &[Ptr]).refuse(ENOSYS),
    sys(157, "prctl", &[Int, Hex, Hex, Hex, Hex]).writes(Custom(o::prctl)),
    // Sets fs/gs bases (TLS) and CPU state: must run at replay.
    sys(158, "arch_prctl", &[Hex, Ptr])
        .writes(Custom(o::arch_prctl))
        .execute(),
    sys(159, "adjtimex", &[Ptr]).writes(fixed(0, TIMEX)),
    sys(160, "setrlimit", &[Int, Ptr]),
    sys(161, "chroot", &[Path]),
    sys(162, "sync", &[]),
    sys(163, "acct", &[Path]),
    sys(164, "settimeofday", &[Ptr, Ptr]),
    sys(165, "mount", &[Path, Path, Path, Hex, Ptr]),
    sys(166, "umount2", &[Path, Hex]),
    sys(167, "swapon", &[Path, Hex]),
    sys(168, "swapoff", &[Path]),
    sys(169, "reboot", &[Hex, Hex, Hex, Ptr]),
    sys(170, "sethostname", &[Ptr, Int]),
    sys(171, "setdomainname", &[Ptr, Int]),
    // Port I/O reads hardware state reel cannot record.
    sys(172, "iopl", &[Int]).unsupported(),
    sys(173, "ioperm", &[Hex, Int, Int]).unsupported(),
    sys(174, "create_module", &[Ptr, Int]).refuse(ENOSYS),
    sys(175, "init_module", &[Ptr, Int, Ptr]),
    sys(176, "delete_module", &[Ptr, Hex]),
    sys(177, "get_kernel_syms", &[Ptr]).refuse(ENOSYS),
    sys(178, "query_module", &[Ptr, Int, Ptr, Int, Ptr]).refuse(ENOSYS),
    // A dozen subcommands with their own structures: not described yet.
    sys(179, "quotactl", &[Hex, Path, Int, Ptr]).unsupported(),
    sys(180, "nfsservctl", &[Int, Ptr, Ptr]).refuse(ENOSYS),
    sys(181, "getpmsg", &[]).refuse(ENOSYS),
    sys(182, "putpmsg", &[]).refuse(ENOSYS),
    sys(183, "afs_syscall", &[]).refuse(ENOSYS),
    sys(184, "tuxcall", &[]).refuse(ENOSYS),
    sys(185, "security", &[]).refuse(ENOSYS),
    sys(186, "gettid", &[]),
    sys(187, "readahead", &[Fd, Int, Int]),
    sys(188, "setxattr", &[Path, Ptr, Ptr, Int, Hex]),
    sys(189, "lsetxattr", &[Path, Ptr, Ptr, Int, Hex]),
    sys(190, "fsetxattr", &[Fd, Ptr, Ptr, Int, Hex]),
    // With size 0 these return the needed size and copy nothing.
    sys(191, "getxattr", &[Path, Ptr, Ptr, Int]).writes(Custom(o::buf_upto::<2, 3>)),
    sys(192, "lgetxattr", &[Path, Ptr, Ptr, Int]).writes(Custom(o::buf_upto::<2, 3>)),
    sys(193, "fgetxattr", &[Fd, Ptr, Ptr, Int]).writes(Custom(o::buf_upto::<2, 3>)),
    sys(194, "listxattr", &[Path, Ptr, Int]).writes(Custom(o::buf_upto::<1, 2>)),
    sys(195, "llistxattr", &[Path, Ptr, Int]).writes(Custom(o::buf_upto::<1, 2>)),
    sys(196, "flistxattr", &[Fd, Ptr, Int]).writes(Custom(o::buf_upto::<1, 2>)),
    sys(197, "removexattr", &[Path, Ptr]),
    sys(198, "lremovexattr", &[Path, Ptr]),
    sys(199, "fremovexattr", &[Fd, Ptr]),
    sys(200, "tkill", &[Int, Signal]),
    sys(201, "time", &[Ptr]).writes(fixed(0, 8)),
    sys(202, "futex", &[Ptr, Int, Int, Ptr, Ptr, Int])
        .writes(Custom(o::futex))
        .blocks(),
    sys(203, "sched_setaffinity", &[Int, Int, Ptr]),
    // The result is the number of bytes copied.
    sys(204, "sched_getaffinity", &[Int, Int, Ptr]).writes(BufResult { arg: 2 }),
    // 32-bit TLS descriptors: not implemented for 64-bit callers.
    sys(205, "set_thread_area", &[Ptr]).refuse(ENOSYS),
    // Kernel AIO maps a completion ring the kernel writes asynchronously.
    sys(206, "io_setup", &[Int, Ptr]).unsupported(),
    sys(207, "io_destroy", &[Hex]).unsupported(),
    sys(208, "io_getevents", &[Hex, Int, Int, Ptr, Ptr]).unsupported(),
    sys(209, "io_submit", &[Hex, Int, Ptr]).unsupported(),
    sys(210, "io_cancel", &[Hex, Ptr, Ptr]).unsupported(),
    sys(211, "get_thread_area", &[Ptr]).refuse(ENOSYS),
    // Removed from the kernel (6.8).
    sys(212, "lookup_dcookie", &[Hex, Ptr, Int]).refuse(ENOSYS),
    sys(213, "epoll_create", &[Int]),
    sys(214, "epoll_ctl_old", &[]).refuse(ENOSYS),
    sys(215, "epoll_wait_old", &[]).refuse(ENOSYS),
    // Rewires a shared file mapping: an address-space change we do not replay.
    sys(216, "remap_file_pages", &[Ptr, Int, Hex, Int, Hex]).unsupported(),
    sys(217, "getdents64", &[Fd, Ptr, Int]).writes(BufResult { arg: 1 }),
    // Returns the tid, which differs at replay; the clear_child_tid address
    // must be set for real so thread exit wakes joiners.
    sys(218, "set_tid_address", &[Ptr]).execute_unchecked(),
    // Continues an interrupted sleep; its writes are those of the original
    // call, which the recorder knows (see the crate notes).
    sys(219, "restart_syscall", &[]).blocks(),
    sys(220, "semtimedop", &[Int, Ptr, Int, Ptr]).blocks(),
    sys(221, "fadvise64", &[Fd, Int, Int, Int]),
    sys(222, "timer_create", &[Int, Ptr, Ptr]).writes(fixed(2, 4)),
    sys(223, "timer_settime", &[Int, Hex, Ptr, Ptr]).writes(fixed(3, ITIMER)),
    sys(224, "timer_gettime", &[Int, Ptr]).writes(fixed(1, ITIMER)),
    sys(225, "timer_getoverrun", &[Int]),
    sys(226, "timer_delete", &[Int]),
    sys(227, "clock_settime", &[Int, Ptr]),
    sys(228, "clock_gettime", &[Int, Ptr]).writes(fixed(1, TIMESPEC)),
    sys(229, "clock_getres", &[Int, Ptr]).writes(fixed(1, TIMESPEC)),
    sys(230, "clock_nanosleep", &[Int, Hex, Ptr, Ptr])
        .writes(Custom(o::clock_nanosleep))
        .blocks(),
    sys(231, "exit_group", &[Int]).special(Special::ExitGroup),
    sys(232, "epoll_wait", &[Fd, Ptr, Int, Int])
        .writes(Custom(o::epoll_wait))
        .blocks(),
    sys(233, "epoll_ctl", &[Fd, Int, Fd, Ptr]),
    sys(234, "tgkill", &[Int, Int, Signal]),
    sys(235, "utimes", &[Path, Ptr]),
    sys(236, "vserver", &[]).refuse(ENOSYS),
    // NUMA placement: no effect on contents.
    sys(237, "mbind", &[Ptr, Int, Int, Ptr, Int, Hex]),
    sys(238, "set_mempolicy", &[Int, Ptr, Int]),
    sys(239, "get_mempolicy", &[Ptr, Ptr, Int, Ptr, Hex]).writes(Custom(o::get_mempolicy)),
    sys(240, "mq_open", &[Ptr, Hex, Hex, Ptr]),
    sys(241, "mq_unlink", &[Ptr]),
    sys(242, "mq_timedsend", &[Fd, Ptr, Int, Int, Ptr]).blocks(),
    sys(243, "mq_timedreceive", &[Fd, Ptr, Int, Ptr, Ptr])
        .writes(Many(&[BufResult { arg: 1 }, fixed(3, 4)]))
        .blocks(),
    sys(244, "mq_notify", &[Fd, Ptr]),
    sys(245, "mq_getsetattr", &[Fd, Ptr, Ptr]).writes(fixed(2, MQ_ATTR)),
    sys(246, "kexec_load", &[Ptr, Int, Ptr, Hex]),
    sys(247, "waitid", &[Int, Int, Ptr, Hex, Ptr])
        .writes(Custom(o::waitid))
        .blocks(),
    sys(248, "add_key", &[Ptr, Ptr, Ptr, Int, Int]),
    sys(249, "request_key", &[Ptr, Ptr, Ptr, Int]),
    sys(250, "keyctl", &[Int, Hex, Hex, Hex, Hex]).writes(Custom(o::keyctl)),
    sys(251, "ioprio_set", &[Int, Int, Int]),
    sys(252, "ioprio_get", &[Int, Int]),
    sys(253, "inotify_init", &[]),
    sys(254, "inotify_add_watch", &[Fd, Path, Hex]),
    sys(255, "inotify_rm_watch", &[Fd, Int]),
    sys(256, "migrate_pages", &[Int, Int, Ptr, Ptr]),
    sys(257, "openat", &[Fd, Path, OpenFlags, Mode]).blocks(),
    sys(258, "mkdirat", &[Fd, Path, Mode]),
    sys(259, "mknodat", &[Fd, Path, Hex, Hex]),
    sys(260, "fchownat", &[Fd, Path, Int, Int, Hex]),
    sys(261, "futimesat", &[Fd, Path, Ptr]),
    sys(262, "newfstatat", &[Fd, Path, Ptr, AtFlags]).writes(fixed(2, STAT)),
    sys(263, "unlinkat", &[Fd, Path, AtFlags]),
    sys(264, "renameat", &[Fd, Path, Fd, Path]),
    sys(265, "linkat", &[Fd, Path, Fd, Path, Hex]),
    sys(266, "symlinkat", &[Path, Fd, Path]),
    sys(267, "readlinkat", &[Fd, Path, Ptr, Int]).writes(BufResult { arg: 2 }),
    sys(268, "fchmodat", &[Fd, Path, Mode]),
    sys(269, "faccessat", &[Fd, Path, AccessMode]),
    sys(270, "pselect6", &[Int, Ptr, Ptr, Ptr, Ptr, Ptr])
        .writes(Custom(o::select))
        .blocks(),
    sys(271, "ppoll", &[Ptr, Int, Ptr, Ptr, Int])
        .writes(Custom(o::ppoll))
        .blocks(),
    sys(272, "unshare", &[Hex]),
    // The kernel walks this list when a thread dies: must be real at replay.
    sys(273, "set_robust_list", &[Ptr, Int]).execute(),
    sys(274, "get_robust_list", &[Int, Ptr, Ptr]).writes(Many(&[fixed(1, 8), fixed(2, 8)])),
    sys(275, "splice", &[Fd, Ptr, Fd, Ptr, Int, Hex])
        .writes(Many(&[fixed(1, 8), fixed(3, 8)]))
        .emits(Emit::InKernel { fd: 2 })
        .blocks(),
    sys(276, "tee", &[Fd, Fd, Int, Hex])
        .emits(Emit::InKernel { fd: 1 })
        .blocks(),
    sys(277, "sync_file_range", &[Fd, Int, Int, Hex]),
    // Lends the program's pages to a pipe: writes made later are not seen.
    sys(278, "vmsplice", &[Fd, Ptr, Int, Hex]).refuse(ENOSYS),
    sys(279, "move_pages", &[Int, Int, Ptr, Ptr, Ptr, Hex]).writes(Custom(o::move_pages)),
    sys(280, "utimensat", &[Fd, Path, Ptr, Hex]),
    sys(281, "epoll_pwait", &[Fd, Ptr, Int, Int, Ptr, Int])
        .writes(Custom(o::epoll_wait))
        .blocks(),
    sys(282, "signalfd", &[Fd, Ptr, Int]),
    sys(283, "timerfd_create", &[Int, Hex]),
    sys(284, "eventfd", &[Int]),
    sys(285, "fallocate", &[Fd, Hex, Int, Int]),
    sys(286, "timerfd_settime", &[Fd, Hex, Ptr, Ptr]).writes(fixed(3, ITIMER)),
    sys(287, "timerfd_gettime", &[Fd, Ptr]).writes(fixed(1, ITIMER)),
    sys(288, "accept4", &[Fd, Ptr, Ptr, Hex])
        .writes(Custom(o::sockaddr_out::<1, 2>))
        .blocks(),
    sys(289, "signalfd4", &[Fd, Ptr, Int, Hex]),
    sys(290, "eventfd2", &[Int, Hex]),
    sys(291, "epoll_create1", &[Hex]),
    sys(292, "dup3", &[Fd, Fd, Hex]),
    sys(293, "pipe2", &[Ptr, Hex]).writes(fixed(0, 8)),
    sys(294, "inotify_init1", &[Hex]),
    sys(295, "preadv", &[Fd, Ptr, Int, Int, Int]).writes(IovResult { iov: 1, cnt: 2 }),
    sys(296, "pwritev", &[Fd, Ptr, Int, Int, Int]).emits(WRITE_IOV),
    sys(297, "rt_tgsigqueueinfo", &[Int, Int, Signal, Ptr]),
    // Hardware counters are reel's business (and absent here anyway).
    sys(298, "perf_event_open", &[Ptr, Int, Int, Fd, Hex]).refuse(ENOSYS),
    sys(299, "recvmmsg", &[Fd, Ptr, Int, Hex, Ptr])
        .writes(Custom(o::recvmmsg))
        .blocks(),
    sys(300, "fanotify_init", &[Hex, Hex]),
    sys(301, "fanotify_mark", &[Fd, Hex, Hex, Fd, Path]),
    sys(302, "prlimit64", &[Int, Int, Ptr, Ptr]).writes(fixed(3, RLIMIT)),
    sys(303, "name_to_handle_at", &[Fd, Path, Ptr, Ptr, Hex]).writes(Custom(o::name_to_handle_at)),
    sys(304, "open_by_handle_at", &[Fd, Ptr, Hex]).blocks(),
    sys(305, "clock_adjtime", &[Int, Ptr]).writes(fixed(1, TIMEX)),
    sys(306, "syncfs", &[Fd]),
    sys(307, "sendmmsg", &[Fd, Ptr, Int, Hex])
        .writes(Custom(o::sendmmsg))
        .blocks(),
    sys(308, "setns", &[Fd, Hex]),
    sys(309, "getcpu", &[Ptr, Ptr, Ptr]).writes(Many(&[fixed(0, 4), fixed(1, 4)])),
    sys(310, "process_vm_readv", &[Int, Ptr, Int, Ptr, Int, Hex])
        .writes(IovResult { iov: 1, cnt: 2 }),
    // Writes another process's memory behind the recorder's back (replay
    // would have to make the same write): ENOSYS, with a warning.
    sys(311, "process_vm_writev", &[Int, Ptr, Int, Ptr, Int, Hex]).unsupported(),
    sys(312, "kcmp", &[Int, Int, Int, Hex, Hex]),
    sys(313, "finit_module", &[Fd, Ptr, Hex]),
    sys(314, "sched_setattr", &[Int, Ptr, Hex]),
    sys(315, "sched_getattr", &[Int, Ptr, Int, Hex]).writes(Custom(o::sched_getattr)),
    sys(316, "renameat2", &[Fd, Path, Fd, Path, Hex]),
    // A program's filter would stack with reel's and hide calls from it
    // (SECCOMP_RET_ERRNO wins over SECCOMP_RET_TRACE): the recorder keeps
    // the program's filters and runs them itself (filter.rs and the
    // recorder's session/seccomp.rs answer this call before the table does).
    sys(317, "seccomp", &[Int, Hex, Ptr]).refuse(ENOSYS),
    sys(318, "getrandom", &[Ptr, Int, Hex]).writes(BufResult { arg: 0 }),
    sys(319, "memfd_create", &[Ptr, Hex]),
    sys(320, "kexec_file_load", &[Fd, Fd, Int, Ptr, Hex]),
    // BPF programs (socket filters, maps shared with the kernel) escape recording.
    sys(321, "bpf", &[Int, Ptr, Int]).refuse(ENOSYS),
    sys(322, "execveat", &[Fd, Path, Argv, Ptr, AtFlags]).special(Special::Execve),
    // Page faults handled by another thread: not replayable yet.
    sys(323, "userfaultfd", &[Hex]).refuse(ENOSYS),
    sys(324, "membarrier", &[Int, Hex, Int]),
    sys(325, "mlock2", &[Ptr, Int, Hex]).execute_unchecked(),
    sys(326, "copy_file_range", &[Fd, Ptr, Fd, Ptr, Int, Hex])
        .writes(Many(&[fixed(1, 8), fixed(3, 8)]))
        .emits(Emit::InKernel { fd: 2 }),
    sys(327, "preadv2", &[Fd, Ptr, Int, Int, Int, Hex]).writes(IovResult { iov: 1, cnt: 2 }),
    sys(328, "pwritev2", &[Fd, Ptr, Int, Int, Int, Hex]).emits(WRITE_IOV),
    sys(329, "pkey_mprotect", &[Ptr, Int, Prot, Int]).execute(),
    sys(330, "pkey_alloc", &[Hex, Hex]).execute(),
    sys(331, "pkey_free", &[Int]).execute(),
    sys(332, "statx", &[Fd, Path, AtFlags, Hex, Ptr]).writes(fixed(4, STATX)),
    sys(333, "io_pgetevents", &[Hex, Int, Int, Ptr, Ptr, Ptr]).unsupported(),
    // The kernel writes the rseq area on preemption: glibc falls back without it.
    sys(334, "rseq", &[Ptr, Int, Hex, Hex]).refuse(ENOSYS),
    sys(424, "pidfd_send_signal", &[Fd, Signal, Ptr, Hex]),
    // io_uring shares rings with the kernel: liburing users fall back.
    sys(425, "io_uring_setup", &[Int, Ptr]).refuse(ENOSYS),
    sys(426, "io_uring_enter", &[Fd, Int, Int, Hex, Ptr, Int]).refuse(ENOSYS),
    sys(427, "io_uring_register", &[Fd, Int, Ptr, Int]).refuse(ENOSYS),
    sys(428, "open_tree", &[Fd, Path, Hex]),
    sys(429, "move_mount", &[Fd, Path, Fd, Path, Hex]),
    sys(430, "fsopen", &[Ptr, Hex]),
    sys(431, "fsconfig", &[Fd, Int, Ptr, Ptr, Int]),
    sys(432, "fsmount", &[Fd, Hex, Hex]),
    sys(433, "fspick", &[Fd, Path, Hex]),
    sys(434, "pidfd_open", &[Int, Hex]),
    // glibc falls back to clone, whose flags are in registers.
    sys(435, "clone3", &[Ptr, Int]).refuse(ENOSYS),
    sys(436, "close_range", &[Fd, Fd, Hex]),
    sys(437, "openat2", &[Fd, Path, Ptr, Int]).blocks(),
    sys(438, "pidfd_getfd", &[Fd, Fd, Hex]),
    sys(439, "faccessat2", &[Fd, Path, AccessMode, AtFlags]),
    sys(440, "process_madvise", &[Fd, Ptr, Int, Int, Hex]),
    sys(441, "epoll_pwait2", &[Fd, Ptr, Int, Ptr, Ptr, Int])
        .writes(Custom(o::epoll_wait))
        .blocks(),
    sys(442, "mount_setattr", &[Fd, Path, Hex, Ptr, Int]),
    sys(443, "quotactl_fd", &[Fd, Hex, Int, Ptr]).unsupported(),
    sys(444, "landlock_create_ruleset", &[Ptr, Int, Hex]),
    sys(445, "landlock_add_rule", &[Fd, Int, Ptr, Hex]),
    sys(446, "landlock_restrict_self", &[Fd, Hex]),
    // Secret memory cannot be read by the tracer, so it cannot be recorded.
    sys(447, "memfd_secret", &[Hex]).unsupported(),
    sys(448, "process_mrelease", &[Fd, Hex]),
    sys(449, "futex_waitv", &[Ptr, Int, Hex, Ptr, Int]).blocks(),
    sys(450, "set_mempolicy_home_node", &[Ptr, Int, Int, Hex]),
    sys(451, "cachestat", &[Fd, Ptr, Ptr, Hex]).writes(fixed(2, CACHESTAT)),
    sys(452, "fchmodat2", &[Fd, Path, Hex, Hex]),
    // Creates a mapping the CPU writes on every call: not replayable yet.
    sys(453, "map_shadow_stack", &[Ptr, Int, Hex]).unsupported(),
    sys(454, "futex_wake", &[Ptr, Hex, Int, Hex]),
    sys(455, "futex_wait", &[Ptr, Hex, Hex, Hex, Ptr, Int]).blocks(),
    sys(456, "futex_requeue", &[Ptr, Hex, Int, Int]),
    sys(457, "statmount", &[Ptr, Ptr, Int, Hex]).writes(Custom(o::statmount)),
    sys(458, "listmount", &[Ptr, Ptr, Int, Hex]).writes(Custom(o::listmount)),
    sys(459, "lsm_get_self_attr", &[Int, Ptr, Ptr, Hex]).writes(Custom(o::lsm_get_self_attr)),
    sys(460, "lsm_set_self_attr", &[Int, Ptr, Int, Hex]),
    sys(461, "lsm_list_modules", &[Ptr, Ptr, Hex]).writes(Custom(o::lsm_list_modules)),
    // Seals mappings against later changes: shapes what munmap/mprotect do.
    sys(462, "mseal", &[Ptr, Int, Hex]).execute(),
    sys(463, "setxattrat", &[Fd, Path, Hex, Ptr, Ptr, Int]),
    sys(464, "getxattrat", &[Fd, Path, Hex, Ptr, Ptr, Int]).writes(Custom(o::getxattrat)),
    sys(465, "listxattrat", &[Fd, Path, Hex, Ptr, Int]).writes(Custom(o::buf_upto::<3, 4>)),
    sys(466, "removexattrat", &[Fd, Path, Hex, Ptr]),
    sys(467, "open_tree_attr", &[Fd, Path, Hex, Ptr, Int]),
    // copy_struct_to_user writes `usize` bytes (zero-filling past the kernel's size).
    sys(468, "file_getattr", &[Fd, Path, Ptr, Int, Hex]).writes(SizedByArg {
        arg: 2,
        size_arg: 3,
    }),
    sys(469, "file_setattr", &[Fd, Path, Ptr, Int, Hex]),
];

/// Every x86-64 syscall, one row each, in ascending number order.
pub static TABLE: &[SyscallSpec] = ROWS;

/// The highest syscall number in the table.
pub(crate) const MAX_NR: usize = ROWS[ROWS.len() - 1].nr as usize;

/// Marks a number without a row in [`INDEX`].
pub(crate) const NO_ROW: u16 = u16::MAX;

/// `INDEX[nr]` is the position of syscall `nr` in [`TABLE`], or [`NO_ROW`].
/// Building it checks, at compile time, that rows are sorted and unique.
pub(crate) static INDEX: [u16; MAX_NR + 1] = build_index();

const fn build_index() -> [u16; MAX_NR + 1] {
    let mut index = [NO_ROW; MAX_NR + 1];
    let mut i = 0;
    while i < ROWS.len() {
        let nr = ROWS[i].nr as usize;
        assert!(
            i == 0 || ROWS[i - 1].nr < ROWS[i].nr,
            "syscall table rows must be sorted by number, without duplicates"
        );
        assert!(ROWS[i].args.len() <= 6, "a syscall has at most 6 arguments");
        index[nr] = i as u16;
        i += 1;
    }
    index
}
