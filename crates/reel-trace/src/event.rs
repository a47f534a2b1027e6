//! The data model of a trace: what happened, in the order it happened.
//!
//! Events are numbered globally from 1 in stream order; that number is the
//! execution point used by `dump`, `replay -g`, divergence reports and gdb.

use serde::{Deserialize, Serialize};

/// A kernel thread id as seen at record time.
pub type Tid = i32;

/// Identifies a snapshot of a file stored in the trace's `files/` directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileId(pub String);

/// Where the bytes written by one event went at record time, when they went
/// to the same open file as reel's own stdout or stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Echo {
    /// reel's stdout
    Stdout,
    /// reel's stderr
    Stderr,
}

/// A range of tracee memory a syscall wrote; its bytes follow in the data stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemWrite {
    /// First address written.
    pub addr: u64,
    /// Number of bytes.
    pub len: u64,
}

/// The registers that pin down where a syscall was made, checked on replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallSite {
    /// Instruction pointer after the `syscall` instruction.
    pub rip: u64,
    /// Stack pointer.
    pub rsp: u64,
}

/// One system call, as made by the tracee and answered by the kernel (or by reel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallEvent {
    /// The calling thread.
    pub tid: Tid,
    /// Syscall number (x86-64).
    pub nr: u64,
    /// The six argument registers: rdi, rsi, rdx, r10, r8, r9.
    pub args: [u64; 6],
    /// The value returned in rax (negative errno on failure).
    pub result: i64,
    /// Where the call was made. Present for calls seen at a ptrace stop; absent
    /// for calls that arrive in a batch from an in-process buffer.
    pub site: Option<SyscallSite>,
    /// Memory the call wrote, in order; the bytes are in the data stream.
    pub writes: Vec<MemWrite>,
    /// Set when the call wrote to the file that was reel's stdout/stderr.
    pub echo: Option<Echo>,
    /// For an `mmap` of a file: the snapshot of that file and the offset mapped.
    pub mapped_file: Option<MappedFile>,
    /// Digest of the tracee's writable memory after the call (`record --checksum`).
    pub checksum: Option<u64>,
    /// For a call that sent data to a file descriptor (write, sendmsg ...):
    /// [`emitted_hash`] of the bytes it sent, which replay checks before it
    /// echoes them (or instead of sending them).
    pub emitted: Option<u64>,
    /// What the call's pointer arguments pointed to at entry, for display
    /// (`reel dump`): paths, argv, socket addresses, the start of the bytes
    /// a write sent. Replay does not use it.
    pub arg_data: Vec<ArgData>,
}

/// Memory a syscall argument pointed to (see [`SyscallEvent::arg_data`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgData {
    /// Index of the argument (0..6).
    pub arg: u8,
    /// One item for a string, a structure or sent bytes; one per entry for
    /// an argv array.
    pub items: Vec<Vec<u8>>,
    /// Whether it was cut short (a longer string, more entries, more bytes).
    pub truncated: bool,
}

/// The hash of emitted bytes stored in [`SyscallEvent::emitted`]: the first
/// 8 bytes of their BLAKE3 hash, little-endian.
pub fn emitted_hash(bytes: &[u8]) -> u64 {
    let h = blake3::hash(bytes);
    u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
}

impl SyscallEvent {
    /// A call that wrote no memory and nothing worth echoing.
    pub fn bare(tid: Tid, nr: u64, args: [u64; 6], result: i64, site: Option<SyscallSite>) -> Self {
        SyscallEvent {
            tid,
            nr,
            args,
            result,
            site,
            writes: Vec::new(),
            echo: None,
            mapped_file: None,
            checksum: None,
            emitted: None,
            arg_data: Vec::new(),
        }
    }
}

/// A file mapping made by `mmap`, replayed from the trace's snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedFile {
    /// The snapshot.
    pub file: FileId,
    /// The path the tracee had open, for display.
    pub path: String,
}

/// Where the contents of a region of a new address space come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegionSource {
    /// Zero-filled anonymous memory (or inaccessible memory).
    Zero,
    /// The region's bytes follow in the data stream (`end - start` bytes).
    Data,
    /// A private mapping of a file snapshot at this file offset.
    File {
        /// The snapshot.
        file: FileId,
        /// File offset of `start`.
        offset: u64,
        /// The path mapped at record time, for display.
        path: String,
    },
}

/// One mapping of an address space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// `PROT_*` bits.
    pub prot: u32,
    /// MAP_SHARED rather than MAP_PRIVATE.
    pub shared: bool,
    /// The main thread's stack: replay reserves room below it to grow.
    pub stack: bool,
    /// What fills it.
    pub source: RegionSource,
}

