//! The `~/status` and `~/motifs` JSON documents, and the node's own part
//! of the status: the commands it received and what became of them.

use std::collections::VecDeque;

use serde::Serialize;

use super::recording::RecordingHealth;
use crate::control::{FaultCode, Phase, RejectReason, StatusSnapshot, TimingSummary};
use crate::model::Network;
use crate::ros::{
    motif_interfaces::{ListMotifsResponse, MotifStatus},
    msgs::Time,
};

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

/// How status echoes a command's text: at most [`MAX_ECHO`] characters
/// (then `…`), control characters as spaces. Senders compare their own text
/// through this to find their command.
pub fn echo(text: &str) -> String {
    let mut t: String = text
        .chars()
        .take(MAX_ECHO)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(MAX_ECHO).is_some() {
        t.push('…');
    }
    t
}

impl CommandRecord {
    pub fn new(id: u64, text: &str) -> Self {
        Self {
            id,
            text: echo(text),
            accepted: None,
            reason: None,
        }
    }
}

/// Commands kept in status (newest last): a sender that sent during a burst
/// still finds its own among them by id.
pub const RECENT_COMMANDS: usize = 16;

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
    /// The bag being recorded (`record` parameter): messages written,
    /// dropped, and the write error that stopped it.
    #[serde(skip_serializing_if = "Option::is_none")]
    recording: Option<&'a RecordingHealth>,
    /// The last loop-timing warning (watchdog), kept apart from `last_error`
    /// so a late tick never hides why a command was refused.
    loop_warning: Option<String>,
    last_command: Option<&'a CommandRecord>,
    /// Ids rise by one per command received; `last_command` is the last.
    recent_commands: Vec<&'a CommandRecord>,
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
    recent: VecDeque<CommandRecord>,
    pub accepted: u64,
    pub rejected: u64,
    /// Last command rejection, fault or stall.
    pub last_error: Option<String>,
    /// Last watchdog message.
    pub loop_warning: Option<String>,
    pub stalled: bool,
    /// Fault and watchdog counts already reported.
    pub faults_seen: u64,
    pub watchdog_seen: u64,
}

impl NodeStatus {
    /// A command as received: refused at parse time (`accepted: Some(false)`)
    /// or on its way to the loop, which has the last word
    /// ([`NodeStatus::resolve`]).
    pub fn record(&mut self, rec: CommandRecord) {
        match &rec.reason {
            Some(reason) => {
                self.rejected += 1;
                self.last_error = Some(format!("command rejected: {reason}"));
            }
            None => self.accepted += 1,
        }
        if self.recent.len() == RECENT_COMMANDS {
            self.recent.pop_front();
        }
        self.recent.push_back(rec);
    }

    /// The loop's verdict on command `id`; false if it is no longer kept.
    pub fn resolve(&mut self, id: u64, result: Result<u64, RejectReason>) -> bool {
        let Some(rec) = self
            .recent
            .iter_mut()
            .find(|r| r.id == id && r.accepted.is_none())
        else {
            return false;
        };
        match result {
            Ok(_) => rec.accepted = Some(true),
            Err(r) => {
                rec.accepted = Some(false);
                rec.reason = Some(r.message().into());
                self.accepted = self.accepted.saturating_sub(1);
                self.rejected += 1;
                self.last_error = Some(format!("command rejected: {}", r.message()));
            }
        }
        true
    }

    pub fn last_command(&self) -> Option<&CommandRecord> {
        self.recent.back()
    }

    /// Folds the loop's faults and watchdog trips into the node status.
    /// Each new fault is logged once and becomes `last_error`; watchdog
    /// trips go to `loop_warning` (logged at 1, 2, 4, … trips), so a loaded
    /// machine never hides why a command was refused.
    pub fn observe(&mut self, snap: &StatusSnapshot) {
        if snap.faults > self.faults_seen {
            self.faults_seen = snap.faults;
            if let Some(f) = snap.fault {
                tracing::error!("{}", f.message());
                self.last_error = Some(f.message().into());
            }
        }
        let trips = snap.timing.watchdog_trips;
        if trips > self.watchdog_seen {
            if let Some(f) = snap.loop_fault {
                let text = format!("{} ({trips} trips)", f.message());
                if (self.watchdog_seen + 1..=trips).any(u64::is_power_of_two) {
                    tracing::warn!("{text}");
                }
                self.loop_warning = Some(text);
            }
            self.watchdog_seen = trips;
        }
    }
}

/// Motif `i` of `names`, or `?` for an index the library does not have.
pub(crate) fn motif_name(names: &[String], i: u16) -> &str {
    names.get(usize::from(i)).map_or("?", String::as_str)
}

