//! Per-joint position, velocity, acceleration and jerk limits: position and
//! velocity from the URDF, acceleration and jerk from the `joint_limits`
//! YAML (`robot::joint_limits`).
//!
//! The limits are kept in two ways. The reference the network produces is
//! shaped to stay inside them with headroom (preparations stretched in time
//! and gated in, motifs speed-capped, speed changes ramped: the functions
//! below), so that the shape survives; the tracker (`tracker.rs`) then
//! guarantees them on every published sample whatever the reference does.

// Joint-indexed loops over several parallel fixed-size arrays read best with an index.
#![allow(clippy::needless_range_loop)]

use super::{error::ControlError, sample::MAX_JOINTS};
use crate::robot::{ArmModel, JointLimitsFile};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JointLimits {
    pub len: usize,
    pub lower: [f64; MAX_JOINTS],
    pub upper: [f64; MAX_JOINTS],
    /// URDF (or tighter YAML) velocity limit times the configured scale (rad/s).
    pub velocity: [f64; MAX_JOINTS],
    /// rad/s².
    pub acceleration: [f64; MAX_JOINTS],
    /// rad/s³.
    pub jerk: [f64; MAX_JOINTS],
}

/// Share of each limit the reference plans for; the rest is headroom for
/// what the estimates below miss (the tanh readout's curvature, preemptions),
/// so that the tracker rarely has to depart from the reference.
pub const PLANNING_SHARE: f64 = 0.7;
/// Share of each limit a motif may use at its speed cap: a motif is a
/// smooth path the network reproduces, so it needs less headroom than a
/// preparation's estimate.
pub const MOTIF_SHARE: f64 = 0.9;

impl JointLimits {
    /// Limits of `names` (in that order): the arm's URDF, tightened and
    /// completed by `file`; velocity scaled by `velocity_scale`.
    pub fn from_arm(
        arm: &ArmModel,
        file: &JointLimitsFile,
        names: &[String],
        velocity_scale: f64,
    ) -> Result<Self, ControlError> {
        if names.len() > MAX_JOINTS {
            return Err(ControlError::Joints(format!(
                "{} joints configured; this build supports at most {MAX_JOINTS}",
                names.len()
            )));
        }
        let mut l = Self {
            len: names.len(),
            lower: [0.0; MAX_JOINTS],
            upper: [0.0; MAX_JOINTS],
            velocity: [0.0; MAX_JOINTS],
            acceleration: [0.0; MAX_JOINTS],
            jerk: [0.0; MAX_JOINTS],
        };
        for (i, name) in names.iter().enumerate() {
            let j = arm
                .joints()
                .iter()
                .find(|j| &j.name == name)
                .ok_or_else(|| {
                    ControlError::Joints(format!(
                        "joint `{name}` is not a movable joint of {} (has {:?})",
                        arm.source_name(),
                        arm.joint_names()
                    ))
                })?;
            let r = file.resolve(name, j)?;
            l.lower[i] = r.lower;
            l.upper[i] = r.upper;
            l.velocity[i] = r.velocity;
            l.acceleration[i] = r.acceleration;
            l.jerk[i] = r.jerk;
        }
        let full = l.velocity;
        l.scale_velocity(&full, velocity_scale);
        Ok(l)
    }

    /// Velocity limits `scale` × `full` (the limits at scale 1), the other
    /// limits as they are.
    pub fn scale_velocity(&mut self, full: &[f64; MAX_JOINTS], scale: f64) {
        for (v, f) in self.velocity.iter_mut().zip(full).take(self.len) {
            *v = f * scale;
        }
    }

