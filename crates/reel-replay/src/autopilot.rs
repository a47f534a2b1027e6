//! Autopilot (`reel replay -a`): a client of the engine that replays the
//! whole trace without stopping.

use crate::engine::{Constraints, Engine, ReplayOptions, ReplayOutcome, Stop};
use crate::Result;
use reel_trace::TraceReader;

/// Replays the trace read by `reader` to its end.
pub fn replay(reader: TraceReader, opts: ReplayOptions) -> Result<ReplayOutcome> {
    let mut engine = Engine::new(reader, opts)?;
    let run = Constraints::default();
    while engine.step(&run)? != Stop::TraceEnd {}
    if let Some(line) = engine.landmark_summary() {
        eprintln!("{line}");
    }
    Ok(engine.outcome())
}
