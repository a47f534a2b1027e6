//! `reel`: record a Linux x86-64 process tree, replay it exactly.
//!
//! This binary is only the command line: each subcommand parses its
//! arguments and calls into the recorder, the replayer or the trace store.

mod debug;
mod dump;
mod progress;
mod store_cmds;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// reel's own failures exit with this, so they never look like the program's status.
const EXIT_REEL_FAILED: u8 = 125;
/// The program exists but cannot be executed (as shells do).
const EXIT_CANNOT_EXECUTE: i32 = 126;
/// The program was not found (as shells do).
const EXIT_NOT_FOUND: i32 = 127;

#[derive(Parser)]
#[command(
    name = "reel",
    version,
    about = "Record and replay Linux x86-64 programs, without hardware performance counters"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run PROG and record it into a trace; exits with PROG's status.
    #[command(override_usage = "reel record [OPTIONS] <PROG> [ARGS]...")]
    Record {
        /// Write the trace to DIR (which must not exist, or be empty). As
        /// with rr, latest-trace is then not changed: name DIR to replay it.
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        output: Option<PathBuf>,
        /// Store a checksum of the program's writable memory at every event
        /// (slow; replay then compares them to find the first divergence).
        #[arg(long)]
        checksum: bool,
        /// Randomise scheduling to expose races: which waiting thread runs
        /// next, and short random timeslices (threads are preempted at
        /// random points). The choices are in the trace: it replays exactly.
        #[arg(long)]
        chaos: bool,
        /// When the program exits, go on recording the processes it left
        /// running (daemons, background jobs) until they are gone too; by
        /// default they are killed then and the recording ends.
        #[arg(short = 'w', long)]
        wait: bool,
        /// Make common non-blocking syscalls (getpid, clock_gettime, stat,
        /// reads and writes of regular files ...) in the program's process,
        /// logged in a buffer, instead of stopping at each.
        #[arg(long, conflicts_with = "no_fast_path")]
        fast_path: bool,
        /// Stop at every syscall (no in-process fast path).
        #[arg(long)]
        no_fast_path: bool,
        /// The most data one file snapshot may hold (holes do not count),
        /// as bytes or with a K, M, G or T suffix; 0: no limit. A mapping
        /// of a file holding more fails with ENOMEM and a `reel:` line.
        /// Default: $REEL_MAX_SNAPSHOT, else 4G.
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_snapshot: Option<u64>,
        /// The program and its arguments; reel's options end here.
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "PROG"
        )]
        command: Vec<OsString>,
    },
    /// Replay a trace (the latest by default).
    Replay {
        /// Autopilot: replay without a debugger, reproducing the program's
        /// output and exit status.
        #[arg(short = 'a', long = "autopilot")]
        autopilot: bool,
        /// Only serve gdb on this port and print how to connect.
        #[arg(short = 's', long = "server", value_name = "PORT")]
        server: Option<u16>,
        /// Start at this event (the numbers of `reel dump`) instead of the
        /// program's first instruction.
        #[arg(short = 'g', long = "goto", value_name = "EVENT")]
        goto: Option<u64>,
        /// Start at the exec of this (recorded) process.
        #[arg(short = 'p', long = "onprocess", value_name = "PID", conflicts_with_all = ["goto", "onfork"])]
        onprocess: Option<i32>,
        /// Start right after the fork that created this (recorded) process.
        #[arg(
            short = 'f',
            long = "onfork",
            value_name = "PID",
            conflicts_with = "goto"
        )]
        onfork: Option<i32>,
        /// Run the program under the installed valgrind with this tool
        /// (default memcheck); the arguments after `--` go to valgrind.
        #[arg(long = "valgrind", value_name = "TOOL", num_args = 0..=1, require_equals = true,
              default_missing_value = "memcheck", conflicts_with_all = ["autopilot", "server", "goto", "onfork"])]
        valgrind: Option<String>,
        /// The trace directory or name (default: the latest recording).
        trace: Option<String>,
        /// Arguments for gdb, after reel's own connection commands (with
        /// --valgrind: valgrind's options).
        #[arg(last = true, value_name = "GDB_ARGS")]
        gdb_args: Vec<OsString>,
    },
    /// Print the events of a trace, one a line.
    Dump {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Only events of this (recorded) task.
        #[arg(long)]
        tid: Option<i32>,
        /// Only these syscalls (by name; repeat or separate with commas).
        #[arg(long, value_delimiter = ',')]
        syscall: Vec<String>,
        /// First event number to show.
        #[arg(long)]
        from: Option<u64>,
        /// Last event number to show.
        #[arg(long)]
        to: Option<u64>,
        /// Show up to N bytes of the data each read and write moved
        /// (writes keep their first 128 bytes in the trace).
        #[arg(short = 's', long = "strsize", value_name = "N")]
        strsize: Option<usize>,
        /// The trace directory or name (default: the latest recording).
        trace: Option<String>,
    },
    /// List the recorded traces (of $REEL_TRACE_DIR, or of DIR).
    Ls {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// A directory of traces (or one trace) to list instead.
        dir: Option<PathBuf>,
    },
    /// Delete a trace.
    Rm {
        /// The trace directory or name.
        trace: String,
    },
    /// Print a trace's header as JSON.
    Info {
        /// The trace directory or name (default: the latest recording).
        trace: Option<String>,
    },
    /// List the processes of a trace.
    Ps {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// The trace directory or name (default: the latest recording).
        trace: Option<String>,
    },
    /// Make a trace self-contained (copy every file it only links to).
    Pack {
        /// The trace directory or name (default: the latest recording).
        trace: Option<String>,
    },
    /// Print a completion script for a shell (`reel completions bash >
    /// /etc/bash_completion.d/reel`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not failures; bad usage is reel's own
            // failure, so it exits 125 (never a status the program could have).
            let text = e.render().to_string();
            if !e.use_stderr() {
                print!("{text}");
                return ExitCode::SUCCESS;
            }
            eprint!("reel: {}", text.strip_prefix("error: ").unwrap_or(&text));
            return ExitCode::from(EXIT_REEL_FAILED);
        }
    };
    let result = match cli.command {
        Command::Record {
            output,
            checksum,
            chaos,
            wait,
            fast_path,
            no_fast_path,
            max_snapshot,
            command,
        } => {
            let default = match std::env::var("REEL_FAST_PATH").as_deref() {
                Ok("1") => true,
                Ok("0") => false,
                _ => FAST_PATH_DEFAULT,
            };
            let fast = (default || fast_path) && !no_fast_path;
            match max_snapshot.map_or_else(max_snapshot_default, Ok) {
                Ok(limit) => cmd_record(output, checksum, chaos, wait, fast, limit, command),
                Err(e) => Err(anyhow::anyhow!("REEL_MAX_SNAPSHOT: {e}")),
            }
        }
        Command::Replay {
            autopilot,
            server,
            goto,
            onprocess,
            onfork,
            valgrind: Some(tool),
            trace,
            gdb_args,
        } => {
            let _ = (autopilot, server, goto, onfork);
            cmd_replay_valgrind(tool, onprocess, trace, gdb_args)
        }
        Command::Replay {
            autopilot,
            server,
            goto,
            onprocess,
            onfork,
            valgrind: None,
            trace,
            gdb_args,
        } => cmd_replay(
            autopilot,
            trace,
            debug::DebugOptions {
                serve_port: server,
                goto,
                onprocess,
                onfork,
                gdb_args,
            },
        ),
        Command::Dump {
            json,
            tid,
            syscall,
            from,
            to,
            strsize,
            trace,
        } => dump::run(
            trace.as_deref(),
            &dump::Filter {
                json,
                tid,
                syscalls: syscall,
                from,
                to,
                data: strsize,
            },
        ),
        Command::Ls { json, dir } => store_cmds::ls(json, dir.as_deref()),
        Command::Rm { trace } => store_cmds::rm(&trace),
        Command::Info { trace } => store_cmds::info(trace.as_deref()),
        Command::Ps { json, trace } => store_cmds::ps(trace.as_deref(), json),
        Command::Pack { trace } => store_cmds::pack(trace.as_deref()),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            // Into memory first: the generator panics on a write error,
            // and a closed pipe (`| head`) is not one.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "reel", &mut script);
            use std::io::Write;
            let _ = std::io::stdout().write_all(&script);
            Ok(0)
        }
    };
    match result {
        Ok(status) => ExitCode::from((status & 0xff) as u8),
        Err(e) => {
            eprintln!("reel: {e:#}");
            ExitCode::from(EXIT_REEL_FAILED)
        }
    }
}