    /// How much to stretch a preparation in time so that its peak joint
    /// velocity, acceleration and jerk stay within the planning share. The
    /// transition residual decays like `exp(−t/(sτ))` once gated in, so with
    /// `d` the distance and `w = speed/(sτ)` its rate, the peaks are about
    /// `d·w`, `d·w²` and `d·w³`.
    pub fn prep_stretch(&self, from: &[f64], to: &[f64], tau: f64, speed: f64) -> f64 {
        let mut s: f64 = 1.0;
        for i in 0..self.len {
            let d = (to[i] - from[i]).abs();
            let need = [
                d / (self.velocity[i] * PLANNING_SHARE),
                (d / (self.acceleration[i] * PLANNING_SHARE)).sqrt(),
                (d / (self.jerk[i] * PLANNING_SHARE)).cbrt(),
            ]
            .into_iter()
            .fold(0.0, f64::max)
                * speed
                / tau;
            if need.is_finite() {
                s = s.max(need);
            }
        }
        s
    }

    /// Seconds over which to blend from the current velocity `from_v` into
    /// a preparation that starts moving at `to_v` (per joint): a smoothstep
    /// crossfade of duration `T` changes velocity by `Δv` with peak
    /// acceleration `1.5·Δv/T` and peak jerk `6·Δv/T²`.
    pub fn blend_time(&self, from_v: &[f64], to_v: &[f64]) -> f64 {
        let mut t: f64 = 0.0;
        for i in 0..self.len {
            let dv = (to_v[i] - from_v[i]).abs();
            let need = (1.5 * dv / (self.acceleration[i] * PLANNING_SHARE))
                .max((6.0 * dv / (self.jerk[i] * PLANNING_SHARE)).sqrt());
            if need.is_finite() {
                t = t.max(need);
            }
        }
        t
    }

    /// The highest time scale at which a path whose peak velocity,
    /// acceleration and jerk at scale 1 are `peaks` stays within
    /// [`MOTIF_SHARE`] of the limits (they grow as `s`, `s²`, `s³`).
    pub fn speed_cap(&self, peaks: &[[f64; 3]]) -> f64 {
        let mut cap = f64::INFINITY;
        for (i, p) in peaks.iter().enumerate().take(self.len) {
            let limits = [self.velocity[i], self.acceleration[i], self.jerk[i]];
            for (k, (&peak, &limit)) in p.iter().zip(&limits).enumerate() {
                if peak > 0.0 {
                    cap = cap.min((limit * MOTIF_SHARE / peak).powf(1.0 / (k + 1) as f64));
                }
            }
        }
        cap
    }
}

/// Measures a command stream the way a fixed-rate driver judges it: finite
/// differences of consecutive positions at the loop period, as fractions of
/// the limits (worst joint). Used by the tests, the demo's plot and the
/// measurement commands; the loop itself never needs it.
#[derive(Debug, Clone)]
pub struct LimitMeter {
    limits: JointLimits,
    period: f64,
    hist: [[f64; MAX_JOINTS]; 3],
    filled: usize,
    /// Largest fraction seen of velocity, acceleration and jerk.
    pub max: [f64; 3],
    /// Samples outside the position limits.
    pub position_violations: u64,
}

impl LimitMeter {
    pub fn new(limits: &JointLimits, period: f64) -> Self {
        Self {
            limits: *limits,
            period,
            hist: [[0.0; MAX_JOINTS]; 3],
            filled: 0,
            max: [0.0; 3],
            position_violations: 0,
        }
    }

