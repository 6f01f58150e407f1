//! The `motif_controller` node: the transport, the control loop, and the
//! non-real-time side between them (command parsing and outcomes, measured
//! joint states, outputs, status, the loop's heartbeat). The binary only
//! parses its arguments and installs the signal handlers.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use crossbeam_channel::{never, select};

use super::{
    diagnostics::{diagnostics, DiagnosticsContext, Seen},
    error::NodeError,
    live_view::{LiveFrame, LiveView, LiveViewSetup},
    measured::JointStateMap,
    outputs::{BagOutputs, Outputs, StampClock},
    play_goals::{goal_commands, PlayGoals, PlayUpdate},
    recording::{BagTopic, RecorderBuilder},
    setup::{start_loop, LoopEnds, Setup},
    status::{motifs_json, status_messages, CommandRecord, NodeStatus},
};
use crate::{
    control::{LoopInput, RejectReason, StatusSnapshot},
    logging::throttled,
    ros::{
        action::{ActionEnds, GoalEvent},
        motif_interfaces::PlayMotifs,
        msgs::{
            Clock, DiagnosticArray, Float64MultiArray, JointState, JointTrajectory, StringMsg, Time,
        },
        parameters_of, NodeSpec, ParamValue, QosSpec, RosError, TransportBuilder,
    },
};

// Relative, as ROS nodes name them: in the root namespace these are
// `/forward_position_controller/commands` …; under `-r __ns:=/left_arm`
// they move with the node (docs/running.md, "More than one arm").
const COMMANDS: &str = "forward_position_controller/commands";
const JOINT_COMMANDS: &str = "~/joint_commands";
const JOINT_STATES: &str = "joint_states";
const TRAJECTORY: &str = "joint_trajectory_controller/joint_trajectory";
const STATUS: &str = "~/status";

/// How often `/diagnostics` is published (the ROS convention, as
/// diagnostic_updater's default).
const DIAGNOSTICS_PERIOD: Duration = Duration::from_secs(1);

