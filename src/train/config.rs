//! The YAML training config of `motif_train train` (examples under `config/`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use super::demo::Demo;
use super::generators::{self, FamilyParams};
use crate::library::limits::{
    self, MAX_MOTIFS, MAX_MOTIF_STEPS, MAX_N, MAX_PREP_TAU, MAX_YAML_BYTES,
};
use crate::library::{validate_motif_name, Mode, PrepKind, TrainOptions};
use crate::model::Variant;
use crate::robot::ArmModel;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub network: NetworkConfig,
    pub mode: Mode,
    pub preparation: PrepConfig,
    #[serde(default, deserialize_with = "strict_options")]
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

/// `training` read strictly: a manifest ignores unknown options (provenance),
/// but in a config an unknown option is a typo that would silently not apply.
fn strict_options<'de, D: Deserializer<'de>>(d: D) -> Result<TrainOptions, D::Error> {
    use serde::de::Error;
    let value = serde_norway::Value::deserialize(d)?;
    let known = serde_norway::to_value(TrainOptions::default()).map_err(D::Error::custom)?;
    if let (Some(given), Some(known)) = (value.as_mapping(), known.as_mapping()) {
        if let Some(k) = given.keys().find(|k| !known.contains_key(*k)) {
            let names: Vec<&str> = known.keys().filter_map(|k| k.as_str()).collect();
            return Err(D::Error::custom(format!(
                "training: unknown field `{}`, expected one of {}",
                k.as_str().unwrap_or("?"),
                names.join(", ")
            )));
        }
    }
    serde_norway::from_value(value).map_err(D::Error::custom)
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
        let io = |source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_YAML_BYTES {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: format!(
                    "{len} bytes; a training config may have at most {MAX_YAML_BYTES}"
                ),
            });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        let cfg: TrainConfig = serde_norway::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        cfg.check(path)?;
        Ok(cfg)
    }

    fn check(&self, path: &Path) -> Result<(), ConfigError> {
        self.check_values().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    fn check_values(&self) -> Result<(), String> {
        let n = &self.network;
        limits::check_count("network.n", n.n, 1, MAX_N)?;
        limits::check_timing(n.tau, n.dt, "network.")?;
        if !(n.gain.is_finite() && n.gain >= 0.0) {
            return Err(format!("network.gain = {} must be finite and ≥ 0", n.gain));
        }
        if let Variant::Loop { rank } = n.variant {
            limits::check_count("network.variant.rank", rank, 1, n.n)?;
        }
        let p = &self.preparation;
        if !(p.tau_multiple.is_finite() && (0.0..=MAX_PREP_TAU).contains(&p.tau_multiple)) {
            return Err(format!(
                "preparation.tau_multiple = {} must be between 0 and {MAX_PREP_TAU}",
                p.tau_multiple
            ));
        }
        limits::check_prep(
            "preparation.tau_multiple × tau / dt",
            self.prep_steps(),
            n.dt / n.tau,
        )?;
        if !(p.rank_fraction > 0.0 && p.rank_fraction <= 1.0) {
            return Err(format!(
                "preparation.rank_fraction = {} must be in (0, 1]",
                p.rank_fraction
            ));
        }
        self.training.check("training")?;
        self.mode.check("mode")?;
        limits::check_count("the number of motifs", self.motifs.len(), 1, MAX_MOTIFS)?;
        for (i, m) in self.motifs.iter().enumerate() {
            validate_motif_name(&m.name).map_err(|e| format!("motifs[{i}].name: {e}"))?;
            if self.motifs[..i].iter().any(|o| o.name == m.name) {
                return Err(format!("duplicate motif name '{}'", m.name));
            }
            if m.demo.is_some() == m.generate.is_some() {
                return Err(format!(
                    "motif '{}' needs exactly one of `demo` or `generate`",
                    m.name
                ));
            }
            if let Some(Generator::Smooth2d { steps, .. } | Generator::Steps2d { steps, .. }) =
                &m.generate
            {
                let steps = steps.unwrap_or_else(|| self.default_generator_steps());
                limits::check_count(
                    &format!("motif '{}': generate.steps", m.name),
                    steps,
                    2,
                    MAX_MOTIF_STEPS,
                )?;
            }
        }
        Ok(())
    }

    /// Preparation length in network steps (saturating; `load` checks it).
    pub fn prep_steps(&self) -> usize {
        (self.preparation.tau_multiple * self.network.tau / self.network.dt).round() as usize
    }

    /// The 2-D generators' length when the config gives none: 90 τ.
    fn default_generator_steps(&self) -> usize {
        (90.0 * self.network.tau as f64 / self.network.dt as f64).round() as usize
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
            steps: steps.unwrap_or_else(|| self.default_generator_steps()),
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
