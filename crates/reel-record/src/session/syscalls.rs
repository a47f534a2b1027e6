//! Syscalls at their ptrace stops: the entry (policy from the table, refusals,
//! the scheduler's hand-off), the exit (result and memory outputs read from
//! the tracee) and the event that records them.

use super::*;
use reel_trace::ArgData;

/// How many bytes of what a write sends are kept in its event, for `dump -s`.
const EMITTED_PREFIX: usize = 128;

impl Recorder {
    pub(super) fn on_syscall_entry(&mut self, mut st: Stopped) -> Result<()> {
        self.fast_on_entry(&mut st)?;
        let tid = st.tid();
        let mut restarted = None;
        if let Some(t) = self.task_info.get_mut(&tid) {
            t.after_interrupt = false;
            // The interrupted call is made again without a signal in between:
            // the program never saw it return, and neither will replay.
            restarted = t.restartable.take().map(|(_, sc)| sc);
        }
        if self.task_info.get(&tid).is_some_and(|t| !t.held.is_empty()) {
            return self.deliver_before_syscall(st);
        }
        let regs = st.regs()?;
        let (mut nr, mut args) = (regs.syscall_nr(), regs.args());
        let mut site = SyscallSite {
            rip: regs.ip(),
            rsp: regs.sp(),
        };
        if let Some(orig) = restarted.filter(|_| nr == libc::SYS_restart_syscall as u64) {
            // The kernel continues the interrupted call under another number;
            // in replay the program makes the original call once.
            nr = orig.nr;
            args = orig.args;
            site = orig.site;
        }
        let Some(mut st) = self.program_seccomp(st, nr, &args, site)? else {
            return Ok(());
        };
        let spec = reel_syscalls::spec(nr);
        let policy = spec.map(|s| reel_syscalls::policy_for(s, &args));
        let refuse = match policy {
            Some(Policy::Refuse { errno }) => {
                self.explain_refusal(nr, &args, errno);
                Some(errno)
            }
            // No such syscall (`syscall(-1)`, past the kernel's table, x32):
            // ENOSYS is what the kernel answers too, nothing to warn about.
            None if !reel_syscalls::may_exist(nr) => Some(libc::ENOSYS),
            Some(Policy::Unsupported) | None => {
                if self.warned.insert(nr) {
                    let what = if nr == libc::SYS_clone as u64 {
                        "clone(CLONE_VM) of a process sharing its parent's memory (without CLONE_THREAD or CLONE_VFORK)".to_string()
                    } else {
                        format!("syscall {}", reel_syscalls::name(nr))
                    };
                    eprintln!(
                        "reel: warning: {what} is not supported yet; the program gets ENOSYS"
                    );
                }
                Some(libc::ENOSYS)
            }
            _ => None,
        };
        let refuse = refuse
            .or_else(|| self.refuse_mem_open(&st, nr, &args))
            .or_else(|| self.refuse_mapping(&st, nr, &args));
        if let Some(errno) = refuse {
            return self.fail_without_running(st, errno, site);
        }
        if let Some(Emit::InKernel { fd }) = spec.and_then(|s| s.emit) {
            if self.echo_target(tid, args[fd] as i32).is_some() {
                return self.fail_without_running(st, libc::EINVAL, site);
            }
        }
        let special = match policy {
            Some(Policy::Special(sp)) => Some(sp),
            _ => None,
        };
        if special == Some(Special::Clone) {
            untraced_is_traced(&mut st, nr)?;
        }
        let exec_args = if special == Some(Special::Execve) {
            let (path, argv) = self.read_exec_args(&st, nr, &args)?;
            if let Some(what) = foreign_binary(tid, &path) {
                // Fail the exec as a kernel without that ABI would, and say why.
                eprintln!("reel: {path}: {what}; reel records x86-64 programs only");
                return self.fail_without_running(st, libc::ENOEXEC, site);
            }
            Some((path, argv))
        } else {
            None
        };
        if matches!(special, Some(Special::Exit) | Some(Special::ExitGroup)) {
            // These never return: the event is written now, so replay knows
            // to run them; the Exit event follows when the task is gone.
            let ev = SyscallEvent::bare(tid, nr, args, 0, Some(site));
            self.append(&Event::Syscall(ev), &[])?;
            return self.resume(st, Resume::Cont, None);
        }
        let arg_data = match spec {
            Some(spec) => self.capture_args(&st, spec, &args)?,
            None => Vec::new(),
        };
        let path = arg_data
            .iter()
            .find(|d| d.arg <= 1)
            .and_then(|d| d.items.first());
        self.note_open_entry(tid, nr, &args, path.map(|p| p.as_slice()));
        if let Some(t) = self.task_info.get_mut(&tid) {
            t.syscall = Some(InSyscall {
                nr,
                args,
                site,
                spec,
                recorded: false,
                exec_args,
                arg_data,
            });
        }
        // A yield the fast path asked for is taken here either way.
        let fast_yield = self.fast_take_yield(tid);
        if spec.is_some_and(|s| s.may_block) || fast_yield || self.overdue_at_syscall(tid) {
            // It may wait for another thread, or had its turn (or its thread
            // was due to be preempted inside fast-path code, see
            // fastpath.rs): let the others run meanwhile.
            self.release_token(tid, Some((nr, args, site)))?;
        }
        self.enter_syscall(st, nr, &args)
    }

