//! The YAML training config of `motif_train train` (examples under `config/`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::demo::Demo;
use super::generators::{self, FamilyParams};
use super::trainer::{Mode, TrainOptions};
use crate::library::PrepKind;
use crate::model::Variant;
use crate::robot::ArmModel;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub network: NetworkConfig,
    pub mode: Mode,
    pub preparation: PrepConfig,
    #[serde(default)]
    pub training: TrainOptions,
    /// The robot the outputs drive: demos must name its joints, in its order.
    #[serde(default)]
    pub urdf: Option<PathBuf>,
    pub motifs: Vec<MotifSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    pub n: usize,
    pub variant: Variant,
    /// Seconds.
    pub tau: f32,
    /// Seconds per network step.
    pub dt: f32,
    /// Spectral radius scale of the initial `J`.
    #[serde(default = "one")]
    pub gain: f32,
}

fn one() -> f32 {
    1.0
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrepConfig {
    pub kind: PrepKind,
    /// Rank of `U_p V_p` as a fraction of N (optimised kind).
    #[serde(default = "tenth")]
    pub rank_fraction: f32,
    /// Preparation length in units of τ.
    pub tau_multiple: f32,
}

fn tenth() -> f32 {
    0.1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MotifSpec {
    pub name: String,
    /// A demonstration CSV, relative to the config file.
    #[serde(default)]
    pub demo: Option<PathBuf>,
    /// Or a built-in generator.
    #[serde(default)]
    pub generate: Option<Generator>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case", deny_unknown_fields)]
pub enum Generator {
    /// Smooth 2-D "hand" trajectory, ≈90 τ unless `steps` is given.
    Smooth2d { seed: u64, steps: Option<usize> },
    /// Step-like 2-D trajectory, ≈90 τ unless `steps` is given.
    Steps2d { seed: u64, steps: Option<usize> },
    /// A named joint-space motif of the config's URDF arm.
    Arm { motif: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: motif '{motif}': {message}")]
    Motif {
        path: PathBuf,
        motif: String,
        message: String,
    },
}

impl TrainConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let cfg: TrainConfig = serde_norway::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        cfg.check(path)?;
        Ok(cfg)
    }

    fn check(&self, path: &Path) -> Result<(), ConfigError> {
        let bad = |message: String| {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message,
            })
        };
        let n = &self.network;
        if n.n == 0 {
            return bad("network.n must be at least 1".into());
        }
        if !(n.tau > 0.0 && n.dt > 0.0 && n.tau.is_finite() && n.dt.is_finite() && n.dt <= n.tau) {
            return bad(format!(
                "network.tau ({}) and dt ({}) must be positive with dt ≤ tau",
                n.tau, n.dt
            ));
        }
        if let Variant::Loop { rank } = n.variant {
            if rank == 0 || rank > n.n {
                return bad(format!(
                    "loop rank {rank} must be between 1 and n = {}",
                    n.n
                ));
            }
        }
        let p = &self.preparation;
        if !(p.tau_multiple.is_finite() && p.tau_multiple >= 0.0) {
            return bad(format!(
                "preparation.tau_multiple ({}) must be ≥ 0",
                p.tau_multiple
            ));
        }
        if !(p.rank_fraction > 0.0 && p.rank_fraction <= 1.0) {
            return bad(format!(
                "preparation.rank_fraction ({}) must be in (0, 1]",
                p.rank_fraction
            ));
        }
        let t = &self.training;
        if t.steps == 0 || t.batch == 0 {
            return bad("training.steps and training.batch must be at least 1".into());
        }
        if !(t.lr > 0.0
            && t.lr_final > 0.0
            && t.lr.is_finite()
            && t.lr_final.is_finite()
            && t.clip >= 0.0)
        {
            return bad("training.lr and lr_final must be positive, clip ≥ 0".into());
        }
        match self.mode {
            Mode::Baseline { sigma0 } if !(sigma0 >= 0.0 && sigma0.is_finite()) => {
                return bad(format!("mode.sigma0 ({sigma0}) must be ≥ 0"))
            }
            Mode::Thalamocortical {
                xi_sigma,
                chain_fraction,
            } if !(xi_sigma >= 0.0
                && xi_sigma.is_finite()
                && (0.0..=1.0).contains(&chain_fraction)) =>
            {
                return bad("mode.xi_sigma must be ≥ 0 and chain_fraction in [0, 1]".into())
            }
            _ => {}
        }
        if self.motifs.is_empty() {
            return bad("no motifs listed".into());
        }
        let mut seen = std::collections::HashSet::new();
        for m in &self.motifs {
            if m.name.trim().is_empty() || m.name.chars().any(char::is_whitespace) {
                return bad(format!(
                    "motif name '{}' must be non-empty with no spaces",
                    m.name
                ));
            }
            if !seen.insert(&m.name) {
                return bad(format!("duplicate motif name '{}'", m.name));
            }
            if m.demo.is_some() == m.generate.is_some() {
                return bad(format!(
                    "motif '{}' needs exactly one of `demo` or `generate`",
                    m.name
                ));
            }
        }
        Ok(())
    }

    /// Preparation length in network steps.
    pub fn prep_steps(&self) -> usize {
        (self.preparation.tau_multiple * self.network.tau / self.network.dt).round() as usize
    }

    /// Loads or generates every motif's demonstration, with a readable source for provenance.
    pub fn demos(&self, config_path: &Path) -> Result<Vec<(String, Demo)>, ConfigError> {
        let base = config_path.parent().unwrap_or(Path::new("."));
        let arm = self
            .urdf
            .as_ref()
            .map(|u| {
                let p = base.join(u);
                ArmModel::from_urdf_file(&p).map_err(|e| ConfigError::Invalid {
                    path: config_path.to_path_buf(),
                    message: e.to_string(),
                })
            })
            .transpose()?;
        let (tau, dt) = (self.network.tau as f64, self.network.dt as f64);
        let family = |steps: Option<usize>| FamilyParams {
            steps: steps.unwrap_or((90.0 * tau / dt).round() as usize),
            dt,
            tau,
        };
        let mut out = Vec::with_capacity(self.motifs.len());
        for m in &self.motifs {
            let err = |message: String| ConfigError::Motif {
                path: config_path.to_path_buf(),
                motif: m.name.clone(),
                message,
            };
            let (source, demo) = match (&m.demo, &m.generate) {
                (Some(file), _) => {
                    let p = base.join(file);
                    let d = Demo::load(&p).map_err(|e| err(e.to_string()))?;
                    (p.display().to_string(), d)
                }
                (None, Some(g)) => {
                    let d = match g {
                        Generator::Smooth2d { seed, steps } => {
                            generators::smooth_trajectory(*seed, &family(*steps))
                        }
                        Generator::Steps2d { seed, steps } => {
                            generators::step_trajectory(*seed, &family(*steps))
                        }
                        Generator::Arm { motif } => {
                            let arm = arm.as_ref().ok_or_else(|| {
                                err("the arm generator needs `urdf` in the config".into())
                            })?;
                            generators::arm_motif(motif, arm, dt)
                        }
                    }
                    .map_err(|e| err(e.to_string()))?;
                    (
                        format!("generator {}", serde_json::to_string(g).unwrap_or_default()),
                        d,
                    )
                }
                (None, None) => unreachable!("checked in TrainConfig::check"),
            };
            if let Some(arm) = &arm {
                arm.check_joint_names(&demo.names)
                    .map_err(|e| err(e.to_string()))?;
            }
            out.push((source, demo));
        }
        Ok(out)
    }
}
