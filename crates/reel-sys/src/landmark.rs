//! Landmarks: the full state of a thread at an instruction boundary, and
//! bringing an interrupted thread to a boundary that replay can find again.
//!
//! Record interrupts a thread wherever it happens to be. Before taking its
//! state there, [`place`] single-steps it a little: out of a `rep` string
//! instruction (interrupted in the middle, its rip names the start of the
//! instruction, which replay would reach with another rcx), and on to an
//! instruction the replay can patch with a jump to its compare stub (whole
//! instructions covering 5 bytes, see [`patch_span`]). It then watches a
//! couple of dozen passes through that point to learn which memory words
//! make this pass unlike the earlier ones (the loop's progress).

use crate::mem::Memory;
use crate::proc::maps;
use crate::task::{Resume, StopReason, Stopped, TaskSet, Waited};
use crate::{digest, Result, SysError, PAGE_SIZE, PRIVATE_LEN, PRIVATE_PAGE};
use iced_x86::{Code, Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic};
use std::collections::HashMap;

/// Index of rip in the flat register list ([`crate::Regs::to_vec`]).
pub const RIP: usize = 16;
/// Index of rsp.
pub const RSP: usize = 19;
/// Index of eflags.
pub(crate) const EFLAGS: usize = 18;
/// Index of orig_rax, which is not part of the program's state.
pub(crate) const ORIG_RAX: usize = 15;
/// The flags a program can observe: CF PF AF ZF SF DF OF (not TF, RF ...).
pub(crate) const FLAGS_MASK: u64 = 0xcd5;
/// Names of the flat register list, for reports.
const REG_NAMES: [&str; 27] = [
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi",
    "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs",
    "gs",
];
/// The x86-64 red zone: leaf functions keep data below rsp.
pub(crate) const RED_ZONE: u64 = 128;
/// Most single-steps spent reaching a patchable instruction, and watching
/// one pass of the loop.
const MAX_STEPS: usize = 3000;
/// Most memory words a landmark watches.
pub(crate) const MAX_WORDS: usize = 4;
/// Shortest instruction a 5-byte `jmp rel32` can replace.
pub const PATCH_LEN: usize = 5;

/// A thread's full state at an instruction boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// General registers, flat ([`crate::Regs::to_vec`]).
    pub regs: Vec<u64>,
    /// [`vector_hash`] of the extended state.
    pub vector_hash: u64,
    /// [`memory_digest`] of the process.
    pub memory_digest: u64,
    /// Memory words that change per pass of the loop, with their values.
    pub words: Vec<(u64, u64)>,
}

/// The first register (name, recorded, actual) in which `actual` differs
/// from `want`, comparing what the program can observe.
pub fn first_difference(want: &[u64], actual: &[u64]) -> Option<(&'static str, u64, u64)> {
    for i in 0..want.len().min(actual.len()) {
        let (w, a) = if i == EFLAGS {
            (want[i] & FLAGS_MASK, actual[i] & FLAGS_MASK)
        } else {
            (want[i], actual[i])
        };
        if i != ORIG_RAX && w != a {
            return Some((REG_NAMES.get(i).copied().unwrap_or("?"), w, a));
        }
    }
    None
}

/// FNV-1a over 64-bit words.
fn mix(h: u64, word: u64) -> u64 {
    (h ^ word).wrapping_mul(0x0000_0100_0000_01b3)
}

