//! The installed valgrind: where its launcher and tool binaries are, its
//! version, and the one place in a tool binary from which it issues the
//! guest's blocking syscalls (found by decoding the binary, not by address).

use crate::error::{Result, VgError};
use iced_x86::{Code, Decoder, DecoderOptions, Instruction, Mnemonic, OpKind, Register};
use std::path::{Path, PathBuf};

/// The installed valgrind, ready to launch one tool.
#[derive(Debug, Clone)]
pub struct Valgrind {
    /// What reel executes (the launcher binary, not a wrapper script).
    pub launcher: PathBuf,
    /// `valgrind --version`, e.g. `valgrind-3.19.0`.
    pub version: String,
    /// Where the tool's code lies (its executable segment).
    pub text: (u64, u64),
    /// Where valgrind issues the guest's blocking syscalls.
    pub site: GuestSite,
    /// The directory of the tool binaries and preload libraries.
    pub lib_dir: PathBuf,
}

/// The guest-syscall site of a tool binary and what it tells about the
/// guest register state.
#[derive(Debug, Clone, Copy)]
pub struct GuestSite {
    /// The address after its `syscall` instruction (rip at the stop).
    pub rip: u64,
    /// Offsets, in the guest state, of the guest's rax, rdi, rsi, rdx, r10,
    /// r8, r9: the registers a syscall takes, as that code loads them.
    pub offsets: [u64; 7],
}

/// The tools valgrind 3 ships (`--tool=`), checked against the installed
/// binaries.
pub const TOOLS: &[&str] = &[
    "memcheck",
    "cachegrind",
    "callgrind",
    "helgrind",
    "drd",
    "massif",
    "dhat",
    "lackey",
    "none",
    "exp-bbv",
];

/// Finds valgrind (`$REEL_VALGRIND`, else `valgrind` on `PATH`), checks its
/// version and the layout of the tool binary for `tool`.
pub fn locate(tool: &str) -> Result<Valgrind> {
    let given = std::env::var_os("REEL_VALGRIND").map(PathBuf::from);
    let found = match given {
        Some(p) => p.is_file().then_some(p),
        None => search_path("valgrind"),
    };
    let Some(front) = found else {
        return Err(VgError::Valgrind(
            "valgrind is not installed (no `valgrind` on PATH): install it (apt-get install valgrind) to replay with --valgrind".into(),
        ));
    };
    let out = std::process::Command::new(&front)
        .arg("--version")
        .output()
        .map_err(|source| VgError::Io {
            what: format!("running {} --version", front.display()),
            source,
        })?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let numbers: Vec<u32> = version
        .strip_prefix("valgrind-")
        .unwrap_or("")
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse().ok())
        .collect();
    if !matches!(numbers.as_slice(), [3, minor, ..] if (16..=25).contains(minor)) {
        return Err(VgError::Valgrind(format!(
            "{} reports version {:?}, which reel does not know (it knows valgrind 3.16 to 3.25, tested with 3.19)",
            front.display(),
            version
        )));
    }
    // Debian installs a shell wrapper that adds LD_LIBRARY_PATH=/usr/lib/debug
    // to the program's environment (and so changes what it opens); run the
    // launcher it wraps instead.
    let launcher = match std::fs::read(&front) {
        Ok(b) if b.starts_with(b"#!") => {
            let bin = PathBuf::from(format!("{}.bin", front.display()));
            if bin.is_file() {
                bin
            } else {
                front.clone()
            }
        }
        _ => front.clone(),
    };
    if !TOOLS.contains(&tool) {
        return Err(VgError::Valgrind(format!(
            "unknown valgrind tool {tool:?} (valgrind's tools: {})",
            TOOLS.join(", ")
        )));
    }
    let lib_dir = lib_dirs(&launcher)
        .into_iter()
        .find(|d| d.join("memcheck-amd64-linux").is_file() || d.join("none-amd64-linux").is_file())
        .ok_or_else(|| {
            VgError::Valgrind(format!(
                "{version}: no directory of valgrind tool binaries found (set VALGRIND_LIB)"
            ))
        })?;
    let tool_binary = lib_dir.join(format!("{tool}-amd64-linux"));
    if !tool_binary.is_file() {
        return Err(VgError::Valgrind(format!(
            "valgrind tool {tool:?} is not installed ({} is missing)",
            tool_binary.display()
        )));
    }
    let elf = std::fs::read(&tool_binary).map_err(|source| VgError::Io {
        what: format!("reading {}", tool_binary.display()),
        source,
    })?;
    let (text, code) = exec_segment(&elf).ok_or_else(|| {
        VgError::Valgrind(format!(
            "{version}: {} is not a 64-bit static ELF reel recognises",
            tool_binary.display()
        ))
    })?;
    let site = find_guest_site(code, text.0).ok_or_else(|| {
        VgError::Valgrind(format!(
            "{version}: reel does not recognise the layout of {} (no unique guest syscall site between two rt_sigprocmask calls)",
            tool_binary.display()
        ))
    })?;
    Ok(Valgrind {
        launcher,
        version,
        text,
        site,
        lib_dir,
    })
}

