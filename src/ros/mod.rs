//! ROS 2 messages and transport: the only module that knows about DDS or rcl.
//!
//! `transport.rs` is the backend-neutral boundary (declared topics become
//! bounded channels); `ros2_client_backend.rs` (default, `ros2-client` on RustDDS) and
//! `r2r_backend.rs` (feature `ros-r2r`, rcl) are the two backends behind it.
//! See `docs/ros_transport.md` for names, QoS and the interop test.

pub mod error;
pub mod msgs;
pub mod node;
pub mod params;
#[cfg(feature = "ros-r2r")]
pub mod r2r_backend;
pub mod ros2_client_backend;
pub mod transport;

pub use error::RosError;
pub use msgs::RosMessage;
pub use node::{dds_topic_name, NodeSpec, QosSpec};
pub use params::{parameters_of, ParamValue};
pub use ros2_client_backend::RosNode;
pub use transport::{Backend, Transport, TransportBuilder, TransportCounters, TransportStats};