fn hash_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    for w in bytes.chunks(8) {
        let mut b = [0u8; 8];
        b[..w.len()].copy_from_slice(w);
        h = mix(h, u64::from_le_bytes(b));
    }
    h
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Hash of an XSAVE area (as [`Stopped::xstate`] reads it), normalised: the
/// software-reserved bytes and the XSAVE header (which components the CPU
/// tracks as in use, a matter of context switches) are left out, and so is
/// PKRU (component 9), which the replay does not restore. Components not in
/// use are given by the kernel in their initial state, so they hash as the
/// same zeros they would hold.
pub fn vector_hash(xstate: &[u8]) -> u64 {
    let mut buf = xstate.to_vec();
    let blank = |b: &mut Vec<u8>, from: usize, to: usize| {
        let to = to.min(b.len());
        if from < to {
            b[from..to].fill(0);
        }
    };
    blank(&mut buf, 464, 576);
    if let Some((off, size)) = crate::cpu::xsave_component(9) {
        blank(&mut buf, off, off + size);
    }
    hash_bytes(FNV_OFFSET, &buf)
}

/// The mapping holding `sp`, as (start, end).
fn stack_of(tid: i32, sp: u64) -> Result<Option<(u64, u64)>> {
    Ok(maps(tid)?
        .into_iter()
        .find(|m| (m.start..m.end).contains(&sp))
        .map(|m| (m.start, m.end)))
}

/// The digest of the memory a thread can write: [`digest::writable_memory`]
/// (stacks aside) plus its own stack from the red zone up. Below that the
/// stack is dead; above it are the live frames, where a `-O0` loop keeps
/// its counters.
pub fn memory_digest(task: &Stopped, mem: &Memory, stack_end: Option<u64>) -> Result<u64> {
    let h = digest::writable_memory(task, mem, stack_end)?;
    let sp = task.regs()?.sp();
    let Some((start, end)) = stack_of(task.tid(), sp)? else {
        return Ok(h);
    };
    let from = sp.saturating_sub(RED_ZONE).max(start);
    let live = mem.read(task, from, (end - from) as usize)?;
    Ok(hash_bytes(mix(h, from), &live))
}

/// The full state of a stopped thread.
pub fn capture(task: &Stopped, mem: &Memory, stack_end: Option<u64>) -> Result<State> {
    Ok(State {
        regs: task.regs()?.to_vec(),
        vector_hash: vector_hash(&task.xstate()?),
        memory_digest: memory_digest(task, mem, stack_end)?,
        words: Vec::new(),
    })
}

/// Decodes the instruction at `rip` (None when it cannot be read or decoded).
pub fn decode(task: &Stopped, mem: &Memory, rip: u64) -> Option<Instruction> {
    let bytes = mem.read_partial(task, rip, 15);
    let mut d = Decoder::with_ip(64, &bytes, rip, DecoderOptions::NONE);
    let i = d.decode();
    (!i.is_invalid()).then_some(i)
}

/// Whether the instruction can run displaced in the stub: straight-line
/// code or a branch (re-encoded for its new address, as are rip-relative
/// operands), not a call (its return address would point into the stub),
/// not a string instruction that may stop halfway, nothing that traps.
fn relocatable(i: &Instruction) -> bool {
    matches!(
        i.flow_control(),
        FlowControl::Next | FlowControl::ConditionalBranch | FlowControl::UnconditionalBranch
    ) && !i.is_string_instruction()
        && !stops_stepping(i)
        && i.mnemonic() != Mnemonic::Cpuid
}

/// Branch targets near `rip`: of the code from `rip` on, and of the loops
/// around it (from each backward target), decoded at instruction
/// boundaries.
fn nearby_targets(task: &Stopped, mem: &Memory, rip: u64) -> Vec<u64> {
    let mut targets = Vec::new();
    let scan = |from: u64, targets: &mut Vec<u64>| {
        let bytes = mem.read_partial(task, from, 512);
        let mut d = Decoder::with_ip(64, &bytes, from, DecoderOptions::NONE);
        for _ in 0..96 {
            if !d.can_decode() {
                break;
            }
            let i = d.decode();
            if i.is_invalid() {
                break;
            }
            if matches!(
                i.flow_control(),
                FlowControl::ConditionalBranch
                    | FlowControl::UnconditionalBranch
                    | FlowControl::Call
            ) {
                targets.push(i.near_branch_target());
            }
        }
    };
    scan(rip, &mut targets);
    let backward: Vec<u64> = targets
        .iter()
        .copied()
        .filter(|&t| t < rip && rip - t < 4096)
        .collect();
    for t in backward {
        scan(t, &mut targets);
    }
    targets
}