/// The state of a task right after a successful `execve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecEvent {
    /// The thread that exec'd (its tid after the exec).
    pub tid: Tid,
    /// The tid that called execve (differs when a non-leader thread execs).
    pub old_tid: Tid,
    /// The program path as given to execve.
    pub path: String,
    /// argv of the new program.
    pub argv: Vec<String>,
    /// Every mapping of the new address space.
    pub regions: Vec<Region>,
    /// General registers, in the order of the kernel's `user_regs_struct`.
    pub regs: Vec<u64>,
    /// The extended register state (x87, SSE, AVX ...) in the kernel's XSAVE
    /// layout, as read with PTRACE_GETREGSET NT_X86_XSTATE.
    pub xstate: Vec<u8>,
    /// The initial program break.
    pub brk: u64,
    /// Syscall-site registers of the execve call itself.
    pub site: Option<SyscallSite>,
    /// Signals set to SIG_IGN after the exec (bit N-1 for signal N); every
    /// other disposition is the default, as execve leaves them.
    #[serde(default)]
    pub sig_ignored: u64,
    /// The blocked-signal mask after the exec.
    #[serde(default)]
    pub sig_blocked: u64,
}

/// Which instruction read the time-stamp counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TscKind {
    /// `rdtsc` (2 bytes).
    Rdtsc,
    /// `rdtscp` (3 bytes), which also returns TSC_AUX in ecx.
    Rdtscp,
}

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitKind {
    /// exit/exit_group with this status.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
    /// A thread ended because another thread of its process exec'd (the
    /// kernel kills the others). Never the status of a process.
    EndedByExec,
}

impl ExitKind {
    /// The shell-style status: the exit code, or 128+N for a death by signal N.
    pub fn shell_status(self) -> i32 {
        match self {
            ExitKind::Exited(c) => c,
            ExitKind::Signaled(s) => 128 + s,
            ExitKind::EndedByExec => 0,
        }
    }
}

/// Where a signal was delivered, which says how replay delivers it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignalDelivery {
    /// Raised by the instruction the thread was executing (a fault): replay
    /// raises it the same way.
    Synchronous,
    /// It interrupted a blocking syscall and was delivered as that call
    /// returned (EINTR, or restarted after the handler): right after the
    /// task's previous event.
    AfterSyscall,
    /// It arrived while the thread ran; reel held it and delivered it at the
    /// thread's next syscall, before that call runs (the call is made again
    /// when the handler returns).
    BeforeSyscall,
    /// No handler ran (the default action: terminate, dump core, stop):
    /// delivered where it arrived, after the task's previous event.
    DefaultAction,
    /// The thread made no syscall for too long while reel held the signal;
    /// reel interrupted it and delivered it there, at the point its
    /// [`SignalEvent::landmark`] describes, where replay delivers it too.
    Interrupted,
}

/// A signal delivered to a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalEvent {
    /// Receiving thread.
    pub tid: Tid,
    /// Signal number.
    pub signo: i32,
    /// `si_code`.
    pub code: i32,
    /// The raw 128-byte siginfo, to restore with PTRACE_SETSIGINFO on replay.
    pub siginfo: Vec<u8>,
    /// How it was delivered.
    pub delivery: SignalDelivery,
    /// Instruction pointer when delivered.
    pub rip: u64,
    /// The general registers at delivery (the kernel's `user_regs_struct`
    /// order), which the kernel saves in the signal frame; empty when unknown.
    pub regs: Vec<u64>,
    /// For an `Interrupted` delivery: the thread's full state where reel
    /// interrupted it; replay delivers the signal where that state recurs.
    pub landmark: Option<crate::Landmark>,
}

/// One thing that happened in the recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// A system call returned (or was answered by reel).
    Syscall(SyscallEvent),
    /// A successful execve replaced a task's address space.
    Exec(ExecEvent),
    /// The tracee read the time-stamp counter; reel answered.
    Tsc {
        /// The reading thread.
        tid: Tid,
        /// Which instruction.
        kind: TscKind,
        /// The counter value returned in edx:eax.
        value: u64,
        /// TSC_AUX returned in ecx by rdtscp.
        aux: u32,
        /// Address of the instruction.
        rip: u64,
    },
    /// A signal was delivered.
    Signal(SignalEvent),
    /// A thread entered a syscall that may block and let the other threads
    /// of its process run meanwhile; the call's `Syscall` event follows when
    /// it returns. Marks where the thread's run of user code ended.
    SyscallEntry {
        /// The thread.
        tid: Tid,
        /// The syscall number.
        nr: u64,
        /// The six argument registers: rdi, rsi, rdx, r10, r8, r9.
        args: [u64; 6],
        /// Where the call was made.
        site: Option<SyscallSite>,
    },
    /// reel stopped a thread that ran without a syscall for too long while
    /// others of its process waited (a spin loop). Replay stops it where its
    /// landmark matches.
    Preempted {
        /// The thread.
        tid: Tid,
        /// Where it was stopped.
        rip: u64,
        /// Its full state there.
        landmark: Option<crate::Landmark>,
    },
    /// reel patched the program's code in the process of `tid`: a `pause`
    /// of a spin loop becomes a trap (a deterministic yield point). Replay
    /// makes the same change at the same event.
    Patch {
        /// The thread whose process is patched.
        tid: Tid,
        /// Address of the patched bytes.
        addr: u64,
        /// The bytes there before.
        original: Vec<u8>,
        /// The bytes written.
        patched: Vec<u8>,
    },
    /// A thread reached a patched `pause` while another thread waited, and
    /// reel switched: the `hits`-th such trap of the thread since its
    /// previous event.
    Yield {
        /// The thread.
        tid: Tid,
        /// Address of the patched `pause`.
        rip: u64,
        /// Which trap since the thread's previous event (from 1).
        hits: u64,
    },
    /// A task exited.
    Exit {
        /// The task.
        tid: Tid,
        /// How.
        kind: ExitKind,
    },
    /// reel redirected a syscall site of the process of `tid` into a
    /// trampoline of the in-process fast path (after the site's call, whose
    /// event precedes this one). Replay makes the same change at the same
    /// event.
    FastSite(FastSiteEvent),
    /// A syscall that the program's own seccomp filter answered (reel runs
    /// such filters itself, see `reel_syscalls::filter`): it was not made,
    /// and the program saw `result` in rax. Replay checks the call and sets
    /// rax; it never runs it.
    Filtered {
        /// The calling thread.
        tid: Tid,
        /// Syscall number.
        nr: u64,
        /// The six argument registers.
        args: [u64; 6],
        /// What rax held afterwards (-errno, or the number for a TRAP).
        result: i64,
        /// Where the call was made.
        site: Option<SyscallSite>,
    },
}

