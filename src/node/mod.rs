//! The `motif_controller` node runtime around the real-time core: what
//! crosses between ROS messages and the loop's `Copy` values.
//!
//! - [`measured`]: the robot's `/joint_states` into the loop's joint order.
//! - [`outputs`]: commanded samples into the ROS messages the robot side
//!   consumes, stamped by the node's clock (wall time, or `/clock`).

pub mod measured;
pub mod outputs;

pub use measured::{JointStateMap, MeasuredError};
pub use outputs::{Outputs, StampClock};
