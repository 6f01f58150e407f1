//! The motif sequencer: idle → preparing → executing → next motif | holding,
//! plus stop (decelerate to a halt), hold (freeze) and speed.
//!
//! It decides *what* runs next; [`super::Controller`] does the network
//! stepping and owns the clock.

use serde::Serialize;

use super::commands::{Command, MotifQueue};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// `wait_for_joint_states`: nothing is commanded until the robot's
    /// measured posture has arrived.
    #[serde(rename = "waiting_for_joint_states")]
    Waiting,
    /// Started, no motif run yet: commanding the start posture.
    Idle,
    /// Transition module driving toward the next motif's initial state.
    Preparing,
    Executing,
    /// `stop` received: the current motion is decelerating to a halt.
    Stopping,
    /// Braking to a standstill (the jerk-limited stop of `hold` or a fault),
    /// then standing still (queue done, `stop` finished).
    Holding,
}

/// Faults the loop reports in status; `Copy` so the loop can carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultCode {
    /// The network produced NaN/inf: last safe posture held.
    NonFiniteOutput,
    /// A tick started later than the watchdog allows.
    LoopOverrun,
    /// No measured joint state for longer than `joint_states_timeout`.
    JointStatesLost,
    /// A joint's measured position left `path_tolerance` for longer than
    /// `path_tolerance_window`.
    PathTolerance,
}

impl FaultCode {
    pub fn message(self) -> &'static str {
        match self {
            FaultCode::NonFiniteOutput => {
                "network output was not finite; holding the last safe posture"
            }
            FaultCode::LoopOverrun => "control tick started later than the watchdog limit",
            FaultCode::JointStatesLost => "joint states stopped arriving; decelerated to a hold",
            FaultCode::PathTolerance => {
                "measured joint position left the path tolerance; decelerated to a hold"
            }
        }
    }
}

/// Rejections only the loop can decide (the parser rejects everything else).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    QueueFull,
    /// The command channel to the loop was full (command flood).
    Busy,
}

impl RejectReason {
    pub fn message(self) -> &'static str {
        match self {
            RejectReason::QueueFull => "queue full",
            RejectReason::Busy => "controller busy: too many commands, dropped",
        }
    }
}

/// What the controller should do after a command.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    Nothing,
    /// Start preparing toward this motif from wherever the arm is now.
    Prepare(u16),
    Hold,
    /// Start decelerating.
    Stop,
}

/// Seconds a speed change (a `speed` command, a motif's speed cap) takes.
pub const SPEED_RAMP_TIME: f64 = 0.25;

#[derive(Debug, Clone)]
pub struct Sequencer {
    queue: MotifQueue,
    /// The speed last commanded.
    speed: f64,
    /// `stop` received: motif time is slowing to a halt.
    stopping: bool,
    /// Motifs ever queued. Each queued motif has a sequence number, its
    /// position in that count, so the queue always holds the numbers
    /// `enqueued - len .. enqueued`: a goal that queued motifs `a..b` can
    /// tell from [`Sequencer::current`] and [`Sequencer::finished`] how far
    /// it got without the loop knowing about goals.
    enqueued: u64,
    /// The sequence number of the motif last taken from the queue.
    current: Option<u64>,
    /// One past the sequence number of the last motif played to its end.
    finished: u64,
}

impl Sequencer {
    pub fn new(speed: f64) -> Self {
        Self {
            queue: MotifQueue::new(),
            speed,
            stopping: false,
            enqueued: 0,
            current: None,
            finished: 0,
        }
    }

    /// Motifs ever queued (the end of the newest command's numbers).
    pub fn enqueued(&self) -> u64 {
        self.enqueued
    }

    /// The sequence number of the motif being prepared or played.
    pub fn current(&self) -> Option<u64> {
        self.current
    }

    /// One past the sequence number of the last motif played to its end.
    pub fn finished(&self) -> u64 {
        self.finished
    }

