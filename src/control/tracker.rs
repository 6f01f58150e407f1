//! The last stage before the robot: a jerk-limited tracker that turns the
//! reference into samples a fixed-rate driver can execute.
//!
//! Each tick re-plans, with Ruckig's tracking interface (`rsruckig`'s
//! `Trackig`), the time-optimal jerk-limited motion from the last commanded
//! state to the reference's state at the next tick, and commands the state
//! one loop period along it. The commanded states form one continuous
//! trajectory sampled every period with velocity, acceleration and jerk
//! within the limits, so the driver's finite differences (divided
//! differences of those samples: averages of the derivatives) are within
//! them as well; the position limits are Ruckig's too. When the reference
//! is feasible, the tracker regains it and then follows it within ~10⁻⁵
//! rad (re-planning toward a moving target leaves a lag of the target's
//! travel in the plan's excess over one period). The tracker always
//! advances one nominal period per tick, so missed deadlines (the loop
//! skips them and the reference jumps ahead on the clock) become a
//! catch-up within the limits, never a larger step.
//!
//! `stop` switches to Ruckig's velocity interface with target zero: the
//! time-optimal jerk-limited stop of every joint, the reference for "how
//! fast can we stop".
//!
//! Nothing here allocates after `new`: the DoF count is the compile-time
//! [`MAX_JOINTS`] (unused DoFs disabled), which keeps rsruckig on arrays.

// Joint-indexed loops over several parallel fixed-size arrays read best with an index.
#![allow(clippy::needless_range_loop)]

use rsruckig::prelude::*;

use super::{limits::JointLimits, sample::MAX_JOINTS};

/// Share of each limit the tracker may use: what is left covers the
/// driver's own rounding when it differentiates our positions.
const TRACKER_SHARE: f64 = 0.995;
/// Below these a joint counts as stopped (rad/s, rad/s²).
const STOPPED_VELOCITY: f64 = 1e-9;
const STOPPED_ACCELERATION: f64 = 1e-7;

/// A kinematic state per joint, configured joint order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JointState3 {
    pub position: [f64; MAX_JOINTS],
    pub velocity: [f64; MAX_JOINTS],
    pub acceleration: [f64; MAX_JOINTS],
}

