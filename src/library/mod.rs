//! The trained-library format: a directory with `manifest.yaml` (readable) and
//! `weights.safetensors`. Loading checks version, names, shapes and finiteness;
//! saving writes a temporary directory and renames it into place, so a failed
//! save never leaves a library half-written.

pub mod manifest;
mod weights;

use std::path::{Path, PathBuf};

use ndarray::Array2;

pub use manifest::{
    Manifest, MotifEntry, PrepInfo, PrepKind, Provenance, TrainingInfo, FORMAT_VERSION,
};

use crate::model::{Drive, ModelError, Motif, Network, Preparation, Shared, Variant};

pub const MANIFEST_FILE: &str = "manifest.yaml";
pub const WEIGHTS_FILE: &str = "weights.safetensors";

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: malformed manifest: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("{path}: format version {found} is not supported (this build reads version {FORMAT_VERSION})")]
    Version { path: PathBuf, found: u32 },
    #[error("weights: {0}")]
    Weights(String),
    #[error("{path}: {message}")]
    Inconsistent { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Model {
        path: PathBuf,
        #[source]
        source: ModelError,
    },
    #[error("{0} already exists; choose another directory or remove it first")]
    Exists(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Library {
    pub manifest: Manifest,
    pub network: Network,
    /// Each motif's training target in network units (steps × D).
    pub targets: Vec<Array2<f32>>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LibraryError + '_ {
    move |source| LibraryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Library {
    pub fn load(dir: &Path) -> Result<Self, LibraryError> {
        let mpath = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&mpath).map_err(io(&mpath))?;
        let manifest = parse_manifest(&text, &mpath)?;
        let wpath = dir.join(WEIGHTS_FILE);
        let data = std::fs::read(&wpath).map_err(io(&wpath))?;
        let (network, targets) = build_network(&manifest, &data).map_err(|e| match e {
            LibraryError::Weights(message) => LibraryError::Inconsistent {
                path: wpath.clone(),
                message,
            },
            other => other,
        })?;
        network.validate().map_err(|source| LibraryError::Model {
            path: wpath,
            source,
        })?;
        Ok(Self {
            manifest,
            network,
            targets,
        })
    }

    /// Writes the library to `dir`, replacing an existing library there only
    /// once the new one is complete on disk.
    pub fn save(&self, dir: &Path) -> Result<(), LibraryError> {
        self.network
            .validate()
            .map_err(|source| LibraryError::Model {
                path: dir.to_path_buf(),
                source,
            })?;
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(io(&parent))?;
        let tmp = tempfile::Builder::new()
            .prefix(".motif-library-")
            .tempdir_in(&parent)
            .map_err(io(&parent))?;
        let yaml = serde_norway::to_string(&self.manifest).map_err(|e| LibraryError::Manifest {
            path: dir.join(MANIFEST_FILE),
            message: e.to_string(),
        })?;
        std::fs::write(tmp.path().join(MANIFEST_FILE), yaml)
            .map_err(io(&tmp.path().join(MANIFEST_FILE)))?;
        if self.targets.len() != self.network.motifs.len() {
            return Err(LibraryError::Inconsistent {
                path: dir.to_path_buf(),
                message: format!(
                    "{} targets for {} motifs",
                    self.targets.len(),
                    self.network.motifs.len()
                ),
            });
        }
        let weights = weights::serialize(&self.network, &self.targets)?;
        std::fs::write(tmp.path().join(WEIGHTS_FILE), weights)
            .map_err(io(&tmp.path().join(WEIGHTS_FILE)))?;

        let staged = tmp.keep();
        let result = replace_dir(&staged, dir);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&staged);
        }
        result
    }
}

/// Renames `staged` to `dir`; an existing `dir` is moved aside first and
/// removed only after the new one is in place.
fn replace_dir(staged: &Path, dir: &Path) -> Result<(), LibraryError> {
    if !dir.exists() {
        return std::fs::rename(staged, dir).map_err(io(dir));
    }
    let aside = staged.with_extension("old");
    std::fs::rename(dir, &aside).map_err(io(dir))?;
    if let Err(e) = std::fs::rename(staged, dir) {
        let _ = std::fs::rename(&aside, dir);
        return Err(io(dir)(e));
    }
    std::fs::remove_dir_all(&aside).map_err(io(&aside))
}

