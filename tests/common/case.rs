//! The record/replay check of one C program under `tests/programs/`,
//! driven by the `// reel-test:` directives in its source (documented at the
//! top of `tests/programs.rs`). Shared by every test file that runs programs.

use super::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where the C sources live.
pub fn programs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Differs {
    /// Not asserted.
    No,
    /// Two native runs must differ.
    Always,
    /// Two native runs must differ when ASLR is on.
    Aslr,
}

/// What the harness expects of one program (parsed from its directives).
#[derive(Debug, Clone)]
pub struct Spec {
    pub differs: Differs,
    pub varies: bool,
    pub stdin: Option<Vec<u8>>,
    pub exit: i32,
    pub args: Vec<String>,
    pub mutate: bool,
    pub checksum: bool,
    /// Lines record's stdout must contain.
    pub record_prints: Vec<String>,
    /// Expect `EXIT-SUCCESS` as the last line of stdout when `exit` is 0.
    pub marker: bool,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            differs: Differs::No,
            varies: false,
            stdin: None,
            exit: 0,
            args: Vec::new(),
            mutate: false,
            checksum: false,
            record_prints: Vec::new(),
            marker: true,
        }
    }
}

pub fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push(b'\n'),
                Some('t') => out.push(b'\t'),
                Some('\\') => out.push(b'\\'),
                Some(o) => panic!("unknown escape \\{o} in stdin directive"),
                None => out.push(b'\\'),
            }
        } else {
            let mut b = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }
    }
    out
}

pub fn parse_spec(source: &str, file: &str) -> Spec {
    let mut spec = Spec::default();
    for line in source.lines() {
        let Some(rest) = line.trim_start().strip_prefix("// reel-test:") else {
            continue;
        };
        let d = rest.trim();
        let (key, value) = match d.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v)),
            None => (d, None),
        };
        match (key, value) {
            ("native-differs", None) => spec.differs = Differs::Always,
            ("native-differs", Some("aslr")) => spec.differs = Differs::Aslr,
            ("varies", None) => spec.varies = true,
            ("stdin", Some(v)) => spec.stdin = Some(unescape(v)),
            ("exit", Some(v)) => {
                spec.exit = v
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{file}: bad exit={v}"))
            }
            ("args", Some(v)) => spec.args = v.split_whitespace().map(String::from).collect(),
            ("mutate-after-record", None) => spec.mutate = true,
            ("checksum", None) => spec.checksum = true,
            ("record-prints", Some(v)) => spec.record_prints.push(v.to_string()),
            _ => panic!("{file}: unknown directive `// reel-test: {d}`"),
        }
    }
    spec
}

/// Text of the `@tmpfile` input: about 11 KiB over three pages.
pub fn input_text() -> Vec<u8> {
    let mut s = String::new();
    for i in 0..250 {
        let _ = writeln!(s, "{i:05} the recorded contents of the input file");
    }
    s.into_bytes()
}

/// The same size as [`input_text`], other bytes.
pub fn changed_text() -> Vec<u8> {
    input_text()
        .iter()
        .map(|&c| if c == b'\n' { c } else { b'X' })
        .collect()
}

/// Records and replays one program; `argv[0]` is a path or a name looked up
/// in PATH. Panics with every failed check.
pub fn check_case(name: &str, argv: &[String], spec: &Spec) {
    let sb = Sandbox::new(name);
    check_case_in(&sb, name, argv, spec);
}

