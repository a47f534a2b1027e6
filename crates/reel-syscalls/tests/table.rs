//! The table against the kernel's list of x86-64 syscalls.

use reel_syscalls::{by_name, name, policy_for, spec, Emit, Out, Policy, Special, TABLE};
use std::collections::HashSet;
use syscalls::x86_64::Sysno;

/// Syscalls newer than the `syscalls` crate's list (Linux 6.10 to 6.17).
const NEWER: &[(u64, &str)] = &[
    (462, "mseal"),
    (463, "setxattrat"),
    (464, "getxattrat"),
    (465, "listxattrat"),
    (466, "removexattrat"),
    (467, "open_tree_attr"),
    (468, "file_getattr"),
    (469, "file_setattr"),
];

#[test]
fn every_known_syscall_has_a_row_with_its_name() {
    let mut known = 0;
    for nr in 0..2048usize {
        if let Some(sysno) = Sysno::new(nr) {
            let row = spec(nr as u64).unwrap_or_else(|| panic!("no row for {sysno} ({nr})"));
            assert_eq!(row.name, sysno.name(), "name of syscall {nr}");
            assert_eq!(row.nr, nr as u64);
            known += 1;
        }
    }
    assert!(
        known >= 373,
        "the syscalls crate knew only {known} syscalls"
    );
    for &(nr, n) in NEWER {
        assert_eq!(spec(nr).map(|s| s.name), Some(n));
    }
}

#[test]
fn rows_are_exactly_the_kernels_numbers() {
    // Every row is a syscall the kernel defines, and none is missing.
    for row in TABLE {
        let known = Sysno::new(row.nr as usize).map(|s| s.name());
        let newer = NEWER.iter().find(|&&(nr, _)| nr == row.nr).map(|&(_, n)| n);
        assert_eq!(
            known.or(newer),
            Some(row.name),
            "row {} {}",
            row.nr,
            row.name
        );
    }
    let expected: Vec<u64> = (0..=334).chain(424..=469).collect();
    let actual: Vec<u64> = TABLE.iter().map(|s| s.nr).collect();
    assert_eq!(actual, expected);
}

#[test]
fn rows_are_unique_and_found_by_number_and_name() {
    let mut numbers = HashSet::new();
    let mut names = HashSet::new();
    for row in TABLE {
        assert!(numbers.insert(row.nr), "duplicate number {}", row.nr);
        assert!(names.insert(row.name), "duplicate name {}", row.name);
        assert!(std::ptr::eq(spec(row.nr).unwrap(), row));
        assert!(std::ptr::eq(by_name(row.name).unwrap(), row));
        assert_eq!(name(row.nr), row.name);
    }
    for nr in [335, 423, 470, 512, 1 << 32, u64::MAX] {
        assert!(spec(nr).is_none(), "{nr}");
    }
    assert_eq!(name(999), "syscall_999");
    assert!(by_name("fstatat").is_none());
}

fn out_args(out: &Out, args: &mut Vec<usize>) {
    match *out {
        Out::Nothing | Out::Custom(_) => {}
        Out::BufResult { arg } | Out::Fixed { arg, .. } => args.push(arg),
        Out::SizedByArg { arg, size_arg } => args.extend([arg, size_arg]),
        Out::IovResult { iov, cnt } => args.extend([iov, cnt]),
        Out::Many(outs) => outs.iter().for_each(|o| out_args(o, args)),
    }
}

#[test]
fn argument_indices_are_within_the_argument_count() {
    for row in TABLE {
        let mut used = Vec::new();
        out_args(&row.out, &mut used);
        match row.emit {
            Some(Emit::Buf { fd, buf }) => used.extend([fd, buf]),
            Some(Emit::Iov { fd, iov, cnt }) => used.extend([fd, iov, cnt]),
            Some(Emit::InKernel { fd }) => used.push(fd),
            Some(Emit::Msg { fd, msg }) => used.extend([fd, msg]),
            None => {}
        }
        for i in used {
            assert!(
                i < row.args.len(),
                "{}: argument {i} of {}",
                row.name,
                row.args.len()
            );
        }
    }
}

fn policy(n: &str) -> Policy {
    by_name(n).unwrap().policy
}

