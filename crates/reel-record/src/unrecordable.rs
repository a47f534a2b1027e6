//! Instructions whose results reel cannot record on this machine: RDRAND
//! and RDSEED, which only CPUID faulting could make trap (and which CPUID
//! faulting would hide). Found by decoding the program's executable file
//! mappings — whole instructions in order, not a byte search, so a `0f c7`
//! inside another instruction is not mistaken for one — so that reel can
//! say at record time what a replay may not reproduce.

use iced_x86::{Decoder, DecoderOptions, Mnemonic};
use reel_sys::proc::MapEntry;
use reel_sys::{Memory, Stopped};
use std::collections::HashSet;

/// The first RDRAND/RDSEED in `code`, which is mapped at `ip`: its
/// address and name.
pub fn find(code: &[u8], ip: u64) -> Option<(u64, &'static str)> {
    let mut decoder = Decoder::with_ip(64, code, ip, DecoderOptions::NONE);
    let mut ins = iced_x86::Instruction::default();
    while decoder.can_decode() {
        decoder.decode_out(&mut ins);
        match ins.mnemonic() {
            Mnemonic::Rdrand => return Some((ins.ip(), "RDRAND")),
            Mnemonic::Rdseed => return Some((ins.ip(), "RDSEED")),
            _ => {}
        }
    }
    None
}

/// Warns once per file about RDRAND/RDSEED in executable mappings.
#[derive(Default)]
pub struct Scanner {
    /// Files already looked at, by (inode, path).
    seen: HashSet<(u64, String)>,
}

impl Scanner {
    /// Looks at the executable file mappings among `maps` not seen yet and
    /// warns about the first RDRAND/RDSEED of each file.
    pub fn scan(&mut self, task: &Stopped, mem: &Memory, maps: &[MapEntry]) {
        for m in maps.iter().filter(|m| m.exec && m.inode != 0) {
            if !self.seen.insert((m.inode, m.name.clone())) {
                continue;
            }
            let code = mem.read_partial(task, m.start, (m.end - m.start) as usize);
            if let Some((at, what)) = find(&code, m.start) {
                eprintln!(
                    "reel: warning: {} has {what} at {at:#x} (file offset {:#x}); this CPU cannot trap it \
                     (no CPUID faulting), so if the program uses its values the replay will report a divergence",
                    m.name,
                    m.offset + (at - m.start)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn finds_rdrand_and_rdseed_at_instruction_boundaries() {
        // nop; rdrand rax; ret
        let code = [0x90, 0x48, 0x0f, 0xc7, 0xf0, 0xc3];
        assert_eq!(find(&code, 0x1000), Some((0x1001, "RDRAND")));
        // rdseed eax
        assert_eq!(find(&[0x0f, 0xc7, 0xf8], 0), Some((0, "RDSEED")));
        // The same bytes as the immediate of `mov eax, imm32` are no instruction.
        let inside = [0xb8, 0x0f, 0xc7, 0xf0, 0x90, 0xc3];
        assert_eq!(find(&inside, 0), None);
    }
}