/// The instructions from `rip` that a 5-byte `jmp rel32` can replace:
/// whole instructions covering at least 5 bytes, each able to run
/// displaced, none of whose interior boundaries is a nearby branch target
/// (a loop jumping into the middle of the patch would run garbage). None
/// when there is no such span.
pub fn patch_span(task: &Stopped, mem: &Memory, rip: u64) -> Option<Vec<Instruction>> {
    let bytes = mem.read_partial(task, rip, 15 * 5);
    let mut d = Decoder::with_ip(64, &bytes, rip, DecoderOptions::NONE);
    let mut span = Vec::new();
    let mut len = 0usize;
    while len < PATCH_LEN {
        if !d.can_decode() {
            return None;
        }
        let i = d.decode();
        if i.is_invalid() || !relocatable(&i) {
            return None;
        }
        len += i.len();
        let last = i.flow_control() != FlowControl::Next;
        span.push(i);
        if last && len < PATCH_LEN {
            // Nothing after a branch is known to be reached from it.
            return None;
        }
    }
    if span.len() > 1 {
        let end = rip + len as u64;
        if nearby_targets(task, mem, rip)
            .iter()
            .any(|&t| t > rip && t < end)
        {
            return None;
        }
    }
    Some(span)
}

/// Instructions reel does not single-step while placing a landmark: they
/// enter the kernel or trap under reel (RDTSC faults with PR_SET_TSC).
fn stops_stepping(i: &Instruction) -> bool {
    matches!(
        i.mnemonic(),
        Mnemonic::Syscall
            | Mnemonic::Sysenter
            | Mnemonic::Int
            | Mnemonic::Int1
            | Mnemonic::Int3
            | Mnemonic::Into
            | Mnemonic::Rdtsc
            | Mnemonic::Rdtscp
            | Mnemonic::Hlt
            | Mnemonic::Ud2
    ) || i.code() == Code::INVALID
}

/// An asynchronous signal that arrived while reel stepped a thread: the
/// caller holds it as if it had arrived at its own stop.
#[derive(Debug, Clone)]
pub struct ArrivedSignal {
    /// Signal number.
    pub signo: i32,
    /// Its raw siginfo.
    pub siginfo: Vec<u8>,
}

/// What [`place`] did with an interrupted thread.
#[derive(Debug)]
pub struct Placement {
    /// The thread, stopped at the landmark.
    pub task: Stopped,
    /// Its state there.
    pub state: State,
    /// Signals that arrived meanwhile (not delivered).
    pub arrived: Vec<ArrivedSignal>,
    /// Instructions stepped.
    pub steps: usize,
}

/// How one step ended.
pub(crate) enum Step {
    Done(Stopped),
    /// Something other than the step happened (a fault the instruction
    /// raised, which it raises again when resumed): stop stepping here.
    Stuck(Stopped),
}

pub(crate) struct Stepper<'a> {
    pub(crate) tasks: &'a mut TaskSet,
    is_async: &'a dyn Fn(i32, i32) -> bool,
    /// Code not to single-step in (see [`place`]).
    no_go: &'a dyn Fn(u64) -> bool,
    pub(crate) arrived: Vec<ArrivedSignal>,
    steps: usize,
}

