//! Whole-library operations behind `motif_train train` and `add`.

use std::path::Path;

use ndarray::{Array2, ArrayView2};

use super::config::{ConfigError, TrainConfig};
use super::curve::Curve;
use super::dataset::{self, DatasetError};
use super::demo::Demo;
use super::eval::{evaluate, EvalOptions};
use super::trainer::{self, TrainReport};
use crate::library::limits::{self, MAX_MOTIFS};
use crate::library::{
    validate_motif_name, validate_output_name, Library, Manifest, Mode, MotifEntry, PrepInfo,
    PrepKind, Provenance, TrainOptions, TrainingInfo, FORMAT_VERSION,
};
use crate::model::{Network, Preparation, Variant};

#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("a motif named '{0}' is already in the library")]
    Duplicate(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the preparation module could not be optimised: {0}")]
    Prep(String),
}

/// Training-like starts per motif for the readout refit.
const READOUT_TRIALS: usize = 8;

/// Training progress: (step, loss).
pub type Progress<'a> = &'a mut dyn FnMut(usize, f32);

fn tool() -> String {
    format!("motif_train {}", env!("CARGO_PKG_VERSION"))
}

/// In-distribution NMSE per motif, as recorded in the provenance.
fn nmse_per_motif(net: &Network, mode: Mode, targets: &[Array2<f32>]) -> Vec<f32> {
    let opts = EvalOptions {
        sequences: 0,
        preemption_starts: 0,
        ..Default::default()
    };
    evaluate(net, mode, targets, &opts)
        .per_motif
        .iter()
        .map(|m| m.in_distribution_nmse)
        .collect()
}

/// Trains a new library from a config: shared weights and every motif together.
/// With `curve`, the accuracy is also scored at its checkpoints (and the
/// scoring time left out of the library's training time).
pub fn train_library(
    cfg: &TrainConfig,
    cfg_path: &Path,
    progress: Progress,
    mut curve: Option<&mut Curve>,
) -> Result<Library, FitError> {
    let demos = cfg.demos(cfg_path)?;
    let outputs = demos[0].1.names.clone();
    let dt = cfg.network.dt as f64;
    for (source, demo) in &demos {
        if demo.names != outputs {
            return Err(DatasetError::Columns {
                source_name: source.clone(),
                found: demo.names.clone(),
                expected: outputs.clone(),
            }
            .into());
        }
    }
    let invalid = |message: String| {
        FitError::Config(ConfigError::Invalid {
            path: cfg_path.to_path_buf(),
            message,
        })
    };
    for name in &outputs {
        validate_output_name(name)
            .map_err(|e| invalid(format!("output (demo column) name: {e}")))?;
    }
    let raw: Vec<Array2<f32>> = demos
        .iter()
        .map(|(source, d)| dataset::resample(d, source, dt))
        .collect::<Result<_, _>>()?;
    let steps: Vec<usize> = raw.iter().map(|t| t.nrows()).collect();
    limits::check_training_memory(cfg.network.n, cfg.training.batch, &steps).map_err(invalid)?;
    let scaling = dataset::fit_scaling(&raw)?;
    let targets = demos
        .iter()
        .map(|(source, d)| dataset::target(d, source, &outputs, &scaling, dt))
        .collect::<Result<Vec<_>, _>>()?;

    let n = cfg.network.n;
    let prep_steps = cfg.prep_steps();
    let mut net = trainer::init_network(
        &cfg.network,
        outputs.len(),
        Preparation {
            j_prep: None,
            steps: prep_steps,
        },
        scaling.clone(),
        cfg.training.seed,
    );
    let prep_rank = match cfg.preparation.kind {
        PrepKind::Leak => None,
        PrepKind::Optimised => {
            let rank = ((cfg.preparation.rank_fraction * n as f32).round() as usize).max(1);
            net.prep.j_prep =
                Some(super::prep::optimised_j_prep(&net, rank).map_err(FitError::Prep)?);
            Some(rank)
        }
    };
    for (spec, t) in cfg.motifs.iter().zip(&targets) {
        let m = trainer::init_motif(&net, &spec.name, t.nrows(), cfg.training.seed);
        net.motifs.push(m);
    }
    let all: Vec<usize> = (0..net.motifs.len()).collect();
    let views: Vec<ArrayView2<f32>> = targets.iter().map(|t| t.view()).collect();
    let mut report = trainer::train(
        &mut net,
        &all,
        &views,
        true,
        cfg.mode,
        &cfg.training,
        |step, loss, net| {
            progress(step, loss);
            if let Some(c) = curve.as_deref_mut() {
                c.observe(step, cfg.training.steps, net, cfg.mode, &targets);
            }
        },
    );
    if let Some(c) = &curve {
        report.seconds -= c.scoring().as_secs_f64();
    }
    if let Some(ridge) = cfg.training.readout_ridge {
        let refit = super::readout::refit_readout(
            &mut net,
            cfg.mode,
            &targets,
            READOUT_TRIALS,
            ridge,
            cfg.training.seed,
        );
        match refit {
            Some(r) => tracing::info!(
                samples = r.samples,
                nmse_before = r.nmse_before,
                nmse_after = r.nmse_after,
                "readout refitted by least squares"
            ),
            None => tracing::warn!("the readout refit found no better readout; BPTT's is kept"),
        }
    }
    let nmse = nmse_per_motif(&net, cfg.mode, &targets);

    let motifs = cfg
        .motifs
        .iter()
        .zip(&demos)
        .enumerate()
        .map(|(i, (spec, (source, _)))| {
            entry(
                &net,
                i,
                &spec.name,
                source,
                "train",
                &cfg.training,
                &report,
                i,
                nmse[i],
            )
        })
        .collect();
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        variant: cfg.network.variant,
        mode: cfg.mode,
        n,
        tau: cfg.network.tau,
        dt: cfg.network.dt,
        outputs,
        output_scaling: scaling,
        preparation: PrepInfo {
            kind: cfg.preparation.kind,
            rank: prep_rank,
            steps: prep_steps,
        },
        motifs,
        training: TrainingInfo {
            tool: tool(),
            config: Some(cfg_path.display().to_string()),
            options: cfg.training.clone(),
            seconds: report.seconds,
        },
        // Written by `Library::save`, from the bytes it writes.
        weights_sha256: None,
    };
    Ok(Library {
        manifest,
        network: net,
        targets,
    })
}

