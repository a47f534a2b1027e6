//! Memory and IPC (issue 12): System V shared memory, semaphores and
//! message queues, shared and remapped mappings, huge sparse files.
//!
//! - `programs::*`: one test per `tests/programs/memory/*.c` (but those
//!   in `OWN_TESTS`), checked by the harness of `tests/programs.rs` (native
//!   run, record, replay; see the top of that file).
//! - `process_vm_writev_is_named`: the refused call has its `reel:` line.
//! - `snapshots::*`: a 100 GiB sparse file and a 1 TiB memfd leave a small
//!   trace (recorded with a `--max-snapshot` that stops reel writing more,
//!   so a regression cannot fill the disk); `--max-snapshot` refuses a
//!   larger mapping with a `reel:` line and a trace that replays.

mod common;

use common::case::*;
use common::*;
use std::path::Path;
use std::process::Command;

macro_rules! memory_programs {
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {
        /// One test per `tests/programs/memory/*.c`.
        mod programs {
            $(
                #[test]
                $(#[$m])*
                fn $name() {
                    super::run_program(concat!("memory/", stringify!($name)));
                }
            )*
        }
        const PROGRAMS: &[&str] = &[$(stringify!($name)),*];
    };
}

memory_programs!(
    read_child_memory,
    shared_file_writes,
    snapshot_limit,
    sysv_sem_msg,
    sysv_shm,
);

/// Programs with tests of their own below, not run by the plain harness.
const OWN_TESTS: &[&str] = &["sparse_huge"];

#[test]
fn every_program_has_a_test() {
    let all: Vec<&str> = PROGRAMS.iter().chain(OWN_TESTS).copied().collect();
    assert_programs_listed("memory", &all);
}

#[test]
fn directives_parse() {
    for name in PROGRAMS.iter().chain(OWN_TESTS) {
        let path = programs_dir().join(format!("memory/{name}.c"));
        parse_spec(&std::fs::read_to_string(path).unwrap(), name);
    }
}

/// Bytes the files under `dir` occupy on disk (holes do not count).
fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            total += disk_usage(&entry.path());
        } else {
            total += meta.blocks() * 512;
        }
    }
    total
}

/// Writing another recorded process's memory is refused with a line that
/// names the call; reading it is recorded (the harness test replays it).
#[test]
fn process_vm_writev_is_named() {
    let sb = Sandbox::new("mem-vm-writev");
    let p = compile_program("memory/read_child_memory");
    let trace = sb.path().join("trace");
    let rec = sb.record(&trace, false, &p.argv, None);
    assert_eq!(rec.status, 0, "{}", rec.describe());
    assert!(
        rec.stderr_str()
            .lines()
            .any(|l| l.starts_with("reel: ") && l.contains("process_vm_writev")),
        "{}",
        rec.describe()
    );
    sb.assert_replays_like(&trace, &rec);
}

mod snapshots {
    use super::*;

    #[test]
    fn huge_sparse_mappings_leave_a_small_trace() {
        let sb = Sandbox::new("mem-sparse");
        let p = compile_program("memory/sparse_huge");
        let work = sb.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        let (bin, dir) = (p.argv[0].as_str(), work.to_str().unwrap());
        let native = run(Command::new(bin).arg(dir), None);
        assert_eq!(native.status, 0, "native run:\n{}", native.describe());

        let trace = sb.path().join("trace");
        // A snapshot never writes more than --max-snapshot: were the holes
        // copied, the recording would fail rather than fill the disk.
        let rec = run(
            sb.reel()
                .args(["record", "--max-snapshot", "64M", "-o"])
                .arg(&trace)
                .args([bin, dir]),
            None,
        );
        let _ = std::fs::remove_dir_all(&work);
        assert_eq!(
            (rec.status, rec.stdout_str()),
            (0, native.stdout_str()),
            "record:\n{}",
            rec.describe()
        );
        let used = disk_usage(&trace);
        assert!(
            used < 10 << 20,
            "the trace takes {used} bytes on disk:\n{}",
            rec.describe()
        );
        sb.assert_replays_like(&trace, &rec);
    }

    #[test]
    fn a_mapping_past_max_snapshot_is_refused_and_the_trace_replays() {
        let sb = Sandbox::new("mem-limit");
        let p = compile_program("memory/snapshot_limit");
        let trace = sb.path().join("trace");
        let rec = run(
            sb.reel()
                .args(["record", "--max-snapshot", "4M", "-o"])
                .arg(&trace)
                .arg(&p.argv[0]),
            None,
        );
        assert_eq!(rec.status, 0, "{}", rec.describe());
        let out = rec.stdout_str();
        assert!(
            out.contains("large: mmap failed: Cannot allocate memory")
                && out.contains("small: mapped, last byte a"),
            "{}",
            rec.describe()
        );
        let named: Vec<String> = rec
            .stderr_str()
            .lines()
            .filter(|l| l.starts_with("reel: mmap of /memfd:large") && l.contains("4 MiB"))
            .map(str::to_string)
            .collect();
        assert_eq!(named.len(), 1, "{}", rec.describe());
        sb.assert_replays_like(&trace, &rec);
    }

    #[test]
    fn a_bad_max_snapshot_is_a_clear_error() {
        let sb = Sandbox::new("mem-limit-bad");
        let out = run(
            sb.reel()
                .env("REEL_MAX_SNAPSHOT", "lots")
                .args(["record", "true"]),
            None,
        );
        assert_eq!(out.status, 125, "{}", out.describe());
        let err = out.stderr_str();
        assert!(
            err.lines().count() == 1 && err.starts_with("reel: ") && err.contains("lots"),
            "{}",
            out.describe()
        );
    }
}
