//! `metadata.yaml`, rosbag2's description of a bag: its storage, files,
//! topics and message counts. Written at version 5 (Humble's), which every
//! later rosbag2 and `rosbags` read.

use serde::{Deserialize, Serialize};

pub const FILE_NAME: &str = "metadata.yaml";
const VERSION: u32 = 5;

#[derive(Debug, Serialize, Deserialize)]
pub struct Metadata {
    pub rosbag2_bagfile_information: Info,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Info {
    pub version: u32,
    pub storage_identifier: String,
    #[serde(default)]
    pub relative_file_paths: Vec<String>,
    #[serde(default)]
    pub duration: Nanoseconds,
    #[serde(default)]
    pub starting_time: SinceEpoch,
    #[serde(default)]
    pub message_count: u64,
    #[serde(default)]
    pub topics_with_message_count: Vec<TopicCount>,
    #[serde(default)]
    pub compression_format: String,
    #[serde(default)]
    pub compression_mode: String,
    #[serde(default)]
    pub files: Vec<FileInfo>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Nanoseconds {
    pub nanoseconds: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SinceEpoch {
    pub nanoseconds_since_epoch: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct TopicCount {
    pub topic_metadata: TopicMetadata,
    pub message_count: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct TopicMetadata {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub serialization_format: String,
    /// rosbag2 keeps the QoS as a YAML document inside a string; empty = the
    /// reader's defaults.
    #[serde(default)]
    pub offered_qos_profiles: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FileInfo {
    pub path: String,
    pub starting_time: SinceEpoch,
    pub duration: Nanoseconds,
    pub message_count: u64,
}

impl Metadata {
    /// One MCAP file `file` holding `topics` as `(name, type, count)`,
    /// messages from `start_ns` to `end_ns`.
    pub fn new(file: &str, topics: &[(&str, &str, u64)], start_ns: u64, end_ns: u64) -> Self {
        let total = topics.iter().map(|t| t.2).sum();
        let duration = Nanoseconds {
            nanoseconds: end_ns.saturating_sub(start_ns),
        };
        let start = || SinceEpoch {
            nanoseconds_since_epoch: start_ns,
        };
        Self {
            rosbag2_bagfile_information: Info {
                version: VERSION,
                storage_identifier: "mcap".into(),
                relative_file_paths: vec![file.into()],
                duration: Nanoseconds {
                    nanoseconds: duration.nanoseconds,
                },
                starting_time: start(),
                message_count: total,
                topics_with_message_count: topics
                    .iter()
                    .map(|&(name, type_name, message_count)| TopicCount {
                        topic_metadata: TopicMetadata {
                            name: name.into(),
                            type_name: type_name.into(),
                            serialization_format: super::MESSAGE_ENCODING.into(),
                            offered_qos_profiles: String::new(),
                        },
                        message_count,
                    })
                    .collect(),
                compression_format: String::new(),
                compression_mode: String::new(),
                files: vec![FileInfo {
                    path: file.into(),
                    starting_time: start(),
                    duration,
                    message_count: total,
                }],
            },
        }
    }
}