#[allow(clippy::too_many_arguments)]
fn entry(
    net: &Network,
    motif: usize,
    name: &str,
    source: &str,
    trained_by: &str,
    opts: &TrainOptions,
    report: &TrainReport,
    report_index: usize,
    nmse: f32,
) -> MotifEntry {
    let steps = net.motifs[motif].steps;
    MotifEntry {
        name: name.to_string(),
        steps,
        duration_s: steps as f32 * net.dt,
        provenance: Provenance {
            source: source.to_string(),
            trained_by: trained_by.to_string(),
            seed: opts.seed,
            train_steps: opts.steps,
            lr: Some(opts.lr),
            final_loss: report.final_losses[report_index],
            nmse,
        },
    }
}

/// Adam's peak rate for an input-design motif's own parameters in `add`.
///
/// Adam moves every entry by about the rate per step. The library's rate,
/// 0.256 / N (docs/results.md, "Learning rate"), is sized for `J`, whose
/// change reaches each neuron as a sum over N entries; `b_m` and `x*_m` reach
/// it one entry at a time, so at the library's rate `add` barely moves them
/// (the nod of tests/bag.rs: NMSE 0.14 at 1e-3, 4.4e-3 at this rate, 5.0e-3
/// at 3e-2). The loop design's `V_m` sums over N like `J`, and at the
/// library's rate its `add` already fits (arm/128's spiral: 2.2e-3, 1.7e-3
/// at 1e-2; docs/recording.md), so it keeps that rate.
pub const INPUT_MOTIF_LR: f32 = 1e-2;

/// How `add` trains the new motif's own parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AddOptions {
    pub steps: usize,
    /// Peak learning rate; it decays by the library's own `lr / lr_final`.
    pub lr: f32,
}

impl AddOptions {
    /// The library's step count, at the rate its design needs.
    pub fn for_library(lib: &Library) -> Self {
        let o = &lib.manifest.training.options;
        Self {
            steps: o.steps,
            lr: match lib.network.variant {
                Variant::Input => INPUT_MOTIF_LR,
                Variant::Loop { .. } => o.lr,
            },
        }
    }
}

/// Adds a motif trained on `demo`, changing only that motif's own parameters:
/// the shared weights and every earlier motif stay bit-identical.
pub fn add_motif(
    lib: &mut Library,
    name: &str,
    demo: &Demo,
    source: &str,
    add: AddOptions,
    progress: Progress,
) -> Result<(), FitError> {
    validate_motif_name(name).map_err(|e| FitError::Invalid(format!("motif name: {e}")))?;
    if lib.network.motif_index(name).is_some() {
        return Err(FitError::Duplicate(name.to_string()));
    }
    if lib.network.motifs.len() >= MAX_MOTIFS {
        return Err(FitError::Invalid(format!(
            "the library already holds {MAX_MOTIFS} motifs, the most allowed"
        )));
    }
    let m = &lib.manifest;
    m.training
        .options
        .check("the library's training.options")
        .map_err(FitError::Invalid)?;
    let target = dataset::target(demo, source, &m.outputs, &m.output_scaling, m.dt as f64)?;
    limits::check_training_memory(lib.network.n(), m.training.options.batch, &[target.nrows()])
        .map_err(FitError::Invalid)?;
    let o = &m.training.options;
    let opts = TrainOptions {
        steps: add.steps,
        lr: add.lr,
        lr_final: add.lr * (o.lr_final / o.lr),
        seed: o.seed.wrapping_add(lib.network.motifs.len() as u64),
        ..o.clone()
    };
    opts.check("add").map_err(FitError::Invalid)?;
    let motif = trainer::init_motif(&lib.network, name, target.nrows(), opts.seed);
    lib.network.motifs.push(motif);
    let idx = lib.network.motifs.len() - 1;
    let report = trainer::train(
        &mut lib.network,
        &[idx],
        &[target.view()],
        false,
        m.mode,
        &opts,
        |step, loss, _| progress(step, loss),
    );
    lib.targets.push(target);
    let mode = lib.manifest.mode;
    let nmse = {
        // Only the new motif needs measuring.
        let sub = Network {
            motifs: vec![lib.network.motifs[idx].clone()],
            ..lib.network.clone()
        };
        nmse_per_motif(&sub, mode, &lib.targets[idx..])[0]
    };
    let e = entry(
        &lib.network,
        idx,
        name,
        source,
        "add",
        &opts,
        &report,
        0,
        nmse,
    );
    lib.manifest.motifs.push(e);
    Ok(())
}
