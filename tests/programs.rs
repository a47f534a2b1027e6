//! Record-and-replay tests over small C programs and real installed programs.
//!
//! # The C programs (`tests/programs/*.c`)
//!
//! Each program exercises one behaviour, prints what it observed and ends by
//! printing `EXIT-SUCCESS` (unless it exits with another status on purpose).
//! Every program gets one test function, `programs::<file stem>`, so
//! `cargo test --test programs programs::time` runs just one. The list of
//! programs is the `program_tests!` invocation below; `harness::every_program_has_a_test`
//! fails when a `.c` file is missing from it.
//!
//! A test does, in order (continuing after a failed check so that one run
//! reports everything that went wrong, then panicking with the whole list):
//!
//! 1. compiles the program with `cc -std=gnu11 -O1 -g -Wall` into the test's
//!    temporary directory (each test compiles its own program once);
//! 2. runs it natively and checks its status (and `EXIT-SUCCESS` as the last
//!    stdout line when the expected status is 0); with `native-differs` it
//!    runs it twice and checks that the two stdouts differ, which proves
//!    that a faithful replay of it means something;
//! 3. records it with `reel record -o <tmp>/trace` and checks the status and
//!    `EXIT-SUCCESS` again; unless the program is marked `native-differs` or
//!    `varies`, record's stdout must equal the native stdout and record's
//!    stderr (without reel's own `reel:` lines) the native stderr;
//! 4. deletes the `@tmpdir` the recording used, then replays with
//!    `reel replay -a <trace>` (stdin: /dev/null) and checks: replay stdout ==
//!    record stdout (byte for byte), replay stderr == record stderr (both
//!    without lines starting with `reel:`), replay status == record status;
//! 5. with `mutate-after-record`, rewrites `@tmpfile` in place (same size,
//!    other bytes) and replays again, then deletes it and replays again, each
//!    replay compared as in 4.
//!
//! Every `reel` command runs with `REEL_TRACE_DIR` inside the test's own
//! temporary directory and a deadline (see `tests/common/mod.rs`).
//!
//! ## Directives
//!
//! Lines of the form `// reel-test: KEY[=VALUE]` anywhere in the source, one
//! directive per line (an unknown key fails the test):
//!
//! | directive | meaning |
//! |---|---|
//! | `native-differs` | two native runs must print different stdout (and record's stdout is not compared with native) |
//! | `native-differs=aslr` | the same, checked only when ASLR is on (`/proc/sys/kernel/randomize_va_space` != 0) |
//! | `varies` | stdout may differ between runs; record is not compared with native, and nothing is asserted about two native runs |
//! | `stdin=TEXT` | TEXT (with `\n`, `\t`, `\\` escapes) is the program's stdin for the native run and for record; replay gets /dev/null |
//! | `exit=N` | expected status (default 0); 128+N means death by signal N; no `EXIT-SUCCESS` expected when N != 0 |
//! | `args=A B ...` | arguments, split on spaces; `@tmpfile` becomes a file the harness creates with known text content, `@tmpdir` a fresh empty directory (a different one for each run) |
//! | `mutate-after-record` | after recording, `@tmpfile` is rewritten in place, then deleted, with a replay after each |
//! | `checksum` | record with `reel record --checksum` |
//! | `record-prints=TEXT` | record's stdout must contain the line TEXT (something true only under reel; may repeat) |
//!
//! # Other tests in this file
//!
//! - `installed::*`: real programs as installed (`python3 -c`, `cat`, `date`,
//!   `ls -la /`), recorded and replayed the same way.
//! - `pty::*`: the `tty` program recorded and replayed on a pseudo-terminal
//!   (through `script(1)`), so terminal queries succeed.
//! - `dump::*`: `reel dump --json` prints one JSON object per line, at least
//!   one event, and as many lines as the text `reel dump`.
//! - `cli::*`: errors: missing program (127), non-executable (126), a
//!   directory that is not a trace (125), `-o` pointing at a non-empty
//!   directory (125); the default trace directory and `latest-trace`.

mod common;

use common::case::*;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

macro_rules! program_tests {
    ($($name:ident),* $(,)?) => {
        /// One test per `tests/programs/*.c`.
        mod programs {
            $(
                #[test]
                fn $name() {
                    super::run_program(stringify!($name));
                }
            )*
        }
        const PROGRAMS: &[&str] = &[$(stringify!($name)),*];
    };
}

program_tests!(
    auxv,
    compute,
    crash,
    dirs,
    dup2,
    exit_status,
    file_io,
    large_output,
    malloc,
    mmap_file,
    mprotect,
    pid,
    random,
    rdtsc,
    stack_addr,
    stderr,
    stdin_echo,
    syscall_invalid,
    sysinfo,
    time,
    tty,
    vdso_lookup,
    writev,
);

