//! The address of a thread-local variable (gdb's `qGetTLSAddr`), from the
//! replayed memory: gdb names the module by its `link_map` and gives the
//! variable's offset in the module's TLS block. The x86-64 ABI fixes what
//! is read: the thread pointer (fs_base) points at the TCB, whose second
//! word is the DTV; entry N (16 bytes each, after the generation counter)
//! holds module N's block. Module numbers go in load order to the objects
//! that have TLS, the program first: counted along the public `link_map`
//! chain (`l_addr`, `l_prev`) and each object's program headers.

use crate::target::ReplayTarget;
use reel_trace::Tid;

/// Offsets of the public `struct link_map` fields and ELF header fields.
const L_PREV: u64 = 32;
const E_PHOFF: u64 = 32;
const E_PHENTSIZE: u64 = 54;
const E_PHNUM: u64 = 56;
const PT_TLS: u32 = 7;
const AT_PHDR: u64 = 3;
const AT_PHENT: u64 = 4;
const AT_PHNUM: u64 = 5;
/// TCB word holding the DTV's address, and the size of a DTV entry.
const TCB_DTV: u64 = 8;
const DTV_ENTRY: u64 = 16;

impl ReplayTarget {
    /// The answer to `qGetTLSAddr:THREAD,OFFSET,LM` (`req` after the colon):
    /// the variable's address, or None when it cannot be found.
    pub(crate) fn tls_address(&self, req: &str) -> Option<u64> {
        let mut parts = req.split(',');
        let thread = parts.next()?;
        let offset = u64::from_str_radix(parts.next()?, 16).ok()?;
        let lm = u64::from_str_radix(parts.next()?, 16).ok()?;
        // `p<pid>.<tid>` with the multiprocess extension, else `<tid>`.
        let tid = i64::from_str_radix(thread.rsplit('.').next()?.trim_start_matches('p'), 16);
        let tid = tid.ok()? as Tid;
        let tp = self.timeline.engine().regs(tid).ok()?.raw().fs_base;
        let mut modid = 1;
        let mut m = self.word(tid, lm + L_PREV)?;
        for _ in 0..4096 {
            if m == 0 {
                break;
            }
            let prev = self.word(tid, m + L_PREV)?;
            if self.has_tls(tid, m, prev == 0) {
                modid += 1;
            }
            m = prev;
        }
        let dtv = self.word(tid, tp + TCB_DTV)?;
        let block = self.word(tid, dtv + DTV_ENTRY * modid)?;
        // Unallocated (-1) or not yet set up: gdb says it cannot.
        if block == 0 || block == u64::MAX {
            return None;
        }
        Some(block + offset)
    }

    fn read(&self, tid: Tid, addr: u64, n: usize) -> Option<u64> {
        let b = self.timeline.engine().read_memory(tid, addr, n).ok()?;
        let mut w = [0u8; 8];
        w[..n].copy_from_slice(b.get(..n)?);
        Some(u64::from_le_bytes(w))
    }

    fn word(&self, tid: Tid, addr: u64) -> Option<u64> {
        self.read(tid, addr, 8)
    }

    /// Whether the object of link_map `m` has a TLS segment; the program's
    /// (the chain's head) headers are found through the auxv.
    fn has_tls(&self, tid: Tid, m: u64, is_program: bool) -> bool {
        let headers = if is_program {
            let image = self.timeline.engine().image(tid);
            let auxv = image.map(|i| i.auxv.clone()).unwrap_or_default();
            let get = |key: u64| {
                auxv.chunks_exact(16)
                    .find(|kv| u64::from_le_bytes(kv[..8].try_into().unwrap()) == key)
                    .map(|kv| u64::from_le_bytes(kv[8..].try_into().unwrap()))
            };
            get(AT_PHDR).zip(get(AT_PHENT)).zip(get(AT_PHNUM))
        } else {
            (|| {
                let base = self.word(tid, m)?;
                let phoff = self.word(tid, base + E_PHOFF)?;
                let ent = self.read(tid, base + E_PHENTSIZE, 2)?;
                let num = self.read(tid, base + E_PHNUM, 2)?;
                Some(((base + phoff, ent), num))
            })()
        };
        let Some(((phdr, ent), num)) = headers else {
            return false;
        };
        (0..num.min(256)).any(|i| self.read(tid, phdr + i * ent, 4) == Some(PT_TLS as u64))
    }
}
