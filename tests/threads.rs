//! Threads: one thread of a process runs its own code at a time, switching
//! at syscalls that may block; replay follows the recorded order.
//!
//! - `programs::*`: one test per `tests/programs/threads/*.c`, through the
//!   shared record/replay check (`common::case`).
//! - `python::*`: Python's threading module and a thread pool.
//! - `pause_yields`: a spin loop with `pause`, preempted once, is patched
//!   and then yields at its `pause` (dump shows the patch and the yields).
//! - `chaos::*`: `record --chaos` on a racy counter: several recordings give
//!   several totals, and each replays with its own.
//! - `spin_wait_is_preempted`: a thread spinning on a flag another thread
//!   sets is preempted while recording (at a landmark), and the replay
//!   completes with the recorded output.
//! - `landmark_that_never_matches_is_a_divergence`: the same spinner with
//!   its landmark edited so that no pass can match: the search gives up
//!   after a bounded number of passes and reports the divergence.

mod common;

use common::case::*;
use common::*;

macro_rules! thread_programs {
    ($($name:ident),* $(,)?) => {
        /// One test per `tests/programs/threads/*.c`.
        mod programs {
            $(
                #[test]
                fn $name() {
                    super::run_program(concat!("threads/", stringify!($name)));
                }
            )*
        }
        const PROGRAMS: &[&str] = &[$(stringify!($name)),*];
    };
}

thread_programs!(
    chaos_counter,
    condvar_pingpong,
    exec_from_thread,
    exec_with_threads,
    exit_from_thread,
    leader_exit,
    memory_loop,
    mutex_counter,
    racy_counter,
    spin_flag,
    spin_lock_counter,
    spin_pause,
    thread_ids,
    thread_signal,
);

#[test]
fn every_program_has_a_test() {
    assert_programs_listed("threads", PROGRAMS);
}

/// Records `argv`, replays it, and checks that replay reproduces record's
/// stdout and status.
fn record_and_replay(name: &str, argv: &[&str]) -> (Output, Output) {
    let sb = Sandbox::new(name);
    let trace = sb.path().join("trace");
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let rec = sb.record(&trace, false, &argv, None);
    let rep = sb.replay(&trace);
    assert_eq!(
        rep.status,
        rec.status,
        "replay status:\n{}\n{}",
        rec.describe(),
        rep.describe()
    );
    if let Some(d) = difference(&rec.stdout, &rep.stdout) {
        panic!(
            "replay stdout differs from record's: {d}\n{}",
            rep.describe()
        );
    }
    (rec, rep)
}

mod python {
    use super::*;

    fn python3() -> &'static str {
        if std::path::Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3"
        } else {
            "python3"
        }
    }

    #[test]
    fn threading_module() {
        let (rec, _) = record_and_replay(
            "threads-python",
            &[
                python3(),
                "-c",
                "import threading, time\n\
                 r = []\n\
                 ts = [threading.Thread(target=lambda i=i: r.append((i, time.time()))) for i in range(4)]\n\
                 [t.start() for t in ts]; [t.join() for t in ts]\n\
                 print(sorted(i for i, _ in r), sum(t for _, t in r))",
            ],
        );
        assert_eq!(rec.status, 0, "{}", rec.describe());
        assert!(
            rec.stdout_str().starts_with("[0, 1, 2, 3]"),
            "{}",
            rec.describe()
        );
    }

    #[test]
    fn thread_pool() {
        let (rec, _) = record_and_replay(
            "threads-python-pool",
            &[
                python3(),
                "-c",
                "import concurrent.futures as f, os\n\
                 with f.ThreadPoolExecutor(3) as ex:\n\
                 \x20   print(list(ex.map(lambda x: x * x, range(8))), os.urandom(4).hex())",
            ],
        );
        assert_eq!(rec.status, 0, "{}", rec.describe());
    }
}

