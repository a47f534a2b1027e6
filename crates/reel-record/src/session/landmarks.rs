//! Landmarks at record time: where reel interrupts a thread that computes
//! without syscalls (to preempt it, or to deliver a signal), it brings the
//! thread to an instruction boundary replay can find and records the
//! thread's full state there (`reel_sys::landmark`).

use super::Recorder;
use crate::{RecordError, Result};
use reel_sys::landmark::Placed;
use reel_sys::Stopped;
use reel_trace::Landmark;

impl Recorder {
    /// Places the interrupted thread `st` at a landmark and returns it with
    /// the landmark. Signals that arrived meanwhile are held.
    pub(super) fn place_landmark(&mut self, st: Stopped) -> Result<(Stopped, Landmark)> {
        match self.place(st, false)? {
            Ok(placed) => Ok(placed),
            Err(_) => unreachable!("only the long watch leaves a thread elsewhere"),
        }
    }

    /// Like [`Recorder::place_landmark`], but may run the thread on at full
    /// speed to find what tells the landmark's pass from the others
    /// (`reel_sys::landmark::place_far`); if the thread stops for something
    /// else first (a syscall), that stop is handled as usual and None
    /// returned.
    pub(super) fn place_landmark_far(
        &mut self,
        st: Stopped,
    ) -> Result<Option<(Stopped, Landmark)>> {
        match self.place(st, true)? {
            Ok(placed) => Ok(Some(placed)),
            Err(st) => {
                self.on_stop(st)?;
                Ok(None)
            }
        }
    }

    fn place(
        &mut self,
        st: Stopped,
        far: bool,
    ) -> Result<std::result::Result<(Stopped, Landmark), Stopped>> {
        let tid = st.tid();
        let pid = self.task_info.get(&tid).map_or(tid, |t| t.pid);
        let mem = self
            .memories
            .get(&pid)
            .ok_or_else(|| RecordError::Unsupported {
                tid,
                what: "no memory handle for its process".into(),
            })?;
        // Before stepping: how long the thread may have run since its event.
        let cpu_ns = match (
            reel_sys::proc::process_cpu_ns(pid),
            self.task_info.get(&tid),
        ) {
            (Some(now), Some(t)) => now.saturating_sub(t.cpu_at_event),
            _ => u64::MAX,
        };
        let is_async = |sig, code| !reel_syscalls::is_fault_signal(sig, code);
        let fast = self.fast_code_ranges(pid);
        let no_go = |rip: u64| fast.iter().any(|r| r.contains(&rip));
        let placed = if far {
            reel_sys::landmark::place_far(st, &mut self.tasks, mem, None, &is_async, &no_go)?
        } else {
            Placed::Landmark(reel_sys::landmark::place(
                st,
                &mut self.tasks,
                mem,
                None,
                &is_async,
                &no_go,
            )?)
        };
        let placed = match placed {
            Placed::Landmark(p) => p,
            Placed::Left { task, arrived } => {
                for s in arrived {
                    self.hold(tid, s.signo, s.siginfo);
                }
                return Ok(Err(task));
            }
        };
        for s in placed.arrived {
            self.hold(tid, s.signo, s.siginfo);
        }
        let state = placed.state;
        Ok(Ok((
            placed.task,
            Landmark {
                regs: state.regs,
                vector_hash: state.vector_hash,
                memory_digest: state.memory_digest,
                words: state.words,
                cpu_ns,
            },
        )))
    }
}
