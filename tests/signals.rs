//! Record-and-replay tests of signals (issue 5).
//!
//! - `programs::*`: one test per `tests/programs/signals/*.c`, checked like
//!   `tests/programs.rs` does (native run, record, replay, compared; see the
//!   `// reel-test:` directives documented there). Each test also reads the
//!   trace with `reel dump --json` and prints (eprintln) how many signals were
//!   delivered in each way — `Interrupted` is the landmark case — and appends
//!   the same line to `$CARGO_TARGET_TMPDIR/signal-deliveries.txt`.
//! - `installed::*`: `timeout(1)` killing its child; Python signal handlers;
//!   `openssl speed` (its alarms land in hashing loops).
//! - `dump::*`: signal events in `reel dump --json` and `reel dump`.
//!
//! A recorded program killed from outside is in `tests/outside.rs`.

mod common;

use common::case::*;
use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The signal events of a trace, as `reel dump --json` lists them.
fn signal_events(sb: &Sandbox, trace: &Path) -> Vec<serde_json::Value> {
    let out = run(sb.reel().arg("dump").arg("--json").arg(trace), None);
    assert_eq!(
        out.status,
        0,
        "reel dump --json failed:\n{}",
        out.describe()
    );
    out.stdout_str()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "signal")
        .collect()
}

/// Counts of signal deliveries by kind.
fn delivery_kinds(events: &[serde_json::Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for e in events {
        let k = e["delivery"].as_str().unwrap_or("?").to_string();
        *m.entry(k).or_insert(0) += 1;
    }
    m
}

/// Prints the delivery kinds of the signals in `trace` and appends them to
/// `$CARGO_TARGET_TMPDIR/signal-deliveries.txt` (one line per recording).
fn report_deliveries(sb: &Sandbox, name: &str, trace: &Path) -> BTreeMap<String, usize> {
    if !trace.exists() {
        return BTreeMap::new();
    }
    let kinds = delivery_kinds(&signal_events(sb, trace));
    let interrupted = kinds.get("Interrupted").copied().unwrap_or(0);
    let line = format!(
        "signal deliveries in {name}: {kinds:?}; Interrupted (landmark case): {interrupted}"
    );
    eprintln!("{line}");
    let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join("signal-deliveries.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        use std::io::Write;
        let _ = writeln!(f, "{line}");
    }
    kinds
}

/// `check_case_in` in a sandbox of our own, then the delivery report (also
/// when the check failed).
fn check_and_report(name: &str, argv: &[String], spec: &Spec) -> BTreeMap<String, usize> {
    let sb = Sandbox::new(name);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check_case_in(&sb, name, argv, spec)
    }));
    let kinds = report_deliveries(&sb, name, &sb.path().join("trace"));
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    kinds
}

/// Compiles `tests/programs/signals/<name>.c` and checks it.
fn signal_program(name: &str) -> BTreeMap<String, usize> {
    let name = format!("signals/{name}");
    let p = compile_program(&name);
    check_and_report(&name, &p.argv, &p.spec)
}

fn compile_signal_program(name: &str, dir: &Path) -> PathBuf {
    compile_c(&programs_dir().join(format!("signals/{name}.c")), dir)
}

