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
    /// Started, no motif run yet: commanding the rest posture.
    Idle,
    /// Transition module driving toward the next motif's initial state.
    Preparing,
    Executing,
    /// `stop` received: the current motion is decelerating to a halt.
    Stopping,
    /// Posture frozen (queue done, `hold`, `stop` finished, or a fault).
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
}

impl FaultCode {
    pub fn message(self) -> &'static str {
        match self {
            FaultCode::NonFiniteOutput => {
                "network output was not finite; holding the last safe posture"
            }
            FaultCode::LoopOverrun => "control tick started later than the watchdog limit",
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

#[derive(Debug, Clone, Copy)]
struct StopRamp {
    /// Speed when the stop began.
    from: f64,
    /// Seconds of ramp left.
    left: f64,
}

#[derive(Debug, Clone)]
pub struct Sequencer {
    queue: MotifQueue,
    speed: f64,
    stop_time: f64,
    stop: Option<StopRamp>,
}

impl Sequencer {
    pub fn new(speed: f64, stop_time: f64) -> Self {
        Self {
            queue: MotifQueue::new(),
            speed,
            stop_time,
            stop: None,
        }
    }

    pub fn queue(&self) -> &MotifQueue {
        &self.queue
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    pub fn stopping(&self) -> bool {
        self.stop.is_some()
    }

    /// `moving`: a preparation or motif is under way.
    pub fn command(&mut self, cmd: Command, moving: bool) -> Result<Action, RejectReason> {
        match cmd {
            Command::Run(q) => {
                self.stop = None;
                self.queue = q;
                Ok(self
                    .queue
                    .pop_front()
                    .map_or(Action::Nothing, Action::Prepare))
            }
            Command::Append(q) => {
                // An append while stopping or at rest starts the motion again,
                // like a run of the combined queue.
                if !self.queue.extend(q.as_slice()) {
                    return Err(RejectReason::QueueFull);
                }
                if moving && self.stop.is_none() {
                    Ok(Action::Nothing)
                } else {
                    self.stop = None;
                    Ok(self
                        .queue
                        .pop_front()
                        .map_or(Action::Nothing, Action::Prepare))
                }
            }
            Command::Hold => {
                self.stop = None;
                self.queue.clear();
                Ok(Action::Hold)
            }
            Command::Stop => {
                self.queue.clear();
                if moving && self.stop.is_none() {
                    self.stop = Some(StopRamp {
                        from: self.speed,
                        left: self.stop_time,
                    });
                    Ok(Action::Stop)
                } else {
                    Ok(Action::Nothing)
                }
            }
            Command::Speed(s) => {
                self.speed = s;
                Ok(Action::Nothing)
            }
        }
    }

    /// The motif after the current one ends, if any.
    pub fn next_motif(&mut self) -> Option<u16> {
        if self.stop.is_some() {
            return None;
        }
        self.queue.pop_front()
    }

    /// Time scale for a tick of `dt` seconds: `(speed, halted)`. While
    /// stopping, the speed ramps linearly to zero over `stop_time`; the
    /// average over the tick is used so the distance covered matches the ramp.
    pub fn tick_speed(&mut self, dt: f64) -> (f64, bool) {
        let Some(ramp) = &mut self.stop else {
            return (self.speed, false);
        };
        if ramp.left <= 0.0 || self.stop_time <= 0.0 {
            self.stop = None;
            return (0.0, true);
        }
        let before = ramp.from * ramp.left / self.stop_time;
        ramp.left = (ramp.left - dt).max(0.0);
        let after = ramp.from * ramp.left / self.stop_time;
        let halted = ramp.left <= 0.0;
        if halted {
            self.stop = None;
        }
        (0.5 * (before + after), halted)
    }

    /// Ends any stop ramp (e.g. after a fault).
    pub fn halt(&mut self) {
        self.stop = None;
        self.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_append_stop() {
        let mut s = Sequencer::new(1.0, 0.5);
        let q = MotifQueue::from_slice(&[2, 3]).unwrap();
        assert_eq!(s.command(Command::Run(q), false), Ok(Action::Prepare(2)));
        assert_eq!(s.queue().as_slice(), &[3]);
        assert_eq!(s.command(Command::Append(q), true), Ok(Action::Nothing));
        assert_eq!(s.next_motif(), Some(3));
        assert_eq!(s.command(Command::Stop, true), Ok(Action::Stop));
        assert!(s.queue().is_empty());
        let mut travelled = 0.0;
        let mut halted = false;
        for _ in 0..1000 {
            let (v, h) = s.tick_speed(0.001);
            travelled += v * 0.001;
            if h {
                halted = true;
                break;
            }
        }
        assert!(halted);
        // Linear ramp from 1 to 0 over 0.5 s covers 0.25 s of motif time.
        assert!((travelled - 0.25).abs() < 1e-3, "{travelled}");
    }

    #[test]
    fn queue_overflow_is_rejected_whole() {
        let mut s = Sequencer::new(1.0, 0.5);
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
