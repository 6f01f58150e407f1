//! The real-time side of the node (DESIGN.md §3): the command parser, the
//! sequencer, joint limits, the fixed-rate loop and its timing statistics.
//!
//! Nothing here knows about ROS: the node binary converts between these
//! types and messages, so tests, benches and demos drive [`Controller`]
//! directly with a synthetic clock.

pub mod commands;
pub mod controller;
pub mod error;
pub mod limits;
pub mod params;
pub mod realtime;
pub mod reference;
pub mod rt_loop;
pub mod sample;
pub mod sequencer;
pub mod status;
pub mod supervision;
pub mod timing;
pub mod tracker;

pub use commands::{Command, CommandError, CommandParser, MotifQueue, MAX_QUEUE};
pub use controller::{Controller, ControllerConfig, SupervisionSettings};
pub use error::ControlError;
pub use limits::{JointLimits, LimitMeter};
pub use params::Params;
pub use realtime::{Policy, RealtimeConfig, Scheduling};
pub use rt_loop::{
    spawn_loop, wait_until, CommandOutcome, LoopChannels, LoopConfig, LoopHandle, LoopInput,
    LoopReport, Measured,
};
pub use sample::{Sample, MAX_JOINTS};
pub use sequencer::{FaultCode, Phase, RejectReason};
pub use status::{echo, motifs_json, status_json, CommandRecord, NodeStatus, StatusSnapshot};
pub use timing::{Histogram, TimingStats, TimingSummary};
pub use tracker::JointState3;