fn search_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Where valgrind's tool binaries may be: `$VALGRIND_LIB`, then the usual
/// install locations relative to the launcher.
fn lib_dirs(launcher: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("VALGRIND_LIB") {
        dirs.push(PathBuf::from(d));
    }
    if let Some(prefix) = launcher.parent().and_then(Path::parent) {
        dirs.push(prefix.join("libexec/valgrind"));
        dirs.push(prefix.join("lib/valgrind"));
        dirs.push(prefix.join("lib64/valgrind"));
    }
    dirs
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Whether `elf` is a 32-bit ELF file (`Some(true)`), 64-bit (`Some(false)`),
/// or not ELF at all.
pub fn is_elf32(elf: &[u8]) -> Option<bool> {
    if elf.get(..4) != Some(b"\x7fELF") {
        return None;
    }
    match elf.get(4) {
        Some(1) => Some(true),
        Some(2) => Some(false),
        _ => None,
    }
}

/// The executable PT_LOAD segment of a 64-bit ELF file: its address range
/// and its bytes.
fn exec_segment(elf: &[u8]) -> Option<((u64, u64), &[u8])> {
    if is_elf32(elf)? {
        return None;
    }
    let phoff = u64_at(elf, 0x20)? as usize;
    let phentsize = u16_at(elf, 0x36)? as usize;
    let phnum = u16_at(elf, 0x38)? as usize;
    let mut found = None;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        let (ty, flags) = (u32_at(elf, ph)?, u32_at(elf, ph + 4)?);
        if ty == 1 && flags & 1 != 0 {
            if found.is_some() {
                return None;
            }
            let off = u64_at(elf, ph + 8)? as usize;
            let vaddr = u64_at(elf, ph + 16)?;
            let filesz = u64_at(elf, ph + 32)? as usize;
            let memsz = u64_at(elf, ph + 40)?;
            found = Some(((vaddr, vaddr + memsz), elf.get(off..off + filesz)?));
        }
    }
    found
}

/// The argument registers of a syscall, in the order of [`GuestSite::offsets`].
const SYSCALL_REGS: [Register; 7] = [
    Register::RAX,
    Register::RDI,
    Register::RSI,
    Register::RDX,
    Register::R10,
    Register::R8,
    Register::R9,
];

/// The guest syscall site: the only `syscall` that loads all six argument
/// registers from one guest-state base just before it and sits between two
/// `rt_sigprocmask` calls (valgrind runs a guest's blocking call under the
/// guest's signal mask, set and restored around it).
fn find_guest_site(code: &[u8], base: u64) -> Option<GuestSite> {
    let mut d = Decoder::with_ip(64, code, base, DecoderOptions::NONE);
    let mut all: Vec<Instruction> = Vec::with_capacity(code.len() / 4);
    let mut ins = Instruction::default();
    while d.can_decode() {
        d.decode_out(&mut ins);
        all.push(ins);
    }
    let syscalls: Vec<usize> = (0..all.len())
        .filter(|&i| all[i].mnemonic() == Mnemonic::Syscall)
        .collect();
    // A `mov eax/rax, 14` (rt_sigprocmask) shortly before syscall `i`.
    let is_sigprocmask = |i: usize| {
        all[i.saturating_sub(6)..i].iter().any(|x| {
            matches!(x.op0_register(), Register::RAX | Register::EAX)
                && matches!(
                    x.code(),
                    Code::Mov_r64_imm64 | Code::Mov_rm64_imm32 | Code::Mov_r32_imm32
                )
                && x.immediate(1) == 14
        })
    };
    let mut found = None;
    for (k, &i) in syscalls.iter().enumerate() {
        let (Some(&prev), Some(&next)) = (
            k.checked_sub(1).and_then(|p| syscalls.get(p)),
            syscalls.get(k + 1),
        ) else {
            continue;
        };
        if i - prev > 48 || next - i > 48 || !is_sigprocmask(prev) || !is_sigprocmask(next) {
            continue;
        }
        let Some(offsets) = guest_loads(&all[prev + 1..i], &all[i + 1..next]) else {
            continue;
        };
        if found.is_some() {
            return None;
        }
        found = Some(GuestSite {
            rip: all[i].next_ip(),
            offsets,
        });
    }
    found
}

/// From the code before the guest `syscall` (`before`) and after it
/// (`after`): the offsets from one base register of the loads of rdi, rsi,
/// rdx, r10, r8, r9 and of the store of rax (the result goes back where
/// the number came from).
fn guest_loads(before: &[Instruction], after: &[Instruction]) -> Option<[u64; 7]> {
    let mut offsets = [None; 7];
    let mut base = None;
    for x in before {
        if x.mnemonic() != Mnemonic::Mov || x.op1_kind() != OpKind::Memory {
            continue;
        }
        let Some(slot) = SYSCALL_REGS[1..]
            .iter()
            .position(|&r| r == x.op0_register())
        else {
            continue;
        };
        if *base.get_or_insert(x.memory_base()) != x.memory_base() {
            return None;
        }
        offsets[slot + 1] = Some(x.memory_displacement64());
    }
    let base = base?;
    // The result is stored back through a register that held the same base
    // (it was saved on the stack around the call): any store of rax to
    // memory with a displacement.
    let store = after.iter().find(|x| {
        x.mnemonic() == Mnemonic::Mov
            && x.op0_kind() == OpKind::Memory
            && x.op1_register() == Register::RAX
            && x.memory_base() != Register::RSP
    })?;
    let _ = base;
    offsets[0] = Some(store.memory_displacement64());
    let mut out = [0u64; 7];
    for (o, v) in out.iter_mut().zip(offsets) {
        *o = v?;
    }
    Some(out)
}
