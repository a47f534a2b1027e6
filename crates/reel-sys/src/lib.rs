//! The only crate in reel that touches ptrace, registers, tracee memory,
//! seccomp-bpf and `/proc`.
//!
//! Everything here is wrapped in safe, typed handles. The central one is the
//! task typestate: a [`Stopped`] task can be inspected and changed, and
//! [`Stopped::resume`] consumes it, returning a [`Running`] token that only
//! [`TaskSet::wait`] turns back into a `Stopped` one. "ptrace on a running
//! task" therefore does not compile.
//!
//! ptrace is per thread: every call here must be made from the thread that
//! spawned (attached to) the tracees.

#![warn(missing_docs)]

pub mod auxv;
pub mod cpu;
pub mod debugreg;
pub mod digest;
mod error;
pub mod fs;
pub mod inject;
pub mod landmark;
pub mod launch;
mod longwatch;
pub mod mem;
pub mod pause;
pub mod proc;
pub mod regs;
pub mod seccomp;
pub mod sigframe;
pub mod spawn;
pub mod stub;
pub mod syscallbuf;
pub mod sysvipc;
pub mod task;
pub mod vdso;
mod wakeup;

pub use error::SysError;
pub use mem::Memory;
pub use regs::Regs;
pub use task::{send_signal, Resume, Running, StopReason, Stopped, TaskSet, Waited};

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, SysError>;

/// Address of reel's private pages in every tracee: a code page (`syscall;
/// int3`, and the fast path's `syscall` at [`syscallbuf::FAST_SYSCALL`]),
/// a scratch page and the fast path's buffer. Syscalls made from the code page pass the
/// seccomp filter untraced; reel injects its own syscalls through it. Chosen far
/// below where the kernel places mappings (with or without ASLR) so it never
/// collides with the program's own.
pub const PRIVATE_PAGE: u64 = 0x7000_0000_0000;
/// Size of one page.
pub const PAGE_SIZE: u64 = 4096;
/// The scratch page, right after the code page.
pub const SCRATCH_PAGE: u64 = PRIVATE_PAGE + PAGE_SIZE;
/// Total size of the private area: the code page, the scratch page, and
/// the fast path's buffer (a header page and its data, see
/// [`syscallbuf`]).
pub const PRIVATE_LEN: u64 = 64 * PAGE_SIZE;
/// The instruction pointer the kernel reports for a syscall made by the code
/// page's `syscall` instruction (the address after it): the only one the
/// seccomp filter lets through untraced.
pub const PRIVATE_SYSCALL_RIP: u64 = PRIVATE_PAGE + 2;
