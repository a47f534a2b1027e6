//! Process trees recorded and replayed: fork, vfork, clone, exec, pipes,
//! wait, sessions, orphans (issue 4).
//!
//! - `programs::*`: one test per `tests/programs/processes/*.c`, checked by
//!   the same harness and `// reel-test:` directives as `tests/programs.rs`
//!   (native run, record, replay; see the top of that file).
//! - `workloads::*`: real installed programs that run process trees (`sh -c`
//!   pipelines, `cc`, `make -j2`, `git`, `python3` with `subprocess`),
//!   each run natively, recorded and replayed in a scratch directory that is
//!   rebuilt identically before each run and deleted before the replay.
//! - `tools::*`: `reel ps` and `reel dump --json` on multi-process traces,
//!   and the `reel:` message for a 32-bit exec.

mod common;

use common::case::*;
use common::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

macro_rules! process_programs {
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {
        /// One test per `tests/programs/processes/*.c`.
        mod programs {
            $(
                #[test]
                $(#[$m])*
                fn $name() {
                    super::run_program(concat!("processes/", stringify!($name)));
                }
            )*
        }
        const PROGRAMS: &[&str] = &[$(stringify!($name)),*];
    };
}

process_programs!(
    clone_exit_at_once,
    clone_raw,
    clone_untraced,
    exec_i386,
    exec_script,
    fd_inherit,
    fork_wait,
    getppid,
    orphan,
    pdeathsig,
    parallel_output,
    pipe_both,
    posix_spawn,
    reap_order,
    scm_rights,
    sessions,
    shared_memory,
    socketpair,
    system_popen,
    vfork_exec,
    vfork_pidfd,
    wait4_waitid,
    wait_stopped,
    zombie,
);

fn processes_dir() -> PathBuf {
    programs_dir().join("processes")
}

#[test]
fn every_program_has_a_test() {
    assert_programs_listed("processes", PROGRAMS);
}

#[test]
fn directives_parse() {
    for name in PROGRAMS {
        let src = std::fs::read_to_string(processes_dir().join(format!("{name}.c"))).unwrap();
        parse_spec(&src, name);
    }
}

fn argv(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// `/usr/bin/python3` when installed (not a pyenv shim), else `python3`.
fn python3() -> String {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3".into()
    } else {
        "python3".into()
    }
}

/// Real programs that run process trees.
mod workloads {
    use super::*;

    /// What one workload run needs.
    struct Workload<'a> {
        name: &'a str,
        argv: Vec<String>,
        env: Vec<(String, String)>,
        /// Fills the (fresh, empty) work directory before each run.
        prepare: &'a dyn Fn(&Path),
        /// Record's stdout and stderr must equal the native run's.
        same_as_native: bool,
        /// Checks on the work directory right after recording (files the
        /// recorded programs made); returns problems.
        after_record: &'a dyn Fn(&Path) -> Vec<String>,
    }

    fn no_check(_: &Path) -> Vec<String> {
        Vec::new()
    }

    fn fresh(dir: &Path) {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
    }

    /// Native run, record, replay (work directory deleted), compared.
    fn check(w: &Workload) {
        let sb = Sandbox::new(&format!("proc-{}", w.name));
        let work = sb.path().join("work");
        let mut failures = Vec::new();

        fresh(&work);
        (w.prepare)(&work);
        let mut c = Command::new(&w.argv[0]);
        c.args(&w.argv[1..]).current_dir(&work);
        for (k, v) in &w.env {
            c.env(k, v);
        }
        let native = run(&mut c, None);
        assert_eq!(
            native.status,
            0,
            "native run failed:\n{}",
            native.describe()
        );

        fresh(&work);
        (w.prepare)(&work);
        let trace = sb.path().join("trace");
        let mut c = sb.reel();
        c.arg("record")
            .arg("-o")
            .arg(&trace)
            .args(&w.argv)
            .current_dir(&work);
        for (k, v) in &w.env {
            c.env(k, v);
        }
        let rec = run(&mut c, None);
        if rec.status != native.status {
            failures.push(format!(
                "record status {} but native {}",
                rec.status, native.status
            ));
        }
        if w.same_as_native {
            if let Some(d) = difference(&native.stdout, &rec.stdout) {
                failures.push(format!("record stdout differs from native: {d}"));
            }
            if let Some(d) = difference(&native.stderr, &without_reel_lines(&rec.stderr)) {
                failures.push(format!("record stderr differs from native: {d}"));
            }
        }
        failures.extend((w.after_record)(&work));
        std::fs::remove_dir_all(&work).unwrap();

        let rep = sb.replay(&trace);
        if rep.status != rec.status {
            failures.push(format!(
                "replay status {} but record's {}",
                rep.status, rec.status
            ));
        }
        if let Some(d) = difference(&rec.stdout, &rep.stdout) {
            failures.push(format!("replay stdout differs from record's: {d}"));
        }
        if let Some(d) = difference(
            &without_reel_lines(&rec.stderr),
            &without_reel_lines(&rep.stderr),
        ) {
            failures.push(format!("replay stderr differs from record's: {d}"));
        }
        if work.exists() {
            failures.push("replay re-created the deleted work directory".into());
        }
        assert!(
            failures.is_empty(),
            "{}: {} failed check(s)\n{}\n\nnative:\n{}\nrecord:\n{}\nreplay:\n{}",
            w.name,
            failures.len(),
            failures.join("\n"),
            native.describe(),
            rec.describe(),
            rep.describe()
        );
    }

    fn simple(name: &str, argv: Vec<String>) -> Workload<'_> {
        Workload {
            name,
            argv,
            env: Vec::new(),
            prepare: &|_| {},
            same_as_native: true,
            after_record: &no_check,
        }
    }

    #[test]
    fn sh_pipeline_sort_uniq() {
        check(&simple(
            "pipeline",
            argv(&[
                "sh",
                "-c",
                "echo 'pear apple fig apple pear apple' | tr ' ' '\\n' | sort | uniq -c | sort -rn",
            ]),
        ));
    }

    const SUBSHELLS: &str =
        "for i in 1 2 3 4; do (echo \"sub $i\"; (echo \"nested $((i * 10))\" >&2)); \
         x=$(echo \"cmd-subst $i\" | tr a-z A-Z); echo \"$x\"; done; \
         ( exit 3 ); echo \"subshell status $?\"; \
         sh -c 'echo inner sh; exit 5'; echo \"inner status $?\"; \
         echo a | { read v; echo \"read $v\"; }";

    /// dash (`sh`) runs a simple external command with vfork.
    #[test]
    fn sh_loop_with_subshells() {
        check(&simple("subshells", argv(&["sh", "-c", SUBSHELLS])));
    }

    /// The same under bash, which forks (no vfork).
    #[test]
    fn bash_loop_with_subshells() {
        check(&simple("bash-subshells", argv(&["bash", "-c", SUBSHELLS])));
    }

    /// The smallest shell case of vfork: dash vforks /bin/true, so the
    /// child's writes to the shared memory must be replayed before the
    /// shell's next fork (this diverged at pipe2 when they were not).
    #[test]
    fn sh_external_command_then_pipeline() {
        check(&simple(
            "sh-vfork",
            argv(&["sh", "-c", "/bin/true; echo b | cat"]),
        ));
    }

    #[test]
    fn cc_compile_and_link() {
        fn prepare(d: &Path) {
            std::fs::write(
                d.join("hello.c"),
                "#include <stdio.h>\nint main(void) { int unused; puts(\"hello from cc\"); return 0; }\n",
            )
            .unwrap();
        }
        fn after(d: &Path) -> Vec<String> {
            let bin = d.join("hello");
            if !bin.exists() {
                return vec!["record: cc did not produce the binary".into()];
            }
            let out = run(&mut Command::new(&bin), None);
            if out.stdout_str() != "hello from cc\n" {
                return vec![format!(
                    "the binary built under reel misbehaves:\n{}",
                    out.describe()
                )];
            }
            Vec::new()
        }
        // -Wall: cc prints a warning on stderr, which replay must reproduce.
        check(&Workload {
            prepare: &prepare,
            after_record: &after,
            ..simple(
                "cc",
                argv(&["cc", "-Wall", "-O1", "-o", "hello", "hello.c"]),
            )
        });
    }

    #[test]
    fn make_j2() {
        fn prepare(d: &Path) {
            let mut objs = Vec::new();
            let mut calls = String::new();
            for i in 0..6 {
                std::fs::write(
                    d.join(format!("f{i}.c")),
                    format!("int f{i}(int x) {{ return x * {} + {i}; }}\n", i + 2),
                )
                .unwrap();
                objs.push(format!("f{i}.o"));
                calls.push_str(&format!("  int f{i}(int); s += f{i}({i});\n"));
            }
            std::fs::write(
                d.join("main.c"),
                format!(
                    "#include <stdio.h>\nint main(void) {{\n  int s = 0;\n{calls}  printf(\"sum %d\\n\", s);\n  return 0;\n}}\n"
                ),
            )
            .unwrap();
            std::fs::write(
                d.join("Makefile"),
                format!(
                    "OBJS = main.o {}\nall: prog\n\t./prog\nprog: $(OBJS)\n\t@echo linking\n\t$(CC) -o $@ $(OBJS)\n%.o: %.c\n\t@$(CC) -O1 -c $< -o $@ && echo built $@\n",
                    objs.join(" ")
                ),
            )
            .unwrap();
        }
        fn after(d: &Path) -> Vec<String> {
            if d.join("prog").exists() {
                Vec::new()
            } else {
                vec!["record: make did not build prog".into()]
            }
        }
        // The order of the "built" lines depends on which job finishes
        // first. GNU make starts its jobs with posix_spawn
        // (CLONE_VM|CLONE_VFORK).
        check(&Workload {
            prepare: &prepare,
            after_record: &after,
            same_as_native: false,
            ..simple("make", argv(&["make", "-j2", "--no-print-directory"]))
        });
    }

    #[test]
    fn git_init_add_commit_log() {
        git("sh");
    }

    /// The same commands run by bash (fork, no vfork).
    #[test]
    fn git_init_add_commit_log_under_bash() {
        git("bash");
    }

    fn git(shell: &str) {
        fn prepare(d: &Path) {
            std::fs::write(d.join("README"), "a file to commit\n").unwrap();
            std::fs::create_dir(d.join("src")).unwrap();
            std::fs::write(d.join("src/lib.c"), "int f(void) { return 1; }\n").unwrap();
        }
        fn after(d: &Path) -> Vec<String> {
            if d.join(".git/HEAD").exists() {
                Vec::new()
            } else {
                vec!["record: git did not create .git".into()]
            }
        }
        let git = "git -c user.name=Reel -c user.email=reel@example.com -c init.defaultBranch=main";
        let script = format!(
            "export HOME=\"$PWD\"; {git} init -q . && {git} add . && {git} commit -q -m 'first commit' && \
             echo more >> README && {git} commit -q -am second && \
             {git} log --format='%H %an <%ae> %s' && {git} status --short && echo done"
        );
        let name = format!("git-{shell}");
        let mut w = simple(&name, argv(&[shell, "-c", &script]));
        w.prepare = &prepare;
        w.after_record = &after;
        // HOME is the work directory (set by the script): no user config.
        let dates = "2020-01-02T03:04:05 +0000";
        w.env = vec![
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            ("GIT_AUTHOR_DATE".into(), dates.into()),
            ("GIT_COMMITTER_DATE".into(), dates.into()),
            ("XDG_CONFIG_HOME".into(), "/nonexistent".into()),
        ];
        check(&w);
    }

    /// subprocess uses vfork (and posix_spawn where it can), os.system
    /// glibc's posix_spawn.
    #[test]
    fn python3_subprocess() {
        python3_subprocess_with("");
    }

    /// subprocess with fork only (`_USE_VFORK`, `_USE_POSIX_SPAWN` off).
    #[test]
    fn python3_subprocess_fork_only() {
        python3_subprocess_with(
            "subprocess._USE_VFORK = False\nsubprocess._USE_POSIX_SPAWN = False\n",
        );
    }

    fn python3_subprocess_with(setup: &str) {
        let code = String::from("import subprocess, sys\n") + setup + "\
                    r = subprocess.run(['sh', '-c', 'echo child $((6*7)); echo err >&2; exit 3'], capture_output=True, text=True)\n\
                    print('run:', r.returncode, r.stdout.strip(), r.stderr.strip())\n\
                    print('check_output:', subprocess.check_output(['echo', 'hi']).decode().strip())\n\
                    p = subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)\n\
                    out, _ = p.communicate(b'through cat')\n\
                    print('popen:', p.returncode, out.decode())\n\
                    sys.stdout.flush()\n\
                    print('os.system:', __import__('os').system('echo from os.system; exit 2') >> 8)\n";
        check(&simple("python3", argv(&[&python3(), "-c", &code])));
    }
}

