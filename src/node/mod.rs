//! The `motif_controller` node runtime around the real-time core: what
//! crosses between ROS messages and the loop's `Copy` values.
//!
//! - [`setup`]: parameters to a configured controller and a running loop,
//!   the one path for the node and `motif_demo`; [`runtime`]: the node
//!   itself around the loop (transport, commands, status, heartbeat).
//! - [`params`]: the node's parameters (params file and `-p` overrides),
//!   turned once into the `Copy` configurations the loop and the controller
//!   take.
//! - [`measured`]: the robot's `/joint_states` into the loop's joint order.
//! - [`outputs`]: commanded samples into the ROS messages the robot side
//!   consumes, stamped by the node's clock (wall time, or `/clock`).
//! - [`status`]: the `~/status` and `~/motifs` JSON, with the node's record
//!   of the commands it received; [`diagnostics`]: the same state as
//!   `/diagnostics` levels and values.
//! - [`play_goals`]: `~/play_motifs` goals as ordinary commands, tracked
//!   from the status snapshots.
//! - [`recording`]: the outputs into a rosbag2 bag on a thread of its own,
//!   through a bounded queue (the `record` parameter).

pub mod diagnostics;
pub mod error;
pub mod live_view;
pub mod measured;
pub mod outputs;
pub mod params;
pub mod play_goals;
pub mod recording;
pub mod runtime;
pub mod setup;
pub mod status;

pub use error::NodeError;
pub use live_view::{LiveFrame, LiveView, LiveViewError, LiveViewSetup};
pub use measured::{JointStateMap, MeasuredError};
pub use outputs::{Outputs, StampClock};
pub use params::Params;
pub use recording::{BagTopic, Recorder, RecorderBuilder, RecordingHealth};
pub use runtime::run;
pub use setup::{start_loop, LoopEnds, Setup};
pub use status::{echo, motifs_json, status_messages, CommandRecord, NodeStatus};
