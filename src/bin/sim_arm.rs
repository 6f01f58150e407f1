//! `sim_arm`: a simulated arm that plays the robot for the controller.
//!
//! In: `/forward_position_controller/commands` (std_msgs/Float64MultiArray,
//! positions in URDF joint order), as forward_command_controller takes them.
//! Out: `/joint_states` (sensor_msgs/JointState: names, measured positions,
//! velocities, efforts) at `--publish-rate`.
//!
//! Physics runs at `--rate` (default 1 kHz) against the wall clock with absolute
//! deadlines, or as fast as it can with `--no-realtime`. Stamps are wall-clock
//! time in both modes (no `/clock` is published).
//!
//! ```sh
//! cargo run --release --bin sim_arm -- --urdf urdf/arm.urdf --publish-rate 100
//! ```

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use motif::control::wait_until;
use motif::node::{LiveFrame, LiveView, LiveViewSetup};
use motif::robot::{ArmModel, SimArm, SimConfig};
use motif::ros::msgs::{Float64MultiArray, Header, JointState, Time};
use motif::ros::{NodeSpec, QosSpec, TransportBuilder};
use tracing::{info, warn};

#[derive(Parser, Debug)]
#[command(about = "Simulated robot arm (rapier physics) behind ros2_control-style topics")]
struct Args {
    /// Plain URDF (no xacro) with inertials and joint limits.
    #[arg(long, default_value = "urdf/arm.urdf")]
    urdf: PathBuf,
    /// Physics rate in Hz.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// `/joint_states` rate in Hz (rounded to a whole number of physics steps).
    #[arg(long, default_value_t = 100.0)]
    publish_rate: f64,
    /// Pace physics to the wall clock (default).
    #[arg(long, overrides_with = "no_realtime")]
    realtime: bool,
    /// Run physics as fast as possible.
    #[arg(long = "no-realtime", overrides_with = "realtime")]
    no_realtime: bool,
    /// Stop after this many simulated seconds (0: run until SIGINT/SIGTERM).
    #[arg(long, default_value_t = 0.0)]
    duration: f64,
    /// Disable the gravity feed-forward (PD motors alone carry the arm).
    #[arg(long)]
    no_gravity_compensation: bool,
    #[arg(long, default_value = "sim_arm")]
    node: String,
    /// ROS namespace of the node; the relative topic names below resolve in
    /// it (e.g. `/left_arm`, beside a controller run with `-r __ns:=/left_arm`).
    #[arg(long, default_value = "/")]
    namespace: String,
    #[arg(long, default_value = "forward_position_controller/commands")]
    command_topic: String,
    #[arg(long, default_value = "joint_states")]
    joint_states_topic: String,
    /// frame_id of the published JointState headers.
    #[arg(long, default_value = "")]
    frame_id: String,
    /// Start pose, one angle per URDF joint (rad, comma-separated); default
    /// the Panda ready pose.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    initial_positions: Option<Vec<f64>>,
    /// Record the commands received and the joint states published to this
    /// new rosbag2 (MCAP) directory.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Serve a Foxglove WebSocket live view of the arm on HOST:PORT
    /// (docs/live_view.md).
    #[arg(long, value_name = "HOST:PORT")]
    live_view: Option<String>,
}

