//! Forward kinematics of the tip link and a small damped-least-squares IK.
//!
//! The IK is used offline (demonstration generators), so it favours smooth,
//! repeatable solutions over speed: it is seeded from the previous solution, keeps
//! joints a margin inside their limits and pulls the redundant degree of freedom
//! toward a reference posture so consecutive solutions do not drift apart.

use k::nalgebra::{DMatrix, DVector, Isometry3, UnitQuaternion, Vector3};
use thiserror::Error;

use super::arm::ArmModel;

#[derive(Debug, Error)]
pub enum KinematicsError {
    #[error("tip link `{link}` not found in arm `{robot}`")]
    UnknownTip { robot: String, link: String },
    #[error(
        "kinematic chain to `{link}` has joints {chain:?}, which are not the arm's joints {arm:?}"
    )]
    ChainMismatch {
        link: String,
        chain: Vec<String>,
        arm: Vec<String>,
    },
    #[error("expected {expected} joint positions, got {got}")]
    WrongLength { expected: usize, got: usize },
    #[error("joint positions contain a non-finite value")]
    NonFinite,
    #[error(
        "IK did not converge to {target:?} after {iterations} iterations: \
         position error {position_error:.2e} m, orientation error {orientation_error:.2e} rad"
    )]
    NotConverged {
        target: [f64; 3],
        iterations: usize,
        position_error: f64,
        orientation_error: f64,
    },
}

/// A Cartesian goal for the tip: a position and, optionally, a fixed orientation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IkTarget {
    pub position: [f64; 3],
    pub orientation: Option<UnitQuaternion<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IkOptions {
    pub max_iterations: usize,
    pub position_tolerance: f64,
    pub orientation_tolerance: f64,
    /// Damping λ of `Jᵀ(JJᵀ + λ²I)⁻¹`; keeps steps bounded near singularities.
    pub damping: f64,
    /// Largest change of any joint per iteration (rad or m).
    pub max_step: f64,
    /// Gain of the null-space pull toward `posture` (0 disables it).
    pub posture_gain: f64,
    pub posture: Option<Vec<f64>>,
    /// Solutions are kept this far inside the position limits.
    pub limit_margin: f64,
    /// With a posture: also iterate until the whole step is below this (rad),
    /// so the solution is the posture-nearest one on the target's
    /// self-motion manifold, whatever the seed. Without it the solver stops at
    /// the task tolerance and the self-motion depends on how many iterations
    /// each sample took: a path solved sample by sample then has kinks where
    /// the target starts or stops moving. `None`: stop at the task tolerance.
    pub posture_tolerance: Option<f64>,
}

impl Default for IkOptions {
    fn default() -> Self {
        Self {
            max_iterations: 200,
            position_tolerance: 1e-5,
            orientation_tolerance: 1e-4,
            damping: 1e-3,
            max_step: 0.2,
            posture_gain: 0.05,
            posture: None,
            limit_margin: 0.0,
            posture_tolerance: None,
        }
    }
}

/// Serial chain from the URDF root to the arm's tip link.
pub struct Kinematics {
    chain: k::SerialChain<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
}

impl Kinematics {
    /// Chain to [`ArmModel::tip_link`]; its joints must be the arm's joints in order.
    pub fn new(arm: &ArmModel) -> Result<Self, KinematicsError> {
        Self::with_tip(arm, arm.tip_link())
    }

    pub fn with_tip(arm: &ArmModel, tip: &str) -> Result<Self, KinematicsError> {
        let tree: k::Chain<f64> = arm.urdf().into();
        let end = tree
            .find_link(tip)
            .ok_or_else(|| KinematicsError::UnknownTip {
                robot: arm.name().to_string(),
                link: tip.to_string(),
            })?;
        let chain = k::SerialChain::from_end(end);
        let chain_names: Vec<String> = chain.iter_joints().map(|j| j.name.clone()).collect();
        if chain_names.as_slice() != arm.joint_names() {
            return Err(KinematicsError::ChainMismatch {
                link: tip.to_string(),
                chain: chain_names,
                arm: arm.joint_names().to_vec(),
            });
        }
        let (lower, upper) = arm.position_limits().into_iter().unzip();
        Ok(Self {
            chain,
            lower,
            upper,
        })
    }

    pub fn dof(&self) -> usize {
        self.lower.len()
    }

    fn set(&self, q: &[f64]) -> Result<(), KinematicsError> {
        if q.len() != self.dof() {
            return Err(KinematicsError::WrongLength {
                expected: self.dof(),
                got: q.len(),
            });
        }
        if !q.iter().all(|v| v.is_finite()) {
            return Err(KinematicsError::NonFinite);
        }
        // Limits are the caller's business here: FK of any configuration is defined.
        self.chain.set_joint_positions_unchecked(q);
        Ok(())
    }

    /// Pose of the tip link in the URDF root frame.
    pub fn fk(&self, q: &[f64]) -> Result<Isometry3<f64>, KinematicsError> {
        self.set(q)?;
        Ok(self.chain.end_transform())
    }

