//! The register set reel shows gdb: gdbstub_arch's x86-64 core and SSE
//! registers, plus what its description lacks — `orig_rax` (gdb's Linux
//! support expects it), `fs_base`/`gs_base` (thread-local storage) and
//! the upper halves of the AVX registers (`$ymm0`...) — described by a
//! target XML of our own, in the order the `g` packet sends them.

use gdbstub::arch::{Arch, Registers};
use gdbstub_arch::x86::reg::id::X86_64CoreRegId;
use gdbstub_arch::x86::reg::X86_64CoreRegs;
use std::sync::LazyLock;

/// x86-64 Linux with the segment bases and AVX.
pub enum X86_64Linux {}

impl Arch for X86_64Linux {
    type Usize = u64;
    type Registers = LinuxRegs;
    type RegId = X86_64CoreRegId;
    type BreakpointKind = usize;

    fn target_description_xml() -> Option<&'static str> {
        Some(XML.as_str())
    }
}

/// The registers of one thread, in the target description's order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LinuxRegs {
    /// General, x87 and SSE registers.
    pub core: X86_64CoreRegs,
    /// The syscall number at a syscall stop (-1 elsewhere).
    pub orig_rax: u64,
    /// The fs segment base (glibc's thread pointer).
    pub fs_base: u64,
    /// The gs segment base.
    pub gs_base: u64,
    /// Upper 128 bits of ymm0-15; None where the CPU has no AVX.
    pub ymmh: Option<[u128; 16]>,
}

impl Registers for LinuxRegs {
    type ProgramCounter = u64;

    fn pc(&self) -> u64 {
        self.core.rip
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        self.core.gdb_serialize(&mut write_byte);
        for v in [self.orig_rax, self.fs_base, self.gs_base] {
            v.to_le_bytes().iter().for_each(|&b| write_byte(Some(b)));
        }
        for i in 0..16 {
            match &self.ymmh {
                Some(h) => h[i].to_le_bytes().iter().for_each(|&b| write_byte(Some(b))),
                None => (0..16).for_each(|_| write_byte(None)),
            }
        }
    }

    // Register writes are refused anyway; the core part is enough.
    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        self.core.gdb_deserialize(bytes)
    }
}

/// One `<reg>` line per name.
fn regs(names: impl IntoIterator<Item = String>, bits: u32, ty: &str) -> String {
    names
        .into_iter()
        .map(|n| format!("<reg name=\"{n}\" bitsize=\"{bits}\" type=\"{ty}\"/>"))
        .collect()
}

fn numbered(prefix: &str, n: usize, suffix: &str) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}{suffix}")).collect()
}

fn names(list: &str) -> Vec<String> {
    list.split_whitespace().map(str::to_string).collect()
}

/// gdb's i386 features, written out register by register.
static XML: LazyLock<String> = LazyLock::new(|| {
    let eflags_bits = [
        ("CF", 0),
        ("PF", 2),
        ("AF", 4),
        ("ZF", 6),
        ("SF", 7),
        ("TF", 8),
        ("IF", 9),
        ("DF", 10),
        ("OF", 11),
    ];
    let eflags: String = eflags_bits
        .iter()
        .map(|(n, b)| format!("<field name=\"{n}\" start=\"{b}\" end=\"{b}\"/>"))
        .collect();
    let vec128 = "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\
        <vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\
        <vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\
        <vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\
        <vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\
        <vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\
        <union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/>\
        <field name=\"v2_double\" type=\"v2d\"/><field name=\"v16_int8\" type=\"v16i8\"/>\
        <field name=\"v8_int16\" type=\"v8i16\"/><field name=\"v4_int32\" type=\"v4i32\"/>\
        <field name=\"v2_int64\" type=\"v2i64\"/><field name=\"uint128\" type=\"uint128\"/></union>";
    let mut core = format!("<flags id=\"i386_eflags\" size=\"4\">{eflags}</flags>");
    core += &regs(names("rax rbx rcx rdx rsi rdi"), 64, "int64");
    core += &regs(names("rbp rsp"), 64, "data_ptr");
    core += &regs(numbered("r", 16, "").split_off(8), 64, "int64");
    core += &regs(names("rip"), 64, "code_ptr");
    core += &regs(names("eflags"), 32, "i386_eflags");
    core += &regs(names("cs ss ds es fs gs"), 32, "int32");
    core += &regs(numbered("st", 8, ""), 80, "i387_ext");
    core += &regs(
        names("fctrl fstat ftag fiseg fioff foseg fooff fop"),
        32,
        "int",
    );
    let mut sse = vec128.to_string();
    sse += &regs(numbered("xmm", 16, ""), 128, "vec128");
    sse += &regs(names("mxcsr"), 32, "int");
    let feature = |name: &str, body: &str| {
        format!("<feature name=\"org.gnu.gdb.i386.{name}\">{body}</feature>")
    };
    format!(
        "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">\
         <target version=\"1.0\"><architecture>i386:x86-64</architecture>\
         <osabi>GNU/Linux</osabi>{}{}{}{}{}</target>",
        feature("core", &core),
        feature("sse", &sse),
        feature("linux", &regs(names("orig_rax"), 64, "int")),
        feature("segments", &regs(names("fs_base gs_base"), 64, "int")),
        feature("avx", &regs(numbered("ymm", 16, "h"), 128, "uint128")),
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_follow_the_description() {
        // 16 + rip + eflags + 6 segments + 8 st + 8 fpu + 16 xmm + mxcsr
        // + orig_rax + 2 bases + 16 ymmh.
        assert_eq!(
            XML.matches("<reg ").count(),
            16 + 2 + 6 + 8 + 8 + 16 + 1 + 1 + 2 + 16
        );
        let mut n = 0;
        LinuxRegs::default().gdb_serialize(|_| n += 1);
        assert_eq!(n, 0x218 + 24 + 16 * 16);
    }
}