/// Where PROG is, looked up in PATH as a shell would, or the shell-style
/// status (126/127) with a message when it cannot be run.
fn resolve_program(prog: &Path) -> std::result::Result<PathBuf, (i32, String)> {
    let candidates: Vec<PathBuf> = if prog.as_os_str().as_bytes().contains(&b'/') {
        vec![prog.to_path_buf()]
    } else {
        let path =
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
        std::env::split_paths(&path).map(|d| d.join(prog)).collect()
    };
    let by_path = candidates.len() == 1 && prog.as_os_str().as_bytes().contains(&b'/');
    let mut not_executable = None;
    for c in candidates {
        let meta = match std::fs::metadata(&c) {
            Ok(m) => m,
            // A path is reported as a shell does: what is wrong with it.
            Err(e) if by_path => {
                let what = match e.kind() {
                    std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
                    std::io::ErrorKind::PermissionDenied => "Permission denied".to_string(),
                    _ => e.to_string(),
                };
                let status = if e.kind() == std::io::ErrorKind::NotFound {
                    EXIT_NOT_FOUND
                } else {
                    EXIT_CANNOT_EXECUTE
                };
                return Err((status, format!("{}: {what}", prog.display())));
            }
            Err(_) => continue,
        };
        if meta.is_dir() && by_path {
            return Err((
                EXIT_CANNOT_EXECUTE,
                format!("{}: Is a directory", prog.display()),
            ));
        }
        if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
            return Ok(c);
        }
        not_executable.get_or_insert(c);
    }
    match not_executable {
        Some(c) => Err((
            EXIT_CANNOT_EXECUTE,
            format!(
                "{}: permission denied (not an executable file)",
                c.display()
            ),
        )),
        None => Err((
            EXIT_NOT_FOUND,
            format!("{}: command not found", prog.display()),
        )),
    }
}