    pub fn fk_position(&self, q: &[f64]) -> Result<[f64; 3], KinematicsError> {
        let t = self.fk(q)?.translation.vector;
        Ok([t.x, t.y, t.z])
    }

    /// Damped-least-squares IK from `seed`; fails rather than return a poor solution.
    pub fn solve_ik(
        &self,
        target: &IkTarget,
        seed: &[f64],
        opts: &IkOptions,
    ) -> Result<Vec<f64>, KinematicsError> {
        let n = self.dof();
        self.set(seed)?;
        if let Some(p) = &opts.posture {
            if p.len() != n {
                return Err(KinematicsError::WrongLength {
                    expected: n,
                    got: p.len(),
                });
            }
        }
        let goal = Vector3::from(target.position);
        let rows = if target.orientation.is_some() { 6 } else { 3 };
        let mut q = DVector::from_column_slice(seed);
        let (mut ep, mut eo) = (f64::INFINITY, 0.0);
        for _ in 0..opts.max_iterations {
            self.chain.set_joint_positions_unchecked(q.as_slice());
            let t = self.chain.end_transform();
            let dp = goal - t.translation.vector;
            let dr = target
                .orientation
                .map(|r| (r * t.rotation.inverse()).scaled_axis())
                .unwrap_or_else(Vector3::zeros);
            ep = dp.norm();
            eo = dr.norm();
            let on_target = ep <= opts.position_tolerance && eo <= opts.orientation_tolerance;
            if on_target && opts.posture_tolerance.is_none() {
                return Ok(q.as_slice().to_vec());
            }
            let jac = k::jacobian(&self.chain).rows(0, rows).into_owned();
            let mut err = DVector::zeros(rows);
            err.rows_mut(0, 3).copy_from(&dp);
            if rows == 6 {
                err.rows_mut(3, 3).copy_from(&dr);
            }
            let jjt = &jac * jac.transpose()
                + DMatrix::identity(rows, rows) * (opts.damping * opts.damping);
            let Some(inv) = jjt.try_inverse() else { break };
            let pinv = jac.transpose() * inv;
            let mut dq = &pinv * err;
            if let (Some(p), true) = (&opts.posture, opts.posture_gain > 0.0) {
                let pull = (DVector::from_column_slice(p) - &q) * opts.posture_gain;
                dq += (DMatrix::identity(n, n) - &pinv * &jac) * pull;
            }
            // At the iteration's fixed point the solution no longer depends
            // on the seed or on the iteration count.
            if on_target && opts.posture_tolerance.is_none_or(|tol| dq.amax() <= tol) {
                return Ok(q.as_slice().to_vec());
            }
            let biggest = dq.amax();
            if biggest > opts.max_step {
                dq *= opts.max_step / biggest;
            }
            q += dq;
            for i in 0..n {
                let (lo, hi) = (
                    self.lower[i] + opts.limit_margin,
                    self.upper[i] - opts.limit_margin,
                );
                q[i] = if lo <= hi { q[i].clamp(lo, hi) } else { q[i] };
            }
        }
        Err(KinematicsError::NotConverged {
            target: target.position,
            iterations: opts.max_iterations,
            position_error: ep,
            orientation_error: eo,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::robot::PANDA_READY as READY;

    use crate::robot::test_panda as panda;

    #[test]
    fn ready_pose_flange() {
        let kin = Kinematics::new(&panda()).unwrap();
        let p = kin.fk_position(&READY).unwrap();
        let want = [0.3069, 0.0, 0.5903];
        for i in 0..3 {
            assert!((p[i] - want[i]).abs() < 1e-4, "{p:?}");
        }
    }

    #[test]
    fn fk_rejects_bad_input() {
        let kin = Kinematics::new(&panda()).unwrap();
        assert!(matches!(
            kin.fk(&[0.0; 3]),
            Err(KinematicsError::WrongLength { .. })
        ));
        let mut q = READY;
        q[0] = f64::NAN;
        assert!(matches!(kin.fk(&q), Err(KinematicsError::NonFinite)));
    }

    #[test]
    fn ik_round_trip_with_orientation() {
        let kin = Kinematics::new(&panda()).unwrap();
        let start = kin.fk(&READY).unwrap();
        let p = start.translation.vector + Vector3::new(0.05, 0.08, -0.04);
        let target = IkTarget {
            position: [p.x, p.y, p.z],
            orientation: Some(start.rotation),
        };
        let opts = IkOptions {
            posture: Some(READY.to_vec()),
            ..IkOptions::default()
        };
        let q = kin.solve_ik(&target, &READY, &opts).unwrap();
        let got = kin.fk(&q).unwrap();
        assert!((got.translation.vector - p).norm() < 1e-4);
        assert!(got.rotation.angle_to(&start.rotation) < 1e-3);
    }

    #[test]
    fn ik_unreachable_is_an_error() {
        let kin = Kinematics::new(&panda()).unwrap();
        let target = IkTarget {
            position: [3.0, 0.0, 0.5],
            orientation: None,
        };
        let e = kin
            .solve_ik(&target, &READY, &IkOptions::default())
            .unwrap_err();
        assert!(matches!(e, KinematicsError::NotConverged { .. }), "{e}");
    }
}
