//! Typed errors of the control core.

use std::path::PathBuf;

use crate::{
    library::LibraryError,
    robot::{ArmError, JointLimitsError},
};

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a ROS 2 params file: {message}")]
    ParamsFile { path: PathBuf, message: String },
    #[error("parameter override `{arg}`: {message}")]
    Override { arg: String, message: String },
    #[error("invalid parameter `{name}`: {message}")]
    InvalidParam { name: &'static str, message: String },
    #[error("parameters: {0}")]
    Params(String),
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Arm(#[from] ArmError),
    #[error(transparent)]
    JointLimits(#[from] JointLimitsError),
    #[error("joint configuration: {0}")]
    Joints(String),
    #[error("control loop thread: {0}")]
    Thread(String),
}