/// `reel ps`, `reel dump --json` and the 32-bit exec message.
mod tools {
    use super::*;

    fn json_lines(out: &Output) -> Vec<serde_json::Value> {
        out.stdout_str()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    #[test]
    fn ps_lists_every_process_of_a_pipeline() {
        let sb = Sandbox::new("proc-ps");
        let trace = sb.path().join("trace");
        let rec = sb.record(
            &trace,
            false,
            &argv(&["sh", "-c", "echo a b | tr a-z A-Z"]),
            None,
        );
        assert_eq!(rec.status, 0, "{}", rec.describe());
        assert_eq!(rec.stdout_str(), "A B\n");
        let text = run(sb.reel().arg("ps").arg(&trace), None);
        assert_eq!(text.status, 0, "{}", text.describe());
        let out = run(sb.reel().arg("ps").arg("--json").arg(&trace), None);
        assert_eq!(out.status, 0, "{}", out.describe());
        let procs = json_lines(&out);
        // sh, the subshell running the builtin echo, tr.
        assert_eq!(
            procs.len(),
            3,
            "reel ps --json:\n{}\nreel ps:\n{}",
            out.stdout_str(),
            text.stdout_str()
        );
        // One line per process in the text form too (plus a header).
        assert_eq!(
            text.stdout_str().lines().count(),
            4,
            "{}",
            text.stdout_str()
        );
        let pids: BTreeSet<i64> = procs.iter().map(|p| p["pid"].as_i64().unwrap()).collect();
        assert_eq!(pids.len(), 3);
        let root = procs
            .iter()
            .find(|p| p["argv"][0] == "sh")
            .unwrap_or_else(|| panic!("no sh process:\n{}", out.stdout_str()));
        assert!(
            procs.iter().any(|p| p["argv"][0] == "tr"),
            "{}",
            out.stdout_str()
        );
        for p in &procs {
            if p != root {
                assert_eq!(
                    p["ppid"],
                    root["pid"],
                    "parent of {p}:\n{}",
                    out.stdout_str()
                );
            }
            assert_eq!(p["exit_status"], 0, "{}", out.stdout_str());
        }
    }

    #[test]
    fn dump_json_events_carry_each_process_tid() {
        let sb = Sandbox::new("proc-dump");
        let bin = compile_c(&processes_dir().join("reap_order.c"), sb.path());
        let trace = sb.path().join("trace");
        let rec = sb.record(&trace, false, &[bin.to_string_lossy().into_owned()], None);
        assert_eq!(rec.status, 0, "{}", rec.describe());
        let out = run(sb.reel().arg("dump").arg("--json").arg(&trace), None);
        assert_eq!(out.status, 0, "{}", out.describe());
        let events = json_lines(&out);
        let tids: BTreeSet<i64> = events.iter().filter_map(|e| e["tid"].as_i64()).collect();
        // The parent and its ten children.
        assert!(
            tids.len() >= 11,
            "only {} distinct tids: {tids:?}",
            tids.len()
        );
        let ps = run(sb.reel().arg("ps").arg("--json").arg(&trace), None);
        let pids: BTreeSet<i64> = json_lines(&ps)
            .iter()
            .map(|p| p["pid"].as_i64().unwrap())
            .collect();
        assert_eq!(tids, pids, "tids in dump and pids in ps differ");
        // Event numbers are global and increasing.
        let nums: Vec<i64> = events
            .iter()
            .map(|e| e["event"].as_i64().unwrap())
            .collect();
        assert!(
            nums.windows(2).all(|w| w[0] < w[1]),
            "event numbers not increasing"
        );
        // --tid selects one process.
        let one = *tids.iter().nth(1).unwrap();
        let sel = run(
            sb.reel()
                .arg("dump")
                .arg("--json")
                .arg("--tid")
                .arg(one.to_string())
                .arg(&trace),
            None,
        );
        let sel = json_lines(&sel);
        assert!(!sel.is_empty() && sel.iter().all(|e| e["tid"].as_i64() == Some(one)));
    }

    #[test]
    fn exec_i386_gives_enoexec_and_a_reel_message() {
        let sb = Sandbox::new("proc-i386");
        let bin = compile_c(&processes_dir().join("exec_i386.c"), sb.path());
        let dir = sb.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        let trace = sb.path().join("trace");
        let rec = sb.record(
            &trace,
            false,
            &[
                bin.to_string_lossy().into_owned(),
                dir.to_string_lossy().into_owned(),
            ],
            None,
        );
        assert_eq!(rec.status, 0, "{}", rec.describe());
        assert!(
            rec.stdout_str()
                .contains("i386 exec: execve failed with ENOEXEC"),
            "{}",
            rec.describe()
        );
        let reel_lines: Vec<String> = rec
            .stderr_str()
            .lines()
            .filter(|l| l.starts_with("reel:"))
            .map(String::from)
            .collect();
        assert!(
            reel_lines.iter().any(|l| l.contains("i386-exit42")),
            "no reel: line names the 32-bit program:\n{}",
            rec.describe()
        );
    }

    /// `reel record i386-program`: found but cannot be run by reel, so 126
    /// (as shells say "cannot execute"), not 127 ("not found").
    #[test]
    fn record_of_an_i386_program_exits_126() {
        let sb = Sandbox::new("proc-i386-direct");
        let bin = compile_c(&processes_dir().join("exec_i386.c"), sb.path());
        let dir = sb.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        // Natively the program writes the 32-bit file (and may run it).
        let native = run(Command::new(&bin).arg(&dir), None);
        assert_eq!(native.status, 0, "{}", native.describe());
        let prog = dir.join("i386-exit42").to_string_lossy().into_owned();
        let direct = sb.record(&sb.path().join("trace"), false, &[prog], None);
        assert!(
            direct.stderr_str().starts_with("reel:"),
            "{}",
            direct.describe()
        );
        assert!(
            !direct.stderr_str().contains("panicked"),
            "{}",
            direct.describe()
        );
        assert_eq!(direct.status, 126, "{}", direct.describe());
    }
}

/// Recordings that end when the recorded program does (issue 12).
mod ending {
    use super::*;

    /// A daemon left waiting for ever (`tests/programs/ending/daemon.c`):
    /// record ends when the program exits (the daemon is killed then), and
    /// the trace replays to the same output and status. Not run natively:
    /// the daemon would outlive the test. Without the feature, record hangs
    /// until the harness deadline and the test fails.
    #[test]
    fn daemon_does_not_keep_the_recording_going() {
        let sb = Sandbox::new("proc-daemon");
        let prog = compile_c(&programs_dir().join("ending").join("daemon.c"), sb.path());
        let trace = sb.path().join("trace");
        let rec = sb.record(&trace, false, &[prog.to_string_lossy().into_owned()], None);
        assert_eq!(rec.status, 0, "{}", rec.describe());
        assert_eq!(
            rec.stdout_str(),
            "parent: the daemon runs\nEXIT-SUCCESS\n",
            "{}",
            rec.describe()
        );
        assert!(
            rec.stderr_str().contains("left running"),
            "{}",
            rec.describe()
        );
        let rep = sb.replay(&trace);
        assert_eq!(rep.status, 0, "{}", rep.describe());
        assert_eq!(rep.stdout, rec.stdout, "{}", rep.describe());
    }
}
