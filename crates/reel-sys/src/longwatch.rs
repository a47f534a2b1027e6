//! The long watch of a landmark: finding the memory words that tell one
//! pass through an instruction from the others when the loop's progress is
//! in memory with a period too long to single-step (a hash function called
//! again and again on the same buffer, whose outer counter is in memory or
//! saved on the stack: every call passes the same register states).
//!
//! A breakpoint at the landmark's instruction, and the thread run at full
//! speed (a ptrace stop per pass): first to a pass whose registers equal an
//! earlier pass's (the period), then twice more round that period to passes
//! with the same registers. Memory words that differ between those three
//! passes are the loop's progress; the last pass is the landmark, and the
//! words a cheap filter for replay's compare stub. Bounded in passes (and
//! a pass that never comes, in time); when the thread stops for anything else first (a syscall, a
//! fault), the caller gets that stop.

use crate::landmark::{
    for_each_page, Step, Stepper, EFLAGS, FLAGS_MASK, MAX_WORDS, ORIG_RAX, RED_ZONE,
};
use crate::mem::Memory;
use crate::task::{Resume, Stopped};
use crate::{Result, PAGE_SIZE};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Most passes in each of the three phases.
const MAX_HITS: usize = 8192;
/// Longest wait for the next pass. The watch is bounded by its passes, not
/// by its total time (a loaded machine makes each ptrace stop slow, and a
/// watch cut short leaves a landmark that is slow to find); this only
/// catches a thread that left the loop and computes elsewhere.
const MAX_STALL: Duration = Duration::from_secs(10);
/// Most differing words kept between the first two passes.
const MAX_DIFFS: usize = 1 << 14;
/// Passes with the same registers whose words are compared.
const SAMPLES: usize = 3;

/// How the long watch ended.
pub(crate) enum Watched {
    /// At a pass, with its distinguishing words (none: the state repeats,
    /// or no repeat was seen).
    Found(Stopped, Vec<(u64, u64)>),
    /// The thread stopped for something else: the caller's stop.
    Left(Stopped),
    /// No pass came for [`MAX_STALL`]: the thread was interrupted where
    /// it was.
    Late(Stopped),
}

/// The registers a pass is compared on: those [`crate::landmark::first_difference`]
/// compares.
fn key(task: &Stopped) -> Result<Vec<u64>> {
    let mut r = task.regs()?.to_vec();
    if let Some(f) = r.get_mut(EFLAGS) {
        *f &= FLAGS_MASK;
    }
    if let Some(o) = r.get_mut(ORIG_RAX) {
        *o = 0;
    }
    Ok(r)
}

struct Breakpoint<'m> {
    mem: &'m Memory,
    target: u64,
    original: Vec<u8>,
}

/// A pass, or why there is none.
enum Hit {
    At(Stopped),
    Left(Stopped),
    Late(Stopped),
}

impl Breakpoint<'_> {
    /// From a pass (the thread at `target`, the int3 in place), on to the
    /// next one. Otherwise the original byte is back.
    fn next(&self, s: &mut Stepper<'_>, task: Stopped) -> Result<Hit> {
        let mut task = task;
        self.mem.write(&mut task, self.target, &self.original)?;
        let mut st = match s.step(task)? {
            Step::Done(st) => st,
            Step::Stuck(st) => return Ok(Hit::Left(st)),
        };
        if st.regs()?.ip() == self.target {
            self.mem.write(&mut st, self.target, &[0xcc])?;
            return Ok(Hit::At(st));
        }
        self.mem.write(&mut st, self.target, &[0xcc])?;
        let deadline = Instant::now() + MAX_STALL;
        let out = s.run_until(st, Resume::Cont, Some(deadline))?;
        let mut st = match out {
            Ok(Step::Done(st)) => st,
            Ok(Step::Stuck(mut st)) => {
                self.mem.write(&mut st, self.target, &self.original)?;
                return Ok(Hit::Left(st));
            }
            Err(mut st) => {
                self.mem.write(&mut st, self.target, &self.original)?;
                return Ok(Hit::Late(st));
            }
        };
        let mut regs = st.regs()?;
        if regs.ip() != self.target + 1 {
            // The program's own trap.
            self.mem.write(&mut st, self.target, &self.original)?;
            return Ok(Hit::Left(st));
        }
        regs.set_ip(self.target);
        st.set_regs(&regs)?;
        Ok(Hit::At(st))
    }
}

/// Runs the watch from `task`, stopped at `target`; with `REEL_DEBUG`,
/// says how it ended.
pub(crate) fn run(
    s: &mut Stepper<'_>,
    task: Stopped,
    mem: &Memory,
    stack_end: Option<u64>,
    target: u64,
) -> Result<Watched> {
    let start = Instant::now();
    let out = watch(s, task, mem, stack_end, target)?;
    if std::env::var_os("REEL_DEBUG").is_some_and(|v| !v.is_empty()) {
        let how = match &out {
            Watched::Found(_, w) => format!("{} words", w.len()),
            Watched::Left(_) => "the thread stopped elsewhere".into(),
            Watched::Late(_) => "no pass for a while".into(),
        };
        eprintln!(
            "reel: debug: long watch at {target:#x}: {how} after {:?}",
            start.elapsed()
        );
    }
    Ok(out)
}