macro_rules! signal_tests {
    ($($(#[$attr:meta])* $name:ident),* $(,)?) => {
        /// One test per `tests/programs/signals/*.c`.
        mod programs {
            $(
                $(#[$attr])*
                #[test]
                fn $name() {
                    super::signal_program(stringify!($name));
                }
            )*
        }
        const PROGRAMS: &[&str] = &[$(stringify!($name)),*];
    };
}

signal_tests!(
    abort,
    alarm_sleep,
    altstack,
    bus_longjmp,
    busy_alarm,
    busy_alarm_state,
    cpuid_loop,
    dead_frame,
    fpe_death,
    fpe_skip,
    handler_flags,
    hash_alarm,
    ill_death,
    ill_skip,
    exec_resets_handlers,
    inherited_state,
    itimer_avx,
    itimer_compute,
    itimer_tight,
    kill_group,
    kill_group_abort,
    kill_self,
    memcpy_signal,
    onstack_without_altstack,
    pthread_sigmask,
    raise,
    rt_queue,
    sa_restart,
    segv_fix,
    segv_handler_reset,
    seccomp_filters,
    seccomp_kill,
    segv_longjmp,
    sigchld,
    short_insns,
    siginfo,
    signalfd,
    sigpipe,
    sigpipe_death,
    sigprocmask,
    sigsuspend,
    sigwaitinfo,
    stack_overflow,
    temp_mask_waits,
    tgkill,
    thread_fatal,
    ticker,
    timer_create,
    timerfd,
    trap_death,
    trap_int3,
);

#[test]
fn every_signal_program_has_a_test() {
    assert_programs_listed("signals", PROGRAMS);
}

mod installed {
    use super::*;

    fn argv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn spec(exit: i32) -> Spec {
        Spec {
            exit,
            marker: false,
            ..Spec::default()
        }
    }

    #[test]
    fn timeout_term() {
        check_and_report(
            "timeout-term",
            &argv(&["timeout", "0.5", "sleep", "5"]),
            &spec(124),
        );
    }

    #[test]
    fn timeout_kill() {
        check_and_report(
            "timeout-kill",
            &argv(&["timeout", "-s", "KILL", "0.5", "sleep", "5"]),
            &spec(137),
        );
    }

    #[test]
    fn shell_timeout_in_a_script() {
        check_and_report(
            "sh-timeout",
            &argv(&["sh", "-c", "timeout 0.3 sleep 5; echo \"timeout said $?\""]),
            &spec(0),
        );
    }

    fn python3() -> String {
        if Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3".into()
        } else {
            "python3".into()
        }
    }

    const PY_HANDLERS: &str = r#"
import os, signal, time
got = []
signal.signal(signal.SIGALRM, lambda s, f: got.append('alrm'))
signal.signal(signal.SIGUSR1, lambda s, f: got.append('usr1'))
signal.setitimer(signal.ITIMER_REAL, 0.2)
t = time.monotonic()
time.sleep(0.6)
print('after sleep', got, 'slept fully:', time.monotonic() - t >= 0.59)
os.kill(os.getpid(), signal.SIGUSR1)
print('after kill', got)
class Timeout(Exception):
    pass
def boom(s, f):
    raise Timeout()
signal.signal(signal.SIGALRM, boom)
signal.alarm(1)
try:
    time.sleep(5)
    print('not interrupted')
except Timeout:
    print('sleep interrupted by the handler exception')
"#;

    #[test]
    fn python_handlers() {
        let py = python3();
        check_and_report(
            "python-handlers",
            &argv(&[&py, "-c", PY_HANDLERS]),
            &spec(0),
        );
    }

    /// The handler must run while the interpreter computes without syscalls.
    const PY_BUSY: &str = r#"
import signal
got = []
signal.signal(signal.SIGALRM, lambda s, f: got.append(1))
signal.setitimer(signal.ITIMER_REAL, 0.1)
n = 0
while not got:
    n += 1
print('handler ran while computing:', got, n > 0)
"#;

    #[test]
    fn python_busy_loop_handler() {
        let py = python3();
        check_and_report("python-busy", &argv(&[&py, "-c", PY_BUSY]), &spec(0));
    }

    /// `openssl speed`: each SIGALRM lands in a hashing loop whose registers
    /// repeat at every call (the same buffer hashed again and again) and
    /// whose progress, the call counter, is saved on the stack: the
    /// landmark needs the words found by the long watch, or its replay
    /// would stop at every call of millions. Its numbers depend on timing.
    #[test]
    fn openssl_speed() {
        if !Path::new("/usr/bin/openssl").exists() {
            eprintln!("skipped: openssl is not installed");
            return;
        }
        let kinds = check_and_report(
            "openssl-speed",
            &argv(&["/usr/bin/openssl", "speed", "-seconds", "1", "sha256"]),
            &Spec {
                varies: true,
                ..spec(0)
            },
        );
        assert!(
            kinds.get("Interrupted").copied().unwrap_or(0) >= 1,
            "the alarms went in at landmarks: {kinds:?}"
        );
    }
}

mod dump {
    use super::*;

    /// Records `name` and returns the sandbox and trace.
    fn record(name: &str) -> (Sandbox, PathBuf, Output) {
        let sb = Sandbox::new(&format!("dump-{name}"));
        let bin = compile_signal_program(name, sb.path());
        let trace = sb.path().join("trace");
        let out = sb.record(&trace, false, &[bin.to_string_lossy().into_owned()], None);
        (sb, trace, out)
    }

    #[test]
    fn json_shows_signals_with_their_delivery() {
        // raise: three SIGUSR1 raised by kill/tgkill syscalls, delivered as
        // the syscall returns (AfterSyscall).
        let (sb, trace, rec) = record("raise");
        assert_eq!(rec.status, 0, "{}", rec.describe());
        let events = signal_events(&sb, &trace);
        report_deliveries(&sb, "dump raise", &trace);
        let usr1: Vec<_> = events.iter().filter(|e| e["signo"] == 10).collect();
        assert_eq!(usr1.len(), 3, "three SIGUSR1 events expected: {events:#?}");
        for e in &usr1 {
            assert_eq!(e["name"], "SIGUSR1", "{e}");
            assert!(e["event"].as_u64().is_some_and(|n| n > 0), "{e}");
            assert!(e["tid"].as_i64().is_some_and(|n| n > 0), "{e}");
            assert_eq!(e["delivery"], "AfterSyscall", "{e}");
        }
        // SIGUSR2 (ignored) and SIGCHLD (default: ignore) do nothing; reel
        // records them anyway (as AfterSyscall: raised by tgkill), which is
        // harmless. Only their delivery kind is checked.
        for e in events.iter().filter(|e| e["signo"] != 10) {
            assert!(
                e["name"] == "SIGUSR2" || e["name"] == "SIGCHLD",
                "unexpected signal event: {e}"
            );
        }
    }

    #[test]
    fn synchronous_and_default_action_kinds() {
        let (sb, trace, rec) = record("segv_longjmp");
        assert_eq!(rec.status, 0, "{}", rec.describe());
        let kinds = delivery_kinds(&signal_events(&sb, &trace));
        assert_eq!(kinds.get("Synchronous"), Some(&5), "{kinds:?}");

        let (sb, trace, rec) = record("kill_self");
        assert_eq!(rec.status, 143, "{}", rec.describe());
        let events = signal_events(&sb, &trace);
        let term: Vec<_> = events.iter().filter(|e| e["name"] == "SIGTERM").collect();
        assert_eq!(term.len(), 1, "{events:#?}");
        assert!(
            term[0]["delivery"] == "DefaultAction" || term[0]["delivery"] == "AfterSyscall",
            "{events:#?}"
        );
    }

    #[test]
    fn text_dump_lists_signals() {
        let (sb, trace, rec) = record("sigprocmask");
        assert_eq!(rec.status, 0, "{}", rec.describe());
        let out = run(sb.reel().arg("dump").arg(&trace), None);
        assert_eq!(out.status, 0, "{}", out.describe());
        let text = out.stdout_str();
        let lines: Vec<&str> = text.lines().filter(|l| l.contains("signal SIG")).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("SIGUSR1") && l.contains("AfterSyscall")),
            "no SIGUSR1 AfterSyscall line in:\n{}",
            lines.join("\n")
        );
        assert!(
            lines.iter().any(|l| l.contains("SIGUSR2")),
            "no SIGUSR2 line in:\n{}",
            lines.join("\n")
        );
        assert_eq!(
            lines.len(),
            signal_events(&sb, &trace).len(),
            "text and JSON dumps list different numbers of signals"
        );
    }

    #[test]
    fn busy_loop_needs_interrupted_delivery() {
        let (sb, trace, rec) = record("busy_alarm");
        assert_eq!(rec.status, 0, "{}", rec.describe());
        let kinds = report_deliveries(&sb, "dump busy_alarm", &trace);
        assert_eq!(kinds.get("Interrupted"), Some(&1), "{kinds:?}");
    }
}

