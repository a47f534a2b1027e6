//! `pause` as a yield point: the `pause` instructions of the spin loop a
//! thread was preempted in, found by decoding at instruction boundaries.
//!
//! A spin-wait executes `pause` on every pass. Replaced by `int3; nop`, it
//! traps to reel on every pass: a deterministic point where reel can switch
//! to a waiting thread without a landmark (the trap is counted; replay
//! counts the same traps).

use crate::mem::Memory;
use crate::task::Stopped;
use iced_x86::{Decoder, DecoderOptions, FlowControl, Mnemonic};

/// The bytes of `pause`.
pub const PAUSE: [u8; 2] = [0xf3, 0x90];
/// What replaces it: `int3; nop`.
pub const TRAP: [u8; 2] = [0xcc, 0x90];

/// Addresses of the `pause` instructions in the loop around `rip`: the code
/// from the target of the first backward branch at or after `rip` (whose
/// target is at or before `rip`) up to that branch, decoded from that
/// target. Empty when no such loop is found within a few dozen instructions.
pub fn in_loop(task: &Stopped, mem: &Memory, rip: u64) -> Vec<u64> {
    let bytes = mem.read_partial(task, rip, 256);
    let mut d = Decoder::with_ip(64, &bytes, rip, DecoderOptions::NONE);
    let mut lp = None;
    for _ in 0..48 {
        if !d.can_decode() {
            break;
        }
        let i = d.decode();
        if i.is_invalid() || i.flow_control() == FlowControl::Return {
            break;
        }
        if matches!(
            i.flow_control(),
            FlowControl::ConditionalBranch | FlowControl::UnconditionalBranch
        ) {
            let t = i.near_branch_target();
            if t <= rip && rip - t < 1024 {
                lp = Some((t, i.next_ip()));
                break;
            }
        }
    }
    let Some((start, end)) = lp else {
        return Vec::new();
    };
    let bytes = mem.read_partial(task, start, (end - start) as usize);
    let mut d = Decoder::with_ip(64, &bytes, start, DecoderOptions::NONE);
    let mut found = Vec::new();
    while d.can_decode() {
        let i = d.decode();
        if i.is_invalid() {
            break;
        }
        if i.mnemonic() == Mnemonic::Pause {
            found.push(i.ip());
        }
    }
    found
}
