//! The robot side: joint names and limits from a URDF, and its kinematics.

pub mod arm;
pub mod kinematics;

pub use arm::{ArmError, ArmModel, JointSpec};
pub use kinematics::{IkOptions, IkTarget, Kinematics, KinematicsError};
