//! The vDSO of a program just exec'd, rewritten so that it stays in the
//! address space (Go's runtime and other programs look it up themselves and
//! crash without it) while every call into it is a real syscall that reel
//! records or serves from a trace: each function the vDSO exports becomes
//! `mov eax, NR; syscall; ret`, and one with no syscall equivalent returns
//! `-ENOSYS`, so nothing reads the kernel's time pages (`[vvar]`), which are
//! neither recorded nor there at replay.

use crate::mem::Memory;
use crate::task::Stopped;
use crate::Result;

const SHT_DYNSYM: u32 = 11;
const PT_LOAD: u32 = 1;
const STT_FUNC: u8 = 2;

/// The functions a vDSO exports and the syscall each stands for.
const CALLS: &[(&str, u32)] = &[
    ("clock_gettime", libc::SYS_clock_gettime as u32),
    ("gettimeofday", libc::SYS_gettimeofday as u32),
    ("time", libc::SYS_time as u32),
    ("clock_getres", libc::SYS_clock_getres as u32),
    ("getcpu", libc::SYS_getcpu as u32),
];

/// The vDSO's address from the auxv of a task stopped right after its exec
/// (None when the kernel gave it none).
pub fn vdso_base(task: &Stopped, mem: &Memory) -> Result<Option<u64>> {
    crate::auxv::find(task, mem, crate::auxv::AT_SYSINFO_EHDR)?
        .map(|at| mem.read_u64(task, at + 8))
        .transpose()
}

/// Rewrites the vDSO of a task stopped right after its exec (see the module
/// doc). Returns the number of functions rewritten (0 without a vDSO).
pub fn patch_vdso(task: &mut Stopped, mem: &Memory) -> Result<usize> {
    let Some(base) = vdso_base(task, mem)? else {
        return Ok(0);
    };
    let Some(map) = crate::proc::maps(task.tid())?
        .into_iter()
        .find(|m| m.start == base)
    else {
        return Ok(0);
    };
    let image = mem.read(task, base, (map.end - map.start) as usize)?;
    let mut done = 0;
    for (offset, size, name) in functions(&image).unwrap_or_default() {
        let code = stub_for(name.strip_prefix("__vdso_").unwrap_or(&name));
        if size < code.len() as u64 || offset + code.len() as u64 > image.len() as u64 {
            continue;
        }
        mem.write(task, base + offset, &code)?;
        done += 1;
    }
    Ok(done)
}

/// The replacement code of the function `name` (without its `__vdso_`).
fn stub_for(name: &str) -> Vec<u8> {
    match CALLS.iter().find(|(n, _)| *n == name) {
        // mov eax, NR; syscall; ret
        Some(&(_, nr)) => {
            let mut v = vec![0xb8];
            v.extend_from_slice(&nr.to_le_bytes());
            v.extend_from_slice(&[0x0f, 0x05, 0xc3]);
            v
        }
        // mov rax, -ENOSYS; ret
        None => {
            let mut v = vec![0x48, 0xc7, 0xc0];
            v.extend_from_slice(&(-libc::ENOSYS).to_le_bytes());
            v.push(0xc3);
            v
        }
    }
}

fn u16_at(b: &[u8], at: u64) -> Option<u64> {
    let at = usize::try_from(at).ok()?;
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?) as u64)
}

fn u32_at(b: &[u8], at: u64) -> Option<u64> {
    let at = usize::try_from(at).ok()?;
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?) as u64)
}

fn u64_at(b: &[u8], at: u64) -> Option<u64> {
    let at = usize::try_from(at).ok()?;
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// The exported functions of an ELF64 image as loaded: (offset from the
/// image's start, size, name). None if the image is not one reel can read.
fn functions(image: &[u8]) -> Option<Vec<(u64, u64, String)>> {
    if image.get(..4)? != b"\x7fELF" || *image.get(4)? != 2 {
        return None;
    }
    // Symbol values are link-time addresses: the first PT_LOAD (at file
    // offset 0) says where the image was linked.
    let (phoff, phentsize, phnum) = (
        u64_at(image, 0x20)?,
        u16_at(image, 0x36)?,
        u16_at(image, 0x38)?,
    );
    let link_base = (0..phnum)
        .map(|i| phoff + i * phentsize)
        .find(|&ph| u32_at(image, ph) == Some(PT_LOAD as u64))
        .and_then(|ph| u64_at(image, ph + 0x10))?;
    let (shoff, shentsize, shnum) = (
        u64_at(image, 0x28)?,
        u16_at(image, 0x3a)?,
        u16_at(image, 0x3c)?,
    );
    let section = |i: u64| shoff + i * shentsize;
    let dynsym = (0..shnum)
        .map(section)
        .find(|&s| u32_at(image, s + 4) == Some(SHT_DYNSYM as u64))?;
    let (symoff, symsize) = (u64_at(image, dynsym + 0x18)?, u64_at(image, dynsym + 0x20)?);
    let strtab = section(u32_at(image, dynsym + 0x28)?);
    let stroff = u64_at(image, strtab + 0x18)?;
    let mut out = Vec::new();
    for sym in (symoff..symoff + symsize).step_by(24) {
        let info = *image.get(usize::try_from(sym + 4).ok()?)?;
        let (value, size) = (u64_at(image, sym + 8)?, u64_at(image, sym + 16)?);
        if info & 0xf != STT_FUNC || value < link_base || size == 0 {
            continue;
        }
        let name_at = usize::try_from(stroff + u32_at(image, sym)?).ok()?;
        let name = image.get(name_at..)?.split(|&c| c == 0).next()?;
        let offset = value - link_base;
        // The same function under two names (clock_gettime, __vdso_clock_gettime).
        if out.iter().any(|(o, _, _)| *o == offset) {
            continue;
        }
        out.push((offset, size, String::from_utf8_lossy(name).into_owned()));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_function_becomes_its_syscall() {
        assert_eq!(stub_for("time"), [0xb8, 201, 0, 0, 0, 0x0f, 0x05, 0xc3]);
        assert_eq!(stub_for("getrandom")[..3], [0x48, 0xc7, 0xc0]);
    }

    #[test]
    fn a_truncated_image_is_not_read() {
        assert!(functions(b"\x7fELF\x02").is_none());
        assert!(functions(b"").is_none());
    }
}
