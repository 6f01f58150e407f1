//! The ROS 2 node: loads a motif library, runs the control loop at a fixed
//! rate and streams joint commands (DESIGN.md §4, docs/running.md).
//!
//! ```sh
//! motif_controller --params-file config/motif_controller.yaml -p loop_rate_hz:=500
//! motif_controller --ros-args --params-file config/motif_controller.yaml -p publish_joint_states:=true
//! ```

use std::{
    path::PathBuf,
    process::ExitCode,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use crossbeam_channel::{bounded, never, select};
use motif::{
    control::{
        motifs_json, spawn_loop, status_json, CommandOutcome, CommandRecord, Controller,
        LoopChannels, LoopInput, Measured, NodeStatus, Params, RejectReason, Sample,
        StatusSnapshot,
    },
    library::Library,
    node::{JointStateMap, Outputs, StampClock},
    robot::ArmModel,
    ros::{
        msgs::{Clock, Float64MultiArray, JointState, JointTrajectory, StringMsg},
        parameters_of, NodeSpec, QosSpec, TransportBuilder,
    },
};

const USAGE: &str = "usage: motif_controller [--ros-args] [--params-file FILE] [-p name:=value]...

Parameters (see config/motif_controller.yaml): library, urdf, joint_limits,
joint_names, loop_rate_hz, preparation_tau, spin_us, status_rate_hz,
publish_commands, publish_joint_commands, publish_joint_states,
publish_trajectory, trajectory_decimation, speed, speed_min, speed_max,
velocity_limit_scale, stop_time, watchdog_ms, stall_timeout,
max_command_bytes, autostart, joint_states_topic, wait_for_joint_states,
path_tolerance, path_tolerance_window, joint_states_timeout, use_sim_time.
ROS_DOMAIN_ID selects the DDS domain. The parameters are also declared as ROS
parameters (read-only: the node reads them at start-up).";

struct Args {
    params_file: Option<PathBuf>,
    overrides: Vec<String>,
}

fn parse_args() -> Result<Option<Args>> {
    let mut args = Args {
        params_file: None,
        overrides: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            // ROS launch passes these; our own flags mean the same inside and outside.
            "--ros-args" | "--" => {}
            "--params-file" => {
                args.params_file = Some(it.next().context("--params-file needs a file")?.into())
            }
            "-p" | "--param" => args
                .overrides
                .push(it.next().context("-p needs name:=value")?),
            "-r" | "--remap" => {
                let r = it.next().context("-r needs from:=to")?;
                // Launch adds `__node:=` / `__ns:=`; renaming is not supported, so
                // only accept the names we already use.
                if r != "__node:=motif_controller" && r != "__ns:=/" {
                    bail!("remapping `{r}` is not supported");
                }
            }
            other if other.starts_with("--params-file=") => {
                args.params_file = Some(other.trim_start_matches("--params-file=").into())
            }
            other => bail!("unexpected argument `{other}`\n{USAGE}"),
        }
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    motif::logging::init("info,rustdds=warn,ros2_client=warn");
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("motif_controller: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let Some(args) = parse_args()? else {
        println!("{USAGE}");
        return Ok(());
    };
    let params =
        Params::load(args.params_file.as_deref(), &args.overrides).context("loading parameters")?;
    let lib = Library::load(&params.library)
        .with_context(|| format!("loading library {}", params.library.display()))?;
    let arm = ArmModel::from_urdf_file(&params.urdf)
        .with_context(|| format!("loading URDF {}", params.urdf.display()))?;
    let config = params
        .controller_config()
        .context("reading the joint limits")?;
    let controller = Controller::new(&lib, &arm, &config).context("configuring the controller")?;
    let names = controller.joint_names().to_vec();
    let motif_names: Vec<String> = lib.network.motifs.iter().map(|m| m.name.clone()).collect();
    let parser = params.command_parser(motif_names.clone());
    tracing::info!(
        "library {} ({} motifs: {}), joints {:?}, loop {} Hz, preparation {} network steps",
        params.library.display(),
        motif_names.len(),
        motif_names.join(" "),
        names,
        params.loop_rate_hz,
        controller.prep_steps()
    );
    let shutdown = motif::shutdown::on_sigint_or_sigterm().context("installing signal handlers")?;

    // Declared as ROS parameters, so `ros2 param get` shows what the node runs with.
    let ros_params = parameters_of(&params).context("declaring ROS parameters")?;
    let mut b =
        TransportBuilder::new(NodeSpec::new("motif_controller").with_parameters(ros_params));
    let sample_cap = 64;
    let commands = params
        .publish_commands
        .then(|| {
            b.publish::<Float64MultiArray>(
                "/forward_position_controller/commands",
                QosSpec::DEFAULT,
                sample_cap,
            )
        })
        .transpose()?;
    let joint_commands = params
        .publish_joint_commands
        .then(|| b.publish::<JointState>("~/joint_commands", QosSpec::DEFAULT, sample_cap))
        .transpose()?;
    let joint_states = params
        .publish_joint_states
        .then(|| b.publish::<JointState>("/joint_states", QosSpec::DEFAULT, sample_cap))
        .transpose()?;
    let trajectory = params
        .publish_trajectory
        .then(|| {
            b.publish::<JointTrajectory>(
                "/joint_trajectory_controller/joint_trajectory",
                QosSpec::DEFAULT,
                16,
            )
        })
        .transpose()?;
    let status_tx = b.publish::<StringMsg>("~/status", QosSpec::DEFAULT, 16)?;
    let motifs_tx = b.publish::<StringMsg>("~/motifs", QosSpec::LATCHED, 1)?;
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
    let transport = b.spawn().context("starting the ROS transport")?;
    motifs_tx.send(StringMsg::new(motifs_json(&lib.network)))?;

    let (cmd_tx, cmd_rx) = bounded::<LoopInput>(64);
    let (measured_tx, measured_rx) = bounded::<Measured>(8);
    let (sample_tx, sample_rx) = bounded::<Sample>(1024);
    let (snap_tx, snap_rx) = bounded::<StatusSnapshot>(16);
    // Every command in the loop's queue (64) can have its outcome waiting.
    let (outcome_tx, outcome_rx) = bounded::<CommandOutcome>(256);
    let period = 1.0 / params.loop_rate_hz;
    let handle = spawn_loop(
        controller,
        params.loop_config(),
        LoopChannels {
            commands: cmd_rx,
            measured: measured_rx,
            samples: sample_tx,
            status: snap_tx,
            outcomes: outcome_tx,
        },
    )?;
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
        names: names.clone(),
        clock: if params.use_sim_time {
            StampClock::Sim(Default::default())
        } else {
            StampClock::Wall(handle.epoch())
        },
        decimation: u64::from(params.trajectory_decimation),
        period,
        dropped: 0,
    };
    let joint_state_rx = joint_state_rx.unwrap_or_else(never);
    let clock_rx = clock_rx.unwrap_or_else(never);
    let mut bad_joint_states = 0u64;
    let mut node = NodeStatus::default();
    let mut next_id = 1u64;
    let mut last_snap: Option<StatusSnapshot> = None;
    let mut submit = |text: &str, node: &mut NodeStatus| {
        let id = next_id;
        next_id += 1;
        let mut rec = CommandRecord::new(id, text);
        match parser.parse(text) {
            Ok(cmd) => {
                if cmd_tx.try_send(LoopInput::Command(id, cmd)).is_err() {
                    rec.accepted = Some(false);
                    rec.reason = Some(RejectReason::Busy.message().into());
                }
            }
            Err(e) => {
                rec.accepted = Some(false);
                rec.reason = Some(e.to_string());
            }
        }
        if let Some(reason) = &rec.reason {
            // A flood of bad commands must not flood the log too.
            if node.rejected < 10 || (node.rejected + 1).is_power_of_two() {
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
    };
    if !params.autostart.trim().is_empty() {
        submit(&params.autostart, &mut node);
    }

    let mut beat = (handle.heartbeat(), Instant::now());
    let stall = Duration::from_secs_f64(params.stall_timeout);
    let publish_status = |snap: &StatusSnapshot, node: &NodeStatus, out: &Outputs| {
        // Status times are seconds of the node's clock for controller time 0.
        let epoch = out.clock.seconds(0.0);
        out.status(status_json(snap, &motif_names, &names, node, epoch));
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
                    match joint_map.map(&msg) {
                        // Full: the loop has a newer one waiting; dropping is fine.
                        Ok(m) => { let _ = measured_tx.try_send(m); }
                        Err(e) => {
                            bad_joint_states += 1;
                            if bad_joint_states.is_power_of_two() {
                                tracing::warn!("ignoring joint state ({bad_joint_states} so far): {e}");
                            }
                            node.last_error = Some(format!("ignoring joint state: {e}"));
                        }
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
                    node.observe(&snap);
                    publish_status(&snap, &node, &out);
                    last_snap = Some(snap);
                }
            }
            default(Duration::from_millis(20)) => {}
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
    let report = handle.stop()?;
    for s in sample_rx.try_iter() {
        out.sample(&s);
    }
    out.sample(&report.final_sample);
    node.observe(&report.final_status);
    publish_status(&report.final_status, &node, &out);
    // Give the transport a moment to put the final samples on the wire.
    std::thread::sleep(Duration::from_millis(200));
    let counters = transport.stats().snapshot();
    transport.shutdown().context("stopping the ROS transport")?;
    let summary = format!(
        "timing: {}; transport {:?}; {} outbound samples dropped",
        report.timing, counters, out.dropped
    );
    tracing::info!("{summary}");
    eprintln!("motif_controller: {summary}");
    Ok(())
}