impl Stepper<'_> {
    /// Resumes `task` as `how` and waits for it to trap (a single-step, or
    /// the breakpoint reel set).
    pub(crate) fn run(&mut self, task: Stopped, how: Resume) -> Result<Step> {
        Ok(match self.run_until(task, how, None)? {
            Ok(step) => step,
            Err(st) => Step::Stuck(st),
        })
    }

    /// Like [`Stepper::run`], but with a `deadline`: once it passed, the
    /// thread is interrupted and returned (Err) where it stopped.
    pub(crate) fn run_until(
        &mut self,
        task: Stopped,
        how: Resume,
        deadline: Option<std::time::Instant>,
    ) -> Result<std::result::Result<Step, Stopped>> {
        let tid = task.tid();
        let mut task = task;
        let mut late = false;
        loop {
            self.tasks.insert(task.resume(how, None)?);
            let waited = match deadline {
                None => self.tasks.wait(Some(tid))?,
                Some(d) => {
                    let left = d.saturating_duration_since(std::time::Instant::now());
                    match self.tasks.wait_for(tid, left)? {
                        Some(w) => w,
                        None => {
                            self.tasks.interrupt(tid)?;
                            late = true;
                            self.tasks.wait(Some(tid))?
                        }
                    }
                }
            };
            let st = match waited {
                Waited::Stopped(st) => st,
                Waited::Exited(_, c) => return Err(gone(tid, format!("exited with {c}"))),
                Waited::Signaled(_, s) => {
                    return Err(gone(tid, format!("was killed by signal {s}")))
                }
            };
            if late && matches!(st.reason(), StopReason::GroupStop(_)) {
                return Ok(Err(st));
            }
            match st.reason() {
                StopReason::Signal(libc::SIGTRAP) => {
                    self.steps += 1;
                    return Ok(Ok(Step::Done(st)));
                }
                StopReason::Signal(sig) => {
                    let info = st.siginfo()?;
                    if !(self.is_async)(sig, info.si_code) {
                        return Ok(Ok(Step::Stuck(st)));
                    }
                    self.arrived.push(ArrivedSignal {
                        signo: sig,
                        siginfo: st.siginfo_bytes()?,
                    });
                    task = st;
                }
                // A late interrupt or job-control stop: nothing ran.
                StopReason::GroupStop(_) => task = st,
                _ => return Ok(Ok(Step::Stuck(st))),
            }
        }
    }

    pub(crate) fn step(&mut self, task: Stopped) -> Result<Step> {
        match self.run(task, Resume::SingleStep)? {
            // Stepping stops on arrival: a `pushfq` stepped there would
            // save the trap flag, and its `popfq` trap the program later.
            Step::Done(st) if (self.no_go)(st.regs()?.ip()) => Ok(Step::Stuck(st)),
            other => Ok(other),
        }
    }

    /// Runs a string instruction at rip (`len` bytes) to its end with a
    /// breakpoint after it: single-stepping would stop at every iteration.
    fn finish_string(&mut self, mut task: Stopped, mem: &Memory, len: u64) -> Result<Step> {
        let after = task.regs()?.ip() + len;
        let saved = mem.read(&task, after, 1)?;
        mem.write(&mut task, after, &[0xcc])?;
        let outcome = self.run(task, Resume::Cont)?;
        let mut st = match outcome {
            Step::Done(st) | Step::Stuck(st) => st,
        };
        mem.write(&mut st, after, &saved)?;
        let mut regs = st.regs()?;
        if regs.ip() == after + 1 {
            regs.set_ip(after);
            st.set_regs(&regs)?;
            Ok(Step::Done(st))
        } else {
            Ok(Step::Stuck(st))
        }
    }
}

fn gone(tid: i32, what: String) -> SysError {
    SysError::Inject {
        syscall: "placing a landmark".into(),
        tid,
        what: format!("the task {what}"),
    }
}

/// Per page, a hash of the memory [`memory_digest`] covers.
fn page_hashes(task: &Stopped, mem: &Memory, stack_end: Option<u64>) -> Result<HashMap<u64, u64>> {
    let mut out = HashMap::new();
    for_each_page(task, mem, stack_end, |addr, page| {
        out.insert(addr, hash_bytes(FNV_OFFSET, page));
    })?;
    Ok(out)
}

