//! `manifest.yaml`: the readable half of a library.

use serde::{Deserialize, Serialize};

use crate::model::{OutputScaling, Variant};
use crate::train::trainer::{Mode, TrainOptions};

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrepKind {
    /// `J_prep = 0`: the residual shrinks as (1−α)^t.
    Leak,
    /// `J_prep = J0 + U_p V_p`, optimised (DESIGN.md §2.1), stored as `J_prep`.
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The demonstration file or generator the motif was trained on.
    pub source: String,
    /// `train` (with the shared weights) or `add` (own parameters only).
    pub trained_by: String,
    pub seed: u64,
    pub train_steps: usize,
    /// Training loss (MSE, network units) at the end.
    pub final_loss: f32,
    /// In-distribution NMSE measured right after training.
    pub nmse: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingInfo {
    pub tool: String,
    /// The training config the shared weights came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// Reused by `add`, so new motifs train as the first ones did.
    pub options: TrainOptions,
    pub seconds: f64,
}
