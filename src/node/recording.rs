//! Recording to a rosbag2 bag off the loop thread.
//!
//! Whoever publishes hands each message to [`Recorder::record`], which
//! serializes it and offers it to a bounded channel: a full channel drops the
//! message (counted), so neither the control loop nor the node's transport
//! side ever waits on the disk. A writer thread puts the messages into the
//! bag and ends a chunk every [`CHECKPOINT`], the most a disk failure can
//! lose. A write error stops the recording, is logged once and shows in
//! [`Recorder::health`] (the node puts it into `~/status`); what was written
//! before stays a readable bag (`ros/bag/writer.rs`).

use std::{
    marker::PhantomData,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, OnceLock,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use serde::Serialize;

use crate::ros::{
    bag::{self, BagError, BagSummary, BagWriter, TopicId},
    msgs::Time,
    RosMessage,
};

/// How often the writer ends a chunk: the most a disk failure can lose.
pub const CHECKPOINT: Duration = Duration::from_millis(500);

/// How long closing the bag may spend writing what is still queued. On a
/// disk too slow for the queue, the rest is dropped (counted) so that the
/// node exits within ros2 launch's 5 s between SIGINT and SIGTERM.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// Messages waiting for the writer; a few seconds of a 1 kHz node's
/// outputs, so a slow disk is absorbed before anything is dropped.
pub const QUEUE: usize = 16 * 1024;

/// A bag topic carrying `M`, from [`RecorderBuilder::topic`].
pub struct BagTopic<M>(TopicId, PhantomData<fn(M)>);

impl<M> Clone for BagTopic<M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M> Copy for BagTopic<M> {}

/// Declares the topics, then starts the writer thread.
pub struct RecorderBuilder {
    writer: BagWriter,
    names: Vec<String>,
}

impl RecorderBuilder {
    /// Creates the bag directory `dir` (see [`BagWriter::create`]).
    pub fn create(dir: &Path) -> Result<Self, BagError> {
        Ok(Self {
            writer: BagWriter::create(dir)?,
            names: Vec::new(),
        })
    }

    /// A topic carrying `M`; naming a topic twice gives the same handle.
    pub fn topic<M: RosMessage>(&mut self, name: &str) -> Result<BagTopic<M>, BagError> {
        let id = self.writer.add_topic::<M>(name)?;
        self.names.push(name.into());
        Ok(BagTopic(id, PhantomData))
    }

    pub fn start(self) -> Result<Recorder, BagError> {
        let (tx, rx) = crossbeam_channel::bounded(QUEUE);
        let shared = Arc::new(Shared::default());
        let path = self.writer.path().to_path_buf();
        let s = shared.clone();
        let writer = self.writer;
        let thread = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || write_loop(writer, rx, &s))
            .map_err(|e| BagError::Writer(format!("starting the recorder thread: {e}")))?;
        tracing::info!("recording {} to {}", self.names.join(" "), path.display());
        Ok(Recorder {
            tx,
            shared,
            thread: Some(thread),
            path,
        })
    }
}

#[derive(Default)]
struct Shared {
    written: AtomicU64,
    dropped: AtomicU64,
    /// Set once, by the writer thread; read without a lock.
    error: OnceLock<String>,
    /// When the writer stops draining the queue, set by `finish`.
    drain_until: OnceLock<Instant>,
}

struct Entry {
    topic: TopicId,
    log_time_ns: u64,
    data: Vec<u8>,
}

/// The recording as `~/status` reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordingHealth {
    pub path: PathBuf,
    pub written: u64,
    /// Offered while the queue was full or after a write error, or still
    /// queued at [`DRAIN_LIMIT`].
    pub dropped: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub struct Recorder {
    tx: Sender<Entry>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Result<BagSummary, BagError>>>,
    path: PathBuf,
}

/// Nanoseconds since the epoch of a ROS stamp (negative times as 0).
pub fn stamp_ns(t: Time) -> u64 {
    u64::try_from(t.sec).unwrap_or(0) * 1_000_000_000 + u64::from(t.nanosec)
}