pub fn parse_manifest(text: &str, path: &Path) -> Result<Manifest, LibraryError> {
    // Check the version first so a newer format gets a version error, not a field error.
    #[derive(serde::Deserialize)]
    struct Version {
        format_version: Option<u32>,
    }
    let version: Version = serde_norway::from_str(text).map_err(|e| LibraryError::Manifest {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    match version.format_version {
        Some(FORMAT_VERSION) => {}
        Some(found) => {
            return Err(LibraryError::Version {
                path: path.to_path_buf(),
                found,
            })
        }
        None => {
            return Err(LibraryError::Manifest {
                path: path.to_path_buf(),
                message: "missing format_version".into(),
            })
        }
    }
    let m: Manifest = serde_norway::from_str(text).map_err(|e| LibraryError::Manifest {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let bad = |message: String| LibraryError::Inconsistent {
        path: path.to_path_buf(),
        message,
    };
    if m.outputs.is_empty() {
        return Err(bad("no outputs listed".into()));
    }
    if m.output_scaling.offset.len() != m.outputs.len()
        || m.output_scaling.scale.len() != m.outputs.len()
    {
        return Err(bad(format!(
            "output_scaling does not have {} entries",
            m.outputs.len()
        )));
    }
    if m.preparation.kind == PrepKind::Optimised && m.preparation.rank.is_none() {
        return Err(bad("an optimised preparation needs its rank".into()));
    }
    let mut seen = std::collections::HashSet::new();
    for e in &m.motifs {
        if !seen.insert(&e.name) {
            return Err(bad(format!("motif '{}' is listed twice", e.name)));
        }
    }
    Ok(m)
}

fn build_network(m: &Manifest, data: &[u8]) -> Result<(Network, Vec<Array2<f32>>), LibraryError> {
    let w = weights::Weights::parse(data)?;
    let (n, d) = (m.n, m.outputs.len());
    let shared = Shared {
        j: w.matrix("J", n, n)?,
        w: w.matrix("W", d, n)?,
        y0: w.vector("y0", d)?,
    };
    let j_prep = match m.preparation.kind {
        PrepKind::Leak => None,
        PrepKind::Optimised => Some(w.matrix("J_prep", n, n)?),
    };
    let motifs = m
        .motifs
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let drive = match m.variant {
                Variant::Input => Drive::Input {
                    b: w.vector(&format!("motif.{i}.b"), n)?,
                },
                Variant::Loop { rank } => Drive::Loop {
                    u: w.matrix(&format!("motif.{i}.U"), n, rank)?,
                    v: w.matrix(&format!("motif.{i}.V"), rank, n)?,
                },
            };
            Ok(Motif {
                name: e.name.clone(),
                steps: e.steps,
                x_init: w.vector(&format!("motif.{i}.x_init"), n)?,
                drive,
            })
        })
        .collect::<Result<Vec<_>, LibraryError>>()?;
    if w.has(&format!("motif.{}.x_init", m.motifs.len())) {
        return Err(LibraryError::Weights(format!(
            "holds more motifs than the {} the manifest lists",
            m.motifs.len()
        )));
    }
    let targets = m
        .motifs
        .iter()
        .enumerate()
        .map(|(i, e)| w.matrix(&format!("motif.{i}.target"), e.steps, d))
        .collect::<Result<Vec<_>, _>>()?;
    if m.n == 0 {
        return Err(LibraryError::Weights("the manifest says n = 0".into()));
    }
    let net = Network {
        tau: m.tau,
        dt: m.dt,
        variant: m.variant,
        shared,
        motifs,
        prep: Preparation {
            j_prep,
            steps: m.preparation.steps,
        },
        scaling: m.output_scaling.clone(),
    };
    Ok((net, targets))
}
