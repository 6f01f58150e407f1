//! Errors of the ROS 2 transport.
//!
//! Backend errors are carried as text so that the public API names no
//! `ros2-client`/RustDDS or r2r type: both backends fit the same enum.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum RosError {
    #[error("invalid ROS name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },

    #[error("ROS_DOMAIN_ID={value:?} is not a domain id in 0..=232")]
    InvalidDomainId { value: String },

    #[error("topic {topic} is declared twice on this node")]
    DuplicateTopic { topic: String },

    #[error("channel capacity for {topic} must be at least 1")]
    ZeroCapacity { topic: String },

    #[error("parameter {name}: {reason}")]
    Parameter { name: String, reason: String },

    #[error("ROS backend failed to {action}: {detail}")]
    Backend { action: String, detail: String },

    #[error("transport thread: {0}")]
    Thread(String),
}

impl RosError {
    pub(crate) fn backend(action: impl Into<String>, detail: impl std::fmt::Debug) -> Self {
        RosError::Backend {
            action: action.into(),
            detail: format!("{detail:?}"),
        }
    }
}