    /// The current motif reached its end.
    pub fn motif_finished(&mut self) {
        if let Some(c) = self.current {
            self.finished = c + 1;
        }
    }

    fn pop_front(&mut self) -> Option<u16> {
        let seq = self.enqueued - self.queue.len() as u64;
        let m = self.queue.pop_front()?;
        self.current = Some(seq);
        Some(m)
    }

    pub fn queue(&self) -> &MotifQueue {
        &self.queue
    }

    /// The commanded speed (the effective one may be capped or ramping).
    pub fn speed(&self) -> f64 {
        self.speed
    }

    pub fn stopping(&self) -> bool {
        self.stopping
    }

    /// `moving`: a preparation or motif is under way.
    pub fn command(&mut self, cmd: Command, moving: bool) -> Result<Action, RejectReason> {
        match cmd {
            Command::Run(q) => {
                self.stopping = false;
                self.queue = q;
                self.enqueued += q.len() as u64;
                Ok(self.pop_front().map_or(Action::Nothing, Action::Prepare))
            }
            Command::Append(q) => {
                // An append while stopping or at rest starts the motion again,
                // like a run of the combined queue.
                if !self.queue.extend(q.as_slice()) {
                    return Err(RejectReason::QueueFull);
                }
                self.enqueued += q.len() as u64;
                if moving && !self.stopping {
                    Ok(Action::Nothing)
                } else {
                    self.stopping = false;
                    Ok(self.pop_front().map_or(Action::Nothing, Action::Prepare))
                }
            }
            Command::Hold => {
                self.stopping = false;
                self.queue.clear();
                Ok(Action::Hold)
            }
            Command::Stop => {
                self.queue.clear();
                if moving && !self.stopping {
                    self.stopping = true;
                    Ok(Action::Stop)
                } else {
                    Ok(Action::Nothing)
                }
            }
            Command::Speed(s) => {
                self.speed = s;
                Ok(Action::Nothing)
            }
            // The controller's limits, not the sequence.
            Command::VelocityScale(_) => Ok(Action::Nothing),
        }
    }

    /// The motif after the current one ends, if any.
    pub fn next_motif(&mut self) -> Option<u16> {
        if self.stopping {
            return None;
        }
        self.pop_front()
    }

    /// Ends any stop and clears the queue (halted, fault, hold).
    pub fn halt(&mut self) {
        self.stopping = false;
        self.queue.clear();
    }
}

/// The effective motif-time scale: it moves between values along a
/// smoothstep (zero slope at both ends), so a speed change or a stop changes
/// joint velocity without a step in acceleration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeedProfile {
    from: f64,
    to: f64,
    elapsed: f64,
    duration: f64,
}