    /// Makes the syscall the task stopped at fail with `errno` without
    /// running it (the kernel leaves the result put in rax), and records that.
    pub(super) fn fail_without_running(
        &mut self,
        mut st: Stopped,
        errno: i32,
        site: SyscallSite,
    ) -> Result<()> {
        let mut regs = st.regs()?;
        let (nr, args) = (regs.syscall_nr(), regs.args());
        regs.set_syscall_nr(u64::MAX);
        regs.set_result(-(errno as i64));
        st.set_regs(&regs)?;
        let ev = SyscallEvent::bare(st.tid(), nr, args, -(errno as i64), Some(site));
        self.append(&Event::Syscall(ev), &[])?;
        self.resume(st, Resume::Cont, None)
    }

    pub(super) fn on_syscall_exit(&mut self, st: Stopped) -> Result<()> {
        let tid = st.tid();
        self.echo_done(tid)?;
        let sc = match self.task_info.get_mut(&tid).and_then(|t| t.syscall.take()) {
            Some(sc) => sc,
            // A syscall-exit stop we did not ask for; just go on.
            None => return self.resume(st, Resume::Cont, None),
        };
        if sc.recorded {
            if self.task_info.values().any(|t| t.vfork_parent == Some(tid)) {
                self.vfork_held.insert(tid, st);
                return Ok(());
            }
            return self.resume(st, Resume::Cont, None);
        }
        let result = st.regs()?.result();
        if is_restart_code(result) {
            // The kernel either delivers a signal now (then the program sees
            // this result, maybe turned into EINTR) or, when no handler runs
            // for this thread, makes the call again unseen: which one is
            // known at the task's next stop.
            let built = self.build_syscall(&st, &sc, result)?;
            if let Some(t) = self.task_info.get_mut(&tid) {
                t.restartable = Some((built, sc));
                t.after_interrupt = true;
            }
            return self.resume(st, Resume::Cont, None);
        }
        self.append_syscall(&st, &sc, result)?;
        self.note_created_file(tid, sc.nr, &sc.args, result);
        self.after_sysv_call(tid, sc.nr, result);
        let mut st = self.fast_on_exit(st, sc.nr, &sc.args, result)?;
        if sc.nr == libc::SYS_rt_sigreturn as u64 {
            // Replay clears the same frame at the same point (engine/syscall.rs).
            reel_sys::sigframe::clear_dead(&mut st, self.mem(tid)?, sc.site.rsp)?;
        }
        if sc.nr == libc::SYS_mmap as u64 && result >= 0 && sc.args[2] & libc::PROT_EXEC as u64 != 0
        {
            self.scan_new_code(&st, result as u64)?;
        }
        if sc.nr == libc::SYS_mmap as u64 && result >= 0 {
            let (prot, flags) = (sc.args[2] as i32, sc.args[3] as i32);
            if flags & libc::MAP_SHARED != 0 && prot & libc::PROT_WRITE != 0 {
                self.note_shared_mapping(tid, flags, sc.args[4] as i32);
            }
        }
        // A signal that is deliverable as the call returns is delivered
        // right after its event: a deterministic point.
        // (rt_sigreturn's "result" is the restored rax, which may well be
        // the EINTR of the call the handler interrupted.)
        let sigreturn = sc.nr == libc::SYS_rt_sigreturn as u64;
        let deliverable_now = (reel_syscalls::is_interrupted(result) && !sigreturn)
            || (signals::may_raise_for_caller(sc.nr, result)
                && proc::signal_masks(tid)?.deliverable());
        if deliverable_now {
            if let Some(t) = self.task_info.get_mut(&tid) {
                t.after_interrupt = true;
            }
        }
        self.resume(st, Resume::Cont, None)
    }

