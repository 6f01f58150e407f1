//! Deterministic generators of demonstrations (pure math: no I/O).
//!
//! - [`smooth_trajectory`]: 2-D "hand" trajectories, start and end at the origin,
//!   4–6 turning points per coordinate, peak |y| in [1.5, 2.5].
//! - [`step_trajectory`]: 2-D piecewise-constant levels in [-2, 2], each plateau held
//!   5–50 τ, ending at 0. Edges are raised-cosine ramps lasting 1 τ: a rate network
//!   with time constant τ cannot follow a true jump, and a ramp this short keeps the
//!   task a step task (the ramp is not counted in the plateau length).
//! - [`arm_motif`]: joint-space Panda motifs. Task-space shapes are drawn by the
//!   flange around the "ready" pose with its orientation held fixed, solved by IK
//!   seeded from the previous sample so the joint path is continuous. A minimum-jerk
//!   time law (or a sin² window) makes every motif start and end at rest.
//!
//! Randomness comes only from `StdRng::seed_from_u64(seed)`: same seed, same demo.

use std::f64::consts::PI;

use ndarray::Array2;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use thiserror::Error;

use super::demo::{Demo, DemoError};
use crate::robot::{ArmModel, IkOptions, IkTarget, Kinematics, KinematicsError, PANDA_READY};

#[derive(Debug, Error)]
pub enum GenError {
    #[error("invalid generator parameter: {0}")]
    InvalidParameter(String),
    #[error("unknown arm motif `{name}`; known motifs: {known:?}")]
    UnknownMotif {
        name: String,
        known: &'static [&'static str],
    },
    #[error("arm motifs need a 7-DOF Panda-like arm: {0}")]
    UnsupportedArm(String),
    #[error("motif `{motif}`: {source}")]
    Kinematics {
        motif: String,
        #[source]
        source: KinematicsError,
    },
    #[error("motif `{motif}`: joint `{joint}` at sample {step}: {what}")]
    LimitViolation {
        motif: String,
        joint: String,
        step: usize,
        what: String,
    },
    #[error("no trajectory met the shape constraints after {0} draws")]
    Exhausted(usize),
    #[error(transparent)]
    Demo(#[from] DemoError),
}

/// Length and time base of the 2-D families.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyParams {
    pub steps: usize,
    pub dt: f64,
    /// Network time constant; sets the step family's hold and ramp lengths.
    pub tau: f64,
}

impl Default for FamilyParams {
    /// 900 steps of 1 ms with τ = 10 ms: 90 τ, as in the reproduction.
    fn default() -> Self {
        Self {
            steps: 900,
            dt: 1e-3,
            tau: 1e-2,
        }
    }
}

impl FamilyParams {
    fn check(&self) -> Result<(), GenError> {
        if !(self.dt.is_finite() && self.dt > 0.0 && self.tau.is_finite() && self.tau > 0.0) {
            return Err(GenError::InvalidParameter(format!(
                "dt {} and tau {} must be positive and finite",
                self.dt, self.tau
            )));
        }
        if self.steps < 2 {
            return Err(GenError::InvalidParameter(format!(
                "steps must be at least 2, got {}",
                self.steps
            )));
        }
        Ok(())
    }
}

const XY: [&str; 2] = ["x", "y"];
const MAX_DRAWS: usize = 10_000;

/// Number of local extrema (sign changes of the first difference).
pub fn count_turning_points(y: &[f32]) -> usize {
    let mut last = 0i8;
    let mut count = 0;
    for w in y.windows(2) {
        let s = match w[1].partial_cmp(&w[0]) {
            Some(std::cmp::Ordering::Greater) => 1,
            Some(std::cmp::Ordering::Less) => -1,
            _ => 0,
        };
        if s != 0 {
            if last != 0 && s != last {
                count += 1;
            }
            last = s;
        }
    }
    count
}

