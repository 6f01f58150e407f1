//! What the loop reports: the `Copy` [`StatusSnapshot`], sent on every
//! status period. The node turns it into JSON (`node::status`), off the loop
//! thread, where allocation does not matter.

use super::{
    commands::MotifQueue,
    sequencer::{FaultCode, Phase},
    timing::TimingSummary,
};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatusSnapshot {
    /// Controller time of the snapshot (s).
    pub t: f64,
    pub phase: Phase,
    pub motif: Option<u16>,
    /// Fraction of the current preparation or motif done.
    pub progress: f64,
    /// Controller time at which the current phase started (s).
    pub phase_started: f64,
    /// Time stretch of the current or last preparation (1 = nominal).
    pub prep_stretch: f64,
    pub queue: MotifQueue,
    /// Commanded speed.
    pub speed: f64,
    /// Speed in effect: ramping, capped for the current motif, or slowing on `stop`.
    pub effective_speed: f64,
    /// Highest speed at which the current motif keeps its shape within the limits.
    pub speed_cap: Option<f64>,
    /// Current fault; a new motion command clears it.
    pub fault: Option<FaultCode>,
    /// Joint and |error| of a path-tolerance fault.
    pub fault_joint: Option<(u16, f64)>,
    pub faults: u64,
    /// Ticks on which the tracker, not the reference, shaped the sample.
    pub limited_ticks: u64,
    /// Largest |measured − commanded| in the last measurement (rad).
    pub tracking_error: Option<f64>,
    /// Motifs ever queued; the queue holds the sequence numbers
    /// `enqueued - queue.len() .. enqueued`.
    pub enqueued: u64,
    /// Sequence number of the motif being prepared or played.
    pub motif_seq: Option<u64>,
    /// One past the sequence number of the last motif played to its end.
    pub finished: u64,
    /// Last fault of the loop itself (watchdog).
    pub loop_fault: Option<FaultCode>,
    pub timing: TimingSummary,
}
