//! ROS 2 messages and transport: the only module that knows about DDS or rcl.
//!
//! `transport.rs` is the backend-neutral boundary (declared topics become
//! bounded channels); `rustdds.rs` (default, `ros2-client`) and
//! `r2r_backend.rs` (feature `ros-r2r`, rcl) are the two backends behind it.
//! See `docs/ros_transport.md` for names, QoS and the interop test.

pub mod error;
pub mod msgs;
pub mod node;
pub mod params;
#[cfg(feature = "ros-r2r")]
pub mod r2r_backend;
pub mod rustdds;
pub mod transport;

pub use error::RosError;
pub use msgs::RosMessage;
pub use node::{dds_topic_name, NodeSpec, QosSpec};
pub use params::{parameters_of, ParamValue};
pub use rustdds::RosNode;
pub use transport::{Backend, Transport, TransportBuilder, TransportCounters, TransportStats};
