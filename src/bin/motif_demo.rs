//! The one-command demo: the controller's real fixed-rate loop drives the
//! simulated arm (rigid-body physics of `urdf/arm.urdf`) through a motif
//! sequence with a preemption, then prints a summary and writes a plot.
//!
//! Controller and arm run in one process, joined by the same bounded channels
//! the node uses, so the demo needs no ROS install and no network at all; the
//! DDS path is exercised by `motif_controller` + `sim_arm` and their tests.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use crossbeam_channel::RecvTimeoutError;
use motif::control::{LimitMeter, LoopInput, Phase};
use motif::node::{
    start_loop, JointStateMap, LiveFrame, LiveView, LiveViewSetup, LoopEnds, NodeError, Params,
    RecorderBuilder, Setup,
};
use motif::plots::{self, Track};
use motif::robot::{Kinematics, SimArm, SimConfig};
use motif::ros::msgs::{Float64MultiArray, Header, JointState, Time};

#[derive(Parser)]
#[command(
    version,
    about = "Play motifs from the default library on the simulated arm"
)]
struct Cli {
    /// The node's parameters (library, URDF, loop rate, limits).
    #[arg(long, default_value = "config/motif_controller.yaml")]
    params_file: PathBuf,
    /// The first command: motif names to play in order.
    #[arg(long, default_value = "circle wave reach_left figure_eight")]
    sequence: String,
    /// Seconds after the start at which a second command replaces the queue,
    /// mid-motif: a preemption.
    #[arg(long, default_value_t = 7.0)]
    preempt_at: f64,
    #[arg(long, default_value = "lift square reach_right")]
    preempt_with: String,
    /// Where to write the plot of commanded versus measured joint angles.
    #[arg(long, default_value = "motif_demo.png")]
    plot: PathBuf,
    /// Where to write the end-effector path, commanded versus measured (top,
    /// front and side views); default `<plot>` with `_task_space` added.
    #[arg(long)]
    task_plot: Option<PathBuf>,
    /// Upper bound on the demo's length in seconds.
    #[arg(long, default_value_t = 60.0)]
    max_seconds: f64,
    /// Overrides of the params file, as the node takes them:
    /// `-p realtime_priority:=0` (repeatable).
    #[arg(short = 'p', long = "param", value_name = "NAME:=VALUE")]
    params: Vec<String>,
    /// Where the simulated arm starts, one angle per URDF joint (rad,
    /// comma-separated); default the Panda ready pose. The controller starts
    /// from wherever the arm is, as on a real robot.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    initial_positions: Option<Vec<f64>>,
    /// Record the commanded and measured streams to this new rosbag2 (MCAP)
    /// directory, under the node's topic names.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Serve a Foxglove WebSocket live view on HOST:PORT while the demo runs
    /// (docs/live_view.md); the same as `-p live_view:=HOST:PORT`.
    #[arg(long, value_name = "HOST:PORT")]
    live_view: Option<String>,
}

/// One tick as the arm saw it.
struct Row {
    t: f64,
    commanded: Vec<f64>,
    measured: Vec<f64>,
    phase: Phase,
    motif: Option<u16>,
}