/// The patch of one syscall site for the fast path (see
/// `reel_sys::syscallbuf`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FastSiteEvent {
    /// The thread whose process is patched.
    pub tid: Tid,
    /// The syscall number of the site.
    pub nr: u64,
    /// A page reel mapped first for trampolines (read and execute).
    pub page: Option<u64>,
    /// Where the trampoline goes.
    pub stub: u64,
    /// Its bytes (the same at record and replay: at replay it answers
    /// calls from the records the replayer hands out).
    pub code: Vec<u8>,
    /// First byte of the site's range replaced by the jump.
    pub addr: u64,
    /// The bytes there before.
    pub original: Vec<u8>,
    /// The bytes written.
    pub patched: Vec<u8>,
    /// The thread's rip was inside the range: it resumes here instead.
    pub resume: Option<u64>,
}

impl Event {
    /// The task the event belongs to.
    pub fn tid(&self) -> Tid {
        match self {
            Event::Syscall(s) => s.tid,
            Event::Exec(e) => e.tid,
            Event::Tsc { tid, .. } => *tid,
            Event::Signal(s) => s.tid,
            Event::SyscallEntry { tid, .. } | Event::Preempted { tid, .. } => *tid,
            Event::Patch { tid, .. } | Event::Yield { tid, .. } => *tid,
            Event::Exit { tid, .. } | Event::Filtered { tid, .. } => *tid,
            Event::FastSite(f) => f.tid,
        }
    }

    /// How many bytes of the data stream belong to this event.
    pub fn data_len(&self) -> u64 {
        match self {
            Event::Syscall(s) => s.writes.iter().map(|w| w.len).sum(),
            Event::Exec(e) => e
                .regions
                .iter()
                .filter(|r| r.source == RegionSource::Data)
                .map(|r| r.end - r.start)
                .sum(),
            _ => 0,
        }
    }
}

/// A CPUID leaf as seen by the recording machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuidLeaf {
    /// eax input.
    pub leaf: u32,
    /// ecx input.
    pub subleaf: u32,
    /// Outputs.
    pub eax: u32,
    /// Outputs.
    pub ebx: u32,
    /// Outputs.
    pub ecx: u32,
    /// Outputs.
    pub edx: u32,
}

/// What the program could learn about the CPU without a syscall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CpuIdentity {
    /// Vendor string (leaf 0).
    pub vendor: String,
    /// Brand string (leaves 0x80000002..4).
    pub brand: String,
    /// Every leaf and subleaf reported.
    pub leaves: Vec<CpuidLeaf>,
    /// XCR0 (enabled XSAVE features), when XGETBV is available.
    pub xcr0: Option<u64>,
    /// Whether CPUID faulting could be enabled (then CPUID would be trappable).
    pub cpuid_faulting: bool,
}

/// The trace header: written once when recording starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Major format version: readers reject any other.
    pub format_major: u32,
    /// Minor format version: additions a reader of the same major can ignore.
    pub format_minor: u32,
    /// The reel version that recorded.
    pub reel_version: String,
    /// The command line recorded (program and arguments).
    pub argv: Vec<String>,
    /// The environment given to the program.
    pub env: Vec<String>,
    /// Working directory at start.
    pub cwd: String,
    /// Wall-clock start time, milliseconds since the Unix epoch.
    pub start_time_ms: u64,
    /// Host name of the recording machine.
    pub hostname: String,
    /// Kernel release of the recording machine.
    pub kernel: String,
    /// CPU identity of the recording machine.
    pub cpu: CpuIdentity,
    /// Whether events carry memory checksums (`record --checksum`).
    pub checksums: bool,
    /// The CPU the tracees were bound to. CPUID answers differ from core to
    /// core (APIC ids, cache topology) and cannot be trapped, so replay binds
    /// to the same CPU.
    #[serde(default)]
    pub cpu_binding: Option<u32>,
}
