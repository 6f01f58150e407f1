//! `manifest.yaml`: the readable half of a library, and the vocabulary it
//! shares with the trainer (`Mode`, `TrainOptions`, `PrepKind`).
//!
//! Every field that changes how a library runs is read strictly (unknown
//! fields are errors). `training.options` is provenance, read leniently so a
//! library written by a trainer with more options still loads; a field added
//! to any struct here must have a default so older libraries load too
//! (tests/fixtures/library_v1 is one).

use serde::{Deserialize, Serialize};

use super::limits::{self, MAX_TRAIN_STEPS};
use crate::model::{OutputScaling, Variant};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format_version: u32,
    pub variant: Variant,
    /// How the motifs were trained; evaluation starts "in distribution" the same way.
    pub mode: Mode,
    pub n: usize,
    /// Seconds.
    pub tau: f32,
    /// Seconds per network step.
    pub dt: f32,
    /// Output (joint) names, in network output order.
    pub outputs: Vec<String>,
    pub output_scaling: OutputScaling,
    pub preparation: PrepInfo,
    pub motifs: Vec<MotifEntry>,
    pub training: TrainingInfo,
    /// SHA-256 of `weights.safetensors`, lower-case hex; checked on load.
    /// Always written; absent in libraries written before it existed.
    #[serde(default)]
    pub weights_sha256: Option<String>,
}

/// Where each training trial starts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Mode {
    /// `x0 ~ N(0, σ0² I)`; the motif's own initial state is not used.
    Baseline { sigma0: f32 },
    /// `x0 = x*_m + P (ξ − x*_m)`, P the preparation propagator: the state the
    /// preparation leaves at motif onset from a broad random `ξ ~ N(0, ξσ² I)`
    /// or, for a `chain_fraction` of trials, from other motifs' end states.
    Thalamocortical { xi_sigma: f32, chain_fraction: f32 },
}

impl Mode {
    /// `field` is where the mode sits (`mode`).
    pub fn check(&self, field: &str) -> Result<(), String> {
        match *self {
            Mode::Baseline { sigma0 } if !(sigma0 >= 0.0 && sigma0.is_finite()) => {
                Err(format!("{field}.sigma0 = {sigma0} must be finite and ≥ 0"))
            }
            Mode::Thalamocortical {
                xi_sigma,
                chain_fraction,
            } if !(xi_sigma >= 0.0
                && xi_sigma.is_finite()
                && (0.0..=1.0).contains(&chain_fraction)) =>
            {
                Err(format!(
                    "{field}.xi_sigma = {xi_sigma} must be finite and ≥ 0, and \
                     {field}.chain_fraction = {chain_fraction} in [0, 1]"
                ))
            }
            _ => Ok(()),
        }
    }
}

/// Optimiser settings. Unknown fields are ignored here (a manifest's copy is
/// provenance); a training config rejects them (`train::config`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    pub steps: usize,
    /// Trials per motif per step.
    pub batch: usize,
    pub lr: f32,
    /// Learning rate decays exponentially from `lr` to `lr_final`.
    pub lr_final: f32,
    /// Global-norm gradient clip; 0 disables.
    pub clip: f32,
    pub seed: u64,
    /// After BPTT, refit the shared readout (`W`, `y0`) in closed form by
    /// ridge least squares on the rates (`train::readout`), with this ridge
    /// relative to the mean diagonal of the normal equations. `None`: keep
    /// BPTT's readout (libraries before this option have none).
    #[serde(default)]
    pub readout_ridge: Option<f32>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            steps: 1500,
            batch: 8,
            lr: 2e-3,
            lr_final: 1e-4,
            clip: 1.0,
            seed: 1,
            readout_ridge: None,
        }
    }
}

impl TrainOptions {
    /// `field` is where the options sit (`training`, `training.options`).
    /// The batch is bounded by the training memory estimate instead.
    pub fn check(&self, field: &str) -> Result<(), String> {
        limits::check_count(&format!("{field}.steps"), self.steps, 1, MAX_TRAIN_STEPS)?;
        limits::check_count(&format!("{field}.batch"), self.batch, 1, usize::MAX)?;
        let positive = |x: f32| x.is_finite() && x > 0.0;
        if !(positive(self.lr) && positive(self.lr_final)) {
            return Err(format!(
                "{field}.lr = {} and lr_final = {} must be positive and finite",
                self.lr, self.lr_final
            ));
        }
        if let Some(r) = self.readout_ridge {
            if !(r.is_finite() && r >= 0.0) {
                return Err(format!(
                    "{field}.readout_ridge = {r} must be finite and ≥ 0 (leave it out to keep BPTT's readout)"
                ));
            }
        }
        if !(self.clip.is_finite() && self.clip >= 0.0) {
            return Err(format!(
                "{field}.clip = {} must be finite and ≥ 0 (0 disables clipping)",
                self.clip
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrepKind {
    /// `J_prep = 0`: the residual shrinks as (1−α)^t.
    Leak,
    /// `J_prep = J0 + U_p V_p`, optimised (docs/science.md §2), stored as `J_prep`.
    Optimised,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrepInfo {
    pub kind: PrepKind,
    /// Rank of `U_p V_p` for the optimised kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
    /// Preparation length in network steps.
    pub steps: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MotifEntry {
    pub name: String,
    pub steps: usize,
    pub duration_s: f32,
    pub provenance: Provenance,
}

/// Read leniently, like `TrainingInfo`: provenance, not needed to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The demonstration file or generator the motif was trained on.
    pub source: String,
    /// `train` (with the shared weights) or `add` (own parameters only).
    pub trained_by: String,
    pub seed: u64,
    pub train_steps: usize,
    /// Adam's peak learning rate (not recorded before `add` had its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f32>,
    /// Training loss (MSE, network units) at the end.
    pub final_loss: f32,
    /// In-distribution NMSE measured right after training.
    pub nmse: f32,
}

/// How the library was made. Unknown fields are ignored: a newer trainer may
/// record more, and none of it changes how the library runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    pub tool: String,
    /// The training config the shared weights came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// Reused by `add`, so new motifs train as the first ones did.
    pub options: TrainOptions,
    pub seconds: f64,
}
