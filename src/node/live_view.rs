//! A live view for people without RViz: a Foxglove WebSocket server
//! (the `foxglove` crate, on its own small tokio runtime) that Foxglove's
//! app or any client of its protocol connects to (`docs/live_view.md`).
//!
//! Whoever has a sample hands it to [`LiveView::offer`], a `try_send` on a
//! bounded channel: a slow viewer costs dropped frames, never a wait. A
//! thread of its own keeps the newest of each kind and publishes at most
//! [`PUBLISH_PERIOD`] apart, doing the forward kinematics and the JSON
//! there, so neither the loop nor the transport side pays for a viewer.
//!
//! Channels, all JSON (`jsonschema`), named and shaped like their ROS
//! counterparts so Foxglove's panels and plots know them:
//! `/joint_states` (measured), `/joint_commands` (commanded),
//! `/tf` (`foxglove.FrameTransforms`, one transform per URDF joint, as
//! robot_state_publisher), `/robot_description` (the URDF, repeated every
//! second for late joiners), `/status` (the node's status document) and
//! `/activity` (phase, motif and the preparation residual of the network).

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use foxglove::{PartialMetadata, RawChannel, Schema};
use serde_json::{json, Value};
use thiserror::Error;

use crate::{
    control::{Sample, MAX_JOINTS},
    robot::{ArmModel, LinkFrames},
    ros::msgs::Time,
};

/// The most often each channel is published: a viewer needs no more.
pub const PUBLISH_PERIOD: Duration = Duration::from_millis(20);

/// How often the URDF is repeated, so a viewer that joins late gets it.
const DESCRIPTION_PERIOD: Duration = Duration::from_secs(1);

/// Frames waiting for the viewer thread (a fraction of a second at 1 kHz).
const QUEUE: usize = 512;

/// Messages the server keeps per client that is behind (about a second of
/// every channel); beyond it the oldest go, so a stuck viewer costs bounded
/// memory and gets recent data when it reads again.
const CLIENT_BACKLOG: usize = 256;

#[derive(Debug, Error)]
pub enum LiveViewError {
    #[error("live view address `{0}` is not HOST:PORT (e.g. 127.0.0.1:8765)")]
    Address(String),
    #[error("starting the live view on {addr}: {message}")]
    Start { addr: String, message: String },
}

/// What the viewer is shown; `Copy` apart from the status text, which the
/// non-real-time side has already made.
// Unboxed on purpose: boxing the large variants would allocate per sample.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum LiveFrame {
    Commanded {
        stamp: Time,
        sample: Sample,
    },
    Measured {
        stamp: Time,
        len: usize,
        position: [f64; MAX_JOINTS],
    },
    Status(String),
}

impl LiveFrame {
    /// A measured posture from a slice (beyond [`MAX_JOINTS`] is cut off,
    /// which leaves the viewer without frames for such an arm).
    pub fn measured(stamp: Time, q: &[f64]) -> Self {
        let len = q.len().min(MAX_JOINTS);
        let mut position = [0.0; MAX_JOINTS];
        position[..len].copy_from_slice(&q[..len]);
        LiveFrame::Measured {
            stamp,
            len,
            position,
        }
    }
}

pub struct LiveView {
    tx: Option<Sender<LiveFrame>>,
    dropped: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
    port: u16,
}

/// What the viewer thread needs to know about the robot and the library.
pub struct LiveViewSetup<'a> {
    pub arm: &'a ArmModel,
    /// Joint names in the order of the samples.
    pub joint_names: &'a [String],
    pub motif_names: &'a [String],
    /// Shown in Foxglove's connection panel.
    pub server_name: &'a str,
    /// Which of the controller's channels to offer: `/joint_commands` and
    /// `/activity` (commanded samples), `/status`. A simulated arm has only
    /// its measurements, and a channel that never carries anything would
    /// only confuse a viewer.
    pub commanded: bool,
    pub status: bool,
}

