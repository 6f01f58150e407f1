//! The trained-library format: a directory with `manifest.yaml` (readable) and
//! `weights.safetensors`. Loading checks version, names, shapes and finiteness;
//! saving writes a temporary directory and renames it into place, so a failed
//! save never leaves a library half-written.

pub mod limits;
pub mod manifest;
mod names;
mod weights;

use std::io::Read;
use std::path::{Path, PathBuf};

use ndarray::Array2;
use sha2::{Digest, Sha256};

pub use manifest::{
    Manifest, Mode, MotifEntry, PrepInfo, PrepKind, Provenance, TrainOptions, TrainingInfo,
    FORMAT_VERSION,
};
pub use names::{validate_motif_name, validate_output_name, NameError, COMMAND_KEYWORDS};

use crate::model::network::check_prep_contraction;
use crate::model::{Drive, ModelError, Motif, Network, Preparation, Shared, Variant};
use limits::{
    MAX_ABS_VALUE, MAX_MOTIFS, MAX_MOTIF_STEPS, MAX_N, MAX_OUTPUTS, MAX_WEIGHTS_HEADER_BYTES,
    MAX_YAML_BYTES,
};

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
    #[error("{path}: SHA-256 is {found}, but manifest.yaml says weights_sha256: {expected}; the weights file is corrupt or belongs to another manifest")]
    Checksum {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("{path} is not a motif library ({reason}); only a library is ever replaced: remove it yourself or choose another directory")]
    NotALibrary { path: PathBuf, reason: String },
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

/// Reads a whole file, refusing one longer than `max` bytes before reading it.
fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, LibraryError> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    let len = file.metadata().map_err(io(path))?.len();
    if len > max {
        return Err(LibraryError::Inconsistent {
            path: path.to_path_buf(),
            message: format!("{len} bytes; at most {max} are allowed here"),
        });
    }
    let mut data = Vec::with_capacity(len as usize);
    file.take(max + 1)
        .read_to_end(&mut data)
        .map_err(io(path))?;
    Ok(data)
}

fn read_manifest_text(path: &Path) -> Result<String, LibraryError> {
    String::from_utf8(read_bounded(path, MAX_YAML_BYTES)?).map_err(|_| LibraryError::Manifest {
        path: path.to_path_buf(),
        message: "not UTF-8 text".into(),
    })
}

/// Lower-case hex SHA-256, as `weights_sha256` holds it.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Library {
    pub fn load(dir: &Path) -> Result<Self, LibraryError> {
        let mpath = dir.join(MANIFEST_FILE);
        let manifest = parse_manifest(&read_manifest_text(&mpath)?, &mpath)?;
        let wpath = dir.join(WEIGHTS_FILE);
        let max = 8 + MAX_WEIGHTS_HEADER_BYTES + weights_data_bytes(&manifest);
        let data = read_bounded(&wpath, max)?;
        Self::from_parts(manifest, &data, &wpath)
    }

    /// A library from its parsed manifest and the bytes of its weights file;
    /// `wpath` names that file in errors. `load` is this after reading both.
    pub fn from_parts(
        manifest: Manifest,
        weights: &[u8],
        wpath: &Path,
    ) -> Result<Self, LibraryError> {
        if let Some(expected) = &manifest.weights_sha256 {
            let found = sha256_hex(weights);
            if found != *expected {
                return Err(LibraryError::Checksum {
                    path: wpath.to_path_buf(),
                    expected: expected.clone(),
                    found,
                });
            }
        }
        let bad = |message: String| LibraryError::Inconsistent {
            path: wpath.to_path_buf(),
            message,
        };
        let (network, targets) = build_network(&manifest, weights).map_err(|e| match e {
            LibraryError::Weights(message) => bad(message),
            other => other,
        })?;
        let model = |source| LibraryError::Model {
            path: wpath.to_path_buf(),
            source,
        };
        network.validate().map_err(model)?;
        if let Some(i) = targets
            .iter()
            .position(|t| t.iter().any(|v| !v.is_finite()))
        {
            return Err(bad(format!(
                "motif '{}': its stored target (motif.{i}.target) contains NaN or infinite values",
                manifest.motifs[i].name
            )));
        }
        check_magnitudes(&network, &targets).map_err(bad)?;
        if let Some(jp) = &network.prep.j_prep {
            check_prep_contraction(jp, network.alpha()).map_err(model)?;
        }
        Ok(Self {
            manifest,
            network,
            targets,
        })
    }

    /// Writes the library to `dir`, replacing an existing library there only
    /// once the new one is complete on disk. What it writes is first read back
    /// in memory with `load`'s checks, so a saved library always loads; `dir`
    /// must be absent or a library (`check_replaceable`).
    pub fn save(&self, dir: &Path) -> Result<(), LibraryError> {
        self.network
            .validate()
            .map_err(|source| LibraryError::Model {
                path: dir.to_path_buf(),
                source,
            })?;
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
        check_replaceable(dir)?;
        let (mpath, wpath) = (dir.join(MANIFEST_FILE), dir.join(WEIGHTS_FILE));
        let weights = weights::serialize(&self.network, &self.targets)?;
        let mut manifest = self.manifest.clone();
        manifest.weights_sha256 = Some(sha256_hex(&weights));
        let yaml = serde_norway::to_string(&manifest).map_err(|e| LibraryError::Manifest {
            path: mpath.clone(),
            message: e.to_string(),
        })?;
        let back = Self::from_parts(parse_manifest(&yaml, &mpath)?, &weights, &wpath)?;
        if back.network != self.network || back.targets != self.targets {
            return Err(LibraryError::Inconsistent {
                path: mpath,
                message: "the manifest does not describe the network being saved \
                          (n, tau, dt, variant, preparation or motif lengths differ)"
                    .into(),
            });
        }

        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(io(&parent))?;
        let tmp = tempfile::Builder::new()
            .prefix(".motif-library-")
            .tempdir_in(&parent)
            .map_err(io(&parent))?;
        std::fs::write(tmp.path().join(MANIFEST_FILE), yaml)
            .map_err(io(&tmp.path().join(MANIFEST_FILE)))?;
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

/// Every stored value within `MAX_ABS_VALUE` (finiteness is checked before).
fn check_magnitudes(net: &Network, targets: &[Array2<f32>]) -> Result<(), String> {
    fn big<'a>(what: &str, mut values: impl Iterator<Item = &'a f32>) -> Result<(), String> {
        match values.find(|v| v.abs() > MAX_ABS_VALUE) {
            Some(v) => Err(format!(
                "{what} holds {v:e}; stored values must be within ±{MAX_ABS_VALUE:e}"
            )),
            None => Ok(()),
        }
    }
    big("J", net.shared.j.iter())?;
    big("W", net.shared.w.iter())?;
    big("y0", net.shared.y0.iter())?;
    if let Some(p) = &net.prep.j_prep {
        big("J_prep", p.iter())?;
    }
    for (i, (m, t)) in net.motifs.iter().zip(targets).enumerate() {
        let what = format!("motif '{}' (motif.{i})", m.name);
        big(&what, m.x_init.iter().chain(t.iter()))?;
        match &m.drive {
            Drive::Input { b } => big(&what, b.iter())?,
            Drive::Loop { u, v } => big(&what, u.iter().chain(v.iter()))?,
        }
    }
    Ok(())
}

