//! `/diagnostics` (`diagnostic_msgs/DiagnosticArray`, once a second), for
//! `ros2 topic echo /diagnostics` and rqt_robot_monitor: one status for the
//! control loop's timing and one for the motion, at levels set by the
//! thresholds below (docs/running.md, "Diagnostics"). Levels judge what
//! happened since the previous report, so one late tick an hour ago does not
//! keep the loop at WARN forever; the values carry the whole run's figures.

use crate::control::{Phase, StatusSnapshot};
use crate::ros::msgs::{DiagnosticArray, DiagnosticStatus, Header, KeyValue, Time};

use super::status::{motif_name, NodeStatus};

/// Wake-up lateness p99 above this share of the period is a WARN: the loop
/// still keeps its rate, but with little margin left.
pub const LATENESS_WARN_SHARE: f64 = 0.25;

/// What does not change while the node runs.
#[derive(Debug, Clone, Copy)]
pub struct DiagnosticsContext<'a> {
    /// Prefix of the status names (`<node>: control loop`, `<node>: motion`).
    pub node: &'a str,
    /// The arm (the URDF's robot name).
    pub hardware_id: &'a str,
    pub library: &'a str,
    pub motif_names: &'a [String],
    /// Loop period (s).
    pub period: f64,
}

/// The counters the previous report saw.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seen {
    overruns: u64,
    watchdog_trips: u64,
    rejected: u64,
}

fn kv(key: &str, value: impl ToString) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value.to_string(),
    }
}

