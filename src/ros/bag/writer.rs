//! Writing a bag, and keeping what was written readable when the disk fails.
//!
//! The MCAP writer buffers a chunk in memory and writes it whole, so a
//! failed write leaves at most one partial chunk at the end of the file.
//! [`BagWriter::checkpoint`] ends the current chunk and remembers where the
//! file was last complete; after a write error the file is cut back there and
//! closed with a data-end record, a footer without a summary and the end
//! magic, which MCAP readers (and `rosbags`) accept: they scan the data
//! section instead of reading an index.

use std::{
    collections::BTreeMap,
    fs::File,
    io::{Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use super::{
    metadata::{self, Metadata},
    BagError, MESSAGE_ENCODING, SCHEMA_ENCODING,
};
use crate::ros::RosMessage;

/// Chunk size: a chunk is what a failure can lose, so keep it modest.
const CHUNK_BYTES: u64 = 256 * 1024;

/// A topic of the bag, from [`BagWriter::add_topic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicId(u16);

/// What the finished bag holds.
#[derive(Debug, Clone, PartialEq)]
pub struct BagSummary {
    pub path: PathBuf,
    /// Messages per topic, in the order the topics were added.
    pub counts: Vec<(String, u64)>,
    /// Set when the bag was cut short by a write error.
    pub error: Option<String>,
}

/// A file that shares its position, so a checkpoint is a byte offset (the
/// MCAP writer owns the file and does not lend it out).
struct Tracked {
    file: File,
    pos: Arc<AtomicU64>,
}

impl Write for Tracked {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.pos.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Seek for Tracked {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let p = self.file.seek(to)?;
        self.pos.store(p, Ordering::Relaxed);
        Ok(p)
    }
}

struct Topic {
    name: String,
    type_name: String,
    channel: u16,
    count: u64,
    /// `count` at the last checkpoint: what a cut-short file still holds.
    committed: u64,
}

#[derive(Clone, Copy, Default)]
struct Span {
    first: Option<u64>,
    last: u64,
}

impl Span {
    fn push(&mut self, t: u64) {
        self.first = Some(self.first.map_or(t, |f| f.min(t)));
        self.last = self.last.max(t);
    }
}

pub struct BagWriter {
    dir: PathBuf,
    file_name: String,
    /// `None` once finished or failed.
    mcap: Option<mcap::Writer<Tracked>>,
    pos: Arc<AtomicU64>,
    topics: Vec<Topic>,
    span: Span,
    committed_span: Span,
    /// File length at the last checkpoint.
    good_len: u64,
    error: Option<String>,
}

impl BagWriter {
    /// Creates the bag directory `dir` (its parent must exist; `dir` itself
    /// must not, or be empty, as `ros2 bag record -o` asks) with
    /// `<dir name>_0.mcap` and a first `metadata.yaml`.
    pub fn create(dir: &Path) -> Result<Self, BagError> {
        let io = |action| {
            move |source| BagError::Io {
                path: dir.to_path_buf(),
                action,
                source,
            }
        };
        if dir.exists() {
            let empty = std::fs::read_dir(dir)
                .map_err(io("reading the bag directory"))?
                .next()
                .is_none();
            if !empty {
                return Err(BagError::Exists {
                    path: dir.to_path_buf(),
                });
            }
        } else {
            std::fs::create_dir(dir).map_err(io("creating the bag directory"))?;
        }
        let stem = dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "bag".into());
        let file_name = format!("{stem}_0.mcap");
        let file = File::create(dir.join(&file_name)).map_err(io("creating the MCAP file"))?;
        let options = mcap::WriteOptions::new()
            .profile("ros2")
            .library(concat!("motif_controller ", env!("CARGO_PKG_VERSION")))
            .compression(None)
            .chunk_size(Some(CHUNK_BYTES));
        let pos = Arc::new(AtomicU64::new(0));
        let mcap = options
            .create(Tracked {
                file,
                pos: pos.clone(),
            })
            .map_err(|e| BagError::Writer(e.to_string()))?;
        let mut w = Self {
            dir: dir.to_path_buf(),
            file_name,
            mcap: Some(mcap),
            pos,
            topics: Vec::new(),
            span: Span::default(),
            committed_span: Span::default(),
            good_len: 0,
            error: None,
        };
        w.checkpoint()?;
        w.write_metadata()?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Declares a topic carrying `M`; its schema goes into the file at once.
    /// Naming a topic again with the same type gives the same id.
    pub fn add_topic<M: RosMessage>(&mut self, name: &str) -> Result<TopicId, BagError> {
        if let Some(i) = self.topics.iter().position(|t| t.name == name) {
            if self.topics[i].type_name != M::ros_type_name() {
                return Err(BagError::Writer(format!(
                    "topic {name} is {} already, not {}",
                    self.topics[i].type_name,
                    M::ros_type_name()
                )));
            }
            return Ok(TopicId(i as u16));
        }
        let mcap = self.live()?;
        let r = mcap
            .add_schema(
                &M::ros_type_name(),
                SCHEMA_ENCODING,
                M::ros2msg_schema().as_bytes(),
            )
            .and_then(|schema| mcap.add_channel(schema, name, MESSAGE_ENCODING, &BTreeMap::new()));
        let channel = self.check(r)?;
        self.topics.push(Topic {
            name: name.into(),
            type_name: M::ros_type_name(),
            channel,
            count: 0,
            committed: 0,
        });
        Ok(TopicId((self.topics.len() - 1) as u16))
    }

    /// Writes one serialized message (see [`super::encode`]) stamped
    /// `stamp_ns` (ns since the Unix epoch, or ROS time): its publish time.
    /// The log time is the stamp held to never go back, as a recorder's
    /// receive times are: the node's topics carry stamps from different
    /// clocks' instants (a sample's deadline, a status snapshot, a
    /// measurement's receipt) that interleave by a few milliseconds, and a
    /// file cut short by a full disk has no index, so readers (rosbags) then
    /// need its messages in log-time order.
    pub fn write(&mut self, topic: TopicId, stamp_ns: u64, data: &[u8]) -> Result<(), BagError> {
        let t = self
            .topics
            .get_mut(usize::from(topic.0))
            .ok_or_else(|| BagError::Writer(format!("no topic {}", topic.0)))?;
        let log_time_ns = self
            .span
            .first
            .map_or(stamp_ns, |_| stamp_ns.max(self.span.last));
        let header = mcap::records::MessageHeader {
            channel_id: t.channel,
            sequence: t.count as u32,
            log_time: log_time_ns,
            publish_time: stamp_ns,
        };
        let mcap = self.mcap.as_mut().ok_or_else(|| {
            BagError::Writer(
                self.error
                    .clone()
                    .unwrap_or_else(|| "the bag is closed".into()),
            )
        })?;
        let r = mcap.write_to_known_channel(&header, data);
        self.check(r)?;
        let t = &mut self.topics[usize::from(topic.0)];
        t.count += 1;
        self.span.push(log_time_ns);
        Ok(())
    }

    /// Ends the current chunk, so everything written so far survives a
    /// later failure.
    pub fn checkpoint(&mut self) -> Result<(), BagError> {
        let mcap = self.live()?;
        let r = mcap.flush();
        self.check(r)?;
        self.good_len = self.pos.load(Ordering::Relaxed);
        for t in &mut self.topics {
            t.committed = t.count;
        }
        self.committed_span = self.span;
        Ok(())
    }

    /// Writes the summary and the final `metadata.yaml`. After a write
    /// error, closes what was committed instead and reports the error in
    /// the summary.
    pub fn finish(mut self) -> Result<BagSummary, BagError> {
        if let Some(mut mcap) = self.mcap.take() {
            match mcap.finish() {
                Ok(_) => {
                    for t in &mut self.topics {
                        t.committed = t.count;
                    }
                    self.committed_span = self.span;
                    // `into_inner` so the writer's drop does not finish it twice.
                    let _ = mcap.into_inner();
                }
                Err(e) => {
                    self.error = Some(e.to_string());
                    self.salvage(mcap);
                }
            }
        }
        self.write_metadata()?;
        Ok(BagSummary {
            path: self.dir.clone(),
            counts: self
                .topics
                .iter()
                .map(|t| (t.name.clone(), t.committed))
                .collect(),
            error: self.error.clone(),
        })
    }

    fn live(&mut self) -> Result<&mut mcap::Writer<Tracked>, BagError> {
        let error = &self.error;
        self.mcap.as_mut().ok_or_else(|| {
            BagError::Writer(error.clone().unwrap_or_else(|| "the bag is closed".into()))
        })
    }

    /// Passes `r` on; on an error, stops writing and closes the file at its
    /// last checkpoint.
    fn check<T>(&mut self, r: mcap::McapResult<T>) -> Result<T, BagError> {
        r.map_err(|e| {
            // The MCAP error's own text hides its cause (ENOSPC, EIO).
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            self.error = Some(text.clone());
            if let Some(mcap) = self.mcap.take() {
                self.salvage(mcap);
            }
            let _ = self.write_metadata();
            BagError::Writer(text)
        })
    }

    /// Cuts the file back to the last checkpoint and ends it with a data-end
    /// record, a footer that points at no summary, and the end magic.
    /// Best effort: the disk may still refuse, and the error already stands.
    fn salvage(&mut self, mcap: mcap::Writer<Tracked>) {
        let mut t = mcap.into_inner();
        let mut tail = Vec::with_capacity(50);
        tail.push(0x0f); // DataEnd: data_section_crc = 0 (not computed)
        tail.extend_from_slice(&4u64.to_le_bytes());
        tail.extend_from_slice(&0u32.to_le_bytes());
        tail.push(0x02); // Footer: summary_start, summary_offset_start, summary_crc
        tail.extend_from_slice(&20u64.to_le_bytes());
        tail.extend_from_slice(&[0; 20]);
        tail.extend_from_slice(b"\x89MCAP0\r\n");
        let _ = t
            .file
            .set_len(self.good_len)
            .and_then(|()| t.file.seek(SeekFrom::Start(self.good_len)))
            .and_then(|_| t.file.write_all(&tail));
    }

    /// `metadata.yaml` for what the file holds now, staged and renamed so a
    /// failed write leaves the previous one.
    fn write_metadata(&self) -> Result<(), BagError> {
        let topics: Vec<(&str, &str, u64)> = self
            .topics
            .iter()
            .map(|t| (t.name.as_str(), t.type_name.as_str(), t.committed))
            .collect();
        let span = self.committed_span;
        let meta = Metadata::new(&self.file_name, &topics, span.first.unwrap_or(0), span.last);
        let text = serde_norway::to_string(&meta).map_err(|e| BagError::Writer(e.to_string()))?;
        let path = self.dir.join(metadata::FILE_NAME);
        let staged = self.dir.join(format!(".{}.tmp", metadata::FILE_NAME));
        std::fs::write(&staged, text)
            .and_then(|()| std::fs::rename(&staged, &path))
            .map_err(|source| BagError::Io {
                path,
                action: "writing metadata.yaml",
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ros::msgs::StringMsg;

    /// Stamps that interleave out of order still give a file in log-time
    /// order (readable without its index); each stamp stays the publish time.
    #[test]
    fn log_times_never_go_back_and_publish_times_keep_the_stamps() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BagWriter::create(&dir.path().join("bag")).unwrap();
        let topic = w.add_topic::<StringMsg>("/status").unwrap();
        let data = super::super::encode(&StringMsg::new("x")).unwrap();
        for stamp in [5, 3, 7, 6] {
            w.write(topic, stamp, &data).unwrap();
        }
        w.finish().unwrap();
        let buf = std::fs::read(dir.path().join("bag/bag_0.mcap")).unwrap();
        let times: Vec<(u64, u64)> = mcap::MessageStream::new(&buf)
            .unwrap()
            .map(|m| {
                let m = m.unwrap();
                (m.log_time, m.publish_time)
            })
            .collect();
        assert_eq!(times, [(5, 5), (5, 3), (7, 7), (7, 6)]);
    }
}