    /// Writes the event of syscall `sc` of the stopped task, which returned
    /// `result`, with the memory it wrote.
    pub(super) fn append_syscall(
        &mut self,
        st: &Stopped,
        sc: &InSyscall,
        result: i64,
    ) -> Result<()> {
        let (ev, data) = self.build_syscall(st, sc, result)?;
        self.append(&ev, &data)?;
        Ok(())
    }

    /// The event of syscall `sc` of the stopped task, which returned
    /// `result`, with the bytes of the memory it wrote.
    pub(super) fn build_syscall(
        &mut self,
        st: &Stopped,
        sc: &InSyscall,
        result: i64,
    ) -> Result<(Event, Vec<u8>)> {
        let tid = st.tid();
        let mut writes = Vec::new();
        let mut data = Vec::new();
        let mut echo = None;
        let mut emitted = None;
        let mut mapped_file = None;
        let mut arg_data = sc.arg_data.clone();
        if sc.nr == libc::SYS_ioctl as u64
            && result >= 0
            && !reel_syscalls::ioctl_is_described(sc.args[1])
            && self.warned_ioctls.insert(sc.args[1])
        {
            eprintln!(
                "reel: warning: ioctl request {:#x} is not described to reel; if it writes the program's memory, the replay may diverge",
                sc.args[1]
            );
        }
        if let Some(spec) = sc.spec {
            let mem = self.mem(tid)?;
            let view = |addr, len| mem.read(st, addr, len).ok();
            let extra = self.extra_outputs(sc.nr, &sc.args, result);
            for (addr, len) in reel_syscalls::output_ranges(spec, &sc.args, result, &view)
                .into_iter()
                .chain(extra)
            {
                let start = data.len();
                data.resize(start + len as usize, 0);
                if mem.read_into(st, addr, &mut data[start..]).is_err() {
                    // The kernel wrote there, so it is mapped; a failure means
                    // our description of the call is wrong: keep what we can.
                    data.truncate(start);
                    continue;
                }
                writes.push(MemWrite { addr, len });
            }
            if result > 0 {
                if let Some(emit) = spec.emit {
                    let fd = match emit {
                        Emit::Buf { fd, .. }
                        | Emit::Iov { fd, .. }
                        | Emit::Msg { fd, .. }
                        | Emit::InKernel { fd } => sc.args[fd] as i32,
                    };
                    echo = self.echo_target(tid, fd);
                    // What it sent: replay checks its own bytes against this
                    // before echoing them.
                    let mem = self.mem(tid)?;
                    let view = |addr, len| mem.read(st, addr, len).ok();
                    let bytes = reel_syscalls::emitted_bytes(spec, &sc.args, result, &view);
                    emitted = bytes.as_deref().map(reel_trace::emitted_hash);
                    if let (Some(b), Emit::Buf { buf: arg, .. } | Emit::Iov { iov: arg, .. }) =
                        (&bytes, emit)
                    {
                        // The start of what it sent, for `dump -s`.
                        arg_data.push(sent_prefix(arg, b));
                    }
                }
            }
            if spec.policy == Policy::Special(Special::Mmap) && result >= 0 {
                mapped_file = self.snapshot_mapping(tid, &sc.args)?;
                if let Some(mf) = &mapped_file {
                    self.note_mapped_file(tid, &sc.args, mf);
                }
            } else {
                mapped_file = self.snapshot_written_file(tid, sc.nr, &sc.args, result)?;
            }
            if sc.nr == libc::SYS_shmat as u64 && result >= 0 {
                mapped_file = self.on_shmat(st, sc.args[0] as i32, result as u64)?;
            }
        }
        let checksum = if self.checksum && self.digest_is_consistent(tid) {
            Some(digest::writable_memory(st, self.mem(tid)?, None)?)
        } else {
            None
        };
        let ev = SyscallEvent {
            tid,
            nr: sc.nr,
            args: sc.args,
            result,
            site: Some(sc.site),
            writes,
            echo,
            mapped_file,
            checksum,
            emitted,
            arg_data,
        };
        Ok((Event::Syscall(ev), data))
    }

