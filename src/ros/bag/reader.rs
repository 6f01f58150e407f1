//! Reading one topic back from a bag: a rosbag2 directory (its
//! `metadata.yaml` names the MCAP files) or a bare `.mcap` file.

use std::path::{Path, PathBuf};

use super::{
    metadata::{self, Metadata},
    BagError, MAX_BAG_BYTES, MESSAGE_ENCODING,
};

/// The messages of one topic, in log-time order.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicMessages {
    /// The ROS type, e.g. `sensor_msgs/msg/JointState` (the schema's name).
    pub type_name: String,
    /// `(log time ns, serialized message)`.
    pub messages: Vec<(u64, Vec<u8>)>,
}

/// Reads every message on `topic` from the bag at `path`.
pub fn read_topic(path: &Path, topic: &str) -> Result<TopicMessages, BagError> {
    let files = mcap_files(path)?;
    let mut type_name: Option<String> = None;
    let mut seen = std::collections::BTreeSet::new();
    let mut messages = Vec::new();
    for file in &files {
        let io = |action| {
            move |source| BagError::Io {
                path: file.clone(),
                action,
                source,
            }
        };
        let size = std::fs::metadata(file).map_err(io("reading"))?.len();
        if size > MAX_BAG_BYTES {
            return Err(BagError::TooLarge {
                path: file.clone(),
                size,
                max: MAX_BAG_BYTES,
            });
        }
        let buf = std::fs::read(file).map_err(io("reading"))?;
        let bad = |detail: String| BagError::Mcap {
            path: file.clone(),
            detail,
        };
        if !buf.starts_with(mcap::MAGIC) {
            return Err(BagError::NotABag {
                path: file.clone(),
                reason: "the file does not start with the MCAP magic".into(),
            });
        }
        let stream = mcap::MessageStream::new(&buf).map_err(|e| bad(e.to_string()))?;
        for m in stream {
            let m = m.map_err(|e| bad(e.to_string()))?;
            seen.insert(m.channel.topic.clone());
            if m.channel.topic != topic {
                continue;
            }
            if m.channel.message_encoding != MESSAGE_ENCODING {
                return Err(BagError::NotABag {
                    path: file.clone(),
                    reason: format!(
                        "{topic} is encoded as {:?}, not {MESSAGE_ENCODING}",
                        m.channel.message_encoding
                    ),
                });
            }
            if type_name.is_none() {
                type_name = Some(
                    m.channel
                        .schema
                        .as_ref()
                        .map(|s| s.name.clone())
                        .unwrap_or_default(),
                );
            }
            messages.push((m.log_time, m.data.into_owned()));
        }
    }
    let Some(type_name) = type_name else {
        return Err(BagError::NoSuchTopic {
            path: path.to_path_buf(),
            topic: topic.into(),
            available: if seen.is_empty() {
                "no messages at all".into()
            } else {
                seen.into_iter().collect::<Vec<_>>().join(", ")
            },
        });
    };
    // Chunks may overlap in time; a stable sort keeps equal stamps in order.
    messages.sort_by_key(|m| m.0);
    Ok(TopicMessages {
        type_name,
        messages,
    })
}

/// The MCAP files of a bag: a directory's from its `metadata.yaml`, or the
/// file itself.
fn mcap_files(path: &Path) -> Result<Vec<PathBuf>, BagError> {
    if !path.is_dir() {
        if !path.exists() {
            return Err(BagError::Io {
                path: path.to_path_buf(),
                action: "opening the bag",
                source: std::io::ErrorKind::NotFound.into(),
            });
        }
        return Ok(vec![path.to_path_buf()]);
    }
    let meta_path = path.join(metadata::FILE_NAME);
    let not_bag = |reason: String| BagError::NotABag {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(&meta_path)
        .map_err(|e| not_bag(format!("cannot read {}: {e}", metadata::FILE_NAME)))?;
    let meta: Metadata = serde_norway::from_str(&text)
        .map_err(|e| not_bag(format!("{}: {e}", metadata::FILE_NAME)))?;
    let info = meta.rosbag2_bagfile_information;
    if info.storage_identifier != "mcap" {
        return Err(not_bag(format!(
            "storage {:?}; only MCAP bags are read (convert with `ros2 bag convert`)",
            info.storage_identifier
        )));
    }
    if info.relative_file_paths.is_empty() {
        return Err(not_bag("metadata.yaml lists no files".into()));
    }
    Ok(info
        .relative_file_paths
        .iter()
        .map(|f| path.join(Path::new(f).file_name().unwrap_or_default()))
        .collect())
}