/// Whether `dir` may be replaced by a new library: it is absent, or a
/// directory whose `manifest.yaml` parses as a library manifest (of any
/// format version; its weights need not be intact). Anything else may be
/// someone's data and is never replaced (`save`, `motif_train train --force`).
pub fn check_replaceable(dir: &Path) -> Result<(), LibraryError> {
    let not = |reason: String| LibraryError::NotALibrary {
        path: dir.to_path_buf(),
        reason,
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(dir)(e)),
        Ok(md) if !md.is_dir() => return Err(not("it is not a directory".into())),
        Ok(_) => {}
    }
    let mpath = dir.join(MANIFEST_FILE);
    let text =
        read_manifest_text(&mpath).map_err(|e| not(format!("no readable {MANIFEST_FILE}: {e}")))?;
    match deserialize_manifest(&text, &mpath) {
        Ok(_) | Err(LibraryError::Version { .. }) => Ok(()),
        Err(e) => Err(not(format!("{e}"))),
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

/// The version check and the YAML structure, without the value checks.
fn deserialize_manifest(text: &str, path: &Path) -> Result<Manifest, LibraryError> {
    // Check the version first so a newer format gets a version error, not a field error.
    #[derive(serde::Deserialize)]
    struct Version {
        format_version: Option<u32>,
    }
    let malformed = |e: serde_norway::Error| LibraryError::Manifest {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let version: Version = serde_norway::from_str(text).map_err(malformed)?;
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
    serde_norway::from_str(text).map_err(malformed)
}

/// Parses and checks a manifest: every value within `limits`, names that can
/// be commanded, and the fields consistent with each other.
pub fn parse_manifest(text: &str, path: &Path) -> Result<Manifest, LibraryError> {
    let m = deserialize_manifest(text, path)?;
    check_manifest(&m).map_err(|message| LibraryError::Inconsistent {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(m)
}

fn check_manifest(m: &Manifest) -> Result<(), String> {
    limits::check_count("the number of outputs", m.outputs.len(), 1, MAX_OUTPUTS)?;
    for (i, name) in m.outputs.iter().enumerate() {
        validate_output_name(name).map_err(|e| format!("outputs[{i}]: {e}"))?;
        if m.outputs[..i].contains(name) {
            return Err(format!("output '{name}' is listed twice"));
        }
    }
    let d = m.outputs.len();
    let sc = &m.output_scaling;
    if sc.offset.len() != d || sc.scale.len() != d {
        return Err(format!("output_scaling does not have {d} entries"));
    }
    if !sc.offset.iter().all(|v| v.abs() <= MAX_ABS_VALUE)
        || !sc
            .scale
            .iter()
            .all(|v| v.is_normal() && (0.0..=MAX_ABS_VALUE).contains(v))
    {
        return Err(format!(
            "output_scaling: offsets must be within ±{MAX_ABS_VALUE:e} and scales positive, \
             normal floats up to {MAX_ABS_VALUE:e}"
        ));
    }
    limits::check_count("n", m.n, 1, MAX_N)?;
    if let Variant::Loop { rank } = m.variant {
        limits::check_count("variant.rank", rank, 1, m.n)?;
    }
    limits::check_timing(m.tau, m.dt, "")?;
    m.mode.check("mode")?;
    let p = &m.preparation;
    match (p.kind, p.rank) {
        (PrepKind::Optimised, None) => return Err("an optimised preparation needs its rank".into()),
        (PrepKind::Optimised, Some(rank)) => limits::check_count("preparation.rank", rank, 1, m.n)?,
        (PrepKind::Leak, Some(_)) => {
            return Err("preparation.rank is only for the optimised kind".into())
        }
        (PrepKind::Leak, None) => {}
    }
    limits::check_prep("preparation.steps", p.steps, m.dt / m.tau)?;
    limits::check_count("the number of motifs", m.motifs.len(), 1, MAX_MOTIFS)?;
    for (i, e) in m.motifs.iter().enumerate() {
        validate_motif_name(&e.name).map_err(|err| format!("motifs[{i}].name: {err}"))?;
        if m.motifs[..i].iter().any(|o| o.name == e.name) {
            return Err(format!("motif '{}' is listed twice", e.name));
        }
        limits::check_count(
            &format!("motif '{}': steps", e.name),
            e.steps,
            1,
            MAX_MOTIF_STEPS,
        )?;
        let duration = e.steps as f32 * m.dt;
        let off = (e.duration_s - duration).abs();
        if off.is_nan() || off > 1e-3 * duration {
            return Err(format!(
                "motif '{}': duration_s = {} but steps × dt = {duration} s",
                e.name, e.duration_s
            ));
        }
        let p = &e.provenance;
        if !(p.final_loss.is_finite() && p.final_loss >= 0.0 && p.nmse.is_finite() && p.nmse >= 0.0)
        {
            return Err(format!(
                "motif '{}': provenance final_loss = {} and nmse = {} must be finite and ≥ 0",
                e.name, p.final_loss, p.nmse
            ));
        }
    }
    m.training.options.check("training.options")?;
    if !(m.training.seconds.is_finite() && m.training.seconds >= 0.0) {
        return Err(format!(
            "training.seconds = {} must be finite and ≥ 0",
            m.training.seconds
        ));
    }
    if let Some(h) = &m.weights_sha256 {
        if h.len() != 64
            || !h
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(format!(
                "weights_sha256 = {h:?} must be 64 lower-case hex digits"
            ));
        }
    }
    Ok(())
}

/// Bytes of tensor data the manifest implies (f32 each); with the header
/// bound, the most a valid weights file can hold.
fn weights_data_bytes(m: &Manifest) -> u64 {
    let (n, d) = (m.n as u64, m.outputs.len() as u64);
    let drive = match m.variant {
        Variant::Input => n,
        Variant::Loop { rank } => 2 * n * rank as u64,
    };
    let prep = match m.preparation.kind {
        PrepKind::Leak => 0,
        PrepKind::Optimised => n * n,
    };
    let motifs: u64 = m
        .motifs
        .iter()
        .map(|e| e.steps as u64 * d + n + drive)
        .sum();
    4 * (n * n + d * n + d + prep + motifs)
}

fn build_network(m: &Manifest, data: &[u8]) -> Result<(Network, Vec<Array2<f32>>), LibraryError> {
    let w = weights::Weights::parse(data)?;
    let (n, d) = (m.n, m.outputs.len());
    let mut expected: Vec<String> = vec!["J".into(), "W".into(), "y0".into()];
    if m.preparation.kind == PrepKind::Optimised {
        expected.push("J_prep".into());
    }
    for i in 0..m.motifs.len() {
        let own: &[&str] = match m.variant {
            Variant::Input => &["target", "x_init", "b"],
            Variant::Loop { .. } => &["target", "x_init", "U", "V"],
        };
        expected.extend(own.iter().map(|t| format!("motif.{i}.{t}")));
    }
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
    let targets = m
        .motifs
        .iter()
        .enumerate()
        .map(|(i, e)| w.matrix(&format!("motif.{i}.target"), e.steps, d))
        .collect::<Result<Vec<_>, _>>()?;
    // Last, so a tensor the manifest expects but lacks is what is reported.
    w.check_names(&expected)?;
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