#[test]
fn policies_of_note() {
    assert_eq!(policy("execve"), Policy::Special(Special::Execve));
    assert_eq!(policy("execveat"), Policy::Special(Special::Execve));
    assert_eq!(policy("mmap"), Policy::Special(Special::Mmap));
    assert_eq!(policy("brk"), Policy::Special(Special::Brk));
    assert_eq!(policy("exit"), Policy::Special(Special::Exit));
    assert_eq!(policy("exit_group"), Policy::Special(Special::ExitGroup));
    assert_eq!(policy("mremap"), Policy::Special(Special::Mremap));
    for n in [
        "munmap",
        "mprotect",
        "madvise",
        "arch_prctl",
        "rt_sigaction",
    ] {
        assert_eq!(policy(n), Policy::Execute { check_result: true }, "{n}");
    }
    for n in [
        "rt_sigprocmask",
        "sigaltstack",
        "set_robust_list",
        "pkey_alloc",
    ] {
        assert_eq!(policy(n), Policy::Execute { check_result: true }, "{n}");
    }
    for n in ["set_tid_address", "rt_sigreturn"] {
        assert_eq!(
            policy(n),
            Policy::Execute {
                check_result: false
            },
            "{n}"
        );
    }
    for n in [
        "rseq",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "seccomp",
        "bpf",
    ] {
        assert_eq!(
            policy(n),
            Policy::Refuse {
                errno: libc::ENOSYS
            },
            "{n}"
        );
    }
    assert_eq!(policy("ptrace"), Policy::Refuse { errno: libc::EPERM });
    for n in ["clone", "fork", "vfork"] {
        assert_eq!(policy(n), Policy::Special(Special::Clone), "{n}");
    }
    // glibc falls back from clone3 to clone, whose flags reel can see.
    assert_eq!(
        policy("clone3"),
        Policy::Refuse {
            errno: libc::ENOSYS
        }
    );
    for n in ["memfd_secret", "io_setup", "process_vm_writev"] {
        assert_eq!(policy(n), Policy::Unsupported, "{n}");
    }
    for n in ["shmat", "shmdt"] {
        assert_eq!(policy(n), Policy::Special(Special::Shm), "{n}");
    }
    for n in [
        "read",
        "openat",
        "newfstatat",
        "futex",
        "ioctl",
        "getrandom",
        "prlimit64",
    ] {
        assert_eq!(policy(n), Policy::Emulate, "{n}");
    }
}

#[test]
fn what_a_glibc_program_calls_at_startup_is_handled() {
    let startup = [
        "execve",
        "brk",
        "arch_prctl",
        "mmap",
        "access",
        "openat",
        "newfstatat",
        "fstat",
        "read",
        "pread64",
        "close",
        "mprotect",
        "munmap",
        "set_tid_address",
        "set_robust_list",
        "rseq",
        "prlimit64",
        "getrandom",
        "write",
        "exit_group",
    ];
    for n in startup {
        assert_ne!(policy(n), Policy::Unsupported, "{n}");
    }
}

#[test]
fn emit_and_blocking() {
    let write = by_name("write").unwrap();
    assert_eq!(write.emit, Some(Emit::Buf { fd: 0, buf: 1 }));
    assert!(write.may_block);
    let writev = by_name("writev").unwrap();
    assert_eq!(
        writev.emit,
        Some(Emit::Iov {
            fd: 0,
            iov: 1,
            cnt: 2
        })
    );
    assert!(by_name("pwritev2").unwrap().emit.is_some());
    // Copies made inside the kernel are marked, so that the recorder keeps
    // them away from its own stdout/stderr.
    assert_eq!(
        by_name("sendfile").unwrap().emit,
        Some(Emit::InKernel { fd: 0 })
    );
    assert_eq!(
        by_name("copy_file_range").unwrap().emit,
        Some(Emit::InKernel { fd: 2 })
    );
    for n in [
        "read",
        "wait4",
        "futex",
        "poll",
        "epoll_wait",
        "nanosleep",
        "accept",
        "pause",
    ] {
        assert!(by_name(n).unwrap().may_block, "{n}");
    }
    for n in ["getpid", "fstat", "close", "mmap", "clock_gettime"] {
        assert!(!by_name(n).unwrap().may_block, "{n}");
    }
}

#[test]
fn argument_dependent_policies() {
    let prctl = by_name("prctl").unwrap();
    let einval = Policy::Refuse {
        errno: libc::EINVAL,
    };
    assert_eq!(policy_for(prctl, &[22, 2, 0, 0, 0, 0]), einval); // PR_SET_SECCOMP
    assert_eq!(policy_for(prctl, &[26, 1, 0, 0, 0, 0]), einval); // PR_SET_TSC
    assert_eq!(policy_for(prctl, &[35, 0, 0, 0, 0, 0]), Policy::Unsupported); // PR_SET_MM
    assert_eq!(policy_for(prctl, &[15, 0, 0, 0, 0, 0]), Policy::Emulate); // PR_SET_NAME
    let arch = by_name("arch_prctl").unwrap();
    assert_eq!(
        policy_for(arch, &[0x1012, 1, 0, 0, 0, 0]),
        Policy::Refuse {
            errno: libc::ENODEV
        }
    );
    assert_eq!(policy_for(arch, &[0x1002, 0x1000, 0, 0, 0, 0]), arch.policy);
    let semctl = by_name("semctl").unwrap();
    // GETALL: emulated, the recorder adds the array's write.
    assert_eq!(
        policy_for(semctl, &[1, 0, 13, 0x1000, 0, 0]),
        Policy::Emulate
    );
    assert_eq!(
        reel_syscalls::semctl_getall(semctl.nr, &[1, 0, 13 | 0x100, 0x1000, 0, 0]),
        Some(0x1000)
    );
    assert_eq!(
        reel_syscalls::semctl_getall(semctl.nr, &[1, 0, 2, 0x1000, 0, 0]),
        None
    );
    assert_eq!(
        policy_for(semctl, &[1, 0, 2, 0x1000, 0, 0]),
        Policy::Emulate
    );
    let read = by_name("read").unwrap();
    assert_eq!(policy_for(read, &[22, 0, 0, 0, 0, 0]), Policy::Emulate);
}
