//! Writes to reel's own stdout and stderr, one at a time. Replay echoes
//! them in the order of their events; when two recorded tasks (threads or
//! processes) are in such a write at once, the kernel may put their bytes
//! out in the other order than the one their exit stops arrive in, and the
//! replay would print them differently from the recording. So a task that
//! enters an echoed write while another is in one waits at its entry until
//! that one's exit: what the terminal saw is the order of the events.

use super::*;

/// The echoed write in progress and the tasks waiting at their entry to
/// make one.
#[derive(Default)]
pub(super) struct EchoOrder {
    writer: Option<Tid>,
    waiting: std::collections::VecDeque<Stopped>,
}

impl Recorder {
    /// Lets the task at the entry stop of `sc` (already noted) run its call,
    /// or keeps it waiting if it is an echoed write and another is running.
    pub(super) fn enter_syscall(&mut self, st: Stopped, nr: u64, args: &[u64; 6]) -> Result<()> {
        let tid = st.tid();
        if self.is_echoed_write(tid, nr, args) {
            match self.echo.writer {
                Some(other) if other != tid => {
                    self.echo.waiting.push_back(st);
                    return Ok(());
                }
                _ => self.echo.writer = Some(tid),
            }
        }
        self.resume(st, Resume::Syscall, None)
    }

    /// Task `tid` left its call (or ended): the next waiting writer goes.
    pub(super) fn echo_done(&mut self, tid: Tid) -> Result<()> {
        self.echo.waiting.retain(|st| st.tid() != tid);
        if self.echo.writer != Some(tid) {
            return Ok(());
        }
        self.echo.writer = None;
        if let Some(next) = self.echo.waiting.pop_front() {
            self.echo.writer = Some(next.tid());
            self.resume(next, Resume::Syscall, None)?;
        }
        Ok(())
    }

    /// A waiting task reported another stop (killed by its process's exit
    /// or exec): it waits no more.
    pub(super) fn echo_forget(&mut self, tid: Tid) {
        if !self.echo.waiting.is_empty() {
            self.echo.waiting.retain(|st| st.tid() != tid);
        }
    }

    fn is_echoed_write(&self, tid: Tid, nr: u64, args: &[u64; 6]) -> bool {
        let fd = match reel_syscalls::spec(nr).and_then(|s| s.emit) {
            Some(Emit::Buf { fd, .. } | Emit::Iov { fd, .. } | Emit::Msg { fd, .. }) => args[fd],
            _ => return false,
        };
        self.echo_target(tid, fd as i32).is_some()
    }
}