mod bounded {
    use super::*;

    /// A repeating 2 ms timer in a loop with no syscall: every tick reaches
    /// the handler and the recording ends (it used to hang: each tick ended
    /// reel's wait before the hold limit, so the held signal never went in).
    #[test]
    fn repeating_timer_in_a_loop_without_syscalls_ends() {
        let sb = Sandbox::new("bounded-itimer-tight");
        let bin = compile_signal_program("itimer_tight", sb.path());
        let trace = sb.path().join("trace");
        let rec = sb.record(&trace, false, &[bin.to_string_lossy().into_owned()], None);
        assert_eq!(rec.status, 0, "{}", rec.describe());
        assert!(
            rec.stdout_str().contains("tick 7 saw"),
            "{}",
            rec.describe()
        );
        let kinds = report_deliveries(&sb, "bounded itimer_tight", &trace);
        let total: usize = kinds.values().sum();
        assert!(
            total >= 8,
            "at least 8 SIGALRM deliveries expected: {kinds:?}"
        );
    }
}

mod landmarks {
    use super::*;

    /// Records `name`, replays it with `env` and `REEL_DEBUG=1`, checks the
    /// replay's stdout against the recording's and returns the replay.
    fn replay_with(name: &str, env: &[(&str, &str)]) -> Output {
        let sb = Sandbox::new(&format!("landmarks-{name}"));
        let bin = compile_signal_program(name, sb.path());
        let trace = sb.path().join("trace");
        let rec = sb.record(&trace, false, &[bin.to_string_lossy().into_owned()], None);
        assert_eq!(rec.status, 0, "{}", rec.describe());
        let mut c = sb.reel();
        c.arg("replay").arg("-a").arg(&trace).env("REEL_DEBUG", "1");
        for (k, v) in env {
            c.env(k, v);
        }
        let rep = run(&mut c, None);
        assert_eq!(rep.status, 0, "{}", rep.describe());
        assert_eq!(rep.stdout_str(), rec.stdout_str(), "{}", rep.describe());
        rep
    }