/// The report for `snap`; updates `seen` to what it counted.
pub fn diagnostics(
    snap: &StatusSnapshot,
    node: &NodeStatus,
    ctx: &DiagnosticsContext<'_>,
    seen: &mut Seen,
    stamp: Time,
) -> DiagnosticArray {
    let t = &snap.timing;
    let new_overruns = t.overruns.saturating_sub(seen.overruns);
    let new_trips = t.watchdog_trips.saturating_sub(seen.watchdog_trips);
    let new_rejected = node.rejected.saturating_sub(seen.rejected);
    *seen = Seen {
        overruns: t.overruns,
        watchdog_trips: t.watchdog_trips,
        rejected: node.rejected,
    };
    let late_limit_us = LATENESS_WARN_SHARE * ctx.period * 1e6;
    let (level, message) = if node.stalled {
        (
            DiagnosticStatus::ERROR,
            "control loop stalled: no tick".to_string(),
        )
    } else if new_trips > 0 {
        (
            DiagnosticStatus::ERROR,
            format!("{new_trips} watchdog trips since the last report"),
        )
    } else if new_overruns > 0 {
        (
            DiagnosticStatus::WARN,
            format!("{new_overruns} overruns since the last report"),
        )
    } else if t.lateness.p99_us > late_limit_us {
        (
            DiagnosticStatus::WARN,
            format!(
                "wake-up lateness p99 {:.0} µs, over {:.0} % of the period",
                t.lateness.p99_us,
                LATENESS_WARN_SHARE * 100.0
            ),
        )
    } else {
        (
            DiagnosticStatus::OK,
            format!("{:.0} Hz, {}", 1.0 / ctx.period, t.scheduling),
        )
    };
    let control_loop = DiagnosticStatus {
        level,
        name: format!("{}: control loop", ctx.node),
        message,
        hardware_id: ctx.hardware_id.into(),
        values: vec![
            kv("rate_hz", 1.0 / ctx.period),
            kv("ticks", t.ticks),
            kv("compute_p50_us", format!("{:.1}", t.compute.p50_us)),
            kv("compute_p99_us", format!("{:.1}", t.compute.p99_us)),
            kv("lateness_p50_us", format!("{:.1}", t.lateness.p50_us)),
            kv("lateness_p99_us", format!("{:.1}", t.lateness.p99_us)),
            kv("lateness_max_us", format!("{:.1}", t.lateness.max_us)),
            kv("overruns", t.overruns),
            kv("deadlines_skipped", t.deadlines_skipped),
            kv("watchdog_trips", t.watchdog_trips),
            kv("samples_dropped", t.samples_dropped),
            kv("scheduling", t.scheduling),
        ],
    };

    let name = |i: u16| motif_name(ctx.motif_names, i);
    let phase = format!("{:?}", snap.phase).to_lowercase();
    let (level, message) = match (snap.fault, snap.phase) {
        (Some(f), _) => (DiagnosticStatus::ERROR, format!("fault: {}", f.message())),
        (None, Phase::Waiting) => (
            DiagnosticStatus::WARN,
            "waiting for joint states".to_string(),
        ),
        (None, _) if new_rejected > 0 => (
            DiagnosticStatus::WARN,
            format!(
                "{new_rejected} commands rejected since the last report; last: {}",
                node.last_error.as_deref().unwrap_or("?")
            ),
        ),
        (None, p) => (
            DiagnosticStatus::OK,
            match snap.motif {
                Some(m) if matches!(p, Phase::Preparing | Phase::Executing) => {
                    format!("{phase} {} ({:.0} %)", name(m), snap.progress * 100.0)
                }
                _ => phase.clone(),
            },
        ),
    };
    let queue: Vec<&str> = snap.queue.as_slice().iter().map(|&i| name(i)).collect();
    let motion = DiagnosticStatus {
        level,
        name: format!("{}: motion", ctx.node),
        message,
        hardware_id: ctx.hardware_id.into(),
        values: vec![
            kv("library", ctx.library),
            kv("phase", &phase),
            kv("motif", snap.motif.map_or("", name)),
            kv("progress", format!("{:.3}", snap.progress)),
            kv("queue", queue.join(" ")),
            kv("speed", snap.speed),
            kv("effective_speed", format!("{:.3}", snap.effective_speed)),
            kv(
                "tracking_error_rad",
                snap.tracking_error
                    .map_or(String::new(), |e| format!("{e:.5}")),
            ),
            kv("faults", snap.faults),
            kv("limited_ticks", snap.limited_ticks),
            kv("commands_accepted", node.accepted),
            kv("commands_rejected", node.rejected),
            kv("last_error", node.last_error.as_deref().unwrap_or("")),
        ],
    };
    DiagnosticArray {
        header: Header {
            stamp,
            frame_id: String::new(),
        },
        status: vec![control_loop, motion],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::FaultCode;
    use crate::node::status::idle_snapshot;

    fn ctx(names: &[String]) -> DiagnosticsContext<'_> {
        DiagnosticsContext {
            node: "motif_controller",
            hardware_id: "panda",
            library: "models/default",
            motif_names: names,
            period: 1e-3,
        }
    }

    fn report(snap: &StatusSnapshot, node: &NodeStatus, seen: &mut Seen) -> [(u8, String); 2] {
        let names = vec!["circle".to_string(), "wave".to_string()];
        let a = diagnostics(snap, node, &ctx(&names), seen, Time::default());
        [0, 1].map(|i| (a.status[i].level, a.status[i].message.clone()))
    }

    #[test]
    fn levels_follow_the_documented_thresholds() {
        let mut snap = StatusSnapshot {
            phase: Phase::Executing,
            motif: Some(1),
            progress: 0.5,
            ..idle_snapshot()
        };
        let mut node = NodeStatus::default();
        let mut seen = Seen::default();
        let [l, m] = report(&snap, &node, &mut seen);
        assert_eq!(l.0, DiagnosticStatus::OK, "{l:?}");
        assert_eq!(m, (DiagnosticStatus::OK, "executing wave (50 %)".into()));

        // Overruns: WARN once, OK again at the next report without new ones.
        snap.timing.overruns = 3;
        assert_eq!(report(&snap, &node, &mut seen)[0].0, DiagnosticStatus::WARN);
        assert_eq!(report(&snap, &node, &mut seen)[0].0, DiagnosticStatus::OK);
        // Lateness p99 over a quarter of the period.
        snap.timing.lateness.p99_us = 300.0;
        assert_eq!(report(&snap, &node, &mut seen)[0].0, DiagnosticStatus::WARN);
        snap.timing.lateness.p99_us = 20.0;
        // A watchdog trip or a stall is an ERROR.
        snap.timing.watchdog_trips = 1;
        assert_eq!(
            report(&snap, &node, &mut seen)[0].0,
            DiagnosticStatus::ERROR
        );
        node.stalled = true;
        assert_eq!(
            report(&snap, &node, &mut seen)[0].0,
            DiagnosticStatus::ERROR
        );
        node.stalled = false;

        // Motion: a rejected command warns once; a fault is an ERROR.
        node.rejected = 1;
        node.last_error = Some("command rejected: unknown motif `x`".into());
        let m = report(&snap, &node, &mut seen)[1].clone();
        assert_eq!(m.0, DiagnosticStatus::WARN);
        assert!(m.1.contains("unknown motif"), "{m:?}");
        assert_eq!(report(&snap, &node, &mut seen)[1].0, DiagnosticStatus::OK);
        snap.fault = Some(FaultCode::PathTolerance);
        assert_eq!(
            report(&snap, &node, &mut seen)[1].0,
            DiagnosticStatus::ERROR
        );
        snap.fault = None;
        snap.phase = Phase::Waiting;
        assert_eq!(report(&snap, &node, &mut seen)[1].0, DiagnosticStatus::WARN);
    }
}
