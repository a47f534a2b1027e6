//! `reel dump`: the events of a trace, one a line, strace-like or as JSON.

use anyhow::{Context, Result};
use reel_syscalls::{Emit, Out};
use reel_trace::{Event, Landmark, RegionSource, SyscallEvent, TraceReader, TraceStore};
use serde_json::json;

/// Which events to show, and how.
pub struct Filter {
    /// One JSON object per line.
    pub json: bool,
    /// Only this task.
    pub tid: Option<i32>,
    /// Only these syscall names.
    pub syscalls: Vec<String>,
    /// First event number.
    pub from: Option<u64>,
    /// Last event number.
    pub to: Option<u64>,
    /// Show up to this many bytes of the data read or written (`-s N`).
    pub data: Option<usize>,
}

impl Filter {
    fn keeps(&self, number: u64, event: &Event) -> bool {
        if self.from.is_some_and(|f| number < f) || self.to.is_some_and(|t| number > t) {
            return false;
        }
        if self.tid.is_some_and(|t| t != event.tid()) {
            return false;
        }
        if !self.syscalls.is_empty() {
            let Event::Syscall(s) = event else {
                return false;
            };
            return self
                .syscalls
                .iter()
                .any(|n| *n == reel_syscalls::name(s.nr));
        }
        true
    }
}

/// Prints the trace `trace` (default: the latest) through `filter`.
pub fn run(trace: Option<&str>, filter: &Filter) -> Result<i32> {
    for name in &filter.syscalls {
        if reel_syscalls::by_name(name).is_none() {
            anyhow::bail!("unknown syscall name {name:?}");
        }
    }
    let store = TraceStore::open_default().context("opening the trace directory")?;
    let dir = store.resolve(trace)?;
    let mut reader = TraceReader::open(&dir)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    use std::io::Write;
    while let Some(rec) = reader.next()? {
        if filter.to.is_some_and(|t| rec.number > t) {
            break;
        }
        if !filter.keeps(rec.number, &rec.event) {
            continue;
        }
        let line = if filter.json {
            to_json(rec.number, &rec.event, &rec.data, filter.data).to_string()
        } else {
            to_text(rec.number, &rec.event, &rec.data, filter.data)
        };
        if writeln!(out, "{line}").is_err() {
            // A closed pipe (`reel dump | head`) is not an error.
            return Ok(0);
        }
    }
    let _ = out.flush();
    if !reader.is_complete() && filter.to.is_none() {
        eprintln!(
            "reel: the trace {} is incomplete (the recording was interrupted)",
            dir.display()
        );
    }
    Ok(0)
}

/// The bytes of a read or write's buffer that the trace holds: the data a
/// read returned (its memory writes), or the start of what a write sent.
fn buffer<'a>(
    spec: &reel_syscalls::SyscallSpec,
    s: &'a SyscallEvent,
    data: &'a [u8],
) -> Option<reel_syscalls::BufData<'a>> {
    if s.result <= 0 {
        return None;
    }
    let len = s.result as u64;
    if let Some(emit) = spec.emit {
        let arg = match emit {
            Emit::Buf { buf, .. } => buf,
            Emit::Iov { iov, .. } => iov,
            _ => return None,
        };
        let sent = s.arg_data.iter().find(|d| d.arg as usize == arg)?;
        return Some(reel_syscalls::BufData {
            arg,
            bytes: sent.items.first().map_or(&[][..], |v| v),
            len,
        });
    }
    let arg = match spec.out {
        Out::BufResult { arg } => arg,
        Out::IovResult { iov, .. } => iov,
        _ => return None,
    };
    Some(reel_syscalls::BufData {
        arg,
        bytes: data,
        len,
    })
}

/// A syscall's name, decoded arguments and result, strace-like.
fn syscall_text(s: &SyscallEvent, data: &[u8], show: Option<usize>) -> (String, String, String) {
    match reel_syscalls::spec(s.nr) {
        Some(spec) => {
            let captured: Vec<reel_syscalls::Captured> = s
                .arg_data
                .iter()
                .map(|d| reel_syscalls::Captured {
                    arg: d.arg,
                    items: d.items.clone(),
                    truncated: d.truncated,
                })
                .collect();
            let buf = buffer(spec, s, data);
            let args = reel_syscalls::format_args_decoded(
                spec,
                &s.args,
                &captured,
                buf.as_ref(),
                reel_syscalls::Display { data: show },
            );
            (
                spec.name.to_string(),
                args,
                reel_syscalls::format_result(spec, s.result),
            )
        }
        None => (
            format!("syscall_{}", s.nr),
            format!("{:#x?}", s.args),
            s.result.to_string(),
        ),
    }
}

