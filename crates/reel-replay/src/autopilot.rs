//! Autopilot (`reel replay -a`): a client of the engine that replays the
//! whole trace without stopping.

use crate::engine::{Constraints, Engine, ReplayOptions, ReplayOutcome, Stop};
use crate::Result;
use reel_trace::TraceReader;

/// Replays the trace read by `reader` to its end.
pub fn replay(reader: TraceReader, opts: ReplayOptions) -> Result<ReplayOutcome> {
    replay_with_progress(reader, opts, &mut |_| {})
}

/// [`replay`], telling `progress` the number of the last event replayed
/// after each step (for a progress display).
pub fn replay_with_progress(
    reader: TraceReader,
    opts: ReplayOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ReplayOutcome> {
    let mut engine = Engine::new(reader, opts)?;
    let run = Constraints::default();
    while engine.step(&run)? != Stop::TraceEnd {
        progress(engine.event());
    }
    if let Some(line) = engine.landmark_summary() {
        eprintln!("{line}");
    }
    Ok(engine.outcome())
}