fn lossy(s: &std::ffi::OsStr) -> String {
    s.to_string_lossy().into_owned()
}

/// Whether `record` uses the in-process syscall fast path unless told
/// otherwise (`--fast-path`, `--no-fast-path`, or `REEL_FAST_PATH=1`/`0`).
const FAST_PATH_DEFAULT: bool = false;

/// The default of `record --max-snapshot`, when REEL_MAX_SNAPSHOT is unset.
const MAX_SNAPSHOT_DEFAULT: u64 = 4 << 30;

/// `$REEL_MAX_SNAPSHOT`, else the default.
fn max_snapshot_default() -> std::result::Result<u64, String> {
    match std::env::var("REEL_MAX_SNAPSHOT") {
        Ok(v) if !v.is_empty() => parse_size(&v),
        _ => Ok(MAX_SNAPSHOT_DEFAULT),
    }
}

/// A size in bytes, with an optional K, M, G or T suffix (powers of 1024).
fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => {
                    return Err(format!(
                        "{text:?}: not a size (a number, then K, M, G or T)"
                    ))
                }
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?}: not a size (a number, then K, M, G or T)"))?;
    n.checked_shl(shift)
        .filter(|v| v >> shift == n)
        .ok_or_else(|| format!("{text:?}: too large"))
}

