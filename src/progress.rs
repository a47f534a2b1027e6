//! The progress line of `reel replay -a` on a terminal: events replayed, of
//! how many, and the time elapsed. Only when stderr is a terminal; hidden
//! while the replayed program's output is written, so that stays whole.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::OnceLock;

/// The one progress bar of this process (the echo hook is a plain `fn`).
static BAR: OnceLock<ProgressBar> = OnceLock::new();

/// The line appears once this many events are replayed: a short replay is
/// over before it would help, and stays free of it (counted in events, not
/// time, so what a terminal shows does not depend on the machine's load).
const SHOW_AFTER: u64 = 2000;

/// Starts the progress line for a replay of `total` events (None: unknown,
/// an incomplete trace), if stderr is a terminal. Returns whether it did.
pub fn start(total: Option<u64>) -> bool {
    if !std::io::stderr().is_terminal() {
        return false;
    }
    if total.is_some_and(|n| n < SHOW_AFTER) {
        return false;
    }
    // Hidden until SHOW_AFTER events are replayed.
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
    let template = if total.is_some() {
        "reel: replaying event {pos} of {len} ({percent}%), {elapsed} elapsed"
    } else {
        "reel: replaying event {pos}, {elapsed} elapsed"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    BAR.set(bar).is_ok()
}

/// Records that event `n` was replayed (cheap: drawing is rate-limited).
pub fn set(n: u64) {
    if let Some(bar) = BAR.get() {
        bar.set_position(n);
        if n >= SHOW_AFTER && bar.is_hidden() {
            bar.set_draw_target(ProgressDrawTarget::stderr());
            bar.tick();
        }
    }
}

/// Runs `write` (the program's output) with the progress line hidden.
pub fn around_echo(write: &mut dyn FnMut()) {
    match BAR.get() {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// Removes the progress line before reel's last words.
pub fn finish() {
    if let Some(bar) = BAR.get() {
        bar.finish_and_clear();
    }
}