/// Runs the node until `shutdown` is set, then holds the last posture,
/// publishes the final samples and status, and returns the timing line
/// (`timing: wake-up lateness p50 … µs p99 … µs …; N overruns; …`, which
/// tools read). `spec` names the node: `NodeSpec::new("motif_controller")`
/// with the command line's remapping rules.
pub fn run(setup: Setup, spec: NodeSpec, shutdown: &AtomicBool) -> Result<String, NodeError> {
    let Setup {
        params,
        library,
        arm,
        controller,
        parser,
        motif_names,
        joint_names: names,
        ..
    } = setup;
    tracing::info!(
        "library {} ({} motifs: {}), joints {:?}, loop {} Hz, preparation {} network steps",
        params.library.display(),
        motif_names.len(),
        motif_names.join(" "),
        names,
        params.loop_rate_hz,
        controller.prep_steps()
    );

    // Declared as ROS parameters, so `ros2 param get` shows what the node runs with.
    let ros_params = parameters_of(&params)?;
    let mut b = TransportBuilder::new(spec.clone().with_parameters(ros_params));
    let sample_cap = 64;
    let commands = params
        .publish_commands
        .then(|| b.publish::<Float64MultiArray>(COMMANDS, QosSpec::DEFAULT, sample_cap))
        .transpose()?;
    let joint_commands = params
        .publish_joint_commands
        .then(|| b.publish::<JointState>(JOINT_COMMANDS, QosSpec::DEFAULT, sample_cap))
        .transpose()?;
    let joint_states = params
        .publish_joint_states
        .then(|| b.publish::<JointState>(JOINT_STATES, QosSpec::DEFAULT, sample_cap))
        .transpose()?;
    let trajectory = params
        .publish_trajectory
        .then(|| b.publish::<JointTrajectory>(TRAJECTORY, QosSpec::DEFAULT, 16))
        .transpose()?;
    let status_tx = b.publish::<StringMsg>(STATUS, QosSpec::DEFAULT, 16)?;
    // Typed status on the default backend (see `MotifStatus`); r2r has no
    // bindings for motif_interfaces unless a workspace builds them.
    #[cfg(not(feature = "ros-r2r"))]
    let motif_status_tx = Some(b.publish::<crate::ros::motif_interfaces::MotifStatus>(
        "~/motif_status",
        QosSpec::DEFAULT,
        16,
    )?);
    #[cfg(feature = "ros-r2r")]
    let motif_status_tx = None;
    let motifs_tx = b.publish::<StringMsg>("~/motifs", QosSpec::LATCHED, 1)?;
    let play = serve_play(&mut b, &parser, &motif_names, &library.network, &names)?;
    let diagnostics_tx = b.publish::<DiagnosticArray>("/diagnostics", QosSpec::DEFAULT, 4)?;
    // Bounded: a flood beyond this is dropped (and counted) by the transport.
    let sequence_rx = b.subscribe::<StringMsg>("~/sequence", QosSpec::DEFAULT, 256)?;
    // The robot's measured state: only the newest matters, so a short queue.
    let joint_state_rx = params
        .wait_for_joint_states
        .then(|| b.subscribe::<JointState>(&params.joint_states_topic, QosSpec::DEFAULT, 16))
        .transpose()?;
    let clock_rx = params
        .use_sim_time
        .then(|| b.subscribe::<Clock>("/clock", QosSpec::DEFAULT, 16))
        .transpose()?;
    // `ros2 param set … speed` (or `velocity_limit_scale`) while running:
    // checked like the command of that name (the same bounds), then applied
    // as one. The rest stay read-only.
    let live_check = parser.clone();
    let live_rx = b.live_parameters(Arc::new(move |name, value| {
        LIVE.contains(&name).then(|| {
            let v = live_number(name, value)?;
            live_check
                .parse(&format!("{name} {v}"))
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }));
    let (bag, measured_topic) = open_bag(&params, &spec)?;
    let transport = b.spawn()?;
    // Creating the node validated the declared values, which sent the
    // start-up `speed` on as a change: it is the speed in use, not a set.
    live_rx.try_iter().for_each(drop);
    motifs_tx
        .send(StringMsg::new(motifs_json(&library.network)))
        .map_err(|_| RosError::Thread("the transport ended at start-up".into()))?;

    let period = 1.0 / params.loop_rate_hz;
    let (handle, ends) = start_loop(controller, params.loop_config())?;
    let LoopEnds {
        commands: cmd_tx,
        measured: measured_tx,
        samples: sample_rx,
        status: snap_rx,
        outcomes: outcome_rx,
    } = ends;
    let joint_map = JointStateMap::new(&names);
    if params.wait_for_joint_states {
        tracing::info!(
            "waiting for joint states on {} before commanding anything",
            params.joint_states_topic
        );
    }

    let mut out = Outputs {
        commands,
        joint_commands,
        joint_states,
        trajectory,
        status: status_tx,
        motif_status: motif_status_tx,
        names: names.clone(),
        clock: if params.use_sim_time {
            StampClock::Sim(Default::default())
        } else {
            StampClock::Wall(handle.epoch())
        },
        decimation: u64::from(params.trajectory_decimation),
        period,
        dropped: 0,
        bag,
        live: open_live_view(&params, &spec, &arm, &names, &motif_names)?,
    };
    let joint_state_rx = joint_state_rx.unwrap_or_else(never);
    let clock_rx = clock_rx.unwrap_or_else(never);
    let mut bad_joint_states = 0u64;
    let mut node = NodeStatus::default();
    let mut next_id = 1u64;
    let mut last_snap: Option<StatusSnapshot> = None;
    // Returns the command's id when it went to the loop.
    let mut submit = |text: &str, node: &mut NodeStatus| -> Option<u64> {
        let id = next_id;
        next_id += 1;
        let mut rec = CommandRecord::new(id, text);
        match parser.parse(text) {
            Ok(cmd) => {
                if cmd_tx.try_send(LoopInput { id, command: cmd }).is_err() {
                    rec.accepted = Some(false);
                    rec.reason = Some(RejectReason::Busy.message().into());
                }
            }
            Err(e) => {
                rec.accepted = Some(false);
                rec.reason = Some(e.to_string());
            }
        }
        let sent = rec.reason.is_none().then_some(id);
        if let Some(reason) = &rec.reason {
            // A flood of bad commands must not flood the log too.
            if throttled(node.rejected + 1) {
                tracing::warn!(
                    "command {id} `{}` rejected: {reason} ({} rejected so far)",
                    rec.text,
                    node.rejected + 1
                );
            } else {
                tracing::debug!("command {id} `{}` rejected: {reason}", rec.text);
            }
        } else {
            tracing::info!("command {id} `{}`", rec.text);
        }
        node.record(rec);
        sent
    };
    if !params.autostart.trim().is_empty() {
        submit(&params.autostart, &mut node);
    }
    let mut goals = PlayGoals::default();
    let mut goal_updates: Vec<PlayUpdate> = Vec::new();
    let mut goal_rx = play
        .as_ref()
        .map(|p| p.events.clone())
        .unwrap_or_else(never);

    let library_name = params.library.display().to_string();
    let diag_ctx = DiagnosticsContext {
        node: &spec.name,
        hardware_id: arm.name(),
        library: &library_name,
        motif_names: &motif_names,
        period,
    };
    let mut diag_seen = Seen::default();
    let mut diag_due = Instant::now() + DIAGNOSTICS_PERIOD;
    let publish_diagnostics =
        |snap: &StatusSnapshot, node: &NodeStatus, seen: &mut Seen, out: &Outputs| {
            let report = diagnostics(snap, node, &diag_ctx, seen, out.clock.stamp(snap.t));
            // Full means the transport is behind; the next second's report replaces it.
            let _ = diagnostics_tx.try_send(report);
        };
    let mut beat = (handle.heartbeat(), Instant::now());
    let stall = Duration::from_secs_f64(params.stall_timeout);
    let publish_status = |snap: &StatusSnapshot, node: &NodeStatus, out: &Outputs| {
        // Status times are seconds of the node's clock for controller time 0.
        let epoch = out.clock.seconds(0.0);
        let health = out.bag.as_ref().map(|b| b.recorder.health());
        let stamp = out.clock.stamp(snap.t);
        let (json, typed) = status_messages(
            snap,
            &motif_names,
            &names,
            node,
            epoch,
            health.as_ref(),
            stamp,
        );
        out.status(json, typed, stamp);
    };
    while !shutdown.load(Ordering::Relaxed) {
        select! {
            recv(sequence_rx) -> msg => {
                if let Ok(msg) = msg {
                    let rejected_before = node.rejected;
                    submit(&msg.data, &mut node);
                    // Rejections are visible at once, not at the next snapshot.
                    if node.rejected != rejected_before {
                        if let Some(s) = &last_snap {
                            publish_status(s, &node, &out);
                        }
                    }
                }
            }
            recv(sample_rx) -> s => {
                if let Ok(s) = s {
                    out.sample(&s);
                }
            }
            recv(joint_state_rx) -> msg => {
                if let Ok(msg) = msg {
                    if let (Some(b), Some(topic)) = (&out.bag, measured_topic) {
                        // Logged at receipt, as `ros2 bag record` does.
                        b.recorder.record(topic, &msg, Time::now());
                    }
                    match joint_map.map(&msg) {
                        Ok(m) => {
                            if let Some(l) = &out.live {
                                l.offer(LiveFrame::measured(msg.header.stamp, &m.position[..names.len()]));
                            }
                            // Full: the loop has a newer one waiting; dropping is fine.
                            let _ = measured_tx.try_send(m);
                        }
                        Err(e) => {
                            bad_joint_states += 1;
                            if throttled(bad_joint_states) {
                                tracing::warn!("ignoring joint state ({bad_joint_states} so far): {e}");
                            }
                            node.last_error = Some(format!("ignoring joint state: {e}"));
                        }
                    }
                }
            }
            recv(goal_rx) -> event => {
                match event {
                    Ok(GoalEvent::Accepted { id, goal }) => {
                        // Checked by the action server with these same commands.
                        let commands = goal_commands(&goal, &motif_names, &parser).unwrap_or_default();
                        tracing::info!("goal {} accepted: {}", uuid::Uuid::from_bytes(id).simple(), commands.join("; "));
                        let mut sent = None;
                        for c in &commands {
                            sent = submit(c, &mut node);
                        }
                        match sent {
                            Some(command) => goals.start(id, &goal, command, &mut goal_updates),
                            None => goal_updates.push(PlayGoals::refused(id, node.last_error.clone().unwrap_or_default())),
                        }
                    }
                    Ok(GoalEvent::Rejected { goal, reason }) => {
                        // Shown with the commands (id 0: it never was one).
                        let mut rec = CommandRecord::new(0, &format!("goal: {}", goal.motifs.join(" ")));
                        rec.accepted = Some(false);
                        rec.reason = Some(reason);
                        node.record(rec);
                        if let Some(s) = &last_snap {
                            publish_status(s, &node, &out);
                        }
                    }
                    Ok(GoalEvent::Cancel { id }) => {
                        if goals.cancel(id) {
                            tracing::info!("goal {} canceled: stopping", uuid::Uuid::from_bytes(id).simple());
                            submit("stop", &mut node);
                        }
                    }
                    Err(_) => {
                        // The action server is gone; an always-ready closed
                        // channel would spin this thread.
                        tracing::error!("the ~/play_motifs server stopped");
                        goal_rx = never();
                    }
                }
            }
            recv(live_rx) -> change => {
                // Checked already by the parameter service.
                if let Ok((name, value)) = change {
                    if let Ok(v) = live_number(&name, &value) {
                        tracing::info!("parameter {name} set to {v}");
                        submit(&format!("{name} {v}"), &mut node);
                    }
                }
            }
            recv(clock_rx) -> msg => {
                if let Ok(c) = msg {
                    out.clock = StampClock::Sim(c.clock);
                }
            }
            recv(outcome_rx) -> outcome => {
                if let Ok((id, result)) = outcome {
                    if let Err(r) = result {
                        tracing::warn!("command {id} rejected by the controller: {}", r.message());
                    }
                    goals.outcome(id, result, &mut goal_updates);
                    // The sender is waiting for this: say it now.
                    if node.resolve(id, result) {
                        if let Some(s) = &last_snap {
                            publish_status(s, &node, &out);
                        }
                    }
                }
            }
            recv(snap_rx) -> snap => {
                if let Ok(snap) = snap {
                    goals.observe(&snap, &mut goal_updates);
                    node.observe(&snap);
                    publish_status(&snap, &node, &out);
                    last_snap = Some(snap);
                }
            }
            default(Duration::from_millis(20)) => {}
        }
        send_goal_updates(&play, &mut goal_updates);
        if Instant::now() >= diag_due {
            diag_due += DIAGNOSTICS_PERIOD;
            if let Some(s) = &last_snap {
                publish_diagnostics(s, &node, &mut diag_seen, &out);
            }
        }
        let hb = handle.heartbeat();
        if hb != beat.0 {
            if node.stalled {
                tracing::warn!("control loop running again");
                node.stalled = false;
            }
            beat = (hb, Instant::now());
        } else if !node.stalled && beat.1.elapsed() > stall {
            node.stalled = true;
            node.last_error = Some(format!(
                "control loop stalled: no tick for {:.0} ms",
                beat.1.elapsed().as_secs_f64() * 1e3
            ));
            tracing::error!("control loop stalled");
            if let Some(s) = &last_snap {
                publish_status(s, &node, &out);
            }
        }
    }

    tracing::info!("shutting down: holding the last posture");
    let report = handle.stop().map_err(NodeError::Loop)?;
    for s in sample_rx.try_iter() {
        out.sample(&s);
    }
    out.sample(&report.final_sample);
    node.observe(&report.final_status);
    goals.observe(&report.final_status, &mut goal_updates);
    goals.abort_all("the node shut down", &mut goal_updates);
    send_goal_updates(&play, &mut goal_updates);
    publish_status(&report.final_status, &node, &out);
    publish_diagnostics(&report.final_status, &node, &mut diag_seen, &out);
    // Give the transport a moment to put the final samples on the wire.
    std::thread::sleep(Duration::from_millis(200));
    let counters = transport.stats().snapshot();
    transport.shutdown()?;
    if let Some(b) = out.bag.take() {
        match b.recorder.finish_line() {
            Ok(line) => tracing::info!("{line}"),
            Err(e) => tracing::error!("closing the recording: {e}"),
        }
    }
    if let Some(l) = out.live.take() {
        tracing::info!("live view: {} frames dropped (viewer behind)", l.dropped());
    }
    Ok(format!(
        "timing: {}; transport {:?}; {} outbound samples dropped",
        report.timing, counters, out.dropped
    ))
}

type PlayEnds = ActionEnds<PlayMotifs>;

/// `~/play_motifs` and `~/list_motifs` (motif_interfaces), on the default
/// backend; r2r would need the package's generated bindings.
#[cfg(not(feature = "ros-r2r"))]
fn serve_play(
    b: &mut TransportBuilder,
    parser: &crate::control::CommandParser,
    motif_names: &[String],
    net: &crate::model::Network,
    joint_names: &[String],
) -> Result<Option<PlayEnds>, RosError> {
    use super::status::motif_list;
    use crate::ros::motif_interfaces::{ListMotifs, PlayMotifsGoal};
    let list = motif_list(net, joint_names);
    b.serve::<ListMotifs>("~/list_motifs", move |_| list.clone())?;
    let (parser, known) = (parser.clone(), motif_names.to_vec());
    let check =
        Arc::new(move |goal: &PlayMotifsGoal| goal_commands(goal, &known, &parser).map(|_| ()));
    // A goal per client at a time is the usual case; 16 leaves room.
    b.serve_action::<PlayMotifs>("~/play_motifs", check, 16)
        .map(Some)
}

#[cfg(feature = "ros-r2r")]
fn serve_play(
    _: &mut TransportBuilder,
    _: &crate::control::CommandParser,
    _: &[String],
    _: &crate::model::Network,
    _: &[String],
) -> Result<Option<PlayEnds>, RosError> {
    tracing::warn!("~/play_motifs and ~/list_motifs are served on the default backend only");
    Ok(None)
}

/// Hands the goals' feedback and ends to the action server.
fn send_goal_updates(play: &Option<PlayEnds>, updates: &mut Vec<PlayUpdate>) {
    let Some(p) = play else {
        updates.clear();
        return;
    };
    for u in updates.drain(..) {
        // Full only if the action thread is stuck; feedback can be lost, an
        // end must not be, so wait briefly for room.
        let end = matches!(u, crate::ros::action::GoalUpdate::End { .. });
        let sent = if end {
            p.updates
                .send_timeout(u, Duration::from_millis(100))
                .is_ok()
        } else {
            p.updates.try_send(u).is_ok()
        };
        if !sent && end {
            tracing::error!("a goal's result could not reach the action server");
        }
    }
}

/// The parameters `ros2 param set` may change while the node runs; each
/// is also a command of the same name.
const LIVE: [&str; 2] = ["speed", "velocity_limit_scale"];

/// A live parameter's value (a double; an integer is taken as one).
fn live_number(name: &str, value: &ParamValue) -> Result<f64, String> {
    match value {
        ParamValue::Double(v) => Ok(*v),
        ParamValue::Integer(i) => Ok(*i as f64),
        _ => Err(format!("{name} must be a number (a double)")),
    }
}

/// The live view the `live_view` parameter asks for.
fn open_live_view(
    params: &super::Params,
    spec: &NodeSpec,
    arm: &crate::robot::ArmModel,
    joint_names: &[String],
    motif_names: &[String],
) -> Result<Option<LiveView>, NodeError> {
    if params.live_view.trim().is_empty() {
        return Ok(None);
    }
    let setup = LiveViewSetup {
        arm,
        joint_names,
        motif_names,
        server_name: &spec.name,
        commanded: true,
        status: true,
    };
    Ok(Some(LiveView::start(params.live_view.trim(), &setup)?))
}

/// The recording the `record` parameter asks for: a bag with the enabled
/// outputs and the measured joint states, under their names on the wire.
fn open_bag(
    params: &super::Params,
    spec: &NodeSpec,
) -> Result<(Option<BagOutputs>, Option<BagTopic<JointState>>), NodeError> {
    if params.record.as_os_str().is_empty() {
        return Ok((None, None));
    }
    let open = || -> Result<_, crate::ros::bag::BagError> {
        let mut b = RecorderBuilder::create(&params.record)?;
        let name = |t: &str| spec.resolve_topic(t).unwrap_or_else(|_| t.to_string());
        let measured = params
            .wait_for_joint_states
            .then(|| b.topic::<JointState>(&name(&params.joint_states_topic)))
            .transpose()?;
        let commands = params
            .publish_commands
            .then(|| b.topic::<Float64MultiArray>(&name(COMMANDS)))
            .transpose()?;
        let joint_commands = params
            .publish_joint_commands
            .then(|| b.topic::<JointState>(&name(JOINT_COMMANDS)))
            .transpose()?;
        let joint_states = params
            .publish_joint_states
            .then(|| b.topic::<JointState>(&name(JOINT_STATES)))
            .transpose()?;
        let trajectory = params
            .publish_trajectory
            .then(|| b.topic::<JointTrajectory>(&name(TRAJECTORY)))
            .transpose()?;
        let status = Some(b.topic::<StringMsg>(&name(STATUS))?);
        let bag = BagOutputs {
            recorder: b.start()?,
            commands,
            joint_commands,
            joint_states,
            trajectory,
            status,
        };
        Ok((Some(bag), measured))
    };
    open().map_err(|source| NodeError::Record {
        path: params.record.clone(),
        source: Box::new(source),
    })
}
