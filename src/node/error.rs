//! Why the node could not start or stopped: each variant names the step,
//! its source the cause (binaries print the chain with `{:#}`). The large
//! sources are boxed so every `Result<_, NodeError>` stays small.

use std::path::PathBuf;

use thiserror::Error;

use crate::{control::ControlError, library::LibraryError, robot::ArmError, ros::RosError};

#[derive(Debug, Error)]
pub enum NodeError {
    #[error("loading parameters")]
    Params(#[source] ControlError),
    #[error("loading library {}", path.display())]
    Library {
        path: PathBuf,
        #[source]
        source: Box<LibraryError>,
    },
    #[error("loading URDF {}", path.display())]
    Urdf {
        path: PathBuf,
        #[source]
        source: Box<ArmError>,
    },
    #[error("reading the joint limits")]
    JointLimits(#[source] ControlError),
    #[error("configuring the controller")]
    Controller(#[source] ControlError),
    #[error("running the control loop")]
    Loop(#[source] ControlError),
    #[error("recording to {}", path.display())]
    Record {
        path: PathBuf,
        #[source]
        source: Box<crate::ros::bag::BagError>,
    },
    #[error("ROS transport")]
    Ros(#[from] RosError),
    #[error(transparent)]
    LiveView(#[from] super::live_view::LiveViewError),
}