/// A C program whose main thread spins on a flag that a second thread sets:
/// while recording, the spinning thread must be preempted (or the recording
/// would never end), and replay stops it at the same landmark.
#[test]
fn spin_wait_is_preempted() {
    let sb = Sandbox::new("threads-spin");
    let src = sb.path().join("spin.c");
    std::fs::write(
        &src,
        "#include <pthread.h>\n#include <stdio.h>\n#include <stdatomic.h>\n\
         static atomic_int flag;\n\
         static void *setter(void *a) { (void)a; atomic_store(&flag, 1); return 0; }\n\
         int main(void) {\n\
           pthread_t t; pthread_create(&t, 0, setter, 0);\n\
           while (!atomic_load(&flag)) ;\n\
           pthread_join(t, 0);\n\
           printf(\"flag seen\\n\");\n\
           return 0;\n\
         }\n",
    )
    .unwrap();
    let bin = compile_c(&src, sb.path());
    let trace = sb.path().join("trace");
    let rec = sb.record(&trace, false, &[bin.to_string_lossy().into_owned()], None);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    assert_eq!(rec.stdout_str(), "flag seen\n", "{}", rec.describe());
    let rep = sb.replay(&trace);
    assert_eq!(rep.status, 0, "{}", rep.describe());
    assert_eq!(rep.stdout_str(), "flag seen\n", "{}", rep.describe());
    assert!(
        !rep.stderr_str().contains("may diverge"),
        "{}",
        rep.describe()
    );
}

/// `threads/spin_flag` with the landmark of its first preemption edited
/// (r15 changed) so that no pass can match: the spinning thread would pass
/// the landmark's instruction for ever, since the thread that ends its loop
/// never runs during the search. The search gives up after more passes than
/// the recorded thread could have made in its CPU time, or after using far
/// more CPU time than it did (which bound comes first depends on the
/// machine), and reports the divergence at that event with the closest
/// pass (the test's own timeout is only a safety net).
#[test]
fn landmark_that_never_matches_is_a_divergence() {
    use common::edit::{records, rewrite_trace};
    use reel_trace::Event;
    let sb = Sandbox::new("threads-landmark-never");
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/threads/spin_flag.c");
    let bin = compile_c(&src, sb.path());
    let trace = sb.path().join("trace");
    let rec = sb.record(&trace, false, &[bin.to_string_lossy().into_owned()], None);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    let preempted = records(&trace)
        .iter()
        .find(|r| {
            matches!(
                &r.event,
                Event::Preempted {
                    landmark: Some(_),
                    ..
                }
            )
        })
        .map(|r| r.number)
        .expect("a preemption at a landmark");
    let edited = sb.path().join("edited");
    rewrite_trace(&trace, &edited, |r| {
        if r.number == preempted {
            if let Event::Preempted {
                landmark: Some(lm), ..
            } = &mut r.event
            {
                lm.regs[0] ^= 1 << 44;
            }
        }
    });
    let rep = sb.replay(&edited);
    assert_eq!(rep.status, 125, "{}", rep.describe());
    let err = rep.stderr_str();
    assert!(
        err.contains(&format!("diverged at event {preempted} "))
            && err.contains("passes through the landmark's instruction")
            && err.contains("without a match")
            && (err.contains("differed in r15")
                || err.contains("none had the recorded registers and watched words")),
        "{}",
        rep.describe()
    );
}

/// Real multithreaded programs as installed: xz compressing with two
/// threads, sort merging in parallel.
mod installed {
    use super::*;

    fn input(sb: &Sandbox) -> String {
        let path = sb.path().join("input.txt");
        let mut text = String::new();
        for i in 0..60_000u64 {
            text += &format!("{} line {}\n", i.wrapping_mul(2_654_435_761) % 1_000_003, i);
        }
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }

    #[test]
    fn xz_with_two_threads() {
        let sb = Sandbox::new("threads-xz");
        let file = input(&sb);
        let (rec, _) = record_and_replay("threads-xz-run", &["xz", "-T2", "-3", "-c", &file]);
        assert_eq!(rec.status, 0, "{}", rec.describe());
        assert!(rec.stdout.len() > 1000, "{}", rec.describe());
    }

