//! Commanded samples into ROS messages, on the transport side of the loop.
//!
//! Every output is optional and offered with `try_send`: a stalled transport
//! costs a dropped (and counted) message, never a blocked loop.

use std::time::{Duration, SystemTime};

use crossbeam_channel::{Sender, TrySendError};

use super::live_view::{LiveFrame, LiveView};
use super::recording::{BagTopic, Recorder};
use crate::control::Sample;
use crate::ros::msgs::{
    Duration as RosDuration, Float64MultiArray, Header, JointState, JointTrajectory,
    JointTrajectoryPoint, StringMsg, Time,
};
use crate::ros::{motif_interfaces::MotifStatus, RosMessage};

/// Points in a streamed `JointTrajectory`, including the one for now.
pub const LOOKAHEAD_POINTS: usize = 5;

/// What stamps the node's messages: the wall clock, or with `use_sim_time`
/// the last `/clock` received (ROS time; zero until the first one).
#[derive(Debug, Clone, Copy)]
pub enum StampClock {
    /// Wall-clock time of controller time 0.
    Wall(SystemTime),
    Sim(Time),
}

impl StampClock {
    /// The stamp of a sample taken at controller time `t`.
    pub fn stamp(&self, t: f64) -> Time {
        match self {
            StampClock::Wall(epoch) => {
                Time::from(*epoch + Duration::try_from_secs_f64(t).unwrap_or_default())
            }
            StampClock::Sim(now) => *now,
        }
    }

    /// Seconds since the Unix epoch (wall) or since sim start, for status.
    pub fn seconds(&self, t: f64) -> f64 {
        let s = self.stamp(t);
        f64::from(s.sec) + f64::from(s.nanosec) * 1e-9
    }
}

pub struct Outputs {
    pub commands: Option<Sender<Float64MultiArray>>,
    pub joint_commands: Option<Sender<JointState>>,
    pub joint_states: Option<Sender<JointState>>,
    pub trajectory: Option<Sender<JointTrajectory>>,
    pub status: Sender<StringMsg>,
    /// The same status, typed (`motif_interfaces/msg/MotifStatus`).
    pub motif_status: Option<Sender<MotifStatus>>,
    pub names: Vec<String>,
    pub clock: StampClock,
    /// Every n-th tick goes out on the trajectory topic.
    pub decimation: u64,
    /// Loop period (s).
    pub period: f64,
    pub dropped: u64,
    /// The recording, when the `record` parameter names a bag.
    pub bag: Option<BagOutputs>,
    /// The live view, when the `live_view` parameter names an address.
    pub live: Option<LiveView>,
}

/// The bag topics of the enabled outputs (same names as on the wire).
pub struct BagOutputs {
    pub recorder: Recorder,
    pub commands: Option<BagTopic<Float64MultiArray>>,
    pub joint_commands: Option<BagTopic<JointState>>,
    pub joint_states: Option<BagTopic<JointState>>,
    pub trajectory: Option<BagTopic<JointTrajectory>>,
    pub status: Option<BagTopic<StringMsg>>,
}

/// Offers a message to its publisher and, if recorded, to the bag; builds
/// it only when one of them takes it.
fn offer<M: RosMessage>(
    tx: &Option<Sender<M>>,
    rec: Option<(&Recorder, Option<BagTopic<M>>)>,
    stamp: Time,
    msg: impl FnOnce() -> M,
    dropped: &mut u64,
) {
    let Some(tx) = tx else { return };
    let msg = msg();
    if let Some((r, Some(topic))) = rec {
        r.record(topic, &msg, stamp);
    }
    if let Err(TrySendError::Full(_)) = tx.try_send(msg) {
        *dropped += 1;
    }
}

