//! Accuracy against training time, measured inside one training run: at
//! checkpoints the network is copied and scored in distribution with BPTT's
//! readout and with the closed-form refit (`train::readout`). The scoring
//! time is kept out of the training time it reports.

use std::time::{Duration, Instant};

use ndarray::Array2;
use serde::Serialize;

use super::eval::{evaluate, EvalOptions};
use super::readout::refit_readout;
use crate::library::Mode;
use crate::model::Network;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct CurvePoint {
    /// Optimiser steps done.
    pub step: usize,
    /// Training time to this step, scoring excluded.
    pub seconds: f64,
    /// Mean in-distribution NMSE over the motifs, BPTT's readout.
    pub nmse: f32,
    /// The same after the readout refit (`None`: the refit found nothing better).
    pub nmse_refit: Option<f32>,
}

/// Checkpoints every `every` steps (and at the last step).
pub struct Curve {
    every: usize,
    trials: usize,
    ridge: f32,
    started: Instant,
    scoring: Duration,
    pub points: Vec<CurvePoint>,
}

impl Curve {
    /// `ridge` as in `TrainOptions::readout_ridge`; `trials` in-distribution
    /// starts per motif per score.
    pub fn new(every: usize, trials: usize, ridge: f32) -> Self {
        Self {
            every: every.max(1),
            trials,
            ridge,
            started: Instant::now(),
            scoring: Duration::ZERO,
            points: Vec::new(),
        }
    }

    /// Time spent scoring so far, to take off the training time.
    pub fn scoring(&self) -> Duration {
        self.scoring
    }

    /// Called after optimiser step `step` (0-based) of `total`.
    pub fn observe(
        &mut self,
        step: usize,
        total: usize,
        net: &Network,
        mode: Mode,
        targets: &[Array2<f32>],
    ) {
        let done = step + 1;
        if !done.is_multiple_of(self.every) && done != total {
            return;
        }
        let t0 = Instant::now();
        let seconds = (t0 - self.started - self.scoring).as_secs_f64();
        let opts = EvalOptions {
            trials: self.trials,
            sequences: 0,
            preemption_starts: 0,
            ..Default::default()
        };
        let score = |net: &Network| evaluate(net, mode, targets, &opts).in_distribution_nmse;
        let nmse = score(net);
        let mut refit = net.clone();
        let nmse_refit = refit_readout(&mut refit, mode, targets, self.trials, self.ridge, 1)
            .map(|_| score(&refit));
        self.points.push(CurvePoint {
            step: done,
            seconds,
            nmse,
            nmse_refit,
        });
        self.scoring += t0.elapsed();
    }
}
