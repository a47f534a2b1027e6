//! Starting a tracee: fork, prepare the child, attach with PTRACE_SEIZE
//! before it installs the seccomp filter, then let it exec.

use crate::task::{Resume, Running, StopReason, Stopped, TaskSet, Waited};
use crate::{seccomp, Result, SysError, PRIVATE_LEN, PRIVATE_PAGE};
use nix::errno::Errno;
use std::ffi::CString;

/// What the child does once the tracer is attached.
pub enum ChildPlan {
    /// Install the seccomp filter and exec this program (recording).
    Record {
        /// Path to exec.
        path: CString,
        /// argv.
        argv: Vec<CString>,
        /// envp ("K=V").
        envp: Vec<CString>,
    },
    /// Make one execve syscall that the replayer intercepts with PTRACE_SYSEMU
    /// and answers by rebuilding the recorded address space (replaying).
    Replay,
}

/// Where glibc registered the calling thread's rseq area, and its size.
///
/// A forked child inherits the registration. The replay child unmaps all of
/// reel's memory, and the kernel would then fault (SIGSEGV) updating the
/// area on the next return to user space; so the child unregisters it first.
fn rseq_area() -> Option<(u64, u32)> {
    // glibc >= 2.35 exports these; looked up at run time so older ones work.
    // SAFETY: dlsym with NUL-terminated names; the symbols are plain data.
    unsafe {
        let off = libc::dlsym(libc::RTLD_DEFAULT, c"__rseq_offset".as_ptr());
        let size = libc::dlsym(libc::RTLD_DEFAULT, c"__rseq_size".as_ptr());
        if off.is_null() || size.is_null() {
            return None;
        }
        let size = *(size as *const u32);
        if size == 0 {
            return None;
        }
        let tp: u64;
        std::arch::asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly));
        Some((tp.wrapping_add(*(off as *const isize) as u64), size))
    }
}

/// glibc's rseq signature (RSEQ_SIG on x86).
const RSEQ_SIG: u32 = 0x5305_3053;
const RSEQ_FLAG_UNREGISTER: i32 = 1;

/// The bytes of the private code page: `syscall; int3`.
pub(crate) const PRIVATE_CODE: [u8; 3] = [0x0f, 0x05, 0xcc];

/// Seizes our own child `pid`, stopped by itself before its exec, with
/// reel's ptrace options, and lets it continue (now traced); a child that
/// cannot be seized is killed.
pub(crate) fn seize_stopped_child(pid: i32) -> Result<()> {
    // SAFETY: plain ptrace request on our stopped child.
    let r = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0, ptrace_options() as libc::c_long) };
    if r < 0 {
        let e = Errno::last();
        unsafe { libc::kill(pid, libc::SIGKILL) };
        return Err(SysError::Ptrace {
            op: "SEIZE",
            tid: pid,
            source: e,
        });
    }
    unsafe { libc::kill(pid, libc::SIGCONT) };
    Ok(())
}

/// ptrace options used for every tracee.
pub fn ptrace_options() -> libc::c_int {
    libc::PTRACE_O_TRACESYSGOOD
        | libc::PTRACE_O_TRACEEXEC
        | libc::PTRACE_O_TRACEEXIT
        | libc::PTRACE_O_TRACEFORK
        | libc::PTRACE_O_TRACEVFORK
        | libc::PTRACE_O_TRACECLONE
        | libc::PTRACE_O_TRACESECCOMP
        | libc::PTRACE_O_EXITKILL
}