    #[test]
    fn sort_in_parallel() {
        let sb = Sandbox::new("threads-sort");
        let file = input(&sb);
        let (rec, _) = record_and_replay(
            "threads-sort-run",
            &["sort", "--parallel=2", "-S", "4M", "-n", &file],
        );
        assert_eq!(rec.status, 0, "{}", rec.describe());
    }
}

/// cargo building a tiny crate: a process tree of multithreaded programs
/// (cargo, rustc with its codegen threads, the rustup proxies, cc, ld)
/// talking through a jobserver pipe.
#[test]
fn cargo_build() {
    let sb = Sandbox::new("threads-cargo");
    let proj = sb.path().join("proj");
    std::fs::create_dir_all(proj.join("src")).unwrap();
    std::fs::write(
        proj.join("Cargo.toml"),
        "[package]\nname = \"proj\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(
        proj.join("src/main.rs"),
        "fn main() { println!(\"built\"); }\n",
    )
    .unwrap();
    let trace = sb.path().join("trace");
    let mut cmd = sb.reel();
    cmd.arg("record")
        .arg("-o")
        .arg(&trace)
        .args(["cargo", "build", "--offline", "--quiet", "--manifest-path"])
        .arg(proj.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", sb.path().join("target"));
    let rec = run(&mut cmd, None);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    assert!(
        sb.path().join("target/debug/proj").is_file(),
        "{}",
        rec.describe()
    );
    let rep = sb.replay(&trace);
    assert_eq!(rep.status, 0, "{}", rep.describe());
    assert_eq!(
        without_reel_lines(&rep.stderr),
        without_reel_lines(&rec.stderr),
        "{}",
        rep.describe()
    );
}

mod chaos {
    use super::*;

    /// Six `record --chaos` recordings of a racy counter: the random
    /// preemption points lose different numbers of updates, so the totals
    /// differ (the plain scheduler, with its 50 ms timeslice, gives the
    /// full total here); each replay prints its own recording's total.
    #[test]
    fn racy_counter_totals_differ_and_each_replays() {
        let sb = Sandbox::new("threads-chaos");
        let bin = compile_c(&programs_dir().join("threads/chaos_counter.c"), sb.path());
        let mut totals = Vec::new();
        for i in 0..6 {
            let trace = sb.path().join(format!("trace-{i}"));
            let mut c = sb.reel();
            c.arg("record")
                .arg("--chaos")
                .arg("-o")
                .arg(&trace)
                .arg(&bin);
            let rec = run(&mut c, None);
            assert_eq!(rec.status, 0, "{}", rec.describe());
            let rep = sb.replay(&trace);
            assert_eq!(rep.status, 0, "{}", rep.describe());
            assert_eq!(rep.stdout_str(), rec.stdout_str(), "{}", rep.describe());
            totals.push(rec.stdout_str().lines().next().unwrap_or("").to_string());
        }
        let mut distinct = totals.clone();
        distinct.sort();
        distinct.dedup();
        assert!(
            distinct.len() >= 2,
            "all chaos recordings printed the same: {totals:?}"
        );
    }
}

/// spin_pause: after one preemption (a landmark) the spin loop's `pause` is
/// patched, and the spinner then yields there: the dump shows a `patch`
/// and at least one `yield` event, and the replay reproduces the output.
#[test]
fn pause_yields() {
    let sb = Sandbox::new("threads-pause-yields");
    let bin = compile_c(&programs_dir().join("threads/spin_pause.c"), sb.path());
    let trace = sb.path().join("trace");
    let rec = sb.record(&trace, false, &[bin.to_string_lossy().into_owned()], None);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    let out = run(sb.reel().arg("dump").arg("--json").arg(&trace), None);
    let kinds: Vec<String> = out
        .stdout_str()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["type"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        kinds.iter().any(|k| k == "patch"),
        "no patch event: {kinds:?}"
    );
    assert!(
        kinds.iter().any(|k| k == "yield"),
        "no yield event: {kinds:?}"
    );
    let rep = sb.replay(&trace);
    assert_eq!(rep.status, 0, "{}", rep.describe());
    assert_eq!(rep.stdout_str(), rec.stdout_str(), "{}", rep.describe());
}