fn to_text(n: u64, event: &Event, data: &[u8], show: Option<usize>) -> String {
    match event {
        Event::Syscall(s) => {
            let (name, args, result) = syscall_text(s, data, show);
            let mut line = format!("{n:>6} [{}] {name}({args}) = {result}", s.tid);
            let bytes: u64 = s.writes.iter().map(|w| w.len).sum();
            if bytes > 0 && show.is_none() {
                line += &format!("  <wrote {bytes} bytes>");
            }
            if let Some(echo) = s.echo {
                line += &format!("  <{echo:?}>");
            }
            if let Some(m) = &s.mapped_file {
                line += &format!("  <maps {}>", m.path);
            }
            if s.site.is_none() {
                // Made in-process by the fast path, logged in its buffer.
                line += "  <buffered>";
            }
            line
        }
        Event::Exec(e) => {
            let files = e
                .regions
                .iter()
                .filter(|r| matches!(r.source, RegionSource::File { .. }))
                .count();
            format!(
                "{n:>6} [{}] exec {} {:?}  <{} regions, {} from file snapshots, brk {:#x}>",
                e.tid,
                e.path,
                e.argv,
                e.regions.len(),
                files,
                e.brk
            )
        }
        Event::Tsc {
            tid,
            kind,
            value,
            rip,
            ..
        } => {
            format!("{n:>6} [{tid}] {kind:?} at {rip:#x} = {value}")
        }
        Event::Signal(s) => format!(
            "{n:>6} [{}] signal {} (code {}) at {:#x}, {:?}{}",
            s.tid,
            reel_syscalls::signal_name(s.signo),
            s.code,
            s.rip,
            s.delivery,
            landmark_text(s.landmark.as_ref())
        ),
        Event::Exit { tid, kind } => format!("{n:>6} [{tid}] exit {kind:?}"),
        Event::Filtered {
            tid,
            nr,
            args,
            result,
            ..
        } => format!(
            "{n:>6} [{tid}] {} = {result} (answered by the program's seccomp filter)",
            reel_syscalls::format_call(*nr, args),
        ),
        Event::SyscallEntry { tid, nr, args, .. } => {
            format!(
                "{n:>6} [{tid}] enters {} (others run meanwhile)",
                reel_syscalls::format_call(*nr, args)
            )
        }
        Event::Patch {
            tid, addr, patched, ..
        } => format!(
            "{n:>6} [{tid}] patch at {addr:#x}: {patched:02x?} (pause becomes a yield point)"
        ),
        Event::FastSite(f) => format!(
            "{n:>6} [{tid}] fast path for {} at {:#x}: trampoline at {:#x}{}",
            reel_syscalls::name(f.nr),
            f.addr,
            f.stub,
            f.page
                .map(|p| format!(" (new page {p:#x})"))
                .unwrap_or_default(),
            tid = f.tid,
        ),
        Event::Yield { tid, rip, hits } => {
            format!(
                "{n:>6} [{tid}] yields at the pause at {rip:#x} (trap {hits} since its last event)"
            )
        }
        Event::Preempted { tid, rip, landmark } => format!(
            "{n:>6} [{tid}] preempted at {rip:#x}{}",
            landmark_text(landmark.as_ref())
        ),
    }
}

/// How `dump` shows a landmark: where, and what pins it down.
fn landmark_text(l: Option<&Landmark>) -> String {
    match l {
        Some(l) => format!(
            ", landmark at {:#x} (rsp {:#x}, vector hash {:016x}, memory digest {:016x}, {} watched words)",
            l.rip(),
            l.regs.get(19).copied().unwrap_or(0),
            l.vector_hash,
            l.memory_digest,
            l.words.len()
        ),
        None => String::new(),
    }
}

fn landmark_json(l: Option<&Landmark>) -> serde_json::Value {
    match l {
        Some(l) => json!({
            "rip": l.rip(), "regs": l.regs, "vector_hash": l.vector_hash,
            "memory_digest": l.memory_digest,
            "words": l.words.iter().map(|(a, v)| json!({"addr": a, "value": v})).collect::<Vec<_>>(),
        }),
        None => serde_json::Value::Null,
    }
}