fn smooth_coordinate(rng: &mut StdRng, n: usize) -> Result<Vec<f32>, GenError> {
    for _ in 0..MAX_DRAWS {
        let comps: Vec<(f64, f64, f64)> = (0..3)
            .map(|_| {
                (
                    rng.random_range(0.3..1.0),
                    rng.random_range(0.5..2.5),
                    rng.random_range(0.0..2.0 * PI),
                )
            })
            .collect();
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let u = i as f64 / (n - 1) as f64;
                // sin² window: zero value and slope at both ends, so the hand starts
                // and stops at the origin at rest.
                let w = (PI * u).sin().powi(2);
                w * comps
                    .iter()
                    .map(|(a, f, p)| a * (2.0 * PI * f * u + p).sin())
                    .sum::<f64>()
            })
            .collect();
        let peak = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if peak < 1e-6 {
            continue;
        }
        let scale = rng.random_range(1.5..2.5) / peak;
        let y: Vec<f32> = y.iter().map(|v| (v * scale) as f32).collect();
        if (4..=6).contains(&count_turning_points(&y)) {
            return Ok(y);
        }
    }
    Err(GenError::Exhausted(MAX_DRAWS))
}

fn columns_to_demo(dt: f64, names: &[&str], cols: &[Vec<f32>]) -> Result<Demo, GenError> {
    let n = cols.first().map_or(0, Vec::len);
    let data = Array2::from_shape_fn((n, cols.len()), |(t, d)| cols[d][t]);
    Ok(Demo::new(
        dt,
        names.iter().map(|s| s.to_string()).collect(),
        data,
    )?)
}