    /// What the path, argv and sockaddr arguments of a call point to, read
    /// at its entry stop (before the kernel or another thread changes it).
    fn capture_args(
        &mut self,
        st: &Stopped,
        spec: &'static reel_syscalls::SyscallSpec,
        args: &[u64; 6],
    ) -> Result<Vec<ArgData>> {
        let mem = self.mem(st.tid())?;
        let view = |addr, len| mem.read(st, addr, len).ok();
        Ok(reel_syscalls::capture_args(spec, args, &view)
            .into_iter()
            .map(|c| ArgData {
                arg: c.arg,
                items: c.items,
                truncated: c.truncated,
            })
            .collect())
    }

    /// Whether fd of task `tid` is the same open file as reel's stdout/stderr.
    pub(super) fn echo_target(&self, tid: Tid, fd: i32) -> Option<Echo> {
        let id = proc::fd_identity(tid, fd)?;
        let out = self.stdout_id == Some(id);
        let err = self.stderr_id == Some(id);
        match (out, err) {
            // Both are the same file (a terminal): follow the descriptor number.
            (true, true) => Some(if fd == 2 { Echo::Stderr } else { Echo::Stdout }),
            (true, false) => Some(Echo::Stdout),
            (false, true) => Some(Echo::Stderr),
            (false, false) => None,
        }
    }

    /// For an mmap of a regular file, a snapshot of the file.
    pub(super) fn snapshot_mapping(
        &mut self,
        tid: Tid,
        args: &[u64; 6],
    ) -> Result<Option<MappedFile>> {
        let flags = args[3] as i32;
        if flags & libc::MAP_ANONYMOUS != 0 {
            return Ok(None);
        }
        let fd = args[4] as i32;
        let link = format!("/proc/{tid}/fd/{fd}");
        let meta = match std::fs::metadata(&link) {
            Ok(m) => m,
            Err(_) => return Ok(None),
        };
        let path = proc::fd_path(tid, fd);
        if !meta.is_file() {
            if path != "/dev/zero" && self.warned.insert(u64::MAX) {
                eprintln!("reel: warning: mapping of {path} (not a regular file) is replayed as zero-filled memory");
            }
            return Ok(None);
        }
        let writable = args[2] as i32 & libc::PROT_WRITE != 0;
        if flags & libc::MAP_SHARED != 0
            && writable
            && !self.created_by_tree(tid, fd)
            && self.warned_shared.insert(path.clone())
        {
            // The memory follows the file: what other processes write to it
            // reaches the program without a syscall reel could record. (A
            // read-only shared mapping is how many programs read data files;
            // those rarely change under them, so reel stays quiet there.)
            eprintln!(
                "reel: warning: {path} is mapped shared; changes other processes make to it while the program runs are not recorded"
            );
        }
        let file = self.writer.snapshot_file(std::path::Path::new(&link))?;
        Ok(Some(MappedFile { file, path }))
    }
}

/// A `clone(CLONE_UNTRACED)` child would escape the recording (and, under
/// reel's seccomp filter, have every call fail): the flag is dropped, here
/// and at replay (`reel_syscalls::drop_untraced`), so the child is traced
/// like any other. The event keeps the program's own flags.
fn untraced_is_traced(st: &mut Stopped, nr: u64) -> Result<()> {
    let mut regs = st.regs()?;
    let mut args = regs.args();
    if reel_syscalls::drop_untraced(nr, &mut args) {
        regs.set_args(args);
        st.set_regs(&regs)?;
    }
    Ok(())
}

/// The kernel's restart codes (ERESTARTSYS ... ERESTART_RESTARTBLOCK), which
/// a program never sees as such.
fn is_restart_code(result: i64) -> bool {
    (-516..=-512).contains(&result)
}

/// The start of the bytes a call sent from argument `arg`, kept for `dump`.
pub(super) fn sent_prefix(arg: usize, sent: &[u8]) -> ArgData {
    let keep = sent.len().min(EMITTED_PREFIX);
    ArgData {
        arg: arg as u8,
        items: vec![sent[..keep].to_vec()],
        truncated: keep < sent.len(),
    }
}