impl Recorder {
    /// Offers `msg`, logged at `stamp`; never blocks.
    pub fn record<M: RosMessage>(&self, topic: BagTopic<M>, msg: &M, stamp: Time) {
        let dropped = || {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        };
        if self.shared.error.get().is_some() {
            return dropped();
        }
        let data = match bag::encode(msg) {
            Ok(d) => d,
            Err(e) => {
                let _ = self.shared.error.set(e.to_string());
                return dropped();
            }
        };
        let entry = Entry {
            topic: topic.0,
            log_time_ns: stamp_ns(stamp),
            data,
        };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.tx.try_send(entry)
        {
            dropped();
        }
    }

    pub fn health(&self) -> RecordingHealth {
        RecordingHealth {
            path: self.path.clone(),
            written: self.shared.written.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            error: self.shared.error.get().cloned(),
        }
    }

    /// [`Recorder::finish`], then says what was recorded, in the words tools
    /// and tests read: `recorded N messages to DIR (D dropped[; stopped early: …])`.
    pub fn finish_line(self) -> Result<String, BagError> {
        let (summary, health) = self.finish()?;
        Ok(format!(
            "recorded {} messages to {} ({} dropped{})",
            summary.counts.iter().map(|c| c.1).sum::<u64>(),
            summary.path.display(),
            health.dropped,
            health
                .error
                .map(|e| format!("; stopped early: {e}"))
                .unwrap_or_default()
        ))
    }

    /// Writes what is queued, for at most [`DRAIN_LIMIT`], then closes the
    /// bag (its index and `metadata.yaml`: on a slow disk that part grows
    /// with the recording's length, about 1 MB per hour of 0.5 s chunks).
    pub fn finish(mut self) -> Result<(BagSummary, RecordingHealth), BagError> {
        let _ = self.shared.drain_until.set(Instant::now() + DRAIN_LIMIT);
        let Self { tx, thread, .. } = &mut self;
        drop(std::mem::replace(tx, crossbeam_channel::bounded(1).0));
        let summary = thread
            .take()
            .expect("finish is called once")
            .join()
            .map_err(|_| BagError::Writer("the recorder thread panicked".into()))??;
        Ok((summary, self.health()))
    }
}

fn write_loop(
    mut w: BagWriter,
    rx: Receiver<Entry>,
    shared: &Shared,
) -> Result<BagSummary, BagError> {
    let mut due = Instant::now() + CHECKPOINT;
    let mut failed = false;
    let path = w.path().display().to_string();
    let fail = |e: BagError, shared: &Shared| {
        tracing::error!(
            "recording to {path} stopped: {e}; the bag keeps what was written before it"
        );
        let _ = shared.error.set(e.to_string());
    };
    loop {
        let timeout = due.saturating_duration_since(Instant::now());
        match rx.recv_timeout(timeout) {
            Ok(e) if !failed => match w.write(e.topic, e.log_time_ns, &e.data) {
                Ok(()) => {
                    shared.written.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    failed = true;
                    shared.dropped.fetch_add(1, Ordering::Relaxed);
                    fail(e, shared);
                }
            },
            Ok(_) => {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if shared
            .drain_until
            .get()
            .is_some_and(|t| Instant::now() >= *t)
        {
            let left = rx.len() as u64;
            if left > 0 {
                shared.dropped.fetch_add(left, Ordering::Relaxed);
                tracing::warn!(
                    "recording to {path}: the disk is too slow to write the last {left} queued messages within {DRAIN_LIMIT:?}; closing the bag without them"
                );
            }
            break;
        }
        if Instant::now() >= due {
            due = Instant::now() + CHECKPOINT;
            if !failed {
                if let Err(e) = w.checkpoint() {
                    failed = true;
                    fail(e, shared);
                }
            }
        }
    }
    w.finish()
}
