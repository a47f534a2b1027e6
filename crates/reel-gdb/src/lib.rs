//! A gdb remote-protocol server over a replay [`Timeline`], built on
//! `gdbstub`: gdb reads registers, memory and threads, sets breakpoints
//! and watchpoints, continues and steps; the replay never changes.
//!
//! The engine knows nothing of gdb: this crate only translates.

#![warn(missing_docs)]

mod arch;
mod conn;
mod files;
mod regs;
mod signals;
mod target;
mod tls;

use conn::Conn;
use gdbstub::conn::ConnectionExt;
use gdbstub::stub::{run_blocking, DisconnectReason, GdbStub, MultiThreadStopReason};
use reel_replay::Timeline;
use std::net::TcpStream;
use target::ReplayTarget;
use thiserror::Error;

/// Why serving gdb failed.
#[derive(Debug, Error)]
pub enum GdbError {
    /// The connection to gdb failed.
    #[error("the connection to gdb: {0}")]
    Connection(String),
    /// The replay failed in a way gdb could not be told about.
    #[error("{0}")]
    Replay(String),
}

/// Runs the engine inside gdbstub's blocking loop.
struct EventLoop;

impl run_blocking::BlockingEventLoop for EventLoop {
    type Target = ReplayTarget;
    type Connection = Conn;
    type StopReason = MultiThreadStopReason<u64>;

    #[allow(clippy::type_complexity)]
    fn wait_for_stop_reason(
        target: &mut ReplayTarget,
        conn: &mut Conn,
    ) -> Result<
        run_blocking::Event<MultiThreadStopReason<u64>>,
        run_blocking::WaitForStopReasonError<String, std::io::Error>,
    > {
        let mut incoming = || conn.peek().map(|b| b.is_some()).unwrap_or(true);
        match target.run(&mut incoming) {
            Some(stop) => Ok(run_blocking::Event::TargetStopped(stop)),
            None => {
                let byte = conn
                    .read()
                    .map_err(run_blocking::WaitForStopReasonError::Connection)?;
                Ok(run_blocking::Event::IncomingData(byte))
            }
        }
    }

    fn on_interrupt(
        target: &mut ReplayTarget,
    ) -> Result<Option<MultiThreadStopReason<u64>>, String> {
        // The replay runs only inside wait_for_stop_reason: it stands at an
        // event boundary now.
        Ok(target.interrupt_stop())
    }
}

/// Serves one gdb connection over `timeline`, which stands where gdb first
/// sees the replay. Returns when gdb detaches or disconnects.
pub fn serve(timeline: Timeline, conn: TcpStream) -> Result<(), GdbError> {
    let _ = conn.set_nodelay(true);
    let mut target = ReplayTarget::new(timeline);
    let stub = GdbStub::new(Conn::new(conn, target.mailbox.clone()));
    match stub.run_blocking::<EventLoop>(&mut target) {
        Ok(DisconnectReason::Disconnect | DisconnectReason::Kill) => Ok(()),
        Ok(_) => Ok(()),
        Err(e) => {
            let conn_err = e.is_connection_error();
            let msg = e.to_string();
            if conn_err {
                Err(GdbError::Connection(msg))
            } else {
                Err(GdbError::Replay(msg))
            }
        }
    }
}
