//! The error measure and the learning-rate schedule every part of the
//! project shares, so a figure means the same wherever it is printed.

use ndarray::{ArrayView2, Axis};

/// Normalised mean squared error `Σ‖y − y*‖² / Σ‖y* − mean(y*)‖²` of one
/// segment (rows: time, columns: outputs, the mean taken per output), in f64
/// whatever the storage. A constant target counts its variance as 1e-12, so
/// the figure stays finite.
pub fn nmse<A: Copy + Into<f64>>(y: ArrayView2<A>, target: ArrayView2<A>) -> f64 {
    let rows = target.nrows().max(1) as f64;
    let means: Vec<f64> = target
        .axis_iter(Axis(1))
        .map(|c| c.iter().map(|&v| v.into()).sum::<f64>() / rows)
        .collect();
    let (mut err, mut var) = (0.0, 0.0);
    for (yr, tr) in y.outer_iter().zip(target.outer_iter()) {
        for ((&a, &b), m) in yr.iter().zip(tr.iter()).zip(&means) {
            let (a, b): (f64, f64) = (a.into(), b.into());
            err += (a - b) * (a - b);
            var += (b - m) * (b - m);
        }
    }
    err / var.max(1e-12)
}

/// The learning rate at `step` of a `steps`-step run that decays
/// geometrically from `lr` to `lr_final`. In f32 and in this order because
/// the trainer has always computed it so: the shipped libraries retrain
/// bit for bit.
pub fn geometric(lr: f32, lr_final: f32, step: usize, steps: usize) -> f32 {
    let decay = (lr_final / lr).ln() / steps.max(1) as f32;
    lr * (decay * step as f32).exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn nmse_is_relative_to_the_targets_spread_per_output() {
        let target = array![[0.0f64, 10.0], [2.0, 10.0], [4.0, 12.0]];
        assert_eq!(nmse(target.view(), target.view()), 0.0);
        // Offsetting by the per-output mean predicts with NMSE 1.
        let m = 32.0 / 3.0;
        let mean = array![[2.0f64, m], [2.0, m], [2.0, m]];
        assert!((nmse(mean.view(), target.view()) - 1.0).abs() < 1e-12);
        let y = target.mapv(|v| v as f32 + 1.0);
        let t = target.mapv(|v| v as f32);
        // Σ err² = 6, Σ var = 8 + 8/3.
        assert!((nmse(y.view(), t.view()) - 6.0 / (8.0 + 8.0 / 3.0)).abs() < 1e-6);
    }

    #[test]
    fn geometric_runs_from_lr_to_lr_final() {
        assert_eq!(geometric(1e-3, 1e-5, 0, 100), 1e-3);
        assert!((geometric(1e-3, 1e-5, 50, 100) / 1e-4 - 1.0).abs() < 1e-5);
        assert!((geometric(1e-3, 1e-5, 100, 100) / 1e-5 - 1.0).abs() < 1e-5);
    }
}