fn smoothstep(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

impl SpeedProfile {
    pub fn new(speed: f64) -> Self {
        Self {
            from: speed,
            to: speed,
            elapsed: 0.0,
            duration: 0.0,
        }
    }

    pub fn value(&self) -> f64 {
        if self.duration <= 0.0 {
            return self.to;
        }
        self.from + (self.to - self.from) * smoothstep(self.elapsed / self.duration)
    }

    pub fn target(&self) -> f64 {
        self.to
    }

    /// Head for `target` over `duration` seconds from the current value
    /// (no-op if already heading there).
    pub fn head_for(&mut self, target: f64, duration: f64) {
        if target != self.to {
            self.from = self.value();
            self.to = target;
            self.elapsed = 0.0;
            self.duration = duration;
        }
    }

    /// Jumps to `speed` (nothing is moving, so nothing can step).
    pub fn set(&mut self, speed: f64) {
        *self = Self::new(speed);
    }

    /// Advances `dt` seconds; returns the mean scale over them (so the motif
    /// time covered matches the profile's integral).
    pub fn advance(&mut self, dt: f64) -> f64 {
        let before = self.value();
        self.elapsed += dt;
        let after = self.value();
        0.5 * (before + after)
    }

    /// The profile has reached zero.
    pub fn halted(&self) -> bool {
        self.to == 0.0 && self.value() == 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_append_stop() {
        let mut s = Sequencer::new(1.0);
        let q = MotifQueue::from_slice(&[2, 3]).unwrap();
        assert_eq!(s.command(Command::Run(q), false), Ok(Action::Prepare(2)));
        assert_eq!(s.queue().as_slice(), &[3]);
        assert_eq!(s.command(Command::Append(q), true), Ok(Action::Nothing));
        assert_eq!(s.next_motif(), Some(3));
        assert_eq!(s.command(Command::Stop, true), Ok(Action::Stop));
        assert!(s.queue().is_empty() && s.stopping());
        assert_eq!(s.next_motif(), None);
        assert_eq!(s.command(Command::Append(q), true), Ok(Action::Prepare(2)));
        assert!(!s.stopping());
    }

    #[test]
    fn sequence_numbers_follow_the_queue() {
        let mut s = Sequencer::new(1.0);
        let q = MotifQueue::from_slice(&[2, 3]).unwrap();
        // Run: numbers 0, 1; the first is taken at once.
        s.command(Command::Run(q), false).unwrap();
        assert_eq!((s.enqueued(), s.current(), s.finished()), (2, Some(0), 0));
        // Append while moving: 2, 3 queued behind 1.
        s.command(Command::Append(q), true).unwrap();
        s.motif_finished();
        assert_eq!(s.next_motif(), Some(3));
        assert_eq!((s.enqueued(), s.current(), s.finished()), (4, Some(1), 1));
        // A run replaces the queue: 2 and 3 are never played, 4 is next.
        s.command(Command::Run(MotifQueue::from_slice(&[5]).unwrap()), true)
            .unwrap();
        assert_eq!((s.enqueued(), s.current(), s.finished()), (5, Some(4), 1));
        s.motif_finished();
        assert_eq!(s.finished(), 5);
        // A rejected append numbers nothing.
        let full = MotifQueue::from_slice(&[0; crate::control::MAX_QUEUE]).unwrap();
        s.command(Command::Append(full), true).unwrap();
        assert!(s.command(Command::Append(q), true).is_err());
        assert_eq!(s.enqueued(), 5 + crate::control::MAX_QUEUE as u64);
    }

    #[test]
    fn speed_profile_is_smooth_and_covers_its_integral() {
        let mut p = SpeedProfile::new(1.0);
        p.head_for(0.0, 0.5);
        let mut travelled = 0.0;
        let mut last = 1.0;
        for _ in 0..600 {
            let v = p.advance(0.001);
            travelled += v * 0.001;
            assert!(v <= last + 1e-12);
            last = v;
        }
        assert!(p.halted());
        // A smoothstep from 1 to 0 over 0.5 s covers half of it.
        assert!((travelled - 0.25).abs() < 1e-3, "{travelled}");
        // Re-targeting mid-way starts from the current value.
        let mut p = SpeedProfile::new(1.0);
        p.head_for(2.0, 1.0);
        p.advance(0.5);
        let mid = p.value();
        p.head_for(0.5, 1.0);
        assert_eq!(p.value(), mid);
    }

    #[test]
    fn queue_overflow_is_rejected_whole() {
        let mut s = Sequencer::new(1.0);
        let full = MotifQueue::from_slice(&[0; crate::control::MAX_QUEUE]).unwrap();
        s.command(Command::Run(full), false).unwrap();
        s.command(Command::Append(MotifQueue::from_slice(&[1]).unwrap()), true)
            .unwrap();
        assert_eq!(
            s.command(
                Command::Append(MotifQueue::from_slice(&[1, 1]).unwrap()),
                true
            ),
            Err(RejectReason::QueueFull)
        );
        assert_eq!(s.queue().len(), crate::control::MAX_QUEUE);
    }
}
