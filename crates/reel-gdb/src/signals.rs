//! Linux signal numbers in gdb's own numbering (the remote protocol's),
//! which differs: gdb's 10 is SIGBUS, Linux's SIGUSR1.

use gdbstub::common::Signal;

/// gdb's number for Linux signal `signo` (0 for one it has no name for).
pub(crate) fn to_gdb(signo: i32) -> Signal {
    match signo {
        1..=6 | 8 | 9 | 11 | 13..=15 | 21 | 22 | 24..=28 => Signal(signo as u8),
        7 => Signal::SIGBUS,
        10 => Signal::SIGUSR1,
        12 => Signal::SIGUSR2,
        17 => Signal::SIGCHLD,
        18 => Signal::SIGCONT,
        19 => Signal::SIGSTOP,
        20 => Signal::SIGTSTP,
        23 => Signal::SIGURG,
        29 => Signal::SIGIO,
        30 => Signal::SIGPWR,
        31 => Signal::SIGSYS,
        32 => Signal::SIG32,
        // Real-time signals 33..63 are numbered in one run from 45.
        33..=63 => Signal((signo + 12) as u8),
        64 => Signal::SIG64,
        _ => Signal::SIGZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_signals_keep_their_names() {
        assert_eq!(to_gdb(libc::SIGSEGV), Signal::SIGSEGV);
        assert_eq!(to_gdb(libc::SIGUSR1), Signal::SIGUSR1);
        assert_eq!(to_gdb(libc::SIGBUS), Signal::SIGBUS);
        assert_eq!(to_gdb(libc::SIGCHLD), Signal::SIGCHLD);
        assert_eq!(to_gdb(libc::SIGSYS), Signal::SIGSYS);
        assert_eq!(to_gdb(34), Signal::SIG34);
        assert_eq!(to_gdb(63), Signal::SIG63);
    }
}