/// One smooth 2-D hand trajectory (columns `x`, `y`).
pub fn smooth_trajectory(seed: u64, p: &FamilyParams) -> Result<Demo, GenError> {
    p.check()?;
    if p.steps < 50 {
        return Err(GenError::InvalidParameter(format!(
            "smooth trajectories need at least 50 steps to show 4-6 turning points, got {}",
            p.steps
        )));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let cols = [
        smooth_coordinate(&mut rng, p.steps)?,
        smooth_coordinate(&mut rng, p.steps)?,
    ];
    columns_to_demo(p.dt, &XY, &cols)
}

/// `count` smooth trajectories from seeds `seed, seed+1, ...`.
pub fn smooth_family(count: usize, seed: u64, p: &FamilyParams) -> Result<Vec<Demo>, GenError> {
    (0..count as u64)
        .map(|i| smooth_trajectory(seed.wrapping_add(i), p))
        .collect()
}

/// Hold and ramp lengths of the step family, in samples.
fn step_lengths(p: &FamilyParams) -> (usize, usize, usize) {
    let per_tau = p.tau / p.dt;
    let ramp = per_tau.round().max(1.0) as usize;
    let hmin = (5.0 * per_tau).ceil() as usize;
    let hmax = (50.0 * per_tau).floor() as usize;
    (hmin, hmax, ramp)
}

fn draw_level(rng: &mut StdRng, prev: Option<f32>) -> f32 {
    // Levels near 0 or near the previous level would make a step invisible.
    for _ in 0..MAX_DRAWS {
        let l: f32 = rng.random_range(-2.0..=2.0);
        if l.abs() >= 0.5 && prev.is_none_or(|p| (l - p).abs() >= 0.5) {
            return l;
        }
    }
    prev.map_or(1.0, |p| if p > 0.0 { -1.0 } else { 1.0 })
}

fn step_coordinate(rng: &mut StdRng, n: usize, hmin: usize, hmax: usize, ramp: usize) -> Vec<f32> {
    let mut y: Vec<f32> = Vec::with_capacity(n);
    let mut prev: Option<f32> = None;
    loop {
        let rem = n - y.len() - if prev.is_some() { ramp } else { 0 };
        let last = prev.is_some() && rem <= hmax;
        let level = if last { 0.0 } else { draw_level(rng, prev) };
        if let Some(p) = prev {
            for k in 0..ramp {
                let s = (1.0 - (PI * (k + 1) as f64 / (ramp + 1) as f64).cos()) / 2.0;
                y.push(p + (level - p) * s as f32);
            }
        }
        // Leave room for at least one more ramp and a minimal final plateau.
        let h = if last {
            rem
        } else {
            rng.random_range(hmin..=hmax.min(rem - ramp - hmin))
        };
        y.extend(std::iter::repeat_n(level, h));
        if last {
            return y;
        }
        prev = Some(level);
    }
}

/// One 2-D step-like trajectory (columns `x`, `y`); coordinates switch independently.
pub fn step_trajectory(seed: u64, p: &FamilyParams) -> Result<Demo, GenError> {
    p.check()?;
    let (hmin, hmax, ramp) = step_lengths(p);
    if hmax < 2 * hmin + ramp || p.steps < 2 * hmin + ramp {
        return Err(GenError::InvalidParameter(format!(
            "steps {} with tau/dt {:.3} leave no room for two plateaus of 5-50 tau",
            p.steps,
            p.tau / p.dt
        )));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let cols = [
        step_coordinate(&mut rng, p.steps, hmin, hmax, ramp),
        step_coordinate(&mut rng, p.steps, hmin, hmax, ramp),
    ];
    columns_to_demo(p.dt, &XY, &cols)
}

/// `count` step trajectories from seeds `seed, seed+1, ...`.
pub fn step_family(count: usize, seed: u64, p: &FamilyParams) -> Result<Vec<Demo>, GenError> {
    (0..count as u64)
        .map(|i| step_trajectory(seed.wrapping_add(i), p))
        .collect()
}

// ---------------------------------------------------------------------------
// Arm motifs

/// Default sample period of arm motifs (250 Hz).
pub const ARM_DEFAULT_DT: f64 = 0.004;

/// Generated motifs stay this far inside the position limits...
pub const ARM_POSITION_MARGIN: f64 = 0.05;
/// ...and below this fraction of the velocity limits.
pub const ARM_VELOCITY_FRACTION: f64 = 0.5;

const MOTIFS: &[&str] = &[
    "circle",
    "figure_eight",
    "wave",
    "reach_left",
    "reach_right",
    "lift",
    "square",
    "spiral",
    "pick",
    "place",
];

pub fn arm_motif_names() -> &'static [&'static str] {
    MOTIFS
}

/// Minimum-jerk time law: 0→1 with zero velocity and acceleration at both ends.
fn min_jerk(u: f64) -> f64 {
    let u = u.clamp(0.0, 1.0);
    u * u * u * (10.0 + u * (-15.0 + 6.0 * u))
}

/// Out, hold, back: 0 → 1 → 0 with rests at the ends and at the far point.
fn out_and_back(u: f64) -> f64 {
    const MOVE: f64 = 0.4;
    if u < MOVE {
        min_jerk(u / MOVE)
    } else if u > 1.0 - MOVE {
        min_jerk((1.0 - u) / MOVE)
    } else {
        1.0
    }
}

/// From `a` to `b` (flange offsets, m) on the minimum-jerk time law, lifted
/// by up to 4 cm in z on the way.
fn between(a: [f64; 3], b: [f64; 3], u: f64) -> [f64; 3] {
    let s = min_jerk(u);
    let lift = 0.04 * (PI * s).sin();
    std::array::from_fn(|i| a[i] + (b[i] - a[i]) * s + if i == 2 { lift } else { 0.0 })
}

/// A point on a smooth rounded square in a plane, at time fraction `s` of one
/// counter-clockwise lap starting (and ending) at the origin, the middle of
/// its bottom side. The shape `(cos φ − a cos 3φ, sin φ + a sin 3φ)` is C∞:
/// straight sides joined by circular arcs would step the centripetal
/// acceleration at every joint (infinite jerk).
fn rounded_square(s: f64, size: f64) -> (f64, f64) {
    const A: f64 = 0.1;
    let phi = -PI / 2.0 + 2.0 * PI * s;
    let c = size / (2.0 * (1.0 - A));
    (
        c * (phi.cos() - A * (3.0 * phi).cos()),
        c * (phi.sin() + A * (3.0 * phi).sin() + 1.0 - A),
    )
}

enum Path {
    /// Flange offset from the ready position (m) at time fraction u.
    Task(fn(f64) -> [f64; 3]),
    /// Joint offsets from the ready pose (rad) at time fraction u.
    Joint(fn(f64) -> [f64; 7]),
}

fn motif_path(name: &str) -> Option<(f64, Path)> {
    let p = match name {
        // Vertical circle in front of the robot (y–z plane), 8 cm radius.
        "circle" => (
            3.0,
            Path::Task(|u| {
                let a = 2.0 * PI * min_jerk(u);
                [0.0, 0.08 * a.sin(), 0.08 * (1.0 - a.cos())]
            }),
        ),
        "figure_eight" => (
            3.0,
            Path::Task(|u| {
                let a = 2.0 * PI * min_jerk(u);
                [0.0, 0.08 * a.sin(), 0.04 * (2.0 * a).sin()]
            }),
        ),
        // Wrist wave: joints 6 and 7 oscillate under a sin² envelope.
        "wave" => (
            3.0,
            Path::Joint(|u| {
                let w = (PI * u).sin().powi(2);
                let a = 2.0 * PI * 1.5 * u;
                [
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.2 * w * a.cos(),
                    0.3 * w * a.sin(),
                ]
            }),
        ),
        "reach_left" => (
            2.5,
            Path::Task(|u| {
                let s = out_and_back(u);
                [0.05 * s, 0.20 * s, -0.08 * s]
            }),
        ),
        "reach_right" => (
            2.5,
            Path::Task(|u| {
                let s = out_and_back(u);
                [0.05 * s, -0.20 * s, -0.08 * s]
            }),
        ),
        "lift" => (
            2.5,
            Path::Task(|u| {
                let s = out_and_back(u);
                [0.0, 0.0, 0.12 * s]
            }),
        ),
        "square" => (
            3.0,
            Path::Task(|u| {
                let (y, z) = rounded_square(min_jerk(u), 0.12);
                [0.0, y, z]
            }),
        ),
        // Horizontal spiral, one and a half turns, out and back in.
        "spiral" => (
            3.0,
            Path::Task(|u| {
                let s = min_jerk(u);
                let r = 0.045 * (PI * s).sin();
                let a = 3.0 * PI * s;
                [r * a.cos(), r * a.sin(), 0.0]
            }),
        ),
        // Point to point away from the ready pose, over a low arc: start and
        // end postures differ from the ready pose and from each other, so a
        // sequence needs real transitions (both end at rest).
        "pick" => (
            2.5,
            Path::Task(|u| between([0.08, 0.25, -0.12], [-0.04, 0.0, 0.13], u)),
        ),
        "place" => (
            2.5,
            Path::Task(|u| between([0.0, -0.25, 0.08], [0.10, 0.05, -0.14], u)),
        ),
        _ => return None,
    };
    Some(p)
}

fn check_arm(arm: &ArmModel) -> Result<(), GenError> {
    if arm.dof() != 7 {
        return Err(GenError::UnsupportedArm(format!(
            "`{}` has {} joints",
            arm.name(),
            arm.dof()
        )));
    }
    for (j, (q, (lo, hi))) in PANDA_READY.iter().zip(arm.position_limits()).enumerate() {
        if *q < lo + ARM_POSITION_MARGIN || *q > hi - ARM_POSITION_MARGIN {
            return Err(GenError::UnsupportedArm(format!(
                "ready pose of joint `{}` ({q}) is not inside [{lo}, {hi}] with margin",
                arm.joint_names()[j]
            )));
        }
    }
    Ok(())
}

/// Checks positions against limits (with margin) and finite-difference velocities
/// against the velocity fraction; the generator's own safety net.
fn check_motif(name: &str, arm: &ArmModel, dt: f64, q: &[[f64; 7]]) -> Result<(), GenError> {
    let violation = |j: usize, step: usize, what: String| GenError::LimitViolation {
        motif: name.to_string(),
        joint: arm.joint_names()[j].clone(),
        step,
        what,
    };
    for (j, spec) in arm.joints().iter().enumerate() {
        let vmax = ARM_VELOCITY_FRACTION * spec.velocity;
        for (t, row) in q.iter().enumerate() {
            let v = row[j];
            if v < spec.lower + ARM_POSITION_MARGIN || v > spec.upper - ARM_POSITION_MARGIN {
                return Err(violation(j, t, format!("position {v} too close to limits")));
            }
            if t > 0 {
                let vel = (v - q[t - 1][j]) / dt;
                if vel.abs() > vmax {
                    return Err(violation(j, t, format!("velocity {vel} exceeds {vmax}")));
                }
            }
        }
    }
    Ok(())
}

/// The named joint-space motif for a 7-DOF Panda; columns are the arm's joint names.
pub fn arm_motif(name: &str, arm: &ArmModel, dt: f64) -> Result<Demo, GenError> {
    let q = arm_motif_joints(name, arm, dt)?;
    let data = Array2::from_shape_fn((q.len(), 7), |(t, j)| q[t][j] as f32);
    Ok(Demo::new(dt, arm.joint_names().to_vec(), data)?)
}

/// The joint path behind [`arm_motif`], in f64 (a demo stores f32, whose
/// rounding alone is ≈ 1000 rad/s³ of finite-difference jerk at 1 ms).
///
/// Every path is C2 at any sampling: the time laws are C2 (minimum jerk,
/// sin² windows) and each task-space sample is solved to the IK iteration's
/// fixed point, so the joint path is a smooth function of the flange target
/// rather than of the previous sample's solve.
pub fn arm_motif_joints(name: &str, arm: &ArmModel, dt: f64) -> Result<Vec<[f64; 7]>, GenError> {
    let (duration, path) = motif_path(name).ok_or_else(|| GenError::UnknownMotif {
        name: name.to_string(),
        known: MOTIFS,
    })?;
    if !(dt.is_finite() && dt > 0.0 && duration / dt >= 10.0 && duration / dt <= 1e6) {
        return Err(GenError::InvalidParameter(format!(
            "dt {dt} must be positive and give 10 to 1e6 samples over {duration} s"
        )));
    }
    check_arm(arm)?;
    let kin_err = |source| GenError::Kinematics {
        motif: name.to_string(),
        source,
    };
    let n = (duration / dt).round() as usize + 1;
    let mut q: Vec<[f64; 7]> = Vec::with_capacity(n);
    match path {
        Path::Joint(f) => {
            for t in 0..n {
                let d = f(t as f64 / (n - 1) as f64);
                q.push(std::array::from_fn(|j| PANDA_READY[j] + d[j]));
            }
        }
        Path::Task(f) => {
            let kin = Kinematics::new(arm).map_err(kin_err)?;
            let home = kin.fk(&PANDA_READY).map_err(kin_err)?;
            let p0 = home.translation.vector;
            let opts = IkOptions {
                max_iterations: 5000,
                position_tolerance: 1e-10,
                orientation_tolerance: 1e-9,
                // Far from singularities: small damping keeps the damped
                // projector from leaking the posture pull into task space.
                damping: 1e-6,
                posture_gain: 0.2,
                posture: Some(PANDA_READY.to_vec()),
                posture_tolerance: Some(1e-10),
                limit_margin: ARM_POSITION_MARGIN + 0.01,
                ..IkOptions::default()
            };
            let mut seed = PANDA_READY.to_vec();
            for t in 0..n {
                let d = f(t as f64 / (n - 1) as f64);
                let target = IkTarget {
                    position: [p0.x + d[0], p0.y + d[1], p0.z + d[2]],
                    orientation: Some(home.rotation),
                };
                seed = kin.solve_ik(&target, &seed, &opts).map_err(kin_err)?;
                q.push(std::array::from_fn(|j| seed[j]));
            }
        }
    }
    check_motif(name, arm, dt, &q)?;
    Ok(q)
}

/// Every motif in [`arm_motif_names`] order.
pub fn arm_motifs(arm: &ArmModel, dt: f64) -> Result<Vec<(String, Demo)>, GenError> {
    MOTIFS
        .iter()
        .map(|m| Ok((m.to_string(), arm_motif(m, arm, dt)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::robot::test_panda as panda;

    fn column(d: &Demo, c: usize) -> Vec<f32> {
        d.data.column(c).to_vec()
    }

    #[test]
    fn smooth_family_shape() {
        let p = FamilyParams::default();
        let fam = smooth_family(8, 7, &p).unwrap();
        for d in &fam {
            assert_eq!(d.len(), 900);
            assert_eq!(d.names, ["x", "y"]);
            for c in 0..2 {
                let y = column(d, c);
                assert!(
                    y[0].abs() < 1e-6 && y[899].abs() < 1e-4,
                    "{} {}",
                    y[0],
                    y[899]
                );
                let tp = count_turning_points(&y);
                assert!((4..=6).contains(&tp), "{tp} turning points");
                let peak = y.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                assert!((1.5..=2.5).contains(&peak), "peak {peak}");
            }
        }
    }

    #[test]
    fn generators_are_deterministic() {
        let p = FamilyParams::default();
        assert_eq!(
            smooth_trajectory(3, &p).unwrap(),
            smooth_trajectory(3, &p).unwrap()
        );
        assert_ne!(
            smooth_trajectory(3, &p).unwrap(),
            smooth_trajectory(4, &p).unwrap()
        );
        assert_eq!(
            step_trajectory(3, &p).unwrap(),
            step_trajectory(3, &p).unwrap()
        );
    }

    #[test]
    fn step_family_holds() {
        let p = FamilyParams::default();
        let per_tau = p.tau / p.dt;
        for d in step_family(20, 11, &p).unwrap() {
            for c in 0..2 {
                let y = column(&d, c);
                assert_eq!(*y.last().unwrap(), 0.0);
                assert!(y.iter().all(|v| v.abs() <= 2.0));
                // Plateaus are runs of identical samples; ramps never repeat a value.
                let mut runs = Vec::new();
                let mut len = 1;
                for w in y.windows(2) {
                    if w[1] == w[0] {
                        len += 1;
                    } else {
                        if len > 1 {
                            runs.push(len);
                        }
                        len = 1;
                    }
                }
                runs.push(len);
                assert!(runs.len() >= 2);
                for r in runs {
                    let held = r as f64 / per_tau;
                    assert!((5.0..=50.0).contains(&held), "held {held} tau");
                }
            }
        }
    }

    #[test]
    fn bad_family_parameters() {
        let p = FamilyParams {
            steps: 20,
            ..FamilyParams::default()
        };
        assert!(matches!(
            step_trajectory(0, &p),
            Err(GenError::InvalidParameter(_))
        ));
        assert!(matches!(
            smooth_trajectory(0, &p),
            Err(GenError::InvalidParameter(_))
        ));
        let p = FamilyParams {
            dt: f64::NAN,
            ..FamilyParams::default()
        };
        assert!(smooth_trajectory(0, &p).is_err());
    }

    #[test]
    fn rounded_square_is_closed_and_continuous() {
        let (y0, z0) = rounded_square(0.0, 0.14);
        let (y1, z1) = rounded_square(1.0, 0.14);
        assert!(y0.abs() < 1e-12 && z0.abs() < 1e-12 && y1.abs() < 1e-12 && z1.abs() < 1e-12);
        let mut prev = (y0, z0);
        for i in 1..=1000 {
            let p = rounded_square(i as f64 / 1000.0, 0.14);
            let step = ((p.0 - prev.0).powi(2) + (p.1 - prev.1).powi(2)).sqrt();
            assert!(step < 1e-3, "jump {step} at {i}");
            prev = p;
        }
    }

    const ACC_LIMITS: [f64; 7] = [15.0, 7.5, 10.0, 12.5, 15.0, 20.0, 20.0];

    #[test]
    fn arm_motifs_respect_limits() {
        let arm = panda();
        let names = arm_motif_names();
        assert!(names.len() >= 10);
        let mut postures: Vec<(String, Vec<f64>)> = Vec::new();
        for (name, d) in arm_motifs(&arm, ARM_DEFAULT_DT).unwrap() {
            arm.check_joint_names(&d.names).unwrap();
            let dur = d.duration();
            assert!((1.5..=3.0).contains(&dur), "{name}: {dur} s");
            for (j, spec) in arm.joints().iter().enumerate() {
                let q = column(&d, j);
                for (t, v) in q.iter().enumerate() {
                    let v = *v as f64;
                    assert!(
                        v >= spec.lower + 0.05 && v <= spec.upper - 0.05,
                        "{name} j{j} t{t}"
                    );
                }
                let vmax = q
                    .windows(2)
                    .map(|w| ((w[1] - w[0]) as f64 / d.dt).abs())
                    .fold(0.0, f64::max);
                assert!(vmax < 0.5 * spec.velocity, "{name} j{j}: {vmax} rad/s");
                // Smooth path (no IK branch switch): within Franka's published joint
                // acceleration limits, which the URDF does not carry (the
                // jerk and the C2 property: tests/default_library.rs).
                let amax = q
                    .windows(3)
                    .map(|w| ((w[2] - 2.0 * w[1] + w[0]) as f64 / (d.dt * d.dt)).abs())
                    .fold(0.0, f64::max);
                assert!(amax < ACC_LIMITS[j], "{name} j{j}: {amax} rad/s²");
                // At rest at both ends.
                let v0 = ((q[1] - q[0]) as f64 / d.dt).abs();
                let vn = ((q[q.len() - 1] - q[q.len() - 2]) as f64 / d.dt).abs();
                assert!(v0 < 0.01 && vn < 0.01, "{name} j{j}: end speeds {v0} {vn}");
            }
            let start: Vec<f64> = (0..7).map(|j| d.data[(0, j)] as f64).collect();
            let end: Vec<f64> = (0..7)
                .map(|j| d.data[(d.data.nrows() - 1, j)] as f64)
                .collect();
            if ["pick", "place"].contains(&name.as_str()) {
                postures.push((format!("{name} start"), start));
                postures.push((format!("{name} end"), end));
            } else {
                // Start and end at the ready pose.
                for j in 0..7 {
                    assert!(
                        (start[j] - PANDA_READY[j]).abs() < 1e-5,
                        "{name} j{j} start"
                    );
                    assert!((end[j] - PANDA_READY[j]).abs() < 0.02, "{name} j{j} end");
                }
            }
        }
        // Motifs that need real transitions: their end postures differ from
        // the ready pose and from each other by ≥ 0.3 rad in some joint.
        postures.push(("ready".into(), PANDA_READY.to_vec()));
        for (a, (na, pa)) in postures.iter().enumerate() {
            for (nb, pb) in &postures[a + 1..] {
                let gap = pa
                    .iter()
                    .zip(pb)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f64::max);
                assert!(gap >= 0.3, "{na} vs {nb}: {gap} rad");
            }
        }
    }

    #[test]
    fn arm_motif_errors() {
        let arm = panda();
        assert!(matches!(
            arm_motif("juggle", &arm, 0.004),
            Err(GenError::UnknownMotif { .. })
        ));
        assert!(matches!(
            arm_motif("circle", &arm, 0.0),
            Err(GenError::InvalidParameter(_))
        ));
        let two = ArmModel::from_urdf_str(
            r#"<robot name="t"><link name="a"/><link name="b"/>
  <joint name="j" type="revolute"><parent link="a"/><child link="b"/><axis xyz="0 0 1"/>
  <limit lower="-1" upper="1" effort="1" velocity="1"/></joint></robot>"#,
            "t",
        )
        .unwrap();
        assert!(matches!(
            arm_motif("circle", &two, 0.004),
            Err(GenError::UnsupportedArm(_))
        ));
    }
}
