//! The robot side: joint names and limits from a URDF, and its kinematics.

pub mod arm;
pub mod frames;
pub mod joint_limits;
pub mod kinematics;
pub mod sim;

pub use arm::{ArmError, ArmModel, JointSpec, PANDA_READY};
pub use frames::{LinkFrames, LinkTransform};
pub use joint_limits::{JointLimitsError, JointLimitsFile, ResolvedLimits};
pub use kinematics::{IkOptions, IkTarget, Kinematics, KinematicsError};
pub use sim::{SimArm, SimConfig, SimError, DEFAULT_RATE_HZ};

/// The shipped Panda URDF (`urdf/arm.urdf`), for unit tests.
#[cfg(test)]
pub(crate) fn test_panda() -> ArmModel {
    ArmModel::from_urdf_str(include_str!("../../urdf/arm.urdf"), "arm.urdf").unwrap()
}
