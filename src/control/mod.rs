//! The real-time core of the node (docs/architecture.md): the command parser, the
//! sequencer, joint limits, the fixed-rate loop and its timing statistics.
//!
//! Nothing here knows about ROS or the params file: `node/` converts between these
//! types and messages, so tests, benches and demos drive [`Controller`]
//! directly with a synthetic clock.

pub mod commands;
pub mod controller;
pub mod error;
pub mod limits;
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
pub use realtime::{Policy, RealtimeConfig, Scheduling};
pub use rt_loop::{
    spawn_loop, wait_until, CommandOutcome, LoopChannels, LoopConfig, LoopHandle, LoopInput,
    LoopReport, Measured,
};
pub use sample::{Sample, MAX_JOINTS};
pub use sequencer::{FaultCode, Phase, RejectReason};
pub use status::StatusSnapshot;
pub use timing::{Histogram, TimingStats, TimingSummary};
pub use tracker::JointState3;
