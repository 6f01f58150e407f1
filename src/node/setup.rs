//! From parameters to a controller ready to run, and the loop started on
//! its channels: one path for `motif_controller` and `motif_demo`, so the
//! demo plays exactly what the node would.

use crossbeam_channel::{bounded, Receiver, Sender};

use super::{error::NodeError, params::Params};
use crate::{
    control::{
        spawn_loop, CommandOutcome, CommandParser, Controller, LoopChannels, LoopConfig,
        LoopHandle, LoopInput, Measured, Sample, StatusSnapshot,
    },
    library::Library,
    robot::ArmModel,
};

/// What a node needs before its loop starts.
pub struct Setup {
    pub params: Params,
    pub library: Library,
    pub arm: ArmModel,
    pub controller: Controller,
    /// Parses command text at the non-real-time edge.
    pub parser: CommandParser,
    /// The library's motifs, in index order.
    pub motif_names: Vec<String>,
    /// The commanded joints, in command order.
    pub joint_names: Vec<String>,
}

impl Setup {
    /// Loads the library and the URDF the parameters name, reads the joint
    /// limits and configures the controller.
    pub fn new(params: Params) -> Result<Self, NodeError> {
        let library = Library::load(&params.library).map_err(|source| NodeError::Library {
            path: params.library.clone(),
            source: Box::new(source),
        })?;
        let arm = ArmModel::from_urdf_file(&params.urdf).map_err(|source| NodeError::Urdf {
            path: params.urdf.clone(),
            source: Box::new(source),
        })?;
        let config = params.controller_config().map_err(NodeError::JointLimits)?;
        let controller = Controller::new(&library, &arm, &config).map_err(NodeError::Controller)?;
        let motif_names: Vec<String> = library
            .network
            .motifs
            .iter()
            .map(|m| m.name.clone())
            .collect();
        let parser = params.command_parser(motif_names.clone());
        let joint_names = controller.joint_names().to_vec();
        Ok(Self {
            params,
            library,
            arm,
            controller,
            parser,
            motif_names,
            joint_names,
        })
    }
}

/// Starts the control loop on its own thread (with the scheduling `config`
/// asks for) and returns the node's ends of its channels.
pub fn start_loop(
    controller: Controller,
    config: LoopConfig,
) -> Result<(LoopHandle, LoopEnds), NodeError> {
    let (commands, cmd_rx) = bounded::<LoopInput>(64);
    let (measured, measured_rx) = bounded::<Measured>(8);
    let (sample_tx, samples) = bounded::<Sample>(1024);
    let (snap_tx, status) = bounded::<StatusSnapshot>(16);
    // Every command in the loop's queue (64) can have its outcome waiting.
    let (outcome_tx, outcomes) = bounded::<CommandOutcome>(256);
    let handle = spawn_loop(
        controller,
        config,
        LoopChannels {
            commands: cmd_rx,
            measured: measured_rx,
            samples: sample_tx,
            status: snap_tx,
            outcomes: outcome_tx,
        },
    )
    .map_err(NodeError::Loop)?;
    Ok((
        handle,
        LoopEnds {
            commands,
            measured,
            samples,
            status,
            outcomes,
        },
    ))
}

/// The node's ends of the loop's bounded channels: it only ever
/// `try_send`s, so the loop never waits on it.
pub struct LoopEnds {
    pub commands: Sender<LoopInput>,
    pub measured: Sender<Measured>,
    pub samples: Receiver<Sample>,
    pub status: Receiver<StatusSnapshot>,
    pub outcomes: Receiver<CommandOutcome>,
}