impl Outputs {
    /// Publishes `s` on every enabled output; nothing while the controller
    /// waits for the robot's joint states.
    pub fn sample(&mut self, s: &Sample) {
        if !s.is_command() {
            return;
        }
        let stamp = self.clock.stamp(s.t);
        if let Some(l) = &self.live {
            l.offer(LiveFrame::Commanded { stamp, sample: *s });
        }
        let bag = self.bag.as_ref();
        offer(
            &self.commands,
            bag.map(|b| (&b.recorder, b.commands)),
            stamp,
            || Float64MultiArray::from_slice(s.positions()),
            &mut self.dropped,
        );
        let js = || JointState {
            header: Header {
                stamp,
                frame_id: String::new(),
            },
            name: self.names.clone(),
            position: s.positions().to_vec(),
            velocity: s.velocities().to_vec(),
            effort: Vec::new(),
        };
        offer(
            &self.joint_commands,
            bag.map(|b| (&b.recorder, b.joint_commands)),
            stamp,
            js,
            &mut self.dropped,
        );
        offer(
            &self.joint_states,
            bag.map(|b| (&b.recorder, b.joint_states)),
            stamp,
            js,
            &mut self.dropped,
        );
        if s.seq.is_multiple_of(self.decimation) {
            let step = self.period * self.decimation as f64;
            offer(
                &self.trajectory,
                bag.map(|b| (&b.recorder, b.trajectory)),
                stamp,
                || lookahead(s, &self.names, step),
                &mut self.dropped,
            );
        }
    }

    /// Publishes a status document stamped `stamp`, as JSON and typed.
    pub fn status(&self, json: String, typed: MotifStatus, stamp: Time) {
        if let Some(tx) = &self.motif_status {
            let _ = tx.try_send(typed);
        }
        if let Some(l) = &self.live {
            l.offer(LiveFrame::Status(json.clone()));
        }
        let msg = StringMsg::new(json);
        if let Some(b) = &self.bag {
            if let Some(topic) = b.status {
                b.recorder.record(topic, &msg, stamp);
            }
        }
        let _ = self.status.try_send(msg);
    }
}

/// A `JointTrajectory` for joint_trajectory_controller: stamp zero (start
/// now, JTC's convention), the commanded state as the first point, then
/// `LOOKAHEAD_POINTS − 1` points `step` seconds apart, predicted from the
/// commanded velocity and acceleration (constant acceleration over the
/// horizon), each with velocities and accelerations, so JTC interpolates a
/// spline between messages instead of chasing single points.
pub fn lookahead(s: &Sample, names: &[String], step: f64) -> JointTrajectory {
    let points = (0..LOOKAHEAD_POINTS)
        .map(|i| {
            let h = step * i as f64;
            JointTrajectoryPoint {
                positions: (0..s.len)
                    .map(|j| s.position[j] + s.velocity[j] * h + 0.5 * s.acceleration[j] * h * h)
                    .collect(),
                velocities: (0..s.len)
                    .map(|j| s.velocity[j] + s.acceleration[j] * h)
                    .collect(),
                accelerations: s.accelerations().to_vec(),
                effort: Vec::new(),
                time_from_start: RosDuration::from_std(Duration::from_secs_f64(h)),
            }
        })
        .collect();
    JointTrajectory {
        header: Header::default(),
        joint_names: names.to_vec(),
        points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{Phase, MAX_JOINTS};

    #[test]
    fn lookahead_starts_now_and_extrapolates() {
        let mut s = Sample {
            seq: 1,
            t: 0.0,
            len: 1,
            position: [0.0; MAX_JOINTS],
            velocity: [0.0; MAX_JOINTS],
            acceleration: [0.0; MAX_JOINTS],
            phase: Phase::Executing,
            motif: Some(0),
            prep_residual: None,
        };
        s.position[0] = 1.0;
        s.velocity[0] = 2.0;
        s.acceleration[0] = 4.0;
        let tr = lookahead(&s, &["j".into()], 0.01);
        assert_eq!(tr.header.stamp, Time::default());
        assert_eq!(tr.points.len(), LOOKAHEAD_POINTS);
        assert_eq!(tr.points[0].positions, vec![1.0]);
        let p = &tr.points[2];
        assert!((p.positions[0] - (1.0 + 2.0 * 0.02 + 2.0 * 0.0004)).abs() < 1e-12);
        assert!((p.velocities[0] - 2.08).abs() < 1e-12);
        assert_eq!(
            p.time_from_start,
            RosDuration::from_std(Duration::from_millis(20))
        );
    }

    #[test]
    fn sim_clock_stamps_with_the_last_clock() {
        let c = StampClock::Sim(Time {
            sec: 12,
            nanosec: 5,
        });
        assert_eq!(
            c.stamp(99.0),
            Time {
                sec: 12,
                nanosec: 5
            }
        );
        let w = StampClock::Wall(SystemTime::UNIX_EPOCH);
        assert_eq!(
            w.stamp(1.5),
            Time {
                sec: 1,
                nanosec: 500_000_000
            }
        );
    }
}