/// Forks a child prepared for tracing and attaches to it. Returns the child
/// stopped at its first traced syscall (the execve): a seccomp stop when
/// recording, a PTRACE_SYSEMU entry stop when replaying.
///
/// The child disables ASLR (a convenience: replay does not rely on it), makes
/// RDTSC/RDTSCP fault so reel can answer them, and maps reel's private pages.
///
/// With `cpu`, the child (and so every task it creates) is bound to that CPU.
pub fn spawn(plan: &ChildPlan, cpu: Option<u32>, tasks: &mut TaskSet) -> Result<Stopped> {
    // SAFETY: cpu_set_t is plain data; CPU_SET only sets a bit.
    let cpu_set = cpu.map(|c| unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(c as usize, &mut set);
        set
    });
    let filter = seccomp::filter();
    let (exec_path, argv_ptrs, envp_ptrs) = match plan {
        ChildPlan::Record { path, argv, envp } => {
            let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
            a.push(std::ptr::null());
            let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
            e.push(std::ptr::null());
            (Some(path.as_ptr()), a, e)
        }
        ChildPlan::Replay => (None, vec![std::ptr::null()], vec![std::ptr::null()]),
    };
    let devnull = CString::new("/dev/null").expect("no NUL");
    let rseq = rseq_area();

    // SAFETY: between fork and exec the child only makes raw syscalls on
    // memory prepared before the fork; it allocates nothing and takes no lock.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(SysError::os("fork", Errno::last()));
    }
    if pid == 0 {
        unsafe {
            child_main(
                exec_path,
                &argv_ptrs,
                &envp_ptrs,
                &filter,
                &devnull,
                rseq,
                cpu_set.as_ref(),
            )
        };
    }

    // Wait for the child's self-stop, then seize it.
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WSTOPPED) };
    if r < 0 || !libc::WIFSTOPPED(status) {
        return Err(SysError::os(
            format!("child {pid} did not stop before tracing"),
            Errno::last(),
        ));
    }
    seize_stopped_child(pid)?;
    let resume = match plan {
        ChildPlan::Record { .. } => Resume::Cont,
        ChildPlan::Replay => Resume::Sysemu,
    };
    // Let the child run its setup until its first traced syscall; the job
    // control stops and the SIGCONT on the way are reel's own doing, not the
    // program's, so they are swallowed.
    loop {
        match tasks.wait(Some(pid))? {
            Waited::Stopped(st) => match st.reason() {
                StopReason::Seccomp | StopReason::Syscall => return Ok(st),
                StopReason::GroupStop(_) | StopReason::Signal(libc::SIGCONT) => {
                    let r: Running = st.resume(resume, None)?;
                    tasks.insert(r);
                }
                other => {
                    let _ = st.kill();
                    return Err(SysError::Inject {
                        syscall: "startup".into(),
                        tid: pid,
                        what: format!("unexpected stop {other:?} while the child was starting"),
                    });
                }
            },
            Waited::Exited(_, code) => {
                return Err(SysError::Inject {
                    syscall: "startup".into(),
                    tid: pid,
                    what: format!("child exited with status {code} while starting"),
                })
            }
            Waited::Signaled(_, sig) => {
                return Err(SysError::Inject {
                    syscall: "startup".into(),
                    tid: pid,
                    what: format!("child killed by signal {sig} while starting"),
                })
            }
        }
    }
}

/// The child side. Never returns.
unsafe fn child_main(
    exec_path: Option<*const libc::c_char>,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    filter: &[libc::sock_filter],
    devnull: &CString,
    rseq: Option<(u64, u32)>,
    cpu_set: Option<&libc::cpu_set_t>,
) -> ! {
    // The Rust runtime ignores SIGPIPE in reel; the program must start with
    // the default, as it would from a shell.
    libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    if let Some(set) = cpu_set {
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set);
    }
    if let Some((area, size)) = rseq {
        // glibc registers 32 bytes (the original struct rseq) or, in newer
        // versions, the size it exports.
        for len in [32, size] {
            if libc::syscall(libc::SYS_rseq, area, len, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) == 0 {
                break;
            }
        }
    }
    let persona = libc::personality(0xffff_ffff);
    if persona >= 0 {
        libc::personality((persona | libc::ADDR_NO_RANDOMIZE) as libc::c_ulong);
    }
    libc::prctl(libc::PR_SET_TSC, libc::PR_TSC_SIGSEGV, 0, 0, 0);
    let page = libc::mmap(
        PRIVATE_PAGE as *mut libc::c_void,
        PRIVATE_LEN as usize,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
        -1,
        0,
    );
    if page as u64 != PRIVATE_PAGE {
        libc::_exit(125);
    }
    std::ptr::copy_nonoverlapping(PRIVATE_CODE.as_ptr(), page as *mut u8, PRIVATE_CODE.len());
    let fast = crate::syscallbuf::fast_code();
    let fast_at = (page as *mut u8).add((crate::syscallbuf::FAST_SYSCALL - PRIVATE_PAGE) as usize);
    std::ptr::copy_nonoverlapping(fast.as_ptr(), fast_at, fast.len());
    libc::mprotect(page, 4096, libc::PROT_READ | libc::PROT_EXEC);
    if exec_path.is_none() {
        // The replayed program's stdio is emulated; keep the real one out of reach.
        let fd = libc::open(devnull.as_ptr(), libc::O_RDWR);
        if fd >= 0 {
            libc::dup2(fd, 0);
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
        }
    }
    // Stop until the tracer has seized us (raw syscalls: no libc bookkeeping
    // syscalls after the stop, which the tracer would see).
    let me = libc::syscall(libc::SYS_getpid);
    libc::syscall(libc::SYS_kill, me, libc::SIGSTOP);
    match exec_path {
        Some(path) => {
            if !seccomp::install(filter) {
                libc::_exit(125);
            }
            libc::syscall(libc::SYS_execve, path, argv.as_ptr(), envp.as_ptr());
            // The recorder checked the program before spawning; a failure here
            // is reported from the execve result, with a shell's statuses:
            // 127 not found, 126 found but cannot be executed.
            let not_found = *libc::__errno_location() == libc::ENOENT;
            libc::_exit(if not_found { 127 } else { 126 });
        }
        None => {
            libc::syscall(libc::SYS_execve, 0usize, 0usize, 0usize);
            libc::_exit(125);
        }
    }
}
