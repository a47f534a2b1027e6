//! `reel replay` without `-a`: the replay under gdb, through reel-gdb.

use anyhow::{Context, Result};
use reel_replay::{ReplayOptions, Timeline};
use reel_trace::Event;
use std::ffi::OsString;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};

/// How to start the debugging session.
pub struct DebugOptions {
    /// Only serve on this port (print how to connect) instead of running gdb.
    pub serve_port: Option<u16>,
    /// Stop once this event has been replayed (default: after the first exec).
    pub goto: Option<u64>,
    /// Start at the exec of this recorded process instead.
    pub onprocess: Option<i32>,
    /// Start right after the fork that created this recorded process instead.
    pub onfork: Option<i32>,
    /// Arguments for gdb, after reel's own connection commands.
    pub gdb_args: Vec<OsString>,
}

/// A clean one-line failure of reel's own (exit 125).
fn fail(msg: String) -> Result<i32> {
    eprintln!("reel: {msg}");
    Ok(crate::EXIT_REEL_FAILED as i32)
}

/// Replays to the starting point, then serves gdb; returns the exit status.
pub fn run(dir: &Path, opts: DebugOptions) -> Result<i32> {
    let found = match (opts.onprocess, opts.onfork) {
        (Some(pid), _) => Some((
            pid,
            "exec of process",
            find_event(dir, |e| exec_of(e, pid))?,
        )),
        (_, Some(pid)) => Some((
            pid,
            "fork of process",
            find_event(dir, |e| fork_of(e, pid))?,
        )),
        _ => None,
    };
    let goto = match found {
        Some((_, _, Some(n))) => n,
        Some((pid, what, None)) => return fail(format!("the trace has no {what} {pid}")),
        None => opts.goto.unwrap_or(1),
    };
    if goto == 0 {
        return fail("bad event number 0: events are numbered from 1".into());
    }
    // gdb opens the snapshots by these paths, from its own directory.
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let timeline = Timeline::open(
        dir,
        ReplayOptions {
            echo: true,
            around_echo: None,
        },
        goto,
    )
    .context("replaying to the starting event")?;
    if timeline.engine().event() < goto {
        return fail(format!(
            "event {goto} is beyond the end of the trace (its last event is {})",
            timeline.engine().event()
        ));
    }
    let port = opts.serve_port.unwrap_or(0);
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => return fail(format!("cannot listen on port {port}: {e}")),
    };
    let port = listener.local_addr()?.port();
    let connect = format!("target extended-remote 127.0.0.1:{port}");
    if opts.serve_port.is_some() {
        eprintln!(
            "reel: replay stopped at event {}; connect with:",
            timeline.engine().event()
        );
        eprintln!("  gdb -ex '{connect}'");
        let (conn, _) = listener.accept().context("waiting for gdb")?;
        reel_gdb::serve(timeline, conn)?;
        return Ok(0);
    }
    let mut gdb = match spawn_gdb(&connect, &opts.gdb_args) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return fail("gdb is not installed (no `gdb` on PATH)".into())
        }
        Err(e) => return fail(format!("cannot run gdb: {e}")),
    };
    let Some(conn) = accept_or_exit(&listener, &mut gdb)? else {
        let status = gdb.wait()?;
        return fail(format!(
            "gdb exited ({status}) without connecting to the replay"
        ));
    };
    let served = reel_gdb::serve(timeline, conn);
    let status = gdb.wait().context("waiting for gdb")?;
    if let Err(e) = served {
        eprintln!("reel: {e}");
    }
    Ok(status.code().unwrap_or(crate::EXIT_REEL_FAILED as i32))
}

fn spawn_gdb(connect: &str, args: &[OsString]) -> std::io::Result<Child> {
    Command::new("gdb")
        .arg("-q")
        .args(["-ex", connect])
        .args(args)
        .spawn()
}

/// Waits for gdb to connect, or to exit without doing so.
fn accept_or_exit(listener: &TcpListener, gdb: &mut Child) -> Result<Option<std::net::TcpStream>> {
    listener.set_nonblocking(true)?;
    loop {
        match listener.accept() {
            Ok((conn, _)) => {
                conn.set_nonblocking(false)?;
                return Ok(Some(conn));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e).context("waiting for gdb to connect"),
        }
        if gdb.try_wait()?.is_some() {
            return Ok(None);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn exec_of(e: &Event, pid: i32) -> bool {
    matches!(e, Event::Exec(x) if x.tid == pid)
}

fn fork_of(e: &Event, pid: i32) -> bool {
    let forks = [
        libc::SYS_fork,
        libc::SYS_vfork,
        libc::SYS_clone,
        libc::SYS_clone3,
    ];
    matches!(e, Event::Syscall(s) if s.result == pid as i64 && forks.contains(&(s.nr as i64)))
}

/// The number of the first event of the trace in `dir` that `pred` accepts.
fn find_event(dir: &Path, pred: impl Fn(&Event) -> bool) -> Result<Option<u64>> {
    let mut reader = reel_trace::TraceReader::open(dir)?.without_data();
    while let Some(rec) = reader.next()? {
        if pred(&rec.event) {
            return Ok(Some(rec.number));
        }
    }
    Ok(None)
}