impl JointState3 {
    pub const fn at_rest(position: [f64; MAX_JOINTS]) -> Self {
        Self {
            position,
            velocity: [0.0; MAX_JOINTS],
            acceleration: [0.0; MAX_JOINTS],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Follow,
    Stop,
}

pub struct Tracker {
    otg: Trackig<MAX_JOINTS, IgnoreErrorHandler>,
    input: InputParameter<MAX_JOINTS>,
    output: OutputParameter<MAX_JOINTS>,
    target: TargetState<MAX_JOINTS>,
    len: usize,
    mode: Mode,
    /// Ticks on which Ruckig found no plan and the last one was followed.
    failures: u64,
}

impl Tracker {
    /// A tracker for `limits.len` joints at rest at `start`, stepping
    /// `period` seconds per tick.
    pub fn new(limits: &JointLimits, period: f64, start: &[f64; MAX_JOINTS]) -> Self {
        let mut otg = Trackig::new(None, period);
        otg.reset();
        let mut input = InputParameter::new(None);
        // Every plan lasts at least one period and all joints share its
        // duration, so the sample one period along it is always inside
        // every joint's profile. A plan shorter than the period (a joint
        // that could reach its target early) would be sampled at its end or
        // extrapolated past it: the stitched samples would then not be one
        // trajectory at the loop rate, and its finite differences could
        // exceed the limits at the moment the tracker regains the reference.
        input.synchronization = Synchronization::Time;
        input.minimum_duration = Some(period);
        let mut min_p = DataArrayOrVec::new(None, f64::NEG_INFINITY);
        let mut max_p = DataArrayOrVec::new(None, f64::INFINITY);
        for i in 0..MAX_JOINTS {
            let on = i < limits.len;
            input.enabled[i] = on;
            // Disabled DoFs still get valid limits: rsruckig validates all.
            input.max_velocity[i] = if on {
                limits.velocity[i] * TRACKER_SHARE
            } else {
                1.0
            };
            input.max_acceleration[i] = if on {
                limits.acceleration[i] * TRACKER_SHARE
            } else {
                1.0
            };
            input.max_jerk[i] = if on {
                limits.jerk[i] * TRACKER_SHARE
            } else {
                1.0
            };
            if on {
                min_p[i] = limits.lower[i];
                max_p[i] = limits.upper[i];
            }
        }
        input.min_position = Some(min_p);
        input.max_position = Some(max_p);
        let mut t = Self {
            otg,
            input,
            output: OutputParameter::new(None),
            target: TargetState::new(None),
            len: limits.len,
            mode: Mode::Follow,
            failures: 0,
        };
        t.reset(&JointState3::at_rest(*start));
        t
    }

    /// New velocity limits (the other limits stay); the next plan uses them.
    pub fn set_velocity_limits(&mut self, limits: &JointLimits) {
        for i in 0..self.len {
            self.input.max_velocity[i] = limits.velocity[i] * TRACKER_SHARE;
        }
    }

    /// Commanded state is `state` from now on (start, re-synchronisation).
    pub fn reset(&mut self, state: &JointState3) {
        for i in 0..MAX_JOINTS {
            self.input.current_position[i] = state.position[i];
            self.input.current_velocity[i] = state.velocity[i];
            self.input.current_acceleration[i] = state.acceleration[i];
        }
        self.otg.reset();
        self.mode = Mode::Follow;
        self.input.control_interface = ControlInterface::Position;
        self.input.synchronization = Synchronization::Time;
    }

    /// The last commanded state.
    pub fn state(&self) -> JointState3 {
        let mut s = JointState3::at_rest([0.0; MAX_JOINTS]);
        for i in 0..self.len {
            s.position[i] = self.input.current_position[i];
            s.velocity[i] = self.input.current_velocity[i];
            s.acceleration[i] = self.input.current_acceleration[i];
        }
        s
    }

    pub fn stopping(&self) -> bool {
        self.mode == Mode::Stop
    }

    /// Ticks on which no new plan was found (the previous one was followed).
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// Start the time-optimal stop; [`Tracker::step`] then ignores its
    /// reference until [`Tracker::stopped`].
    pub fn stop(&mut self) {
        if self.mode != Mode::Stop {
            self.mode = Mode::Stop;
            self.input.control_interface = ControlInterface::Velocity;
            // Each joint on its own time-optimal stop: time-synchronised,
            // a joint caught at its acceleration limit was given a profile
            // whose first period dropped the acceleration to zero (2× the
            // jerk limit; tests/controller.rs, hold at the acceleration limit).
            self.input.synchronization = Synchronization::None;
            self.otg.reset();
        }
    }

    /// True when every joint is at rest (after a stop, or while holding).
    pub fn stopped(&self) -> bool {
        (0..self.len).all(|i| {
            self.input.current_velocity[i].abs() <= STOPPED_VELOCITY
                && self.input.current_acceleration[i].abs() <= STOPPED_ACCELERATION
        })
    }

    fn resting_at(&self, r: &JointState3) -> bool {
        (0..self.len).all(|i| {
            r.velocity[i] == 0.0
                && r.acceleration[i] == 0.0
                && (self.input.current_position[i] - r.position[i]).abs() < 1e-12
                && self.input.current_velocity[i].abs() <= STOPPED_VELOCITY
                && self.input.current_acceleration[i].abs() <= STOPPED_ACCELERATION
        })
    }

    /// One period: toward `reference` (its state at the next tick), or
    /// toward standstill while stopping. Returns the new commanded state.
    pub fn step(&mut self, reference: &JointState3) -> JointState3 {
        if self.mode == Mode::Follow && self.resting_at(reference) {
            // Standing still on a standing reference: hold it exactly rather
            // than let re-planning jitter the command at rounding level.
            for i in 0..self.len {
                self.input.current_position[i] = reference.position[i];
                self.input.current_velocity[i] = 0.0;
                self.input.current_acceleration[i] = 0.0;
            }
            return self.state();
        }
        for i in 0..MAX_JOINTS {
            let on = i < self.len && self.mode == Mode::Follow;
            self.target.position[i] = if on {
                reference.position[i]
            } else {
                self.input.current_position[i]
            };
            self.target.velocity[i] = if on { reference.velocity[i] } else { 0.0 };
            self.target.acceleration[i] = if on { reference.acceleration[i] } else { 0.0 };
        }
        match self.otg.update(&self.target, &self.input, &mut self.output) {
            Ok(RuckigResult::Working | RuckigResult::Finished) => {}
            _ => self.failures += 1,
        }
        let o = &self.output;
        if (0..self.len).all(|i| {
            o.new_position[i].is_finite()
                && o.new_velocity[i].is_finite()
                && o.new_acceleration[i].is_finite()
        }) {
            self.output.pass_to_input(&mut self.input);
        } else {
            // Never pass a non-finite state on; brake from the last good one.
            self.failures += 1;
            self.stop();
        }
        if self.mode == Mode::Stop && self.stopped() {
            for i in 0..self.len {
                self.input.current_velocity[i] = 0.0;
                self.input.current_acceleration[i] = 0.0;
            }
        }
        self.state()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> JointLimits {
        let mut l = JointLimits {
            len: 2,
            lower: [-3.0; MAX_JOINTS],
            upper: [3.0; MAX_JOINTS],
            velocity: [2.0; MAX_JOINTS],
            acceleration: [10.0; MAX_JOINTS],
            jerk: [5000.0; MAX_JOINTS],
        };
        l.upper[1] = 0.5;
        l
    }

    /// Finite differences of the commanded positions stay within the limits
    /// while following a reference that jumps, reverses and leaves the
    /// position range; once the reference is feasible, it is followed closely.
    #[test]
    fn keeps_every_limit_and_regains_a_feasible_reference() {
        let l = limits();
        let t = 0.001;
        let mut tr = Tracker::new(&l, t, &[0.0; MAX_JOINTS]);
        let mut q = vec![[0.0f64; 2]; 3];
        let mut r = JointState3::at_rest([0.0; MAX_JOINTS]);
        for k in 0..4000 {
            let time = (k + 1) as f64 * t;
            for j in 0..2 {
                let (p, v, a) = if time < 1.0 {
                    (1.5, 0.0, 0.0) // a step: infeasible
                } else if time < 2.0 {
                    (2.0 * (time * 3.0).sin(), 6.0 * (time * 3.0).cos(), 0.0)
                } else {
                    let w = 2.0;
                    (
                        0.2 * (w * time).sin(),
                        0.2 * w * (w * time).cos(),
                        -0.2 * w * w * (w * time).sin(),
                    )
                };
                r.position[j] = p;
                r.velocity[j] = v;
                r.acceleration[j] = a;
            }
            let s = tr.step(&r);
            q.push([s.position[0], s.position[1]]);
            let n = q.len();
            for j in 0..2 {
                let v = (q[n - 1][j] - q[n - 2][j]) / t;
                let a = (q[n - 1][j] - 2.0 * q[n - 2][j] + q[n - 3][j]) / (t * t);
                let jk = (q[n - 1][j] - 3.0 * q[n - 2][j] + 3.0 * q[n - 3][j] - q[n - 4][j])
                    / (t * t * t);
                assert!(v.abs() <= l.velocity[j] * (1.0 + 1e-9), "v {v} at {time}");
                assert!(
                    a.abs() <= l.acceleration[j] * (1.0 + 1e-6),
                    "a {a} at {time}"
                );
                assert!(jk.abs() <= l.jerk[j] * (1.0 + 1e-3), "j {jk} at {time}");
                assert!(q[n - 1][j] <= l.upper[j] + 1e-12 && q[n - 1][j] >= l.lower[j] - 1e-12);
            }
            // Re-planning toward a moving target leaves a lag of the order of
            // the target's travel in the plan's excess over one period:
            // ~10⁻⁵ rad here, far below any motif's error.
            if time > 3.5 {
                let lag = (s.position[0] - r.position[0]).abs();
                assert!(lag < 1e-4, "lags {lag} rad at {time}");
            }
        }
        assert_eq!(tr.failures(), 0);
    }

    #[test]
    fn stop_is_jerk_limited_and_ends_at_rest() {
        let l = limits();
        let mut tr = Tracker::new(&l, 0.001, &[0.0; MAX_JOINTS]);
        let mut moving = JointState3::at_rest([0.0; MAX_JOINTS]);
        moving.velocity[0] = 1.5;
        moving.acceleration[0] = 5.0;
        tr.reset(&moving);
        tr.stop();
        let mut ticks = 0;
        while !tr.stopped() {
            tr.step(&moving);
            ticks += 1;
            assert!(ticks < 2000, "never stopped");
        }
        // Time-optimal from (1.5 rad/s, 5 rad/s²) under 10 rad/s², 5000 rad/s³
        // is about (a + a_max)/j + (v + a²/2j·…)/a_max ≈ 0.17 s.
        assert!((100..260).contains(&ticks), "{ticks} ticks");
        let s = tr.step(&moving);
        assert_eq!(s.velocity[0], 0.0);
    }
}