    /// The plain-breakpoint search (the fallback where code cannot be
    /// patched), forced, finds the same point as the stub would.
    #[test]
    fn breakpoint_fallback_finds_the_landmark() {
        let rep = replay_with("cpuid_loop", &[("REEL_LANDMARK_SEARCH", "breakpoint")]);
        assert!(
            rep.stderr_str()
                .contains("(compare stub: 0, breakpoint: 1)"),
            "{}",
            rep.describe()
        );
    }

    /// A loop whose state depends on RDRAND (which reel cannot trap) never
    /// reaches its recorded landmark in replay: the thread gets to its
    /// next syscall first, and the replay reports the divergence with the
    /// event, the task and what differed, instead of delivering the signal
    /// elsewhere. Which ending comes first depends on the machine's speed:
    /// the loop may reach its syscall, or the pass bound (the recorded
    /// thread's CPU time) may run out first; both are the same divergence.
    #[test]
    fn a_landmark_never_reached_is_a_divergence() {
        let sb = Sandbox::new("landmarks-diverge");
        let src = sb.path().join("rdrand_loop.c");
        std::fs::write(
            &src,
            "#include <immintrin.h>\n#include <signal.h>\n#include <stdio.h>\n#include <sys/time.h>\n\
             static volatile sig_atomic_t done;\n\
             static void on_alrm(int s) { (void)s; done = 1; }\n\
             __attribute__((target(\"rdrnd\"))) int main(void) {\n\
               signal(SIGALRM, on_alrm);\n\
               struct itimerval it = {{0, 0}, {0, 20000}};\n\
               setitimer(ITIMER_REAL, &it, 0);\n\
               unsigned long long x = 0;\n\
               _rdrand64_step(&x);\n\
               unsigned long acc = 0, i;\n\
               for (i = 0; i < 1500000000UL && !done; i++) acc += x ^ i;\n\
               printf(\"%lu %lu\\n\", acc, i);\n\
               return 0;\n\
             }\n",
        )
        .unwrap();
        let bin = compile_c(&src, sb.path());
        let trace = sb.path().join("trace");
        let rec = sb.record(&trace, false, &[bin.to_string_lossy().into_owned()], None);
        assert_eq!(rec.status, 0, "{}", rec.describe());
        let rep = sb.replay(&trace);
        assert_eq!(rep.status, 125, "{}", rep.describe());
        let err = rep.stderr_str();
        // Either the thread reaches its next syscall first, or it passes
        // the landmark's instruction more often than the recorded thread
        // could have in its CPU time (a loaded machine gives it little), or
        // it uses far more CPU time than the recorded thread did.
        assert!(
            err.contains("replay diverged at event")
                && err.contains("landmark")
                && (err.contains("before the landmark matched")
                    || err.contains("without a match, more than the recorded thread could make")
                    || err.contains("s of CPU time without a match")),
            "{}",
            rep.describe()
        );
    }

    /// The frame of a handler that returned is cleared at `rt_sigreturn`,
    /// in record and in replay: natively the program finds its saved
    /// context there (it checks this itself), under reel zeros.
    #[test]
    fn dead_signal_frames_are_cleared() {
        let sb = Sandbox::new("landmarks-dead-frame");
        let bin = compile_signal_program("dead_frame", sb.path());
        let native = run(&mut Command::new(&bin), None);
        assert!(
            !native.stdout_str().contains("dead frame: 0\n"),
            "natively the dead frame holds the context: {}",
            native.describe()
        );
        let rep = replay_with("dead_frame", &[]);
        assert!(
            rep.stdout_str()
                .contains("nonzero bytes in the dead frame: 0\n"),
            "{}",
            rep.describe()
        );
    }

    /// A landmark 10^8 passes into a loop is found by the in-process
    /// compare stub, with a single ptrace stop.
    #[test]
    fn compare_stub_filters_passes() {
        let rep = replay_with("busy_alarm_state", &[]);
        assert!(
            rep.stderr_str()
                .contains("(compare stub: 1, breakpoint: 0), 1 candidate stops"),
            "{}",
            rep.describe()
        );
    }
}