    /// The next published positions; returns this sample's fractions
    /// (zero until enough history exists for each difference).
    pub fn push(&mut self, q: &[f64]) -> [f64; 3] {
        let l = &self.limits;
        let t = self.period;
        let mut f = [0.0f64; 3];
        for j in 0..l.len {
            if q[j] < l.lower[j] || q[j] > l.upper[j] {
                self.position_violations += 1;
            }
            let [a, b, c] = [self.hist[2][j], self.hist[1][j], self.hist[0][j]];
            if self.filled >= 1 {
                f[0] = f[0].max(((q[j] - a) / t).abs() / l.velocity[j]);
            }
            if self.filled >= 2 {
                f[1] = f[1].max(((q[j] - 2.0 * a + b) / (t * t)).abs() / l.acceleration[j]);
            }
            if self.filled >= 3 {
                let jerk = (q[j] - 3.0 * a + 3.0 * b - c) / (t * t * t);
                f[2] = f[2].max(jerk.abs() / l.jerk[j]);
            }
        }
        self.hist.copy_within(1..3, 0);
        self.hist[2][..l.len].copy_from_slice(&q[..l.len]);
        self.filled = (self.filled + 1).min(3);
        for k in 0..3 {
            self.max[k] = self.max[k].max(f[k]);
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn limits() -> JointLimits {
        let mut l = JointLimits {
            len: 2,
            lower: [0.0; MAX_JOINTS],
            upper: [0.0; MAX_JOINTS],
            velocity: [0.0; MAX_JOINTS],
            acceleration: [0.0; MAX_JOINTS],
            jerk: [0.0; MAX_JOINTS],
        };
        l.lower[..2].copy_from_slice(&[-1.0, -2.0]);
        l.upper[..2].copy_from_slice(&[1.0, 2.0]);
        l.velocity[..2].copy_from_slice(&[1.0, 2.0]);
        l.acceleration[..2].copy_from_slice(&[10.0, 10.0]);
        l.jerk[..2].copy_from_slice(&[1000.0, 1000.0]);
        l
    }

    #[test]
    fn stretch_grows_with_distance_and_speed() {
        let l = limits();
        assert_eq!(l.prep_stretch(&[0.0, 0.0], &[0.0001, 0.0], 0.04, 1.0), 1.0);
        let s1 = l.prep_stretch(&[0.0, 0.0], &[1.0, 0.0], 0.04, 1.0);
        let s2 = l.prep_stretch(&[0.0, 0.0], &[1.0, 0.0], 0.04, 2.0);
        assert!(s1 > 1.0 && (s2 / s1 - 2.0).abs() < 1e-9);
        // At that stretch the exponential's peaks are within the share.
        let w = 1.0 / (s1 * 0.04);
        assert!(w <= PLANNING_SHARE * 1.0 + 1e-12);
        assert!(w * w <= PLANNING_SHARE * 10.0 + 1e-9);
        assert!(w * w * w <= PLANNING_SHARE * 1000.0 + 1e-6);
    }

    #[test]
    fn caps_scale_with_the_power_of_each_derivative() {
        let l = limits();
        // Velocity-bound: a path at 2× the share is capped at 0.5.
        let cap = l.speed_cap(&[[2.0 * MOTIF_SHARE, 0.0, 0.0], [0.0; 3]]);
        assert!((cap - 0.5).abs() < 1e-12);
        // Acceleration-bound: 4× the share → √(1/4).
        let cap = l.speed_cap(&[[0.0, 40.0 * MOTIF_SHARE, 0.0], [0.0; 3]]);
        assert!((cap - 0.5).abs() < 1e-12);
        assert_eq!(l.speed_cap(&[[0.0; 3], [0.0; 3]]), f64::INFINITY);
    }

    #[test]
    fn meter_sees_a_step_in_each_derivative() {
        let l = limits();
        let mut m = LimitMeter::new(&l, 0.001);
        for _ in 0..5 {
            m.push(&[0.0, 0.0]);
        }
        assert_eq!(m.max, [0.0; 3]);
        // A position step of 1e-4 rad in one tick: 0.1 rad/s, 100 rad/s²
        // (10× the limit), 1e5 rad/s³ (100×).
        let f = m.push(&[1e-4, 0.0]);
        assert!(
            (f[0] - 0.1).abs() < 1e-9 && (f[1] - 10.0).abs() < 1e-6 && (f[2] - 100.0).abs() < 1e-3
        );
        m.push(&[5.0, 0.0]);
        assert_eq!(m.position_violations, 1);
    }

    #[test]
    fn blend_time_bounds_the_crossfade() {
        let l = limits();
        let t = l.blend_time(&[1.0, 0.0], &[-1.0, 0.0]);
        assert!(1.5 * 2.0 / t <= 10.0 * PLANNING_SHARE + 1e-9);
        assert!(6.0 * 2.0 / (t * t) <= 1000.0 * PLANNING_SHARE + 1e-6);
        assert_eq!(l.blend_time(&[0.5, 0.5], &[0.5, 0.5]), 0.0);
    }
}
