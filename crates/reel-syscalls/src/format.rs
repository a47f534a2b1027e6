//! strace-like printing of syscall arguments and results, for `reel dump`
//! and divergence reports.

use crate::SyscallSpec;

/// The arguments of a call, comma-separated, each printed as its
/// [`ArgKind`] says (`AT_FDCWD, 0x7ffd1234, 0x80000, 0`).
pub fn format_args(spec: &SyscallSpec, args: &[u64; 6]) -> String {
    let mut s = String::new();
    for (i, (kind, &value)) in spec.args.iter().zip(args).enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        crate::decode::format_value(&mut s, *kind, value);
    }
    s
}

/// A call's result: `-1 ENOENT` for an error (-4095..=-1), hexadecimal for
/// calls that return addresses (mmap, mremap, brk, shmat), decimal otherwise.
pub fn format_result(spec: &SyscallSpec, result: i64) -> String {
    if (-4095..=-1).contains(&result) {
        let errno = -result as i32;
        return match errno_name(errno) {
            Some(name) => format!("-1 {name}"),
            None => format!("-1 errno {errno}"),
        };
    }
    match spec.name {
        "mmap" | "mremap" | "brk" | "shmat" => format!("{:#x}", result as u64),
        _ => result.to_string(),
    }
}

macro_rules! errno_table {
    ($($name:ident),* $(,)?) => {
        &[$((libc::$name, stringify!($name))),*]
    };
}

/// Errno values and names, in the order of the kernel's headers.
const ERRNOS: &[(i32, &str)] = errno_table![
    EPERM,
    ENOENT,
    ESRCH,
    EINTR,
    EIO,
    ENXIO,
    E2BIG,
    ENOEXEC,
    EBADF,
    ECHILD,
    EAGAIN,
    ENOMEM,
    EACCES,
    EFAULT,
    ENOTBLK,
    EBUSY,
    EEXIST,
    EXDEV,
    ENODEV,
    ENOTDIR,
    EISDIR,
    EINVAL,
    ENFILE,
    EMFILE,
    ENOTTY,
    ETXTBSY,
    EFBIG,
    ENOSPC,
    ESPIPE,
    EROFS,
    EMLINK,
    EPIPE,
    EDOM,
    ERANGE,
    EDEADLK,
    ENAMETOOLONG,
    ENOLCK,
    ENOSYS,
    ENOTEMPTY,
    ELOOP,
    ENOMSG,
    EIDRM,
    ENOSTR,
    ENODATA,
    ETIME,
    ENOSR,
    ENOLINK,
    EPROTO,
    EBADMSG,
    EOVERFLOW,
    EBADFD,
    EILSEQ,
    EUSERS,
    ENOTSOCK,
    EDESTADDRREQ,
    EMSGSIZE,
    EPROTOTYPE,
    ENOPROTOOPT,
    EPROTONOSUPPORT,
    ESOCKTNOSUPPORT,
    EOPNOTSUPP,
    EPFNOSUPPORT,
    EAFNOSUPPORT,
    EADDRINUSE,
    EADDRNOTAVAIL,
    ENETDOWN,
    ENETUNREACH,
    ENETRESET,
    ECONNABORTED,
    ECONNRESET,
    ENOBUFS,
    EISCONN,
    ENOTCONN,
    ESHUTDOWN,
    ETOOMANYREFS,
    ETIMEDOUT,
    ECONNREFUSED,
    EHOSTDOWN,
    EHOSTUNREACH,
    EALREADY,
    EINPROGRESS,
    ESTALE,
    EDQUOT,
    ENOMEDIUM,
    EMEDIUMTYPE,
    ECANCELED,
    ENOKEY,
    EKEYEXPIRED,
    EKEYREVOKED,
    EKEYREJECTED,
    EOWNERDEAD,
    ENOTRECOVERABLE,
    ERFKILL,
    EHWPOISON,
];

/// Kernel-internal codes a tracer sees at syscall exit before a restart.
const KERNEL_ERRNOS: &[(i32, &str)] = &[
    (512, "ERESTARTSYS"),
    (513, "ERESTARTNOINTR"),
    (514, "ERESTARTNOHAND"),
    (515, "ENOIOCTLCMD"),
    (516, "ERESTART_RESTARTBLOCK"),
    (524, "ENOTSUPP"),
];

