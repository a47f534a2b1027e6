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
        let path = m.path;
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
        let (st, fd) = self.call(
            st,
            libc::SYS_openat,
            [
                libc::AT_FDCWD as u64,
                SCRATCH_PAGE,
                (libc::O_RDONLY | libc::O_CLOEXEC) as u64,
                0,
                0,
                0,
            ],
            &format!("openat of snapshot {}", path.display()),
        )?;
        let flags = (libc::MAP_PRIVATE | libc::MAP_FIXED | m.extra_flags) as u64;
        let (st, _) = self.call(
            st,
            libc::SYS_mmap,
            [m.start, m.len, m.prot as u64, flags, fd as u64, m.offset],
            &format!("mmap of snapshot {} at {:#x}", path.display(), m.start),
        )?;
        let (st, _) = self.call(st, libc::SYS_close, [fd as u64, 0, 0, 0, 0, 0], "close")?;
        Ok(st)
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
        let flags = (kind | libc::MAP_ANONYMOUS | libc::MAP_FIXED) as u64;
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
                file, offset: off, ..
            } => {
                let path = reader.file_path(file);
                let m = FileMapping {
                    path: &path,
                    start: r.start,
                    len,
                    prot: r.prot,
                    offset: *off,
                    extra_flags: 0,
                };
                inj.map_file(st, mem, &m)?
            }
        };
        prev_end = r.end;
    }
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
    st.set_xstate(&ev.fpregs)?;
    Ok(st)
}
