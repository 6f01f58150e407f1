//! Joint motion out of a bag: the positions a `sensor_msgs/JointState` or
//! `trajectory_msgs/JointTrajectory` topic carried, with their times.

use std::path::Path;

use super::{decode, read_topic, BagError};
use crate::ros::{
    msgs::{JointState, JointTrajectory, Time},
    RosMessage,
};

/// Joint positions by name at time `t` (s; the header stamps' clock, or
/// the bag's log time when the stamps are all zero).
#[derive(Debug, Clone, PartialEq)]
pub struct JointSample {
    pub t: f64,
    pub names: Vec<String>,
    pub positions: Vec<f64>,
}

fn seconds(t: Time) -> f64 {
    f64::from(t.sec) + f64::from(t.nanosec) * 1e-9
}

/// Reads the joint motion on `topic`. A JointTrajectory message contributes
/// its points at stamp + `time_from_start`, each message replacing the
/// points of the one before from its own start on (a streamed look-ahead, or
/// one whole trajectory).
pub fn read_joint_motion(path: &Path, topic: &str) -> Result<Vec<JointSample>, BagError> {
    let msgs = read_topic(path, topic)?;
    let bad = |index: usize, detail: String| BagError::Decode {
        path: path.to_path_buf(),
        topic: topic.into(),
        index,
        type_name: msgs.type_name.clone(),
        detail,
    };
    let log_s = |ns: u64| ns as f64 * 1e-9;
    if msgs.type_name == JointState::ros_type_name() {
        let decoded = msgs
            .messages
            .iter()
            .enumerate()
            .map(|(i, (_, data))| decode::<JointState>(data).map_err(|e| bad(i, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let stamped = decoded.iter().any(|m| m.header.stamp != Time::default());
        return Ok(decoded
            .into_iter()
            .zip(&msgs.messages)
            .map(|(m, (log, _))| JointSample {
                t: if stamped {
                    seconds(m.header.stamp)
                } else {
                    log_s(*log)
                },
                names: m.name,
                positions: m.position,
            })
            .collect());
    }
    if msgs.type_name == JointTrajectory::ros_type_name() {
        let mut out: Vec<JointSample> = Vec::new();
        for (i, (log, data)) in msgs.messages.iter().enumerate() {
            let m = decode::<JointTrajectory>(data).map_err(|e| bad(i, e))?;
            // Stamp zero means "start now", i.e. when it was received.
            let start = if m.header.stamp == Time::default() {
                log_s(*log)
            } else {
                seconds(m.header.stamp)
            };
            out.retain(|s| s.t < start);
            out.extend(m.points.into_iter().map(|p| JointSample {
                t: start
                    + f64::from(p.time_from_start.sec)
                    + f64::from(p.time_from_start.nanosec) * 1e-9,
                names: m.joint_names.clone(),
                positions: p.positions,
            }));
        }
        return Ok(out);
    }
    Err(BagError::UnsupportedType {
        path: path.to_path_buf(),
        topic: topic.into(),
        type_name: msgs.type_name,
    })
}