fn main() -> anyhow::Result<()> {
    // Logs on stderr keep stdout free for whatever a launcher pipes there.
    motif::logging::init("info");
    let args = Args::parse();
    anyhow::ensure!(
        args.rate.is_finite() && args.rate > 0.0,
        "--rate must be positive"
    );
    anyhow::ensure!(
        args.publish_rate.is_finite() && args.publish_rate > 0.0 && args.publish_rate <= args.rate,
        "--publish-rate must be positive and at most --rate"
    );
    anyhow::ensure!(
        args.duration.is_finite() && args.duration >= 0.0,
        "--duration must be non-negative"
    );
    let realtime = !args.no_realtime;

    let arm = ArmModel::from_urdf_file(&args.urdf)
        .with_context(|| format!("loading {}", args.urdf.display()))?;
    let config = SimConfig {
        rate_hz: args.rate,
        gravity_compensation: !args.no_gravity_compensation,
        initial_positions: args.initial_positions.clone(),
        ..SimConfig::default()
    };
    let mut sim =
        SimArm::new(arm, config).with_context(|| format!("simulating {}", args.urdf.display()))?;
    let names = sim.joint_names().to_vec();

    let stop = motif::shutdown::on_sigint_or_sigterm().context("installing signal handlers")?;

    let spec = NodeSpec::new(&args.node).with_namespace(&args.namespace);
    let mut builder = TransportBuilder::new(spec.clone());
    let cmd_rx =
        builder.subscribe::<Float64MultiArray>(&args.command_topic, QosSpec::DEFAULT, 64)?;
    let js_tx = builder.publish::<JointState>(&args.joint_states_topic, QosSpec::DEFAULT, 16)?;
    let bag = args
        .record
        .as_deref()
        .map(|dir| -> anyhow::Result<_> {
            let mut b = motif::node::RecorderBuilder::create(dir)?;
            let name = |t: &str| spec.resolve_topic(t);
            let topics = (
                b.topic::<Float64MultiArray>(&name(&args.command_topic)?)?,
                b.topic::<JointState>(&name(&args.joint_states_topic)?)?,
            );
            Ok((b.start()?, topics))
        })
        .transpose()
        .context("--record")?;
    let live = args
        .live_view
        .as_deref()
        .map(|addr| {
            let setup = LiveViewSetup {
                arm: sim.arm(),
                joint_names: &names,
                motif_names: &[],
                server_name: &args.node,
                commanded: false,
                status: false,
            };
            LiveView::start(addr, &setup)
        })
        .transpose()
        .context("--live-view")?;
    let transport = builder.spawn().context("starting the ROS transport")?;

    let publish_every = ((args.rate / args.publish_rate).round() as u64).max(1);
    let total_steps = (args.duration * args.rate).round() as u64;
    info!(
        robot = sim.arm().name(),
        joints = ?names,
        rate = args.rate,
        publish_rate = args.rate / publish_every as f64,
        realtime,
        "sim_arm running: in {}, out {}",
        spec.resolve_topic(&args.command_topic)?,
        spec.resolve_topic(&args.joint_states_topic)?
    );

    let period = Duration::from_secs_f64(1.0 / args.rate);
    let start = Instant::now();
    let mut next = start;
    let (mut accepted, mut rejected, mut published, mut publish_failed, mut overruns) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut step: u64 = 0;
    while !stop.load(Ordering::Relaxed) && (total_steps == 0 || step < total_steps) {
        // Latest valid command wins, as forward_command_controller does with
        // its realtime buffer; a bad one is dropped and the previous kept.
        while let Ok(msg) = cmd_rx.try_recv() {
            if let Some((rec, (commands, _))) = &bag {
                rec.record(*commands, &msg, Time::now());
            }
            match sim.set_command(&msg.data) {
                Ok(()) => accepted += 1,
                Err(e) => {
                    rejected += 1;
                    // A peer flooding bad commands at 1 kHz must not flood the log.
                    if motif::logging::throttled(rejected) {
                        warn!(rejected, "dropping command: {e}");
                    }
                }
            }
        }
        sim.step();
        step += 1;
        if step.is_multiple_of(publish_every) {
            let msg = JointState {
                header: Header {
                    stamp: Time::now(),
                    frame_id: args.frame_id.clone(),
                },
                name: names.clone(),
                position: sim.joint_positions().to_vec(),
                velocity: sim.joint_velocities().to_vec(),
                effort: sim.joint_efforts().to_vec(),
            };
            if let Some(l) = &live {
                l.offer(LiveFrame::measured(msg.header.stamp, &msg.position));
            }
            if let Some((rec, (_, joint_states))) = &bag {
                rec.record(*joint_states, &msg, msg.header.stamp);
            }
            // A full channel means the transport is behind: drop, never block physics.
            if js_tx.try_send(msg).is_ok() {
                published += 1;
            } else {
                publish_failed += 1;
            }
        }
        if realtime {
            next += period;
            let now = Instant::now();
            if now.saturating_duration_since(next) > 10 * period {
                // Far behind (suspended, overloaded): resume from now instead of
                // bursting steps to catch up, which would run the arm in fast-forward.
                overruns += 1;
                next = now;
            }
            wait_until(next, Duration::ZERO);
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let simulated = sim.time();
    let counters = transport.stats().snapshot();
    transport.shutdown().context("stopping the ROS transport")?;
    if let Some((rec, _)) = bag {
        info!("{}", rec.finish_line().context("closing the recording")?);
    }
    info!(
        simulated_s = simulated,
        wall_s = wall,
        rtf = simulated / wall.max(1e-9),
        accepted,
        rejected,
        published,
        publish_failed,
        overruns,
        transport = ?counters,
        "sim_arm stopped"
    );
    Ok(())
}