/// Calls `f` with each page of the memory [`memory_digest`] covers (the
/// own stack from its red zone, page-aligned).
pub(crate) fn for_each_page(
    task: &Stopped,
    mem: &Memory,
    stack_end: Option<u64>,
    mut f: impl FnMut(u64, &[u8]),
) -> Result<()> {
    let sp = task.regs()?.sp();
    let mut page = vec![0u8; PAGE_SIZE as usize];
    for m in maps(task.tid())? {
        if !m.write || m.shared || m.name.starts_with("[v") {
            continue;
        }
        if m.start < PRIVATE_PAGE + PRIVATE_LEN && m.end > PRIVATE_PAGE {
            continue;
        }
        let own_stack = (m.start..m.end).contains(&sp);
        if !own_stack && (m.name == "[stack]" || Some(m.end) == stack_end) {
            continue;
        }
        let mut addr = if own_stack {
            sp.saturating_sub(RED_ZONE) & !(PAGE_SIZE - 1)
        } else {
            m.start
        };
        while addr < m.end {
            if mem.read_into(task, addr, &mut page).is_ok() {
                f(addr, &page);
            }
            addr += PAGE_SIZE;
        }
    }
    Ok(())
}

/// Brings the interrupted thread `task` to a landmark and takes its state:
/// out of a string instruction, on to a patchable instruction, and one pass
/// of its loop further, to learn which memory words change per pass.
/// Stepping stops early (and the landmark is where the thread is) before an
/// instruction that enters the kernel or traps, and after [`MAX_STEPS`].
/// `is_async(signo, si_code)` tells signals that arrive meanwhile (held for
/// the caller) from faults. Stepping also stops where `no_go(rip)` (code of
/// reel's own, such as the fast path's trampolines): the caller sees the
/// thread there.
pub fn place(
    task: Stopped,
    tasks: &mut TaskSet,
    mem: &Memory,
    stack_end: Option<u64>,
    is_async: &dyn Fn(i32, i32) -> bool,
    no_go: &dyn Fn(u64) -> bool,
) -> Result<Placement> {
    match place_with(task, tasks, mem, stack_end, is_async, no_go, false)? {
        Placed::Landmark(p) => Ok(p),
        Placed::Left { .. } => unreachable!("only the long watch leaves the thread elsewhere"),
    }
}

/// What [`place_far`] did.
#[derive(Debug)]
pub enum Placed {
    /// The thread is at a landmark.
    Landmark(Placement),
    /// Running the thread on (the long watch), it stopped for something
    /// else first (a syscall, a fault, RDTSC): no landmark; the caller
    /// handles that stop as it would any other.
    Left {
        /// The thread, at that stop.
        task: Stopped,
        /// Signals that arrived meanwhile (not delivered).
        arrived: Vec<ArrivedSignal>,
    },
}

/// Like [`place`], but when watching passes found no memory words that
/// tell this pass from the earlier ones (a loop whose progress is in
/// memory with a period too long to single-step), it runs the thread on at
/// full speed through the landmark's instruction to find them
/// ([`crate::longwatch`]). That may bring the thread to a syscall first.
pub fn place_far(
    task: Stopped,
    tasks: &mut TaskSet,
    mem: &Memory,
    stack_end: Option<u64>,
    is_async: &dyn Fn(i32, i32) -> bool,
    no_go: &dyn Fn(u64) -> bool,
) -> Result<Placed> {
    place_with(task, tasks, mem, stack_end, is_async, no_go, true)
}

fn place_with(
    task: Stopped,
    tasks: &mut TaskSet,
    mem: &Memory,
    stack_end: Option<u64>,
    is_async: &dyn Fn(i32, i32) -> bool,
    no_go: &dyn Fn(u64) -> bool,
    long: bool,
) -> Result<Placed> {
    let s = Stepper {
        tasks,
        is_async,
        no_go,
        arrived: Vec::new(),
        steps: 0,
    };
    place_from(s, task, mem, stack_end, long)
}