pub fn check_case_in(sb: &Sandbox, name: &str, argv: &[String], spec: &Spec) {
    let mut failures: Vec<String> = Vec::new();
    let tmpfile = sb.path().join("input.txt");
    std::fs::write(&tmpfile, input_text()).unwrap();
    let argv_for = |tag: &str| -> (Vec<String>, Option<PathBuf>) {
        let mut dir = None;
        let v = argv
            .iter()
            .chain(spec.args.iter())
            .map(|a| match a.as_str() {
                "@tmpfile" => tmpfile.to_string_lossy().into_owned(),
                "@tmpdir" => {
                    let d = sb.path().join(format!("dir-{tag}"));
                    std::fs::create_dir_all(&d).unwrap();
                    dir = Some(d.clone());
                    d.to_string_lossy().into_owned()
                }
                _ => a.clone(),
            })
            .collect();
        (v, dir)
    };
    let stdin = spec.stdin.as_deref();

    // Expectations on one run of the program (native or recorded).
    let check_run = |what: &str, out: &Output, failures: &mut Vec<String>| {
        if out.status != spec.exit {
            failures.push(format!(
                "{what}: status {} but {} expected\n{}",
                out.status,
                spec.exit,
                out.describe()
            ));
        } else if spec.exit == 0 && spec.marker {
            let text = out.stdout_str();
            if text.lines().last() != Some("EXIT-SUCCESS") {
                failures.push(format!(
                    "{what}: last line of stdout is not EXIT-SUCCESS\n{}",
                    out.describe()
                ));
            }
        }
    };

    // 1-2. Native runs.
    let native_run = |tag: &str| {
        let (v, _) = argv_for(tag);
        run(Command::new(&v[0]).args(&v[1..]), stdin)
    };
    let native = native_run("native-1");
    check_run("native run", &native, &mut failures);
    let differs = match spec.differs {
        Differs::No => false,
        Differs::Always => true,
        Differs::Aslr => aslr_enabled(),
    };
    if differs {
        let native2 = native_run("native-2");
        check_run("second native run", &native2, &mut failures);
        if native2.stdout == native.stdout {
            failures.push(format!(
                "marked native-differs, but two native runs printed the same stdout:\n{}",
                native.describe()
            ));
        }
    }

    // 3. Record.
    let trace = sb.path().join("trace");
    let (rec_argv, rec_dir) = argv_for("record");
    let rec = sb.record(&trace, spec.checksum, &rec_argv, stdin);
    check_run("reel record", &rec, &mut failures);
    for want in &spec.record_prints {
        if !rec.stdout_str().lines().any(|l| l == want) {
            failures.push(format!(
                "reel record: stdout lacks the line {want:?}\n{}",
                rec.describe()
            ));
        }
    }
    if spec.differs == Differs::No && !spec.varies {
        if let Some(d) = difference(&native.stdout, &rec.stdout) {
            failures.push(format!(
                "reel record: stdout differs from the native run: {d}\n{}",
                rec.describe()
            ));
        }
        if let Some(d) = difference(&native.stderr, &without_reel_lines(&rec.stderr)) {
            failures.push(format!(
                "reel record: stderr (without reel: lines) differs from the native run: {d}\n{}",
                rec.describe()
            ));
        }
    }
    if let Some(d) = rec_dir {
        let _ = std::fs::remove_dir_all(d);
    }

    // 4-5. Replays.
    let mut replay_and_compare = |what: &str| {
        let rep = sb.replay(&trace);
        let mut problems = Vec::new();
        if rep.status != rec.status {
            problems.push(format!(
                "status {} but record's was {}",
                rep.status, rec.status
            ));
        }
        if let Some(d) = difference(&rec.stdout, &rep.stdout) {
            problems.push(format!("stdout differs from record's: {d}"));
        }
        let (rs, ps) = (
            without_reel_lines(&rec.stderr),
            without_reel_lines(&rep.stderr),
        );
        if let Some(d) = difference(&rs, &ps) {
            problems.push(format!(
                "stderr (without reel: lines) differs from record's: {d}"
            ));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{what}: {}\n{}",
                problems.join("\n"),
                rep.describe()
            ));
        }
    };
    replay_and_compare("reel replay -a");
    if spec.mutate {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&tmpfile)
            .and_then(|mut f| std::io::Write::write_all(&mut f, &changed_text()))
            .unwrap();
        replay_and_compare("reel replay -a after the input file was rewritten in place");
        std::fs::remove_file(&tmpfile).unwrap();
        replay_and_compare("reel replay -a after the input file was deleted");
    }

    if !failures.is_empty() {
        panic!(
            "{name}: {} failed check(s)\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

/// A compiled `tests/programs/<name>.c`: its argv, its directives, and the
/// directory that holds the binary (kept alive as long as the value).
pub struct Compiled {
    /// `[binary]`.
    pub argv: Vec<String>,
    /// The `// reel-test:` directives.
    pub spec: Spec,
    _bins: tempfile::TempDir,
}

/// Compiles `tests/programs/<name>.c` (`name` may name a subdirectory:
/// `processes/fork_wait`) and reads its directives.
pub fn compile_program(name: &str) -> Compiled {
    let src = programs_dir().join(format!("{name}.c"));
    let source = std::fs::read_to_string(&src)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", src.display()));
    let spec = parse_spec(&source, &format!("{name}.c"));
    let bins = tempfile::Builder::new()
        .prefix(&format!("reel-bin-{}-", name.replace('/', "-")))
        .tempdir()
        .unwrap();
    let bin = compile_c(&src, bins.path());
    Compiled {
        argv: vec![bin.to_string_lossy().into_owned()],
        spec,
        _bins: bins,
    }
}

/// Compiles and checks `tests/programs/<name>.c`.
pub fn run_program(name: &str) {
    let p = compile_program(name);
    check_case(name, &p.argv, &p.spec);
}

/// Checks that the `.c` files of `tests/programs/<subdir>` (the top level
/// for "") are exactly the programs a test file lists, so that no program is
/// forgotten.
pub fn assert_programs_listed(subdir: &str, listed: &[&str]) {
    let dir = programs_dir().join(subdir);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "c").then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    files.sort();
    let mut listed: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        files,
        listed,
        "the .c files of {} and the test list disagree",
        dir.display()
    );
}
