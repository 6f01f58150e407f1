//! Tracking supervision: the measured joint positions against the commanded
//! ones, and the age of the last measurement.
//!
//! The semantics follow ros2_control's joint_trajectory_controller path
//! constraints (`constraints: <joint>: trajectory:`): a joint whose
//! |measured − commanded| exceeds its `path_tolerance` is a violation. JTC
//! aborts the goal on the first violating sample; a robot's measured state
//! is noisy and late by the servo lag, so here the violation must persist
//! for `path_tolerance_window` seconds before it trips. Measurements that
//! stop for `joint_states_timeout` trip as well. On a trip the controller
//! decelerates to a hold within the limits (JTC holds position at once,
//! which its docs warn can fault a robot); a new motion command clears the
//! fault. Both run on the loop thread, on `Copy` data.

use super::{sample::MAX_JOINTS, sequencer::FaultCode};

/// Supervision settings for the configured joints (`Copy`, for the loop).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SupervisionConfig {
    /// Per-joint |measured − commanded| bound (rad); 0 = unchecked.
    pub path_tolerance: [f64; MAX_JOINTS],
    /// Seconds a violation must last to trip.
    pub window: f64,
    /// Seconds without a measurement that trip (0 = unchecked).
    pub timeout: f64,
}

/// What tripped: the fault and, for a path violation, the joint and error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trip {
    pub fault: FaultCode,
    pub joint: Option<(u16, f64)>,
}

#[derive(Debug, Clone)]
pub struct Supervisor {
    config: SupervisionConfig,
    len: usize,
    last_measured: Option<f64>,
    outside_since: Option<f64>,
    /// Largest |error| per joint in the last measurement.
    pub error: [f64; MAX_JOINTS],
}

impl Supervisor {
    pub fn new(config: SupervisionConfig, len: usize) -> Self {
        Self {
            config,
            len,
            last_measured: None,
            outside_since: None,
            error: [0.0; MAX_JOINTS],
        }
    }

    /// A measurement `measured` arrived at `t` while `commanded` was the
    /// command in force. Returns a path trip if the violation has lasted.
    pub fn measured(
        &mut self,
        t: f64,
        measured: &[f64; MAX_JOINTS],
        commanded: &[f64; MAX_JOINTS],
    ) -> Option<Trip> {
        self.last_measured = Some(t);
        let mut worst: Option<(u16, f64)> = None;
        for j in 0..self.len {
            let e = (measured[j] - commanded[j]).abs();
            self.error[j] = e;
            let tol = self.config.path_tolerance[j];
            if tol > 0.0 && e > tol && worst.is_none_or(|(_, w)| e / tol > w) {
                worst = Some((j as u16, e / tol));
            }
        }
        let Some((joint, _)) = worst else {
            self.outside_since = None;
            return None;
        };
        let since = *self.outside_since.get_or_insert(t);
        (t - since >= self.config.window).then(|| Trip {
            fault: FaultCode::PathTolerance,
            joint: Some((joint, self.error[usize::from(joint)])),
        })
    }

    /// Checks the age of the last measurement at `t`.
    pub fn check_age(&self, t: f64) -> Option<Trip> {
        let last = self.last_measured?;
        (self.config.timeout > 0.0 && t - last > self.config.timeout).then_some(Trip {
            fault: FaultCode::JointStatesLost,
            joint: None,
        })
    }

    /// Forget a violation in progress (after a trip, on a new command).
    pub fn clear(&mut self) {
        self.outside_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sup() -> Supervisor {
        let mut tol = [0.0; MAX_JOINTS];
        tol[..2].copy_from_slice(&[0.1, 0.2]);
        Supervisor::new(
            SupervisionConfig {
                path_tolerance: tol,
                window: 0.05,
                timeout: 0.1,
            },
            2,
        )
    }

    #[test]
    fn violation_trips_only_after_the_window() {
        let mut s = sup();
        let cmd = [0.0; MAX_JOINTS];
        let mut m = [0.0; MAX_JOINTS];
        m[1] = 0.25;
        assert_eq!(s.measured(0.0, &m, &cmd), None);
        assert_eq!(s.measured(0.04, &m, &cmd), None);
        let trip = s.measured(0.06, &m, &cmd).unwrap();
        assert_eq!(trip.fault, FaultCode::PathTolerance);
        assert_eq!(trip.joint.unwrap().0, 1);
        // Back inside: the window restarts.
        assert_eq!(s.measured(0.07, &cmd, &cmd), None);
        assert_eq!(s.measured(0.08, &m, &cmd), None);
    }

    #[test]
    fn silence_trips_after_the_timeout() {
        let mut s = sup();
        assert_eq!(
            s.check_age(5.0),
            None,
            "nothing measured yet: nothing to age"
        );
        s.measured(1.0, &[0.0; MAX_JOINTS], &[0.0; MAX_JOINTS]);
        assert_eq!(s.check_age(1.05), None);
        assert_eq!(s.check_age(1.2).unwrap().fault, FaultCode::JointStatesLost);
    }
}
