//! ROS 2 messages and transport: the only module that knows about DDS.
//!
//! See `docs/ros_transport.md` for names, QoS and the interop test.

pub mod error;
pub mod msgs;
pub mod node;
pub mod transport;

pub use error::RosError;
pub use msgs::RosMessage;
pub use node::{dds_topic_name, NodeSpec, QosSpec, RosNode};
pub use transport::{Transport, TransportBuilder, TransportCounters, TransportStats};
