//! What the recorder refuses or warns about because a replay could not
//! reproduce it, or because it would let a syscall escape the trace: calls
//! that touch reel's private pages, ptrace, writable opens of a process's
//! `/proc/PID/mem` (which can write even read-only code, reel's page
//! included), and RDRAND/RDSEED in new executable mappings.

use super::Recorder;
use crate::Result;
use reel_sys::{proc, Stopped};

impl Recorder {
    /// Says why a call the program made is refused, where the program could
    /// not tell by itself (refusals that only make libc fall back stay quiet).
    pub(super) fn explain_refusal(&mut self, nr: u64, args: &[u64; 6], errno: i32) {
        let call = reel_syscalls::format_call(nr, args);
        let err =
            reel_syscalls::errno_name(errno).map_or_else(|| errno.to_string(), str::to_string);
        if reel_syscalls::touches_reel_pages(nr, args) {
            eprintln!(
                "reel: {call} refused with {err}: it would change reel's private pages at {:#x}",
                reel_sys::PRIVATE_PAGE
            );
        } else if nr == libc::SYS_ptrace as u64 && self.warned.insert(nr) {
            eprintln!(
                "reel: warning: {call} refused with {err}: a recorded program cannot ptrace (reel already does)"
            );
        } else if !reel_syscalls::refused_quietly(nr) && self.warned.insert(nr) {
            eprintln!(
                "reel: warning: {call} refused with {err}: reel does not record {} yet",
                reel_syscalls::name(nr)
            );
        }
    }

    /// For an open/openat/openat2 about to run: the errno it must fail with
    /// when it opens a process's memory file for writing (the program could
    /// write code into reel's page through it), after saying so.
    pub(super) fn refuse_mem_open(&self, st: &Stopped, nr: u64, args: &[u64; 6]) -> Option<i32> {
        let (path_at, flags) = match nr as i64 {
            libc::SYS_open => (args[0], args[1]),
            libc::SYS_openat => (args[1], args[2]),
            // struct open_how starts with the flags.
            libc::SYS_openat2 => (
                args[1],
                self.mem(st.tid()).ok()?.read_u64(st, args[2]).ok()?,
            ),
            _ => return None,
        };
        if flags & libc::O_ACCMODE as u64 == libc::O_RDONLY as u64 {
            return None;
        }
        let path = self.mem(st.tid()).ok()?.read_cstr(st, path_at, 4096)?;
        if !is_proc_mem(&path) {
            return None;
        }
        eprintln!(
            "reel: {} of {path} for writing refused with EACCES: writes through it would escape the recording",
            reel_syscalls::name(nr)
        );
        Some(libc::EACCES)
    }

    /// An executable mapping appeared at `addr`: look for instructions reel
    /// cannot record in its file, once per file.
    pub(super) fn scan_new_code(&mut self, st: &Stopped, addr: u64) -> Result<()> {
        let Some(scanner) = self.unrecordable.as_mut() else {
            return Ok(());
        };
        let tid = st.tid();
        let pid = self.task_info.get(&tid).map_or(tid, |t| t.pid);
        let Some(mem) = self.memories.get(&pid) else {
            return Ok(());
        };
        let maps: Vec<_> = proc::maps(tid)?
            .into_iter()
            .filter(|m| m.start == addr)
            .collect();
        scanner.scan(st, mem, &maps);
        Ok(())
    }
}

/// Whether `path` names a process's or thread's memory file under /proc.
fn is_proc_mem(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/proc/") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let is_task = |p: &str| p == "self" || p == "thread-self" || p.parse::<u32>().is_ok();
    match parts.as_slice() {
        [who, "mem"] => is_task(who),
        [who, "task", tid, "mem"] => is_task(who) && tid.parse::<u32>().is_ok(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_proc_mem;

    #[test]
    fn proc_mem_paths() {
        for p in [
            "/proc/self/mem",
            "/proc/123/mem",
            "/proc/thread-self/mem",
            "/proc/1/task/2/mem",
        ] {
            assert!(is_proc_mem(p), "{p}");
        }
        for p in ["/proc/self/maps", "/tmp/mem", "/proc/self/memx", "mem"] {
            assert!(!is_proc_mem(p), "{p}");
        }
    }
}