mod harness {
    use super::*;

    #[test]
    fn every_program_has_a_test() {
        assert_programs_listed("", PROGRAMS);
    }

    #[test]
    fn directives_parse() {
        let s = parse_spec(
            "// reel-test: native-differs=aslr\n// reel-test: stdin=a b\\nc\n// reel-test: exit=3\n\
             // reel-test: args=@tmpfile x\n// reel-test: mutate-after-record\n// reel-test: checksum\n",
            "t.c",
        );
        assert_eq!(s.differs, Differs::Aslr);
        assert_eq!(s.stdin.as_deref(), Some(&b"a b\nc"[..]));
        assert_eq!(s.exit, 3);
        assert_eq!(s.args, ["@tmpfile", "x"]);
        assert!(s.mutate && s.checksum && !s.varies);
        for name in PROGRAMS {
            let src = std::fs::read_to_string(programs_dir().join(format!("{name}.c"))).unwrap();
            parse_spec(&src, name);
        }
    }
}

/// Real programs as installed (single-process ones).
mod installed {
    use super::*;

    fn python3() -> String {
        // Not a pyenv shim (a shell script that runs other processes).
        if Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3".into()
        } else {
            "python3".into()
        }
    }

    fn argv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn installed_spec() -> Spec {
        Spec {
            marker: false,
            ..Spec::default()
        }
    }

    #[test]
    fn python3_time_random_pid() {
        let spec = Spec {
            differs: Differs::Always,
            ..installed_spec()
        };
        let py = python3();
        check_case(
            "python3",
            &argv(&[
                &py,
                "-c",
                "import time,random,os; print(time.time(), random.random(), os.getpid())",
            ]),
            &spec,
        );
    }

    #[test]
    fn cat_file_changed_after_recording() {
        let spec = Spec {
            args: vec!["@tmpfile".into()],
            mutate: true,
            ..installed_spec()
        };
        check_case("cat", &argv(&["cat"]), &spec);
    }

    #[test]
    fn date() {
        let spec = Spec {
            differs: Differs::Always,
            ..installed_spec()
        };
        check_case("date", &argv(&["date", "+%s.%N %A %d %B %Y %Z"]), &spec);
    }

    #[test]
    fn date_default_format() {
        let spec = Spec {
            varies: true,
            ..installed_spec()
        };
        check_case("date-plain", &argv(&["date"]), &spec);
    }

    #[test]
    fn ls_la_root() {
        // /tmp's times and link count change while tests run.
        let spec = Spec {
            varies: true,
            ..installed_spec()
        };
        check_case("ls", &argv(&["ls", "-la", "/"]), &spec);
    }
}

/// The terminal program on a real pseudo-terminal, through script(1).
mod pty {
    use super::*;

    fn quote(p: &Path) -> String {
        format!("'{}'", p.to_string_lossy().replace('\'', "'\\''"))
    }

    /// Runs `cmd` (a shell command) on a fresh 80x24 pty; returns what the
    /// terminal showed (stdout and stderr merged, with \r\n line ends).
    fn on_pty(sb: &Sandbox, cmd: &str) -> Output {
        let mut c = Command::new("script");
        c.arg("-qec")
            .arg(format!("stty rows 24 cols 80 2>/dev/null; exec {cmd}"))
            .arg("/dev/null")
            .env("REEL_TRACE_DIR", sb.trace_dir());
        run(&mut c, None)
    }

    #[test]
    fn tty_on_a_terminal() {
        if Command::new("script").arg("--version").output().is_err() {
            eprintln!("script(1) not installed: skipped");
            return;
        }
        let sb = Sandbox::new("pty");
        let bin = compile_c(&programs_dir().join("tty.c"), sb.path());
        let native = on_pty(&sb, &quote(&bin));
        assert_eq!(
            native.status,
            0,
            "native run on a pty:\n{}",
            native.describe()
        );
        assert!(
            native.stdout_str().contains("fd 1: isatty 1")
                && native.stdout_str().contains("winsize 80x24"),
            "script(1) did not give the program a terminal:\n{}",
            native.describe()
        );
        let trace = sb.path().join("trace");
        let rec = on_pty(
            &sb,
            &format!(
                "{} record -o {} {}",
                quote(Path::new(REEL)),
                quote(&trace),
                quote(&bin)
            ),
        );
        let mut failures = Vec::new();
        if rec.status != 0 {
            failures.push(format!("record status {}", rec.status));
        }
        let rec_shown = without_reel_lines(&rec.stdout);
        if let Some(d) = difference(&native.stdout, &rec_shown) {
            failures.push(format!("record differs from the native run: {d}"));
        }
        let rep = on_pty(
            &sb,
            &format!("{} replay -a {}", quote(Path::new(REEL)), quote(&trace)),
        );
        if rep.status != rec.status {
            failures.push(format!(
                "replay status {} but record's was {}",
                rep.status, rec.status
            ));
        }
        if let Some(d) = difference(&rec_shown, &without_reel_lines(&rep.stdout)) {
            failures.push(format!("replay differs from record: {d}"));
        }
        assert!(
            failures.is_empty(),
            "{}\nrecord:\n{}\nreplay:\n{}",
            failures.join("\n"),
            rec.describe(),
            rep.describe()
        );
    }
}

