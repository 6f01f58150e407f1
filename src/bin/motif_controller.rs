//! The ROS 2 node: loads a motif library, runs the control loop at a fixed
//! rate and streams joint commands (docs/running.md, docs/ros_transport.md).
//!
//! ```sh
//! motif_controller --params-file config/motif_controller.yaml -p loop_rate_hz:=500
//! motif_controller --ros-args --params-file config/motif_controller.yaml -p publish_joint_states:=true
//! ```

use std::{path::PathBuf, process::ExitCode};

use anyhow::{bail, Context, Result};
use motif::node::{self, params::NODE_NAME, NodeError, Params, Setup};
use motif::ros::NodeSpec;

const USAGE: &str =
    "usage: motif_controller [--ros-args] [--params-file FILE] [-p name:=value]... [-r from:=to]...

Remapping (-r): __ns:=/left_arm (namespace), __node:=name (node name),
from:=to (a topic; relative names resolve in the namespace).

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
    remaps: Vec<String>,
}

fn parse_args() -> Result<Option<Args>> {
    let mut args = Args {
        params_file: None,
        overrides: Vec::new(),
        remaps: Vec::new(),
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
            "-r" | "--remap" => args.remaps.push(it.next().context("-r needs from:=to")?),
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
    let spec = NodeSpec::new(NODE_NAME)
        .with_remap_rules(&args.remaps)
        .context("--ros-args -r")?;
    let params = Params::load_for(
        &spec.fully_qualified_name()?,
        args.params_file.as_deref(),
        &args.overrides,
    )
    .map_err(NodeError::Params)?;
    let setup = Setup::new(params)?;
    let shutdown = motif::shutdown::on_sigint_or_sigterm().context("installing signal handlers")?;
    let summary = node::run(setup, spec, &shutdown)?;
    tracing::info!("{summary}");
    eprintln!("motif_controller: {summary}");
    Ok(())
}
