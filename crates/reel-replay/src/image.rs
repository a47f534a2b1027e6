//! Rebuilding a recorded address space in the replay tracee, from the trace
//! alone: nothing is read from the installed program or libraries.

use crate::Result;
use reel_sys::{
    inject, Memory, Stopped, TaskSet, PAGE_SIZE, PRIVATE_LEN, PRIVATE_PAGE, SCRATCH_PAGE,
};
use reel_trace::{ExecEvent, RegionSource, TraceReader};

/// Top of the user address space on x86-64 with 4-level page tables.
const USER_TOP: u64 = 0x7fff_ffff_f000;
/// Room reserved below the recorded stack so it can grow as it did natively.
const STACK_RESERVE: u64 = 8 << 20;

/// A private mapping of a file snapshot at a fixed address.
pub struct FileMapping<'a> {
    /// The snapshot.
    pub path: &'a std::path::Path,
    /// The file the program mapped, for messages.
    pub original: &'a str,
    /// Where.
    pub start: u64,
    /// How many bytes.
    pub len: u64,
    /// PROT_* bits.
    pub prot: u32,
    /// File offset.
    pub offset: u64,
    /// MAP_* flags to keep besides MAP_PRIVATE | MAP_FIXED.
    pub extra_flags: i32,
    /// Map it MAP_SHARED (and open it for writing): `path` is then the
    /// replay's own copy, shared by the replayed processes that map it.
    pub shared: bool,
}

/// A syscall injected into the replay tracee; failures become errors naming it.
pub struct Injector<'a> {
    /// The session's tasks (injection waits for the tracee).
    pub tasks: &'a mut TaskSet,
}

impl Injector<'_> {
    /// Runs syscall `nr` and returns its result, or an error naming `what`.
    pub fn call(
        &mut self,
        st: Stopped,
        nr: i64,
        args: [u64; 6],
        what: &str,
    ) -> Result<(Stopped, i64)> {
        let tid = st.tid();
        let (st, r) = inject::syscall(st, self.tasks, nr as u64, args)?;
        if (-4095..0).contains(&r) {
            return Err(reel_sys::SysError::Inject {
                syscall: what.to_string(),
                tid,
                what: format!("failed with errno {}", -r),
            }
            .into());
        }
        Ok((st, r))
    }

    /// Maps part of a file snapshot as described by `m`.
    pub fn map_file(&mut self, st: Stopped, mem: &Memory, m: &FileMapping) -> Result<Stopped> {
        let (st, fd) = self.open_snapshot(st, mem, m.path, m.original, m.shared)?;
        let st = self.map_fd(st, fd, m)?;
        self.close(st, fd)
    }

    /// Opens the snapshot at `path` (of the program's `original` file) in the
    /// tracee; returns the descriptor.
    pub fn open_snapshot(
        &mut self,
        st: Stopped,
        mem: &Memory,
        path: &std::path::Path,
        original: &str,
        writable: bool,
    ) -> Result<(Stopped, i64)> {
        if !path.exists() {
            return Err(crate::ReplayError::MissingSnapshot {
                original: original.to_string(),
                snapshot: path.display().to_string(),
            });
        }
        let mut st = st;
        let mut bytes = path.as_os_str().as_encoded_bytes().to_vec();
        bytes.push(0);
        if bytes.len() as u64 > PAGE_SIZE {
            return Err(reel_sys::SysError::Inject {
                syscall: "openat".into(),
                tid: st.tid(),
                what: format!("snapshot path too long: {}", path.display()),
            }
            .into());
        }
        mem.write(&mut st, SCRATCH_PAGE, &bytes)?;
        self.call(
            st,
            libc::SYS_openat,
            [
                libc::AT_FDCWD as u64,
                SCRATCH_PAGE,
                ((if writable {
                    libc::O_RDWR
                } else {
                    libc::O_RDONLY
                }) | libc::O_CLOEXEC) as u64,
                0,
                0,
                0,
            ],
            &format!("openat of snapshot {}", path.display()),
        )
    }

    /// Maps `m` from the snapshot open as `fd` in the tracee.
    pub fn map_fd(&mut self, st: Stopped, fd: i64, m: &FileMapping) -> Result<Stopped> {
        let kind = if m.shared {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE
        };
        let flags = (kind | libc::MAP_FIXED | m.extra_flags) as u64;
        let (st, _) = self.call(
            st,
            libc::SYS_mmap,
            [m.start, m.len, m.prot as u64, flags, fd as u64, m.offset],
            &format!("mmap of snapshot {} at {:#x}", m.path.display(), m.start),
        )?;
        Ok(st)
    }

    /// Closes a descriptor reel opened in the tracee.
    pub fn close(&mut self, st: Stopped, fd: i64) -> Result<Stopped> {
        Ok(self
            .call(st, libc::SYS_close, [fd as u64, 0, 0, 0, 0, 0], "close")?
            .0)
    }

    /// Maps zero-filled anonymous memory at `start..start+len`.
    pub fn map_anon(
        &mut self,
        st: Stopped,
        start: u64,
        len: u64,
        prot: u32,
        shared: bool,
    ) -> Result<Stopped> {
        let kind = if shared {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE
        };
        self.map_anon_with(st, start, len, prot, kind)
    }

    /// Maps anonymous memory at `start..start+len` with the program's own
    /// mmap `flags` (MAP_STACK, MAP_NORESERVE ... matter: they decide which
    /// neighbouring mappings the kernel merges, which the memory digest sees).
    pub fn map_anon_with(
        &mut self,
        st: Stopped,
        start: u64,
        len: u64,
        prot: u32,
        flags: i32,
    ) -> Result<Stopped> {
        let flags =
            ((flags & !libc::MAP_FIXED_NOREPLACE) | libc::MAP_ANONYMOUS | libc::MAP_FIXED) as u64;
        let (st, _) = self.call(
            st,
            libc::SYS_mmap,
            [start, len, prot as u64, flags, u64::MAX, 0],
            &format!("mmap of {len:#x} bytes at {start:#x}"),
        )?;
        Ok(st)
    }
}