/// [`place_with`] with the stepper already made.
fn place_from(
    mut s: Stepper<'_>,
    task: Stopped,
    mem: &Memory,
    stack_end: Option<u64>,
    long: bool,
) -> Result<Placed> {
    let mut task = task;
    // Out of a string instruction, on to a patchable one.
    let (st, target) = to_patchable(&mut s, task, mem, MAX_STEPS)?;
    task = st;
    let Some(target) = target else {
        return finish(task, mem, stack_end, s, Vec::new()).map(Placed::Landmark);
    };
    // Passes through the target, watched: SAMPLE passes to find the pages
    // that change, then SAMPLE more keeping those pages at each pass. The
    // landmark is the last pass; its watched words are those whose value
    // there differs from all their earlier values (a counter, not a phase
    // that comes back every few passes, as an interpreter's has).
    let budget = s.steps + WATCH_STEPS;
    let before = page_hashes(&task, mem, stack_end)?;
    for _ in 0..SAMPLE {
        match next_pass(&mut s, task, mem, target, budget)? {
            Ok(st) => task = st,
            Err(st) => return give_up(s, st, mem, stack_end, long),
        }
    }
    let after = page_hashes(&task, mem, stack_end)?;
    let mut changed: Vec<u64> = after
        .iter()
        .filter(|(a, h)| before.get(a) != Some(h))
        .map(|(a, _)| *a)
        .collect();
    changed.sort_unstable();
    changed.truncate(64);
    let mut history: Vec<Vec<Vec<u8>>> = vec![Vec::new(); changed.len()];
    for _ in 0..SAMPLE {
        match next_pass(&mut s, task, mem, target, budget)? {
            Ok(st) => task = st,
            Err(st) => return give_up(s, st, mem, stack_end, long),
        }
        for (i, a) in changed.iter().enumerate() {
            history[i].push(mem.read(&task, *a, PAGE_SIZE as usize)?);
        }
    }
    let words = watched_words(&changed, &history);
    if long {
        // Words that change from pass to pass may still come back at each
        // call of the function: the long watch looks further.
        let fallback: Vec<u64> = words.iter().map(|&(a, _)| a).collect();
        return long_watch(s, task, mem, stack_end, target, &fallback);
    }
    finish(task, mem, stack_end, s, words).map(Placed::Landmark)
}

/// The long watch from `target` (where `task` is), then the landmark.
fn long_watch(
    mut s: Stepper<'_>,
    task: Stopped,
    mem: &Memory,
    stack_end: Option<u64>,
    target: u64,
    fallback: &[u64],
) -> Result<Placed> {
    use crate::longwatch::Watched;
    match crate::longwatch::run(&mut s, task, mem, stack_end, target)? {
        Watched::Found(task, mut words) => {
            if words.is_empty() {
                // Nothing better: the short watch's words, as they are here.
                for &a in fallback {
                    words.push((a, mem.read_u64(&task, a)?));
                }
            }
            finish(task, mem, stack_end, s, words).map(Placed::Landmark)
        }
        Watched::Left(task) => Ok(Placed::Left {
            task,
            arrived: s.arrived,
        }),
        // The thread stopped passing the landmark's instruction (it left
        // the loop): the short watch from where it is now, whose words
        // still tell its passes apart there.
        Watched::Late(task) => place_from(s, task, mem, stack_end, false),
    }
}