impl LiveView {
    /// Binds `addr` (`HOST:PORT`, port 0 picks a free one) and starts serving.
    pub fn start(addr: &str, setup: &LiveViewSetup) -> Result<Self, LiveViewError> {
        let sock: SocketAddr = addr
            .parse()
            .map_err(|_| LiveViewError::Address(addr.into()))?;
        let fail = |message: String| LiveViewError::Start {
            addr: addr.into(),
            message,
        };
        // One worker: serving a few viewers is light, and the loop's core
        // should not be competed for.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("live-view-io")
            .enable_all()
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let ctx = foxglove::Context::new();
        let server = ctx
            .websocket_server()
            .name(setup.server_name)
            .message_backlog_size(CLIENT_BACKLOG)
            .bind(sock.ip().to_string(), sock.port())
            .tokio_runtime(runtime.handle())
            .start_blocking()
            .map_err(|e| fail(e.to_string()))?;
        let port = server.port();
        let channel = |topic: &str, schema: &str, fields: Value| {
            ctx.channel_builder(topic)
                .message_encoding("json")
                .schema(Schema::new(
                    schema,
                    "jsonschema",
                    json!({"type": "object", "properties": fields})
                        .to_string()
                        .into_bytes(),
                ))
                .build_raw()
                .map_err(|e| fail(e.to_string()))
        };
        let joint_state = json!({"header": {"type": "object"}, "name": {"type": "array"},
            "position": {"type": "array"}, "velocity": {"type": "array"}});
        let channels = Channels {
            joint_states: channel(
                "/joint_states",
                "sensor_msgs/msg/JointState",
                joint_state.clone(),
            )?,
            joint_commands: setup
                .commanded
                .then(|| channel("/joint_commands", "sensor_msgs/msg/JointState", joint_state))
                .transpose()?,
            tf: channel(
                "/tf",
                "foxglove.FrameTransforms",
                json!({"transforms": {"type": "array"}}),
            )?,
            description: channel(
                "/robot_description",
                "std_msgs/msg/String",
                json!({"data": {"type": "string"}}),
            )?,
            status: setup
                .status
                .then(|| channel("/status", "motif_controller/Status", json!({})))
                .transpose()?,
            activity: setup
                .commanded
                .then(|| {
                    channel(
                        "/activity",
                        "motif_controller/Activity",
                        json!({"phase": {"type": "string"}, "motif": {"type": "string"},
                               "prep_residual": {"type": "number"}}),
                    )
                })
                .transpose()?,
        };
        let viewer = Viewer {
            _ctx: ctx,
            channels,
            frames: LinkFrames::new(setup.arm, setup.joint_names),
            urdf: json!({"data": setup.arm.urdf_text()}).to_string(),
            joint_names: setup.joint_names.to_vec(),
            motif_names: setup.motif_names.to_vec(),
        };
        let (tx, rx) = crossbeam_channel::bounded(QUEUE);
        let thread = std::thread::Builder::new()
            .name("live-view".into())
            .spawn(move || {
                viewer.serve(rx);
                runtime.block_on(server.stop().wait());
            })
            .map_err(|e| fail(e.to_string()))?;
        tracing::info!(
            "live view on ws://{}:{port} (Foxglove: Open connection → Foxglove WebSocket)",
            sock.ip()
        );
        Ok(Self {
            tx: Some(tx),
            dropped: Arc::default(),
            thread: Some(thread),
            port,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Hands a frame to the viewer thread; never blocks.
    pub fn offer(&self, frame: LiveFrame) {
        if let Some(tx) = &self.tx {
            if let Err(TrySendError::Full(_)) = tx.try_send(frame) {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Frames offered while the viewer thread was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for LiveView {
    fn drop(&mut self) {
        // Closing the channel ends the viewer thread, which stops the server.
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Channels {
    joint_states: Arc<RawChannel>,
    tf: Arc<RawChannel>,
    description: Arc<RawChannel>,
    /// Offered as `LiveViewSetup` says.
    joint_commands: Option<Arc<RawChannel>>,
    status: Option<Arc<RawChannel>>,
    activity: Option<Arc<RawChannel>>,
}

struct Viewer {
    /// The server and the channels hold it weakly: it lives as long as we do.
    _ctx: Arc<foxglove::Context>,
    channels: Channels,
    frames: LinkFrames,
    urdf: String,
    joint_names: Vec<String>,
    motif_names: Vec<String>,
}

/// The newest frame of each kind not yet published.
#[derive(Default)]
struct Pending {
    commanded: Option<(Time, Sample)>,
    measured: Option<(Time, usize, [f64; MAX_JOINTS])>,
    status: Option<String>,
    /// Once the robot reports its posture, `/tf` shows that, not the command.
    measured_seen: bool,
}

impl Viewer {
    fn serve(&self, rx: Receiver<LiveFrame>) {
        let mut pending = Pending::default();
        let mut next = Instant::now();
        let mut next_description = Instant::now();
        loop {
            match rx.recv_timeout(PUBLISH_PERIOD) {
                Ok(f) => pending.take(f),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            for f in rx.try_iter() {
                pending.take(f);
            }
            let now = Instant::now();
            if now >= next_description {
                next_description = now + DESCRIPTION_PERIOD;
                self.channels.description.log(self.urdf.as_bytes());
            }
            if now >= next {
                next = now + PUBLISH_PERIOD;
                self.publish(&mut pending);
            }
        }
    }

    fn publish(&self, p: &mut Pending) {
        if let Some((stamp, len, q)) = p.measured.take() {
            let q = &q[..len.min(self.joint_names.len())];
            self.log(
                &self.channels.joint_states,
                stamp,
                &self.joint_state(stamp, q, &[]),
            );
            self.log_tf(stamp, q);
        }
        if let Some((stamp, s)) = p.commanded.take() {
            if let Some(ch) = &self.channels.joint_commands {
                let msg = self.joint_state(stamp, s.positions(), s.velocities());
                self.log(ch, stamp, &msg);
            }
            if let Some(ch) = &self.channels.activity {
                let motif = s.motif.and_then(|m| self.motif_names.get(usize::from(m)));
                let activity = json!({"phase": s.phase, "motif": motif,
                                      "prep_residual": s.prep_residual});
                self.log(ch, stamp, &activity);
            }
            if !p.measured_seen {
                self.log_tf(stamp, s.positions());
            }
        }
        if let (Some(text), Some(ch)) = (p.status.take(), &self.channels.status) {
            ch.log(text.as_bytes());
        }
    }

    fn joint_state(&self, stamp: Time, q: &[f64], v: &[f64]) -> Value {
        json!({
            "header": {"stamp": {"sec": stamp.sec, "nanosec": stamp.nanosec}, "frame_id": ""},
            "name": &self.joint_names[..q.len()],
            "position": q,
            "velocity": v,
            "effort": [],
        })
    }

    fn log_tf(&self, stamp: Time, q: &[f64]) {
        // A sample from another arm (wrong joint count) has no frames to show.
        let Ok(tfs) = self.frames.transforms(q) else {
            return;
        };
        let ts = json!({"sec": stamp.sec, "nsec": stamp.nanosec});
        let transforms: Vec<Value> = tfs
            .iter()
            .map(|t| {
                let [x, y, z] = t.translation;
                let [qx, qy, qz, qw] = t.rotation;
                json!({"timestamp": ts, "parent_frame_id": t.parent, "child_frame_id": t.child,
                       "translation": {"x": x, "y": y, "z": z},
                       "rotation": {"x": qx, "y": qy, "z": qz, "w": qw}})
            })
            .collect();
        self.log(
            &self.channels.tf,
            stamp,
            &json!({ "transforms": transforms }),
        );
    }

    fn log(&self, ch: &RawChannel, stamp: Time, msg: &Value) {
        let ns = u64::try_from(stamp.sec).unwrap_or(0) * 1_000_000_000 + u64::from(stamp.nanosec);
        ch.log_with_meta(
            msg.to_string().as_bytes(),
            PartialMetadata { log_time: Some(ns) },
        );
    }
}

impl Pending {
    fn take(&mut self, f: LiveFrame) {
        match f {
            LiveFrame::Commanded { stamp, sample } if sample.is_command() => {
                self.commanded = Some((stamp, sample))
            }
            LiveFrame::Commanded { .. } => {}
            LiveFrame::Measured {
                stamp,
                len,
                position,
            } => {
                self.measured_seen = true;
                self.measured = Some((stamp, len, position));
            }
            LiveFrame::Status(s) => self.status = Some(s),
        }
    }
}