fn cmd_record(
    output: Option<PathBuf>,
    checksum: bool,
    chaos: bool,
    wait_all: bool,
    fast_path: bool,
    max_snapshot: u64,
    command: Vec<OsString>,
) -> Result<i32> {
    let prog = Path::new(&command[0]);
    let program = match resolve_program(prog) {
        Ok(p) => p,
        Err((status, msg)) => {
            eprintln!("reel: {msg}");
            return Ok(status);
        }
    };
    let argv: Vec<String> = command.iter().map(|a| lossy(a)).collect();
    let env: Vec<String> = std::env::vars_os()
        .map(|(k, v)| format!("{}={}", lossy(&k), lossy(&v)))
        .collect();
    let store = reel_trace::TraceStore::open_default().context("opening the trace directory")?;
    let (dir, in_store) = match output {
        Some(dir) => (dir, false),
        None => {
            let name = prog
                .file_name()
                .map(lossy)
                .unwrap_or_else(|| "trace".into());
            (store.new_trace_dir(&name)?, true)
        }
    };
    // CPUID answers differ between cores and cannot be trapped: bind the
    // recording to one CPU, and replay to the same one.
    let cpu = reel_sys::cpu::current_cpu();
    let header = reel_record::header(&argv, &env, checksum, cpu);
    let mut writer = reel_trace::TraceWriter::create(&dir, &header)?;
    writer.set_max_snapshot((max_snapshot > 0).then_some(max_snapshot));
    // Traces in the store share identical snapshots through its pool; one
    // written elsewhere with -o keeps its own (it may be on another
    // filesystem, and nothing would empty the pool of it).
    if in_store || store.contains(&dir) {
        writer.share_snapshots(store.root())?;
    }
    if in_store {
        store.set_latest(&dir)?;
    }
    let opts = reel_record::RecordOptions {
        program,
        argv,
        env,
        checksum,
        cpu,
        chaos,
        wait_all,
        fast_path,
    };
    let outcome = reel_record::record(&opts, writer)
        .with_context(|| format!("recording {} into {}", prog.display(), dir.display()))?;
    Ok(outcome.exit.shell_status())
}

fn cmd_replay(autopilot: bool, trace: Option<String>, debug: debug::DebugOptions) -> Result<i32> {
    let store = reel_trace::TraceStore::open_default().context("opening the trace directory")?;
    let dir = store.resolve(trace.as_deref())?;
    let reader = reel_trace::TraceReader::open(&dir)?;
    warn_if_other_cpu(reader.header());
    if let Some(cpu) = reader.header().cpu_binding {
        if !reel_sys::cpu::cpu_allowed(cpu) {
            eprintln!("reel: warning: the recording ran on CPU {cpu}, which this replay may not use; CPUID answers may differ");
        }
    }
    if !autopilot {
        drop(reader);
        return debug::run(&dir, debug).with_context(|| format!("replaying {}", dir.display()));
    }
    let total = reader.summary().map(|s| s.events);
    let shown = progress::start(total);
    let opts = reel_replay::ReplayOptions {
        echo: true,
        around_echo: shown.then_some(progress::around_echo as fn(&mut dyn FnMut())),
    };
    let outcome = reel_replay::replay_with_progress(reader, opts, &mut progress::set);
    progress::finish();
    let outcome = outcome.with_context(|| format!("replaying {}", dir.display()))?;
    if !outcome.complete {
        eprintln!(
            "reel: the trace {} is incomplete (the recording was interrupted); replayed its {} events",
            dir.display(),
            outcome.events
        );
        return Ok(EXIT_REEL_FAILED as i32);
    }
    match outcome.exit {
        Some(kind) => Ok(kind.shell_status()),
        None => anyhow::bail!(
            "the trace {} ends without the program's exit",
            dir.display()
        ),
    }
}

/// `replay --valgrind`: the program runs under valgrind; its status is
/// valgrind's (the program's, unless a tool option says otherwise).
fn cmd_replay_valgrind(
    tool: String,
    pid: Option<i32>,
    trace: Option<String>,
    args: Vec<OsString>,
) -> Result<i32> {
    let store = reel_trace::TraceStore::open_default().context("opening the trace directory")?;
    let dir = store.resolve(trace.as_deref())?;
    let opts = reel_valgrind::Options {
        tool,
        valgrind_args: args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        pid,
    };
    let outcome = reel_valgrind::replay(&dir, &opts)?;
    Ok(outcome.status)
}

/// glibc picks code paths from CPUID, which cannot be trapped here: replay on
/// a different CPU may diverge, so say so up front.
fn warn_if_other_cpu(header: &reel_trace::Header) {
    let here = reel_record::cpu_identity();
    if here.leaves != header.cpu.leaves || here.xcr0 != header.cpu.xcr0 {
        let what = if here.brand == header.cpu.brand {
            "a CPU with different CPUID results".to_string()
        } else {
            format!(
                "a different CPU ({} rather than {})",
                here.brand, header.cpu.brand
            )
        };
        eprintln!(
            "reel: warning: replaying on {what}; the program may take other code paths and diverge"
        );
    }
}
