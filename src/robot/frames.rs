//! Per-link frame transforms, as `robot_state_publisher` publishes them on
//! `/tf`: for every URDF joint, the pose of its child link in its parent
//! link's frame (the joint origin times the joint's motion). A viewer that
//! has the URDF draws the arm from these.

use k::nalgebra::Isometry3;

use super::arm::ArmModel;
use super::kinematics::KinematicsError;

/// One parent → child link transform.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkTransform {
    pub parent: String,
    pub child: String,
    pub translation: [f64; 3],
    /// Unit quaternion, `[x, y, z, w]` (the ROS order).
    pub rotation: [f64; 4],
}

/// The URDF's whole tree (fixed joints and joints outside the arm included),
/// with the named joints set from a configuration.
pub struct LinkFrames {
    /// Per tree node below the root: the node, its parent link, its link,
    /// and the index in the configuration of the joint driving it (each node
    /// carries its own joint, so setting and reading it needs no tree).
    edges: Vec<(k::Node<f64>, String, String, Option<usize>)>,
    dof: usize,
}

impl LinkFrames {
    /// Configurations are given in the order of `joints` (the controller's
    /// joint order, or the URDF's: [`ArmModel::joint_names`]).
    pub fn new(arm: &ArmModel, joints: &[String]) -> Self {
        let tree: k::Chain<f64> = arm.urdf().into();
        let link = |n: &k::Node<f64>| n.link().as_ref().map(|l| l.name.clone());
        let edges = tree
            .iter()
            .filter_map(|node| {
                let parent = link(&node.parent()?)?;
                let child = link(node)?;
                let joint = joints.iter().position(|j| *j == node.joint().name);
                Some((node.clone(), parent, child, joint))
            })
            .collect();
        Self {
            edges,
            dof: joints.len(),
        }
    }

    /// The transforms at configuration `q`; joints not named stay at zero.
    pub fn transforms(&self, q: &[f64]) -> Result<Vec<LinkTransform>, KinematicsError> {
        if q.len() != self.dof {
            return Err(KinematicsError::WrongLength {
                expected: self.dof,
                got: q.len(),
            });
        }
        if !q.iter().all(|v| v.is_finite()) {
            return Err(KinematicsError::NonFinite);
        }
        Ok(self
            .edges
            .iter()
            .map(|(node, parent, child, joint)| {
                if let Some(j) = joint {
                    node.set_joint_position_unchecked(q[*j]);
                }
                let pose: Isometry3<f64> = node.joint().local_transform();
                let t = pose.translation.vector;
                let r = pose.rotation.coords;
                LinkTransform {
                    parent: parent.clone(),
                    child: child.clone(),
                    translation: [t.x, t.y, t.z],
                    rotation: [r.x, r.y, r.z, r.w],
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::robot::{Kinematics, PANDA_READY};
    use k::nalgebra::{Quaternion, Translation3, UnitQuaternion};

    use crate::robot::test_panda as panda;

    /// Chaining the published transforms from the root to the tip link must
    /// give the same pose as the forward kinematics the controller uses.
    #[test]
    fn chained_link_transforms_are_the_forward_kinematics() {
        let arm = panda();
        let frames = LinkFrames::new(&arm, arm.joint_names());
        let fk = Kinematics::new(&arm).unwrap();
        let mut q = PANDA_READY.to_vec();
        q[1] += 0.3;
        q[5] -= 0.4;
        let tfs = frames.transforms(&q).unwrap();
        let mut link = arm.tip_link().to_string();
        let mut pose = Isometry3::identity();
        while let Some(tf) = tfs.iter().find(|t| t.child == link) {
            let [x, y, z, w] = tf.rotation;
            let local = Isometry3::from_parts(
                Translation3::new(tf.translation[0], tf.translation[1], tf.translation[2]),
                UnitQuaternion::from_quaternion(Quaternion::new(w, x, y, z)),
            );
            pose = local * pose;
            link = tf.parent.clone();
        }
        let want = fk.fk(&q).unwrap();
        assert!((pose.translation.vector - want.translation.vector).norm() < 1e-12);
        assert!(pose.rotation.angle_to(&want.rotation) < 1e-12);
        assert!(frames.transforms(&q[..3]).is_err());

        // Configurations in another joint order give the same frames.
        let reversed: Vec<String> = arm.joint_names().iter().rev().cloned().collect();
        let q_reversed: Vec<f64> = q.iter().rev().copied().collect();
        let other = LinkFrames::new(&arm, &reversed)
            .transforms(&q_reversed)
            .unwrap();
        assert_eq!(other, tfs);
    }
}