/// `reel dump` on recorded programs.
mod dump {
    use super::*;

    fn record_program(sb: &Sandbox, name: &str, stdin: Option<&[u8]>) -> PathBuf {
        let bin = compile_c(&programs_dir().join(format!("{name}.c")), sb.path());
        let trace = sb.path().join("trace");
        let rec = sb.record(&trace, false, &[bin.to_string_lossy().into_owned()], stdin);
        assert!(
            rec.status == 0 || rec.status == 139,
            "reel record failed:\n{}",
            rec.describe()
        );
        trace
    }

    fn check(name: &str, stdin: Option<&[u8]>) {
        let sb = Sandbox::new(&format!("dump-{name}"));
        let trace = record_program(&sb, name, stdin);
        let json = sb.dump_json_events(&trace);
        let text = sb.dump_text_lines(&trace);
        assert_eq!(
            json, text,
            "reel dump --json lists {json} events but reel dump prints {text} lines"
        );
    }

    #[test]
    fn time_json_lines() {
        check("time", None);
    }

    #[test]
    fn stdin_echo_json_lines() {
        check("stdin_echo", Some(b"one\ntwo\n"));
    }

    #[test]
    fn crash_json_lines() {
        check("crash", None);
    }

    #[test]
    fn same_program_same_event_count() {
        // A deterministic program makes the same syscalls every time it runs
        // under reel, so two recordings list the same number of events.
        let sb = Sandbox::new("dump-twice");
        let bin = compile_c(&programs_dir().join("writev.c"), sb.path());
        let argv = [bin.to_string_lossy().into_owned()];
        let (t1, t2) = (sb.path().join("t1"), sb.path().join("t2"));
        let r1 = sb.record(&t1, false, &argv, None);
        let r2 = sb.record(&t2, false, &argv, None);
        assert_eq!(r1.status, 0, "{}", r1.describe());
        assert_eq!(r2.status, 0, "{}", r2.describe());
        assert_eq!(sb.dump_json_events(&t1), sb.dump_json_events(&t2));
    }
}

/// Command-line errors and defaults.
mod cli {
    use super::*;

    fn assert_clean_error(out: &Output, status: i32, what: &str) {
        let err = out.stderr_str();
        assert_eq!(
            out.status,
            status,
            "{what}: wrong status\n{}",
            out.describe()
        );
        assert!(
            !err.contains("panicked"),
            "{what}: reel panicked\n{}",
            out.describe()
        );
        assert!(
            err.lines().next().is_some_and(|l| l.starts_with("reel:")),
            "{what}: stderr does not start with a `reel:` message\n{}",
            out.describe()
        );
    }

    #[test]
    fn bad_usage_exits_125() {
        let sb = Sandbox::new("cli-usage");
        for args in [
            &["record"][..],
            &["no-such-command"],
            &["replay", "--no-such-flag"],
        ] {
            let out = run(sb.reel().args(args), None);
            assert_clean_error(&out, 125, &format!("reel {}", args.join(" ")));
        }
        let help = run(sb.reel().arg("--help"), None);
        assert_eq!(help.status, 0, "{}", help.describe());
    }

    #[test]
    fn missing_program_exits_127() {
        let sb = Sandbox::new("cli-missing");
        for prog in ["reel-no-such-program-xyz", "/nonexistent/dir/prog"] {
            let out = sb.record(
                &sb.path().join(format!("t{}", prog.len())),
                false,
                &[prog.into()],
                None,
            );
            assert_clean_error(&out, 127, &format!("record {prog}"));
            assert_eq!(
                out.stderr_str().lines().count(),
                1,
                "expected exactly one line on stderr\n{}",
                out.describe()
            );
            assert!(
                out.stdout.is_empty(),
                "stdout not empty\n{}",
                out.describe()
            );
        }
    }

