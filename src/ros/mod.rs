//! ROS 2 messages and transport: the only module that knows about DDS or rcl.
//!
//! `transport.rs` is the backend-neutral boundary (declared topics become
//! bounded channels); `ros2_client_backend.rs` (default, `ros2-client` on RustDDS) and
//! `r2r_backend.rs` (feature `ros-r2r`, rcl) are the two backends behind it.
//! See `docs/ros_transport.md` for names, QoS and the interop test.

pub mod action;
#[cfg(not(feature = "ros-r2r"))]
pub mod action_client;
pub mod bag;
pub mod error;
pub mod motif_interfaces;
pub mod msgs;
pub mod node;
pub mod params;
#[cfg(feature = "ros-r2r")]
pub mod r2r_backend;
#[cfg(not(feature = "ros-r2r"))]
pub mod ros2_client_backend;
#[cfg(not(feature = "ros-r2r"))]
mod ros2_client_servers;
pub mod transport;

/// The backend this build carries topics on: rcl through r2r when the
/// feature is on (a build that asked for rcl must not quietly speak RustDDS
/// instead), `ros2-client` otherwise. A new backend is its own file, plus a
/// line here.
#[cfg(feature = "ros-r2r")]
pub(crate) use r2r_backend as backend;
#[cfg(not(feature = "ros-r2r"))]
pub(crate) use ros2_client_backend as backend;

pub use error::RosError;
pub use msgs::RosMessage;
pub use node::{dds_topic_name, NodeSpec, QosSpec};
pub use params::{parameters_of, ParamValue};
pub use transport::{Transport, TransportBuilder, TransportCounters, TransportStats};