/// The symbolic name of a (positive) errno value, if known.
pub fn errno_name(errno: i32) -> Option<&'static str> {
    ERRNOS
        .iter()
        .chain(KERNEL_ERRNOS)
        .find(|&&(n, _)| n == errno)
        .map(|&(_, name)| name)
}

/// Names of signals 1..=31 on x86-64.
const SIGNALS: [&str; 31] = [
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// A signal's name: `SIGSEGV`, `SIGRT_3` for real-time signal 35 (counted from
/// the kernel's first, 32, as strace does: glibc's SIGRTMIN is 34), the
/// number itself for 0 and anything out of range.
pub fn signal_name(sig: i32) -> String {
    match sig {
        1..=31 => SIGNALS[sig as usize - 1].to_string(),
        32..=64 => format!("SIGRT_{}", sig - 32),
        _ => sig.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::by_name;

    #[test]
    fn formats_openat_args() {
        let spec = by_name("openat").unwrap();
        let args = [(-100i64) as u64, 0x7ffd_0000_1000, 0x80000, 0, 0, 0];
        assert_eq!(
            format_args(spec, &args),
            "AT_FDCWD, 0x7ffd00001000, O_RDONLY|O_CLOEXEC, 00"
        );
    }

    #[test]
    fn formats_null_pointers_signals_and_negative_ints() {
        let spec = by_name("rt_sigaction").unwrap();
        assert_eq!(
            format_args(spec, &[11, 0x1000, 0, 8, 0, 0]),
            "SIGSEGV, 0x1000, NULL, 8"
        );
        let spec = by_name("lseek").unwrap();
        assert_eq!(
            format_args(spec, &[3, (-5i64) as u64, 2, 0, 0, 0]),
            "3, -5, 2"
        );
        let spec = by_name("kill").unwrap();
        assert_eq!(format_args(spec, &[1234, 34, 0, 0, 0, 0]), "1234, SIGRT_2");
        assert_eq!(format_args(spec, &[1234, 0, 0, 0, 0, 0]), "1234, 0");
        // Only the low half of an fd register counts.
        let spec = by_name("close").unwrap();
        assert_eq!(format_args(spec, &[0xdead_0000_0003, 0, 0, 0, 0, 0]), "3");
        assert_eq!(format_args(by_name("getpid").unwrap(), &[1; 6]), "");
    }

    #[test]
    fn formats_results() {
        let open = by_name("openat").unwrap();
        assert_eq!(format_result(open, -2), "-1 ENOENT");
        assert_eq!(format_result(open, -38), "-1 ENOSYS");
        assert_eq!(format_result(open, -516), "-1 ERESTART_RESTARTBLOCK");
        assert_eq!(format_result(open, -4000), "-1 errno 4000");
        assert_eq!(format_result(open, 3), "3");
        // Below -4095 it is not an error but a (strange) value.
        assert_eq!(format_result(open, -5000), "-5000");
        let mmap = by_name("mmap").unwrap();
        assert_eq!(format_result(mmap, 0x7f00_0000_0000), "0x7f0000000000");
        assert_eq!(format_result(mmap, -12), "-1 ENOMEM");
        assert_eq!(
            format_result(by_name("brk").unwrap(), 0x55_0000),
            "0x550000"
        );
    }

    #[test]
    fn names_errnos_and_signals() {
        assert_eq!(errno_name(libc::EAGAIN), Some("EAGAIN"));
        assert_eq!(errno_name(libc::EHWPOISON), Some("EHWPOISON"));
        assert_eq!(errno_name(0), None);
        assert!(ERRNOS.len() >= 40);
        assert_eq!(signal_name(libc::SIGSYS), "SIGSYS");
        assert_eq!(signal_name(libc::SIGCHLD), "SIGCHLD");
        assert_eq!(signal_name(64), "SIGRT_32");
        assert_eq!(signal_name(65), "65");
        assert_eq!(signal_name(-1), "-1");
    }
}
