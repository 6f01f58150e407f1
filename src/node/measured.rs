//! `sensor_msgs/JointState` from the robot, mapped by joint name into the
//! controller's joint order. Extra joints (gripper fingers, a second arm on
//! the same topic) are ignored; a message that lacks a commanded joint, or
//! holds a non-finite position, is refused with the reason.

use std::collections::HashMap;

use crate::control::{Measured, MAX_JOINTS};
use crate::ros::msgs::JointState;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeasuredError {
    #[error("joint state lacks commanded joint(s) {0:?}")]
    Missing(Vec<String>),
    #[error("joint state has {names} names but {positions} positions")]
    Lengths { names: usize, positions: usize },
    #[error("joint state position of `{0}` is not finite")]
    NonFinite(String),
}

/// Name → index in the controller's joint order.
#[derive(Debug, Clone)]
pub struct JointStateMap {
    joints: Vec<String>,
    index: HashMap<String, usize>,
}

impl JointStateMap {
    pub fn new(joints: &[String]) -> Self {
        Self {
            joints: joints.to_vec(),
            index: joints
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i))
                .collect(),
        }
    }

    pub fn map(&self, msg: &JointState) -> Result<Measured, MeasuredError> {
        if msg.name.len() != msg.position.len() {
            return Err(MeasuredError::Lengths {
                names: msg.name.len(),
                positions: msg.position.len(),
            });
        }
        let mut position = [0.0; MAX_JOINTS];
        let mut seen = [false; MAX_JOINTS];
        for (name, &q) in msg.name.iter().zip(&msg.position) {
            if let Some(&i) = self.index.get(name) {
                if !q.is_finite() {
                    return Err(MeasuredError::NonFinite(name.clone()));
                }
                position[i] = q;
                seen[i] = true;
            }
        }
        let missing: Vec<String> = self
            .joints
            .iter()
            .zip(seen)
            .filter(|(_, s)| !s)
            .map(|(n, _)| n.clone())
            .collect();
        if !missing.is_empty() {
            return Err(MeasuredError::Missing(missing));
        }
        Ok(Measured { position })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(names: &[&str], q: &[f64]) -> JointState {
        JointState {
            name: names.iter().map(|s| s.to_string()).collect(),
            position: q.to_vec(),
            ..JointState::default()
        }
    }

    #[test]
    fn maps_by_name_ignores_extras_and_names_what_is_missing() {
        let m = JointStateMap::new(&["a".into(), "b".into()]);
        let got = m
            .map(&msg(&["finger", "b", "a"], &[0.04, 2.0, 1.0]))
            .unwrap();
        assert_eq!(&got.position[..2], &[1.0, 2.0]);
        assert_eq!(
            m.map(&msg(&["a"], &[1.0])),
            Err(MeasuredError::Missing(vec!["b".into()]))
        );
        assert!(matches!(
            m.map(&msg(&["a", "b"], &[1.0])),
            Err(MeasuredError::Lengths { .. })
        ));
        assert_eq!(
            m.map(&msg(&["a", "b"], &[1.0, f64::NAN])),
            Err(MeasuredError::NonFinite("b".into()))
        );
    }
}