fn watch(
    s: &mut Stepper<'_>,
    task: Stopped,
    mem: &Memory,
    stack_end: Option<u64>,
    target: u64,
) -> Result<Watched> {
    let mut task = task;
    let original = mem.read(&task, target, 1)?;
    mem.write(&mut task, target, &[0xcc])?;
    let bp = Breakpoint {
        mem,
        target,
        original,
    };
    let finish = |mut st: Stopped, words| -> Result<Watched> {
        mem.write(&mut st, target, &bp.original)?;
        Ok(Watched::Found(st, words))
    };
    macro_rules! next {
        ($st:expr) => {
            match bp.next(s, $st)? {
                Hit::At(st) => st,
                Hit::Left(st) => return Ok(Watched::Left(st)),
                Hit::Late(st) => return Ok(Watched::Late(st)),
            }
        };
    }
    // The period: a pass whose registers an earlier one had.
    let mut seen = HashSet::new();
    seen.insert(key(&task)?);
    let mut repeated = false;
    for _ in 0..MAX_HITS {
        task = next!(task);
        if !seen.insert(key(&task)?) {
            repeated = true;
            break;
        }
    }
    if !repeated {
        return finish(task, Vec::new());
    }
    let want = key(&task)?;
    // Round the period: the same registers again, memory compared.
    let mut first = HashMap::new();
    for_each_page(&task, mem, stack_end, |addr, page| {
        first.insert(addr, page.to_vec());
    })?;
    let mut again = |mut task: Stopped| -> Result<std::result::Result<Stopped, Watched>> {
        for _ in 0..MAX_HITS {
            task = match bp.next(s, task)? {
                Hit::At(st) => st,
                Hit::Left(st) => return Ok(Err(Watched::Left(st))),
                Hit::Late(st) => return Ok(Err(Watched::Late(st))),
            };
            if key(&task)? == want {
                return Ok(Ok(task));
            }
        }
        Ok(Err(Watched::Found(task, Vec::new())))
    };
    task = match again(task)? {
        Ok(st) => st,
        Err(Watched::Found(st, w)) => return finish(st, w),
        Err(other) => return Ok(other),
    };
    // Below the red zone the stack is dead: not in the digest, and it may
    // hold bytes the kernel left (signal frames) that replay has otherwise.
    let dead = task.regs()?.sp().saturating_sub(RED_ZONE);
    let dead = (dead & !(PAGE_SIZE - 1))..dead;
    let mut diffs: Vec<(u64, u64, u64)> = Vec::new();
    let word = |p: &[u8], k: usize| u64::from_le_bytes(p[8 * k..8 * k + 8].try_into().expect("8"));
    for_each_page(&task, mem, stack_end, |addr, page| {
        let Some(old) = first.get(&addr) else { return };
        if old.as_slice() == page || diffs.len() >= MAX_DIFFS {
            return;
        }
        for k in 0..page.len() / 8 {
            let (a, b) = (word(old, k), word(page, k));
            let at = addr + 8 * k as u64;
            if a != b && diffs.len() < MAX_DIFFS && !dead.contains(&at) {
                diffs.push((at, a, b));
            }
        }
    })?;
    if diffs.is_empty() {
        return finish(task, Vec::new());
    }
    // A counter has a new value at each later pass with these registers;
    // a phase that comes back after a few calls does not.
    let mut values: Vec<Vec<u64>> = diffs.iter().map(|&(_, a, b)| vec![a, b]).collect();
    for _ in 2..SAMPLES {
        task = match again(task)? {
            Ok(st) => st,
            Err(Watched::Found(st, w)) => return finish(st, w),
            Err(other) => return Ok(other),
        };
        // A page read at a time: the words can be thousands.
        let mut page: Option<(u64, Vec<u8>)> = None;
        for (i, &(addr, _, _)) in diffs.iter().enumerate() {
            let base = addr & !(PAGE_SIZE - 1);
            if page.as_ref().is_none_or(|(b, _)| *b != base) {
                page = Some((base, mem.read(&task, base, PAGE_SIZE as usize)?));
            }
            let bytes = &page.as_ref().expect("read above").1;
            values[i].push(word(bytes, ((addr - base) / 8) as usize));
        }
    }
    let mut unique = Vec::new();
    let mut changed = Vec::new();
    for (i, &(addr, _, _)) in diffs.iter().enumerate() {
        let v = &values[i];
        let last = v[v.len() - 1];
        if v[..v.len() - 1].iter().all(|&x| x != last) {
            let distinct: HashSet<u64> = v.iter().copied().collect();
            if distinct.len() == v.len() {
                unique.push((addr, last));
            }
        } else if v[v.len() - 2] != last {
            changed.push((addr, last));
        }
    }
    let mut words = if unique.is_empty() { changed } else { unique };
    words.truncate(MAX_WORDS);
    finish(task, words)
}
