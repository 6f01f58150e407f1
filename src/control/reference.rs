//! The reference between network steps: a uniform cubic B-spline through
//! the network's output samples.
//!
//! The network steps at `dt` (e.g. 4 ms) while the loop runs faster. A
//! cubic B-spline is C² whatever its control points, so the reference has
//! no velocity or acceleration step between samples (linear interpolation
//! had a velocity kink at every one), and its jerk is the samples' third
//! difference over `dt³`, bounded by the motif's own. It approximates rather
//! than interpolates: a sample is met within `dt²·ÿ/6` (≈ 10⁻⁵ rad for the
//! arm motifs). The segment evaluated lies between the 2nd and 3rd of the
//! four samples held, so the network runs two steps ahead of the reference.

// Joint-indexed loops over several parallel fixed-size arrays read best with an index.
#![allow(clippy::needless_range_loop)]

use super::{sample::MAX_JOINTS, tracker::JointState3};

/// Four consecutive samples (oldest first) and the position between the
/// middle two, `u ∈ [0, 1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spline {
    pub points: [[f64; MAX_JOINTS]; 4],
    pub u: f64,
}

impl Spline {
    /// A spline that passes through `s.position` at `u = 0` with velocity
    /// `s.velocity`, for samples `h` seconds apart (linear extrapolation:
    /// a B-spline of collinear points is that line).
    pub fn through(s: &JointState3, h: f64, len: usize) -> Self {
        let mut points = [[0.0; MAX_JOINTS]; 4];
        for (i, p) in points.iter_mut().enumerate() {
            for j in 0..len {
                p[j] = s.position[j] + s.velocity[j] * h * (i as f64 - 1.0);
            }
        }
        Self { points, u: 0.0 }
    }

    /// The newest sample (the network's latest output).
    pub fn newest(&self) -> &[f64; MAX_JOINTS] {
        &self.points[3]
    }

    /// Appends the next sample and drops the oldest.
    pub fn push(&mut self, sample: &[f64; MAX_JOINTS]) {
        self.points.copy_within(1..4, 0);
        self.points[3] = *sample;
    }

    /// Position, velocity and acceleration at the current `u`; `rate` is
    /// samples per second (the network rate times the speed), so
    /// derivatives in `u` become derivatives in time.
    pub fn eval(&self, rate: f64, len: usize) -> JointState3 {
        let u = self.u;
        let (u2, u3, w) = (u * u, u * u * u, 1.0 - u);
        let b = [
            w * w * w,
            3.0 * u3 - 6.0 * u2 + 4.0,
            -3.0 * u3 + 3.0 * u2 + 3.0 * u + 1.0,
            u3,
        ];
        let db = [
            -3.0 * w * w,
            9.0 * u2 - 12.0 * u,
            -9.0 * u2 + 6.0 * u + 3.0,
            3.0 * u2,
        ];
        let ddb = [6.0 * w, 18.0 * u - 12.0, -18.0 * u + 6.0, 6.0 * u];
        let mut s = JointState3::at_rest([0.0; MAX_JOINTS]);
        for j in 0..len {
            // Relative to the second point, so that equal points give that
            // point and derivatives of exactly zero (a hold stays still).
            let base = self.points[1][j];
            let (mut p, mut v, mut a) = (0.0, 0.0, 0.0);
            for (i, pt) in self.points.iter().enumerate() {
                let d = pt[j] - base;
                p += b[i] * d;
                v += db[i] * d;
                a += ddb[i] * d;
            }
            s.position[j] = base + p / 6.0;
            s.velocity[j] = v / 6.0 * rate;
            s.acceleration[j] = a / 6.0 * rate * rate;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spline_of(f: impl Fn(f64) -> f64, k0: i32) -> Spline {
        let mut points = [[0.0; MAX_JOINTS]; 4];
        for (i, p) in points.iter_mut().enumerate() {
            p[0] = f(f64::from(k0 + i as i32 - 1));
        }
        Spline { points, u: 0.0 }
    }

    #[test]
    fn reproduces_lines_and_is_c2_across_segments() {
        let mut s = JointState3::at_rest([0.0; MAX_JOINTS]);
        s.position[0] = 0.3;
        s.velocity[0] = -2.0;
        let sp = Spline::through(&s, 0.004, 1);
        let e = sp.eval(250.0, 1);
        assert!((e.position[0] - 0.3).abs() < 1e-12);
        assert!((e.velocity[0] + 2.0).abs() < 1e-9);
        assert!(e.acceleration[0].abs() < 1e-6);
        // The end of one segment meets the start of the next in p, v, a.
        let f = |k: f64| (0.37 * k).sin() + 0.01 * k * k * k;
        let mut a = spline_of(f, 0);
        a.u = 1.0;
        let end = a.eval(1.0, 1);
        let mut b = a;
        b.push(&{
            let mut p = [0.0; MAX_JOINTS];
            p[0] = f(3.0);
            p
        });
        b.u = 0.0;
        let start = b.eval(1.0, 1);
        for (x, y) in [
            (end.position[0], start.position[0]),
            (end.velocity[0], start.velocity[0]),
            (end.acceleration[0], start.acceleration[0]),
        ] {
            assert!((x - y).abs() < 1e-12, "{x} vs {y}");
        }
    }

    #[test]
    fn equal_points_stand_exactly_still() {
        let mut s = JointState3::at_rest([0.0; MAX_JOINTS]);
        s.position[0] = -2.191540066284398;
        let mut sp = Spline::through(&s, 0.004, 1);
        sp.u = 0.37;
        let e = sp.eval(250.0, 1);
        assert_eq!(e.position[0], s.position[0]);
        assert_eq!((e.velocity[0], e.acceleration[0]), (0.0, 0.0));
    }

    #[test]
    fn approximates_smooth_samples_closely() {
        // A 1 Hz, 0.3 rad sine sampled every 4 ms: the spline is within
        // dt²·ÿ/6 of the sampled curve and its derivatives close to the true ones.
        let (dt, w) = (0.004, std::f64::consts::TAU);
        let f = |k: f64| 0.3 * (w * k * dt).sin();
        for k0 in [3, 40, 111] {
            let mut sp = spline_of(f, k0);
            for u in [0.0, 0.25, 0.5, 0.9] {
                sp.u = u;
                let e = sp.eval(1.0 / dt, 1);
                let t = (f64::from(k0) + u) * dt;
                assert!(
                    (e.position[0] - 0.3 * (w * t).sin()).abs()
                        < 0.3 * w * w * dt * dt / 6.0 + 1e-9
                );
                assert!((e.velocity[0] - 0.3 * w * (w * t).cos()).abs() < 2e-3);
                assert!((e.acceleration[0] + 0.3 * w * w * (w * t).sin()).abs() < 0.05);
            }
        }
    }
}