/// Replaces the task's whole address space (but reel's private pages) with
/// the one recorded in `ev`, whose `Data` region bytes are `data`, and loads
/// the recorded registers.
pub fn restore(
    st: Stopped,
    tasks: &mut TaskSet,
    mem: &Memory,
    reader: &TraceReader,
    ev: &ExecEvent,
    data: &[u8],
) -> Result<Stopped> {
    let mut inj = Injector { tasks };
    // Everything but the private pages goes (vsyscall lies above USER_TOP).
    let (st, _) = inj.call(
        st,
        libc::SYS_munmap,
        [0, PRIVATE_PAGE, 0, 0, 0, 0],
        "munmap below the private page",
    )?;
    let above = PRIVATE_PAGE + PRIVATE_LEN;
    let (mut st, _) = inj.call(
        st,
        libc::SYS_munmap,
        [above, USER_TOP - above, 0, 0, 0, 0],
        "munmap above the private page",
    )?;
    let mut offset = 0usize;
    let mut prev_end = 0u64;
    // A file maps into several regions (text, data ...): open it once.
    let mut open: Vec<(&reel_trace::FileId, i64)> = Vec::new();
    for r in &ev.regions {
        let len = r.end - r.start;
        if r.stack {
            // Room to grow into, as the kernel's stack would; never over the
            // previous mapping (the kernel keeps a guard gap there too).
            let floor = r
                .end
                .saturating_sub(STACK_RESERVE)
                .max(prev_end + 256 * PAGE_SIZE);
            if floor < r.start {
                st = inj.map_anon(
                    st,
                    floor,
                    r.start - floor,
                    (libc::PROT_READ | libc::PROT_WRITE) as u32,
                    false,
                )?;
            }
        }
        st = match &r.source {
            RegionSource::Zero => inj.map_anon(st, r.start, len, r.prot, r.shared)?,
            RegionSource::Data => {
                let bytes = data.get(offset..offset + len as usize).ok_or_else(|| {
                    reel_sys::SysError::Inject {
                        syscall: "restore".into(),
                        tid: st.tid(),
                        what: "exec event has less data than its regions".into(),
                    }
                })?;
                offset += len as usize;
                let rw = (libc::PROT_READ | libc::PROT_WRITE) as u32;
                let mut st = inj.map_anon(st, r.start, len, rw, r.shared)?;
                mem.write(&mut st, r.start, bytes)?;
                if r.prot != rw {
                    let (st2, _) = inj.call(
                        st,
                        libc::SYS_mprotect,
                        [r.start, len, r.prot as u64, 0, 0, 0],
                        "mprotect of restored region",
                    )?;
                    st = st2;
                }
                st
            }
            RegionSource::File {
                file,
                offset: off,
                path: original,
            } => {
                let path = reader.file_path(file);
                let m = FileMapping {
                    path: &path,
                    original,
                    start: r.start,
                    len,
                    prot: r.prot,
                    offset: *off,
                    extra_flags: 0,
                    shared: false,
                };
                let (st, fd) = match open.iter().find(|(f, _)| *f == file) {
                    Some(&(_, fd)) => (st, fd),
                    None => {
                        let (st, fd) = inj.open_snapshot(st, mem, &path, original, false)?;
                        open.push((file, fd));
                        (st, fd)
                    }
                };
                inj.map_fd(st, fd, &m)?
            }
        };
        prev_end = r.end;
    }
    for (_, fd) in open {
        st = inj.close(st, fd)?;
    }
    let st = restore_signal_state(&mut inj, st, mem, ev)?;
    let mut st = st;
    let mut regs = st.regs()?;
    if !regs.load_vec(&ev.regs) {
        return Err(reel_sys::SysError::Inject {
            syscall: "restore".into(),
            tid: st.tid(),
            what: format!("exec event has {} registers", ev.regs.len()),
        }
        .into());
    }
    regs.set_syscall_nr(u64::MAX);
    st.set_regs(&regs)?;
    st.set_xstate(&ev.xstate)?;
    Ok(st)
}

