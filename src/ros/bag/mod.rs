//! rosbag2 bags: a directory holding `metadata.yaml` and one MCAP file in
//! the ros2 profile (`cdr` messages, `ros2msg` schemas), what `ros2 bag`,
//! Foxglove, PlotJuggler and the Python `rosbags`/`mcap` packages read.
//!
//! `writer.rs` writes one, staying readable when the disk fails mid-way;
//! `reader.rs` reads a topic back from a bag directory or a bare `.mcap`
//! file. Both are synchronous: the node's recorder runs the writer on its own
//! thread (`node/recording.rs`).

mod metadata;
mod motion;
mod reader;
mod writer;

use std::path::PathBuf;

use byteorder::LittleEndian;
use thiserror::Error;

use super::RosMessage;

pub use motion::{read_joint_motion, JointSample};
pub use reader::{read_topic, TopicMessages};
pub use writer::{BagSummary, BagWriter, TopicId};

/// The message encoding and schema encoding of the MCAP ros2 profile.
pub const MESSAGE_ENCODING: &str = "cdr";
pub const SCHEMA_ENCODING: &str = "ros2msg";

/// A bag file above this is refused before it is read (import reads the
/// file into memory; an hour of 1 kHz joint states is ≈ 600 MB).
pub const MAX_BAG_BYTES: u64 = 1 << 30;

#[derive(Debug, Error)]
pub enum BagError {
    #[error("{path}: {action}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },

    #[error("{path}: already exists and is not empty; a bag is written into a new directory")]
    Exists { path: PathBuf },

    #[error("{path}: not a rosbag2 bag: {reason}")]
    NotABag { path: PathBuf, reason: String },

    #[error("{path}: not a readable MCAP file (truncated or corrupt?): {detail}")]
    Mcap { path: PathBuf, detail: String },

    #[error("{path}: {size} bytes is more than the {max} bytes a bag may have here")]
    TooLarge { path: PathBuf, size: u64, max: u64 },

    #[error("{path}: no topic {topic}; the bag has: {available}")]
    NoSuchTopic {
        path: PathBuf,
        topic: String,
        available: String,
    },

    #[error("{path}: message {index} on {topic} does not decode as {type_name}: {detail}")]
    Decode {
        path: PathBuf,
        topic: String,
        index: usize,
        type_name: String,
        detail: String,
    },

    #[error("{path}: {topic} carries {type_name:?}; joint motion is read from sensor_msgs/msg/JointState or trajectory_msgs/msg/JointTrajectory")]
    UnsupportedType {
        path: PathBuf,
        topic: String,
        type_name: String,
    },

    #[error("encoding a {type_name} message: {detail}")]
    Encode { type_name: String, detail: String },

    #[error("bag writer: {0}")]
    Writer(String),
}

/// The encapsulation header of plain little-endian CDR (XCDR1 `CDR_LE`),
/// which every ROS 2 serialized message starts with.
const CDR_LE: [u8; 4] = [0x00, 0x01, 0x00, 0x00];

/// A message as rosbag2 stores it: the CDR encapsulation header, then the
/// little-endian CDR body, as it travels on the wire.
pub fn encode<M: RosMessage>(msg: &M) -> Result<Vec<u8>, BagError> {
    let body = cdr_encoding::to_vec::<M, LittleEndian>(msg).map_err(|e| BagError::Encode {
        type_name: M::ros_type_name(),
        detail: e.to_string(),
    })?;
    let mut out = Vec::with_capacity(CDR_LE.len() + body.len());
    out.extend_from_slice(&CDR_LE);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes a serialized message (either CDR byte order), or says why not.
pub fn decode<M: RosMessage>(data: &[u8]) -> Result<M, String> {
    let (head, body) = data
        .split_at_checked(4)
        .ok_or_else(|| format!("{} bytes is shorter than the CDR header", data.len()))?;
    let r = match head[..2] {
        [0x00, 0x01] => cdr_encoding::from_bytes::<M, LittleEndian>(body),
        [0x00, 0x00] => cdr_encoding::from_bytes::<M, byteorder::BigEndian>(body),
        _ => return Err(format!("unknown CDR encapsulation {head:02x?}")),
    };
    r.map(|(m, _)| m).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ros::msgs::{Header, JointState, JointTrajectory, Time};

    #[test]
    fn schemas_list_each_used_type_once_after_the_definition() {
        let s = JointTrajectory::ros2msg_schema();
        assert!(s.starts_with("std_msgs/Header header\n"));
        for used in [
            "MSG: std_msgs/Header\n",
            "MSG: builtin_interfaces/Time\n",
            "MSG: trajectory_msgs/JointTrajectoryPoint\n",
            "MSG: builtin_interfaces/Duration\n",
        ] {
            assert_eq!(s.matches(used).count(), 1, "{used} in\n{s}");
        }
        assert_eq!(
            crate::ros::msgs::StringMsg::ros2msg_schema(),
            "string data\n"
        );
    }

    #[test]
    fn messages_round_trip_through_cdr() {
        let js = JointState {
            header: Header {
                stamp: Time { sec: 3, nanosec: 7 },
                frame_id: "base".into(),
            },
            name: vec!["a".into(), "b".into()],
            position: vec![0.5, -1.25],
            velocity: vec![],
            effort: vec![1.0],
        };
        let bytes = encode(&js).unwrap();
        assert_eq!(bytes[..4], CDR_LE);
        assert_eq!(decode::<JointState>(&bytes).unwrap(), js);
        assert!(decode::<JointState>(&bytes[..3]).is_err());
        assert!(decode::<JointState>(&bytes[..bytes.len() - 3]).is_err());
        assert!(decode::<JointState>(&[9, 9, 0, 0, 1]).is_err());
    }
}
