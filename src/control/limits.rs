//! Joint position and velocity limits from the URDF, applied to every sample.
//!
//! Velocity is kept mainly by stretching the preparation in time (see
//! [`JointLimits::prep_stretch`]) so that the transition keeps its smooth
//! shape; the per-sample rate limit below is the safety net for whatever the
//! estimate misses (speed changes, preemptions, nonlinear outputs). It moves
//! toward the target by at most `v_max·dt`, so a command never jumps.

use super::{error::ControlError, sample::MAX_JOINTS};
use crate::robot::ArmModel;

#[derive(Debug, Clone, Copy)]
pub struct JointLimits {
    pub len: usize,
    pub lower: [f64; MAX_JOINTS],
    pub upper: [f64; MAX_JOINTS],
    /// URDF velocity limit times the configured scale (rad/s).
    pub velocity: [f64; MAX_JOINTS],
}

/// Share of the velocity limit the preparation plans for; the rest is
/// headroom for the curvature of the tanh readout, so the rate limit rarely
/// has to act.
const PREP_PLANNING_SHARE: f64 = 0.7;

impl JointLimits {
    /// Limits of `names` (in that order) from `arm`, velocity scaled by `velocity_scale`.
    pub fn from_arm(
        arm: &ArmModel,
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
            l.lower[i] = j.lower;
            l.upper[i] = j.upper;
            l.velocity[i] = j.velocity * velocity_scale;
        }
        Ok(l)
    }

    /// Clamps `target` into the position limits, then moves from `prev` toward
    /// it by at most `velocity·dt` per joint. Writes the result into `out`;
    /// returns whether any joint was limited (position or velocity).
    pub fn apply(&self, target: &[f64], prev: &[f64], dt: f64, out: &mut [f64]) -> bool {
        let mut limited = false;
        for i in 0..self.len {
            let mut q = target[i].clamp(self.lower[i], self.upper[i]);
            if q != target[i] {
                limited = true;
            }
            if dt > 0.0 {
                let max = self.velocity[i] * dt;
                let d = q - prev[i];
                if d.abs() > max {
                    q = prev[i] + max.copysign(d);
                    limited = true;
                }
            }
            out[i] = q;
        }
        limited
    }

    /// How much to stretch a preparation in time so its peak joint speed stays
    /// within the limits. The transition residual decays like `exp(−t/τ)`, so
    /// its fastest joint speed is about `distance/τ` at the start; `speed` is
    /// the motif time scale.
    pub fn prep_stretch(&self, from: &[f64], to: &[f64], tau: f64, speed: f64) -> f64 {
        let mut s: f64 = 1.0;
        for i in 0..self.len {
            let need =
                speed * (to[i] - from[i]).abs() / (tau * self.velocity[i] * PREP_PLANNING_SHARE);
            if need.is_finite() {
                s = s.max(need);
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> JointLimits {
        let mut l = JointLimits {
            len: 2,
            lower: [0.0; MAX_JOINTS],
            upper: [0.0; MAX_JOINTS],
            velocity: [0.0; MAX_JOINTS],
        };
        l.lower[..2].copy_from_slice(&[-1.0, -2.0]);
        l.upper[..2].copy_from_slice(&[1.0, 2.0]);
        l.velocity[..2].copy_from_slice(&[1.0, 2.0]);
        l
    }

    #[test]
    fn clamps_position_then_rate() {
        let l = limits();
        let mut out = [0.0; 2];
        assert!(l.apply(&[5.0, 0.001], &[0.0, 0.0], 0.01, &mut out));
        assert_eq!(out, [0.01, 0.001]);
        assert!(!l.apply(&[0.5, 0.5], &[0.5, 0.5], 0.01, &mut out));
        assert!(l.apply(&[-5.0, 0.0], &[-0.995, 0.0], 0.01, &mut out));
        assert_eq!(out[0], -1.0);
    }

    #[test]
    fn stretch_grows_with_distance_and_speed() {
        let l = limits();
        assert_eq!(l.prep_stretch(&[0.0, 0.0], &[0.001, 0.0], 0.04, 1.0), 1.0);
        let s1 = l.prep_stretch(&[0.0, 0.0], &[1.0, 0.0], 0.04, 1.0);
        let s2 = l.prep_stretch(&[0.0, 0.0], &[1.0, 0.0], 0.04, 2.0);
        assert!(s1 > 1.0 && (s2 / s1 - 2.0).abs() < 1e-9);
    }
}