/// Gives the task the signal state a real execve left the recorded one:
/// handlers back to their default (or SIG_IGN where the recording had it),
/// the recorded blocked mask, and no alternate stack. The replay task is a
/// fork of reel or of a replayed process, whose handlers, mask and
/// alternate stack an emulated exec would otherwise keep.
fn restore_signal_state(
    inj: &mut Injector,
    st: Stopped,
    mem: &Memory,
    ev: &ExecEvent,
) -> Result<Stopped> {
    let now = reel_sys::proc::signal_masks(st.tid())?;
    let mut st = st;
    // struct kernel_sigaction { handler, flags, restorer, mask } in the
    // scratch page, first as SIG_DFL then as SIG_IGN.
    const DFL_AT: u64 = SCRATCH_PAGE;
    const IGN_AT: u64 = SCRATCH_PAGE + 32;
    let mut act = [0u8; 64];
    act[32..40].copy_from_slice(&(libc::SIG_IGN as u64).to_le_bytes());
    mem.write(&mut st, DFL_AT, &act)?;
    for sig in 1..=64i32 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        let bit = 1u64 << (sig - 1);
        let want_ignored = ev.sig_ignored & bit != 0;
        let is_default = now.caught & bit == 0 && now.ignored & bit == 0;
        let is_ignored = now.ignored & bit != 0;
        if (want_ignored && is_ignored) || (!want_ignored && is_default) {
            continue;
        }
        let act_at = if want_ignored { IGN_AT } else { DFL_AT };
        st = inj
            .call(
                st,
                libc::SYS_rt_sigaction,
                [sig as u64, act_at, 0, 8, 0, 0],
                "rt_sigaction",
            )?
            .0;
    }
    // The mask, and no alternate signal stack (stack_t with SS_DISABLE).
    let mut buf = [0u8; 32];
    buf[..8].copy_from_slice(&ev.sig_blocked.to_le_bytes());
    buf[16..20].copy_from_slice(&(libc::SS_DISABLE as u32).to_le_bytes());
    mem.write(&mut st, SCRATCH_PAGE, &buf)?;
    let (st, _) = inj.call(
        st,
        libc::SYS_rt_sigprocmask,
        [libc::SIG_SETMASK as u64, SCRATCH_PAGE, 0, 8, 0, 0],
        "rt_sigprocmask",
    )?;
    let (st, _) = inj.call(
        st,
        libc::SYS_sigaltstack,
        [SCRATCH_PAGE + 8, 0, 0, 0, 0, 0],
        "sigaltstack",
    )?;
    Ok(st)
}