fn main() -> std::process::ExitCode {
    motif::logging::init("info,k=warn");
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("motif_demo: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    if !(cli.preempt_at >= 0.0 && cli.max_seconds > 0.0 && cli.max_seconds.is_finite()) {
        bail!("--preempt-at must be ≥ 0 and --max-seconds positive");
    }
    let params = Params::load(Some(&cli.params_file), &cli.params).map_err(NodeError::Params)?;
    let Setup {
        params,
        arm,
        controller,
        parser,
        motif_names: names,
        joint_names: joints,
        ..
    } = Setup::new(params)?;
    let limits = *controller.limits();
    // The rows below are in the controller's joint order; FK takes the URDF's.
    arm.check_joint_names(&joints)?;
    let kinematics = Kinematics::new(&arm).context("forward kinematics of the URDF")?;
    let first = parser.parse(&cli.sequence).context("--sequence")?;
    let second = parser.parse(&cli.preempt_with).context("--preempt-with")?;
    let mut sim = SimArm::new(
        arm,
        SimConfig {
            rate_hz: params.loop_rate_hz,
            initial_positions: cli.initial_positions.clone(),
            ..SimConfig::default()
        },
    )
    .context("starting the simulated arm")?;

    // The arm's joint states reach the controller by name, as over ROS.
    let joint_map = JointStateMap::new(&joints);
    let sim_names = sim.joint_names().to_vec();
    tracing::info!(
        "playing `{}`, then at {} s `{}` on the simulated arm at {} Hz",
        cli.sequence,
        cli.preempt_at,
        cli.preempt_with,
        params.loop_rate_hz
    );
    // The node's topic names, so a demo bag reads like a node's.
    let bag = cli
        .record
        .as_deref()
        .map(|dir| -> Result<_> {
            let mut b = RecorderBuilder::create(dir)?;
            let topics = (
                b.topic::<Float64MultiArray>("/forward_position_controller/commands")?,
                b.topic::<JointState>("/motif_controller/joint_commands")?,
                b.topic::<JointState>("/joint_states")?,
            );
            Ok((b.start()?, topics))
        })
        .transpose()
        .context("--record")?;
    let live_addr = cli.live_view.clone().unwrap_or(params.live_view.clone());
    let live = (!live_addr.trim().is_empty())
        .then(|| {
            let setup = LiveViewSetup {
                arm: sim.arm(),
                joint_names: &joints,
                motif_names: &names,
                server_name: "motif_demo",
                commanded: true,
                status: false,
            };
            LiveView::start(live_addr.trim(), &setup)
        })
        .transpose()
        .context("--live-view")?;
    let epoch = std::time::SystemTime::now();
    let (handle, ends) = start_loop(controller, params.loop_config())?;
    let LoopEnds {
        commands: cmd_tx,
        measured: measured_tx,
        samples: sample_rx,
        status: status_rx,
        ..
    } = ends;
    cmd_tx.send(LoopInput {
        id: 1,
        command: first,
    })?;
    let mut meter = LimitMeter::new(&limits, 1.0 / params.loop_rate_hz);
    let mut usage = Vec::new();

    let mut rows: Vec<Row> = Vec::new();
    let mut preempted = false;
    let mut held_since: Option<f64> = None;
    loop {
        let s = match sample_rx.recv_timeout(Duration::from_secs(1)) {
            Ok(s) => s,
            Err(RecvTimeoutError::Timeout) => bail!("the control loop stopped sending samples"),
            Err(RecvTimeoutError::Disconnected) => bail!("the control loop ended early"),
        };
        while status_rx.try_recv().is_ok() {}
        if s.is_command() {
            sim.set_command(s.positions())
                .context("the controller sent a command the arm rejects")?;
        }
        sim.step();
        let measured = JointState {
            name: sim_names.clone(),
            position: sim.joint_positions().to_vec(),
            ..JointState::default()
        };
        // In the controller's joint order, as the live view takes it.
        let in_order = joint_map.map(&measured)?;
        let _ = measured_tx.try_send(in_order);
        if !s.is_command() {
            continue;
        }
        if let Some(l) = &live {
            let stamp = Time::from(epoch + Duration::from_secs_f64(s.t));
            l.offer(LiveFrame::Commanded { stamp, sample: s });
            l.offer(LiveFrame::measured(
                stamp,
                &in_order.position[..joints.len()],
            ));
        }
        if let Some((rec, (commands, joint_commands, joint_states))) = &bag {
            let stamp = Time::from(epoch + Duration::from_secs_f64(s.t));
            let header = Header {
                stamp,
                frame_id: String::new(),
            };
            rec.record(
                *commands,
                &Float64MultiArray::from_slice(s.positions()),
                stamp,
            );
            let commanded = JointState {
                header: header.clone(),
                name: joints.clone(),
                position: s.positions().to_vec(),
                velocity: s.velocities().to_vec(),
                effort: Vec::new(),
            };
            rec.record(*joint_commands, &commanded, stamp);
            let measured = JointState { header, ..measured };
            rec.record(*joint_states, &measured, stamp);
        }
        usage.push(meter.push(s.positions()));
        rows.push(Row {
            t: s.t,
            commanded: s.positions().to_vec(),
            measured: sim.joint_positions().to_vec(),
            phase: s.phase,
            motif: s.motif,
        });
        if !preempted && s.t >= cli.preempt_at {
            cmd_tx.send(LoopInput {
                id: 2,
                command: second,
            })?;
            preempted = true;
        }
        // Done once the second command's queue has played out and the arm has settled.
        if preempted && s.phase == Phase::Holding {
            let since = *held_since.get_or_insert(s.t);
            if s.t - since > 0.5 {
                break;
            }
        } else {
            held_since = None;
        }
        if s.t > cli.max_seconds {
            tracing::warn!("stopping at the --max-seconds bound");
            break;
        }
    }
    let report = handle.stop()?;
    if let Some((rec, _)) = bag {
        let (summary, health) = rec.finish()?;
        println!(
            "  recorded {} messages to {} ({} dropped)",
            summary.counts.iter().map(|c| c.1).sum::<u64>(),
            summary.path.display(),
            health.dropped
        );
        if let Some(e) = health.error {
            bail!("recording to {} failed: {e}", summary.path.display());
        }
    }

    // Motifs in the order they were executed, with their onsets.
    let mut played: Vec<(f64, String)> = Vec::new();
    let mut last: Option<(Phase, Option<u16>)> = None;
    for r in &rows {
        if r.phase == Phase::Executing && last != Some((Phase::Executing, r.motif)) {
            if let Some(m) = r.motif {
                played.push((r.t, names[m as usize].clone()));
            }
        }
        last = Some((r.phase, r.motif));
    }
    println!(
        "motif_demo: {} s of control at {} Hz",
        rows.last().map_or(0.0, |r| r.t).round(),
        params.loop_rate_hz
    );
    println!(
        "  motifs played: {}",
        played
            .iter()
            .map(|(t, n)| format!("{n} (at {t:.2} s)"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("  tracking error, commanded vs measured (rad):");
    println!("    {:<14} {:>9} {:>9}", "joint", "RMS", "max");
    for (j, name) in joints.iter().enumerate() {
        let errs: Vec<f64> = rows
            .iter()
            .map(|r| (r.commanded[j] - r.measured[j]).abs())
            .collect();
        let rms = (errs.iter().map(|e| e * e).sum::<f64>() / errs.len().max(1) as f64).sqrt();
        let max = errs.iter().cloned().fold(0.0, f64::max);
        println!("    {name:<14} {rms:>9.5} {max:>9.5}");
    }
    println!(
        "  commanded stream (finite differences at the loop period), peak share of the limits: \
         velocity {:.2}, acceleration {:.2}, jerk {:.2}",
        meter.max[0], meter.max[1], meter.max[2]
    );
    let t = &report.timing;
    println!(
        "  loop timing over {} ticks: compute p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs; \
         wake-up lateness p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs; {} overruns; \
         scheduling {}",
        t.ticks,
        t.compute.p50_us,
        t.compute.p99_us,
        t.compute.max_us,
        t.lateness.p50_us,
        t.lateness.p99_us,
        t.lateness.max_us,
        t.overruns,
        t.scheduling
    );

    let track = Track {
        times: rows.iter().map(|r| r.t).collect(),
        commanded: rows.iter().map(|r| r.commanded.clone()).collect(),
        measured: rows.iter().map(|r| r.measured.clone()).collect(),
        joint_names: joints,
        onsets: played,
        limit_usage: Some(usage),
    };
    plots::joint_tracking(&cli.plot, "motif_demo: commanded vs measured", &track)?;
    println!("  plot: {}", cli.plot.display());

    let tips = |rows: &[Vec<f64>]| -> Result<Vec<[f64; 3]>> {
        rows.iter()
            .map(|q| Ok(kinematics.fk_position(q)?))
            .collect()
    };
    let (commanded, measured) = (tips(&track.commanded)?, tips(&track.measured)?);
    let worst = commanded
        .iter()
        .zip(&measured)
        .map(|(c, m)| {
            c.iter()
                .zip(m)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .fold(0.0, f64::max);
    println!("  end-effector tracking error: max {:.2} mm", worst * 1e3);
    let task_plot = cli.task_plot.clone().unwrap_or_else(|| {
        let stem = cli.plot.file_stem().unwrap_or_default().to_string_lossy();
        cli.plot.with_file_name(format!("{stem}_task_space.png"))
    });
    plots::tip_paths(
        &task_plot,
        "motif_demo: end-effector path, commanded vs measured",
        &format!(
            "black: commanded   colour: measured (simulated arm)   dot: start   max distance {:.2} mm",
            worst * 1e3
        ),
        &[
            plots::TipPath {
                label: "measured".into(),
                points: measured,
                style: plots::PathStyle::Main(0),
            },
            plots::TipPath {
                label: "commanded".into(),
                points: commanded,
                style: plots::PathStyle::Black,
            },
        ],
    )?;
    println!("  task-space plot: {}", task_plot.display());
    Ok(())
}