/// `~/status` JSON for `snap`; `wall_epoch` is the wall-clock time of
/// controller time 0, `names` the motifs and `joints` the joint names.
/// The status as `~/status` JSON and as the typed `~/motif_status`
/// (`motif_interfaces/msg/MotifStatus`, stamped `stamp`): one source, so
/// the two never disagree.
pub fn status_messages(
    snap: &StatusSnapshot,
    names: &[String],
    joints: &[String],
    node: &NodeStatus,
    wall_epoch: f64,
    recording: Option<&RecordingHealth>,
    stamp: Time,
) -> (String, MotifStatus) {
    let name = |i: u16| motif_name(names, i);
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
        recording,
        loop_warning: node.loop_warning.clone(),
        last_command: node.last_command(),
        recent_commands: node.recent.iter().collect(),
        commands_accepted: node.accepted,
        commands_rejected: node.rejected,
        faults: snap.faults,
        limited_ticks: snap.limited_ticks,
        stalled: node.stalled,
        timing: snap.timing,
    };
    let typed = MotifStatus {
        stamp,
        phase: wire_name(doc.phase),
        motif: doc.motif.unwrap_or_default().to_string(),
        progress: doc.progress,
        queue: doc.queue.iter().map(|q| q.to_string()).collect(),
        speed: doc.speed,
        effective_speed: doc.effective_speed,
        state: doc.state.clone(),
        fault: doc.fault.map(wire_name).unwrap_or_default(),
        last_error: doc.last_error.clone().unwrap_or_default(),
        commands_accepted: doc.commands_accepted,
        commands_rejected: doc.commands_rejected,
        faults: doc.faults,
        ticks: doc.timing.ticks,
        overruns: doc.timing.overruns,
        lateness_p99_us: doc.timing.lateness.p99_us,
    };
    let json = serde_json::to_string(&doc)
        .unwrap_or_else(|e| format!(r#"{{"error":"status encoding: {e}"}}"#));
    (json, typed)
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
        .enumerate()
        .map(|(i, m)| MotifJson {
            name: &m.name,
            steps: m.steps,
            duration_s: net.motif_duration(i),
        })
        .collect();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
}

/// What `~/list_motifs` answers: the same list as `~/motifs`, typed.
pub fn motif_list(net: &Network, joint_names: &[String]) -> ListMotifsResponse {
    ListMotifsResponse {
        names: net.motifs.iter().map(|m| m.name.clone()).collect(),
        durations: (0..net.motifs.len())
            .map(|m| net.motif_duration(m))
            .collect(),
        outputs: joint_names.to_vec(),
    }
}

/// A unit enum's name as the JSON status writes it (`executing`,
/// `tracking_error`).
pub(crate) fn wire_name(v: impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// An idle snapshot at time 0, for tests that change what they look at.
#[cfg(test)]
pub(crate) fn idle_snapshot() -> StatusSnapshot {
    StatusSnapshot {
        t: 0.0,
        phase: Phase::Idle,
        motif: None,
        progress: 0.0,
        phase_started: 0.0,
        prep_stretch: 1.0,
        queue: crate::control::MotifQueue::default(),
        speed: 1.0,
        effective_speed: 1.0,
        speed_cap: None,
        fault: None,
        fault_joint: None,
        faults: 0,
        limited_ticks: 0,
        tracking_error: None,
        enqueued: 0,
        motif_seq: None,
        finished: 0,
        loop_fault: None,
        timing: TimingSummary::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_command_keeps_its_own_outcome() {
        let mut node = NodeStatus::default();
        for id in 1..=3 {
            node.record(CommandRecord::new(id, "append circle"));
        }
        // Outcomes arrive in any order, each for its own id.
        assert!(node.resolve(3, Err(RejectReason::QueueFull)));
        assert!(node.resolve(1, Ok(0)));
        assert!(!node.resolve(1, Ok(0)), "resolved twice");
        let got: Vec<_> = node.recent.iter().map(|r| (r.id, r.accepted)).collect();
        assert_eq!(got, [(1, Some(true)), (2, None), (3, Some(false))]);
        assert_eq!((node.accepted, node.rejected), (2, 1));
        for id in 4..4 + RECENT_COMMANDS as u64 {
            node.record(CommandRecord::new(id, "stop"));
        }
        assert_eq!(node.recent.len(), RECENT_COMMANDS);
        assert!(!node.resolve(2, Ok(0)), "2 has left the ring");
    }

    #[test]
    fn watchdog_trips_never_overwrite_the_last_error() {
        let mut node = NodeStatus::default();
        node.record(CommandRecord::new(1, "circle"));
        node.resolve(1, Err(RejectReason::QueueFull));
        let mut s = idle_snapshot();
        s.loop_fault = Some(FaultCode::LoopOverrun);
        for trips in 1..50 {
            s.timing.watchdog_trips = trips;
            node.observe(&s);
        }
        assert_eq!(
            node.last_error.as_deref(),
            Some("command rejected: queue full")
        );
        assert!(node.loop_warning.as_deref().unwrap().contains("49 trips"));
    }

    #[test]
    fn echo_is_bounded_and_printable() {
        assert_eq!(echo("circle\twave"), "circle wave");
        let long = "a".repeat(300);
        assert_eq!(echo(&long).chars().count(), MAX_ECHO + 1);
        assert!(echo(&long).ends_with('…'));
    }
}