    #[test]
    fn non_executable_exits_126() {
        let sb = Sandbox::new("cli-noexec");
        let file = sb.path().join("not-executable");
        std::fs::write(&file, "#!/bin/sh\necho hi\n").unwrap();
        let out = sb.record(
            &sb.path().join("t1"),
            false,
            &[file.to_string_lossy().into_owned()],
            None,
        );
        assert_clean_error(&out, 126, "record a file without execute permission");
        let dir = sb.path().join("a-directory");
        std::fs::create_dir(&dir).unwrap();
        let out = sb.record(
            &sb.path().join("t2"),
            false,
            &[dir.to_string_lossy().into_owned()],
            None,
        );
        assert_clean_error(&out, 126, "record a directory");
    }

    #[test]
    fn replay_of_a_non_trace_exits_125() {
        let sb = Sandbox::new("cli-notrace");
        let junk = sb.path().join("junk-dir");
        std::fs::create_dir(&junk).unwrap();
        std::fs::write(junk.join("events"), b"this is not a reel trace").unwrap();
        let empty = sb.path().join("empty-dir");
        std::fs::create_dir(&empty).unwrap();
        let file = sb.path().join("a-file");
        std::fs::write(&file, b"hello").unwrap();
        for (p, what) in [
            (
                PathBuf::from("/tmp/not-a-trace-dir-reel-test"),
                "a missing directory",
            ),
            (junk, "a directory of junk"),
            (empty, "an empty directory"),
            (file, "a plain file"),
        ] {
            let out = sb.replay(&p);
            assert_clean_error(&out, 125, &format!("replay -a {what}"));
            assert!(
                out.stdout.is_empty(),
                "replay of {what} printed on stdout\n{}",
                out.describe()
            );
        }
    }

    #[test]
    fn output_dir_not_empty_exits_125() {
        let sb = Sandbox::new("cli-nonempty");
        let out_dir = sb.path().join("out");
        std::fs::create_dir(&out_dir).unwrap();
        std::fs::write(out_dir.join("precious"), b"keep me").unwrap();
        let marker = sb.path().join("marker");
        let out = sb.record(
            &out_dir,
            false,
            &["touch".into(), marker.to_string_lossy().into_owned()],
            None,
        );
        assert_clean_error(&out, 125, "record -o <non-empty dir>");
        assert!(!marker.exists(), "the program ran although -o was refused");
        let entries: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
        assert_eq!(entries.len(), 1, "reel changed the non-empty -o directory");
        assert_eq!(std::fs::read(out_dir.join("precious")).unwrap(), b"keep me");
    }

    #[test]
    fn output_dir_empty_is_accepted() {
        let sb = Sandbox::new("cli-empty-o");
        let out_dir = sb.path().join("out");
        std::fs::create_dir(&out_dir).unwrap();
        let out = sb.record(&out_dir, false, &["echo".into(), "hello".into()], None);
        assert_eq!(out.status, 0, "{}", out.describe());
        assert_eq!(out.stdout, b"hello\n");
        let rep = sb.replay(&out_dir);
        assert_eq!(rep.status, 0, "{}", rep.describe());
        assert_eq!(rep.stdout, b"hello\n", "{}", rep.describe());
    }

    #[test]
    fn default_trace_dir_and_latest_trace() {
        let sb = Sandbox::new("cli-default");
        let out = run(
            sb.reel().args(["record", "echo", "from the default dir"]),
            None,
        );
        assert_eq!(out.status, 0, "{}", out.describe());
        assert_eq!(out.stdout, b"from the default dir\n");
        let td = sb.trace_dir();
        assert!(td.is_dir(), "REEL_TRACE_DIR was not created");
        assert!(
            td.join("latest-trace").exists(),
            "no latest-trace in REEL_TRACE_DIR: {:?}",
            std::fs::read_dir(&td).map(|d| d.map(|e| e.unwrap().file_name()).collect::<Vec<_>>())
        );
        // replay -a without TRACE replays the latest one.
        let rep = run(sb.reel().args(["replay", "-a"]), None);
        assert_eq!(rep.status, 0, "{}", rep.describe());
        assert_eq!(rep.stdout, b"from the default dir\n", "{}", rep.describe());
        // A second recording becomes the latest.
        let out = run(sb.reel().args(["record", "sh", "-c", "exit 7"]), None);
        assert_eq!(out.status, 7, "{}", out.describe());
        let rep = run(sb.reel().args(["replay", "-a"]), None);
        assert_eq!(rep.status, 7, "{}", rep.describe());
    }
}