/// Steps `task` (at most `max` more steps) out of a string instruction and
/// on to a point [`patch_span`] accepts; returns it with that point, or
/// where it stopped (an instruction reel does not step, a fault, the limit)
/// with None.
fn to_patchable(
    s: &mut Stepper<'_>,
    task: Stopped,
    mem: &Memory,
    max: usize,
) -> Result<(Stopped, Option<u64>)> {
    let mut task = task;
    let limit = s.steps + max;
    while s.steps < limit {
        let rip = task.regs()?.ip();
        let Some(i) = decode(&task, mem, rip) else {
            break;
        };
        if !i.is_string_instruction() && patch_span(&task, mem, rip).is_some() {
            return Ok((task, Some(rip)));
        }
        if stops_stepping(&i) {
            break;
        }
        let step = if i.is_string_instruction() && (i.has_rep_prefix() || i.has_repne_prefix()) {
            s.finish_string(task, mem, i.len() as u64)?
        } else {
            s.step(task)?
        };
        match step {
            Step::Done(st) => task = st,
            Step::Stuck(st) => return Ok((st, None)),
        }
    }
    Ok((task, None))
}

/// Watching passes failed (the loop is longer than reel steps, or there is
/// none): the landmark is the next patchable point, without watched words.
fn give_up(
    mut s: Stepper<'_>,
    task: Stopped,
    mem: &Memory,
    stack_end: Option<u64>,
    long: bool,
) -> Result<Placed> {
    let (task, target) = to_patchable(&mut s, task, mem, MAX_STEPS)?;
    match target {
        Some(target) if long => long_watch(s, task, mem, stack_end, target, &[]),
        _ => finish(task, mem, stack_end, s, Vec::new()).map(Placed::Landmark),
    }
}

/// Passes sampled (twice) to choose the watched words.
const SAMPLE: usize = 12;
/// Most single-steps spent watching passes.
const WATCH_STEPS: usize = 20_000;

/// Steps `task` once round the loop, to `target` again. Err: it cannot
/// (a limit, an instruction reel does not step, a fault), where it is.
fn next_pass(
    s: &mut Stepper<'_>,
    task: Stopped,
    mem: &Memory,
    target: u64,
    budget: usize,
) -> Result<std::result::Result<Stopped, Stopped>> {
    let mut task = task;
    let limit = (s.steps + MAX_STEPS).min(budget);
    loop {
        let rip = task.regs()?.ip();
        if s.steps >= limit || decode(&task, mem, rip).is_none_or(|i| stops_stepping(&i)) {
            return Ok(Err(task));
        }
        match s.step(task)? {
            Step::Done(st) => task = st,
            Step::Stuck(st) => return Ok(Err(st)),
        }
        if task.regs()?.ip() == target {
            return Ok(Ok(task));
        }
    }
}

/// From the contents of pages (`history[i]`: page `pages[i]` at each
/// sampled pass, the landmark last), the words whose value at the landmark
/// none of the earlier passes had (at most [`MAX_WORDS`]); else those that
/// changed at the last pass.
fn watched_words(pages: &[u64], history: &[Vec<Vec<u8>>]) -> Vec<(u64, u64)> {
    let word = |p: &[u8], k: usize| u64::from_le_bytes(p[8 * k..8 * k + 8].try_into().expect("8"));
    let mut unique = Vec::new();
    let mut last_changed = Vec::new();
    for (addr, snaps) in pages.iter().zip(history) {
        let Some((last, earlier)) = snaps.split_last() else {
            continue;
        };
        for k in 0..(PAGE_SIZE as usize / 8) {
            let v = word(last, k);
            if earlier.last().is_some_and(|p| word(p, k) != v) {
                last_changed.push((addr + 8 * k as u64, v));
            }
            if !earlier.is_empty() && earlier.iter().all(|p| word(p, k) != v) {
                unique.push((addr + 8 * k as u64, v));
            }
        }
    }
    let mut words = if unique.is_empty() {
        last_changed
    } else {
        unique
    };
    words.truncate(MAX_WORDS);
    words
}

fn finish(
    task: Stopped,
    mem: &Memory,
    stack_end: Option<u64>,
    s: Stepper<'_>,
    words: Vec<(u64, u64)>,
) -> Result<Placement> {
    let mut state = capture(&task, mem, stack_end)?;
    state.words = words;
    Ok(Placement {
        task,
        state,
        arrived: s.arrived,
        steps: s.steps,
    })
}
