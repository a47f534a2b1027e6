//! The progress line of `reel replay -a` on a terminal: events replayed, of
//! how many, and the time elapsed. Only when stderr is a terminal; hidden
//! while the replayed program's output is written, so that stays whole.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::OnceLock;

/// The one progress bar of this process (the echo hook is a plain `fn`).
static BAR: OnceLock<ProgressBar> = OnceLock::new();

/// Starts the progress line for a replay of `total` events (None: unknown,
/// an incomplete trace), if stderr is a terminal. Returns whether it did.
pub fn start(total: Option<u64>) -> bool {
    if !std::io::stderr().is_terminal() {
        return false;
    }
    let bar = match total {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
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
