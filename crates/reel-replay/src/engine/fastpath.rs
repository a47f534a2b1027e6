//! The in-process syscall fast path at replay: a recorded `FastSite` is
//! made again at the same event (the trampoline page mapped, the
//! trampoline written, the site redirected). The calls the recording
//! buffered are handed to their thread in batches ([`Engine::fast_batch`]):
//! its trampolines answer them in-process, checking number and arguments
//! as they go; where a call does not match, it stops and is replayed (and
//! reported) like any other.

use super::{Engine, Next};
use crate::Result;
use reel_sys::syscallbuf as sb;
use reel_sys::PAGE_SIZE;
use reel_trace::{Event, FastSiteEvent, Record, Tid};

impl Engine {
    /// Makes the recorded fast-path patch of a syscall site.
    pub(super) fn on_fast_site(&mut self, ev: &FastSiteEvent) -> Result<()> {
        let tid = ev.tid;
        let mut st = self.take_stopped(tid)?;
        if let Some(page) = ev.page {
            let (back, got) = reel_sys::inject::syscall(
                st,
                &mut self.tasks,
                libc::SYS_mmap as u64,
                [
                    page,
                    reel_sys::stub::STUB_LEN,
                    (libc::PROT_READ | libc::PROT_EXEC) as u64,
                    (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE) as u64,
                    u64::MAX,
                    0,
                ],
            )?;
            st = back;
            if got as u64 != page {
                self.park(tid, st)?;
                return Err(self.diverged(
                    tid,
                    format!("a trampoline page mapped at {page:#x}"),
                    format!("mmap returned {got:#x}"),
                ));
            }
        }
        let mem = self.mem(tid)?;
        let here = mem.read(&st, ev.addr, ev.original.len())?;
        if here != ev.original {
            self.park(tid, st)?;
            return Err(self.diverged(
                tid,
                format!("{:02x?} at {:#x} to patch", ev.original, ev.addr),
                format!("the code there is {here:02x?}"),
            ));
        }
        mem.write(&mut st, ev.stub, &ev.code)?;
        mem.write(&mut st, ev.addr, &ev.patched)?;
        let pid = self.by_tid[&tid].pid;
        if !self.fast_procs.contains(&pid) {
            // The trampolines answer from records replay hands out.
            let mut head = [0u8; 32];
            head[..8].copy_from_slice(&1u64.to_le_bytes());
            head[8..16].copy_from_slice(&1u64.to_le_bytes());
            mem.write(&mut st, sb::HEADER + sb::ENABLED, &head)?;
            self.fast_procs.insert(pid);
        }
        if let Some(r) = ev.resume {
            let mut regs = st.regs()?;
            regs.set_ip(r);
            st.set_regs(&regs)?;
        }
        self.park(tid, st)
    }
}

/// Most records handed to a thread at once.
const BATCH: usize = 4096;

impl Engine {
    /// Replays `rec` and the buffered calls of its thread that follow it
    /// without a stop per call: their records go into the thread's buffer,
    /// the thread runs, and its trampolines answer the calls that match
    /// (number and arguments) in order. The last call of the run is not
    /// handed out: the thread stops at it, so that it never runs past the
    /// run's end. The first call that does not match
    /// stops, and from there the calls are replayed one stop each (a
    /// divergence is then reported at its event, as any other). Returns
    /// `rec` back when it is not such a call; `until` caps the batch.
    pub(super) fn fast_batch(&mut self, rec: Record, until: Option<u64>) -> Result<Option<Record>> {
        let Event::Syscall(ev) = &rec.event else {
            return Ok(Some(rec));
        };
        let tid = ev.tid;
        if ev.site.is_some() || !self.answers_in_process(tid)? {
            return Ok(Some(rec));
        }
        let fits = |r: &Record| match &r.event {
            Event::Syscall(s) => {
                s.tid == tid
                    && s.site.is_none()
                    && s.writes.len() <= 1
                    && s.checksum.is_none()
                    && s.echo.is_none()
                    && sb::answered_in_replay(s.nr)
                    && until.is_none_or(|u| r.number <= u)
            }
            _ => false,
        };
        if !fits(&rec) {
            return Ok(Some(rec));
        }
        // The thread already stands at this call's own stop (it ran there
        // before the event): that one is replayed as usual.
        self.on_event(rec)?;
        if self.task(tid)?.stopped.is_none() {
            return Ok(None);
        }
        let mut batch = Vec::new();
        let mut bytes = 0u64;
        while batch.len() < BATCH {
            let next = match self.pending.take() {
                Some(r) => Some(r),
                None => self.reader.next()?,
            };
            let Some(next) = next else { break };
            bytes += sb::RECORD_HEAD + next.data.len() as u64 + 8;
            if !fits(&next) || bytes > sb::DATA_LEN {
                self.pending = Some(next);
                break;
            }
            batch.push(next);
        }
        // The last call is not answered in-process: the thread must stop
        // at its entry, not run on past it to its next stop, or the replay
        // would stand at that event's boundary with code after it already
        // run (a breakpoint set there next would be missed).
        let Some(last) = batch.pop() else {
            return Ok(None);
        };
        if batch.is_empty() {
            self.event = last.number;
            self.on_event(last)?;
            return Ok(None);
        }
        let records: Vec<sb::Record> = batch
            .iter()
            .filter_map(|r| match &r.event {
                Event::Syscall(s) => Some(sb::Record {
                    nr: s.nr,
                    args: s.args,
                    result: s.result,
                    data: r.data.clone(),
                }),
                _ => None,
            })
            .collect();
        let area = sb::encode(&records);
        // Where each record ends, to count those the thread consumed.
        let mut ends = Vec::with_capacity(records.len());
        let mut at = 0u64;
        for r in &records {
            at = (at + sb::RECORD_HEAD + r.data.len() as u64).div_ceil(8) * 8;
            ends.push(at);
        }
        {
            let mut st = self.take_stopped(tid)?;
            let mem = self.mem(tid)?;
            mem.write(&mut st, sb::HEADER + PAGE_SIZE, &area)?;
            let mut head = [0u8; 16];
            head[8..].copy_from_slice(&(area.len() as u64).to_le_bytes());
            mem.write(&mut st, sb::HEADER + sb::CURSOR, &head)?;
            self.task(tid)?.stopped = Some(st);
        }
        let next = self.advance(tid)?;
        let Next::Stop(mut st) = next else {
            let what = "the task ended in the middle of its buffered calls";
            return Err(self.diverged(tid, "its buffered calls", what));
        };
        let mem = self.mem(tid)?;
        let cursor = mem.read_u64(&st, sb::HEADER + sb::CURSOR)?;
        // No more answers in-process: the rest goes one stop each.
        mem.write(&mut st, sb::HEADER + sb::END, &cursor.to_le_bytes())?;
        let consumed = ends.iter().take_while(|&&e| e <= cursor).count();
        if consumed > 0 {
            self.event = batch[consumed - 1].number;
        }
        let t = self.task(tid)?;
        t.stopped = Some(st);
        t.fresh = true;
        batch.push(last);
        for rec in batch.into_iter().skip(consumed) {
            self.event = rec.number;
            self.on_event(rec)?;
        }
        Ok(None)
    }

    /// Whether the process of `tid` has trampolines that can answer calls
    /// from its buffer (the fast path's header says so).
    fn answers_in_process(&mut self, tid: Tid) -> Result<bool> {
        let pid = self.task(tid)?.pid;
        if !self.fast_procs.contains(&pid) {
            return Ok(false);
        }
        Ok(self.task(tid)?.stopped.is_some())
    }
}