fn to_json(n: u64, event: &Event, data: &[u8], show: Option<usize>) -> serde_json::Value {
    match event {
        Event::Syscall(s) => {
            let (_, text, result_text) = syscall_text(s, data, show);
            json!({
                "event": n, "tid": s.tid, "type": "syscall",
                "nr": s.nr, "name": reel_syscalls::name(s.nr),
                "args": s.args, "result": s.result,
                "writes": s.writes.iter().map(|w| json!({"addr": w.addr, "len": w.len})).collect::<Vec<_>>(),
                "echo": s.echo.map(|e| format!("{e:?}").to_lowercase()),
                "mapped_file": s.mapped_file.as_ref().map(|m| m.path.clone()),
                "site": s.site.map(|x| json!({"rip": x.rip, "rsp": x.rsp})),
                "checksum": s.checksum,
                "emitted": s.emitted.map(|h| format!("{h:016x}")),
                "args_text": text, "result_text": result_text,
                "errno": reel_syscalls::errno_name((-s.result) as i32).filter(|_| (-4095..0).contains(&s.result)),
                "arg_data": s.arg_data.iter().map(|d| json!({
                    "arg": d.arg,
                    "strings": d.items.iter().map(|i| String::from_utf8_lossy(i).into_owned()).collect::<Vec<_>>(),
                    "truncated": d.truncated,
                })).collect::<Vec<_>>(),
            })
        }
        Event::Exec(e) => json!({
            "event": n, "tid": e.tid, "type": "exec", "old_tid": e.old_tid,
            "path": e.path, "argv": e.argv, "brk": e.brk,
            "regions": e.regions.iter().map(|r| json!({
                "start": r.start, "end": r.end, "prot": r.prot, "shared": r.shared,
                "source": match &r.source {
                    RegionSource::Zero => json!("zero"),
                    RegionSource::Data => json!("data"),
                    RegionSource::File { path, offset, .. } => json!({"file": path, "offset": offset}),
                },
            })).collect::<Vec<_>>(),
        }),
        Event::Tsc {
            tid,
            kind,
            value,
            aux,
            rip,
        } => json!({
            "event": n, "tid": tid, "type": "tsc", "instruction": format!("{kind:?}").to_lowercase(),
            "value": value, "aux": aux, "rip": rip,
        }),
        Event::Signal(s) => json!({
            "event": n, "tid": s.tid, "type": "signal", "signo": s.signo,
            "name": reel_syscalls::signal_name(s.signo), "code": s.code, "rip": s.rip,
            "delivery": format!("{:?}", s.delivery),
            "landmark": landmark_json(s.landmark.as_ref()),
        }),
        Event::SyscallEntry {
            tid,
            nr,
            args,
            site,
        } => json!({
            "event": n, "tid": tid, "type": "syscall_entry", "nr": nr, "name": reel_syscalls::name(*nr),
            "args": args, "site": site.map(|x| json!({"rip": x.rip, "rsp": x.rsp})),
        }),
        Event::Patch {
            tid,
            addr,
            original,
            patched,
        } => json!({
            "event": n, "tid": tid, "type": "patch", "addr": addr,
            "original": original, "patched": patched,
        }),
        Event::FastSite(f) => json!({
            "event": n, "tid": f.tid, "type": "fast_site", "nr": f.nr,
            "name": reel_syscalls::name(f.nr), "addr": f.addr, "stub": f.stub,
            "page": f.page, "original": f.original, "patched": f.patched,
            "resume": f.resume,
        }),
        Event::Yield { tid, rip, hits } => json!({
            "event": n, "tid": tid, "type": "yield", "rip": rip, "hits": hits,
        }),
        Event::Preempted { tid, rip, landmark } => json!({
            "event": n, "tid": tid, "type": "preempted", "rip": rip,
            "landmark": landmark_json(landmark.as_ref()),
        }),
        Event::Exit { tid, kind } => json!({
            "event": n, "tid": tid, "type": "exit",
            "status": kind.shell_status(), "how": format!("{kind:?}"),
        }),
        Event::Filtered {
            tid,
            nr,
            args,
            result,
            site,
        } => json!({
            "event": n, "tid": tid, "type": "filtered", "nr": nr, "name": reel_syscalls::name(*nr),
            "args": args, "result": result, "site": site.map(|x| json!({"rip": x.rip, "rsp": x.rsp})),
        }),
    }
}
