//! The `~/status` and `~/motifs` JSON documents.
//!
//! The loop only produces the `Copy` [`StatusSnapshot`]; JSON is built on the
//! transport side, where allocation does not matter.

use serde::Serialize;

use super::{
    commands::MotifQueue,
    sequencer::{FaultCode, Phase, RejectReason},
    timing::TimingSummary,
};
use crate::model::Network;

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
    /// Id and outcome of the last command the loop handled.
    pub last_command: Option<(u64, Result<(), RejectReason>)>,
    /// Last fault of the loop itself (watchdog).
    pub loop_fault: Option<FaultCode>,
    pub timing: TimingSummary,
}

/// A command as the node received it, with its outcome once known.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommandRecord {
    pub id: u64,
    /// The command text, shortened for the status message.
    pub text: String,
    /// `None` while the loop has not handled it yet.
    pub accepted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Characters of a command echoed back in status.
const MAX_ECHO: usize = 120;

impl CommandRecord {
    pub fn new(id: u64, text: &str) -> Self {
        let mut t: String = text
            .chars()
            .take(MAX_ECHO)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if text.chars().nth(MAX_ECHO).is_some() {
            t.push('…');
        }
        Self {
            id,
            text: t,
            accepted: None,
            reason: None,
        }
    }
}

#[derive(Serialize)]
struct StatusJson<'a> {
    /// Wall-clock time of the snapshot (s since the Unix epoch).
    stamp: f64,
    phase: Phase,
    motif: Option<&'a str>,
    progress: f64,
    /// Wall-clock time at which the current phase started.
    phase_started: f64,
    prep_stretch: f64,
    queue: Vec<&'a str>,
    speed: f64,
    effective_speed: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    speed_cap: Option<f64>,
    /// What the node is doing in words, for people and `motifctl`.
    state: String,
    fault: Option<FaultCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault_detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tracking_error: Option<f64>,
    last_error: Option<String>,
    last_command: Option<&'a CommandRecord>,
    commands_accepted: u64,
    commands_rejected: u64,
    faults: u64,
    limited_ticks: u64,
    stalled: bool,
    timing: TimingSummary,
}

/// Counters and the last error kept by the node across snapshots.
#[derive(Debug, Clone, Default)]
pub struct NodeStatus {
    pub last_command: Option<CommandRecord>,
    pub accepted: u64,
    pub rejected: u64,
    /// Last error message of any kind (command rejections included).
    pub last_error: Option<String>,
    pub stalled: bool,
    /// Fault and watchdog counts already reported.
    pub faults_seen: u64,
    pub watchdog_seen: u64,
}

/// `~/status` JSON for `snap`; `wall_epoch` is the wall-clock time of
/// controller time 0, `names` the motifs and `joints` the joint names.
pub fn status_json(
    snap: &StatusSnapshot,
    names: &[String],
    joints: &[String],
    node: &NodeStatus,
    wall_epoch: f64,
) -> String {
    let name = |i: u16| names.get(usize::from(i)).map_or("?", String::as_str);
    let fault_detail = snap.fault_joint.map(|(j, e)| {
        format!(
            "{}: |measured - commanded| = {e:.4} rad",
            joints.get(usize::from(j)).map_or("?", String::as_str)
        )
    });
    let state = match (snap.phase, snap.fault) {
        (Phase::Waiting, _) => "waiting for joint states".to_string(),
        (_, Some(f)) => format!("fault: {}", f.message()),
        (p, _) => format!("{p:?}").to_lowercase(),
    };
    let doc = StatusJson {
        stamp: wall_epoch + snap.t,
        phase: snap.phase,
        motif: snap.motif.map(name),
        progress: snap.progress,
        phase_started: wall_epoch + snap.phase_started,
        prep_stretch: snap.prep_stretch,
        queue: snap.queue.as_slice().iter().map(|&i| name(i)).collect(),
        speed: snap.speed,
        effective_speed: snap.effective_speed,
        speed_cap: snap.speed_cap.filter(|c| c.is_finite()),
        state,
        fault: snap.fault,
        fault_detail,
        tracking_error: snap.tracking_error,
        last_error: node.last_error.clone(),
        last_command: node.last_command.as_ref(),
        commands_accepted: node.accepted,
        commands_rejected: node.rejected,
        faults: snap.faults,
        limited_ticks: snap.limited_ticks,
        stalled: node.stalled,
        timing: snap.timing,
    };
    serde_json::to_string(&doc).unwrap_or_else(|e| format!(r#"{{"error":"status encoding: {e}"}}"#))
}

#[derive(Serialize)]
struct MotifJson<'a> {
    name: &'a str,
    steps: usize,
    duration_s: f64,
}

/// `~/motifs` JSON: the library's motifs with their durations at speed 1.
pub fn motifs_json(net: &Network) -> String {
    let list: Vec<MotifJson> = net
        .motifs
        .iter()
        .map(|m| MotifJson {
            name: &m.name,
            steps: m.steps,
            duration_s: m.steps as f64 * f64::from(net.dt),
        })
        .collect();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
}
