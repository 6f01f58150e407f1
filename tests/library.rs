//! The library file format: round trip, validation, atomic replacement.

use std::path::Path;

use motif::library::{
    Library, LibraryError, Manifest, MotifEntry, PrepInfo, PrepKind, Provenance, TrainingInfo,
    FORMAT_VERSION,
};
use motif::model::{OutputScaling, Preparation, Variant};
use motif::robot::ArmModel;
use motif::train::config::NetworkConfig;
use motif::train::trainer::{init_motif, init_network, Mode, TrainOptions};
use ndarray::Array2;

fn small_library(variant: Variant) -> Library {
    let prep = Preparation {
        j_prep: None,
        steps: 10,
    };
    let cfg = NetworkConfig {
        n: 16,
        variant,
        tau: 0.01,
        dt: 0.001,
        gain: 1.0,
    };
    let mut net = init_network(&cfg, 2, prep, OutputScaling::identity(2), 5);
    let mut motifs = Vec::new();
    let mut targets = Vec::new();
    for (i, name) in ["a", "b"].into_iter().enumerate() {
        net.motifs.push(init_motif(&net, name, 20 + i, 1));
        targets.push(Array2::from_elem((20 + i, 2), i as f32));
        motifs.push(MotifEntry {
            name: name.into(),
            steps: 20 + i,
            duration_s: (20 + i) as f32 * 0.001,
            provenance: Provenance {
                source: "test".into(),
                trained_by: "train".into(),
                seed: 1,
                train_steps: 0,
                final_loss: 0.0,
                nmse: 0.0,
            },
        });
    }
    Library {
        manifest: Manifest {
            format_version: FORMAT_VERSION,
            variant,
            mode: Mode::Thalamocortical {
                xi_sigma: 1.0,
                chain_fraction: 0.0,
            },
            n: 16,
            tau: 0.01,
            dt: 0.001,
            outputs: vec!["x".into(), "y".into()],
            output_scaling: OutputScaling::identity(2),
            preparation: PrepInfo {
                kind: PrepKind::Leak,
                rank: None,
                steps: 10,
            },
            motifs,
            training: TrainingInfo {
                tool: "test".into(),
                config: None,
                options: TrainOptions::default(),
                seconds: 0.0,
            },
        },
        network: net,
        targets,
    }
}

fn edit(dir: &Path, file: &str, f: impl FnOnce(String) -> String) {
    let p = dir.join(file);
    std::fs::write(&p, f(std::fs::read_to_string(&p).unwrap())).unwrap();
}

#[test]
fn round_trips_both_variants() {
    for variant in [Variant::Input, Variant::Loop { rank: 3 }] {
        let dir = tempfile::tempdir().unwrap();
        let lib = small_library(variant);
        lib.save(&dir.path().join("lib")).unwrap();
        let back = Library::load(&dir.path().join("lib")).unwrap();
        assert_eq!(back, lib);
    }
}

#[test]
fn missing_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = Library::load(&dir.path().join("nope")).unwrap_err();
    assert!(err.to_string().contains("manifest.yaml"), "{err}");
    small_library(Variant::Input)
        .save(&dir.path().join("lib"))
        .unwrap();
    std::fs::remove_file(dir.path().join("lib/weights.safetensors")).unwrap();
    let err = Library::load(&dir.path().join("lib")).unwrap_err();
    assert!(err.to_string().contains("weights.safetensors"), "{err}");
}

#[test]
fn malformed_and_truncated_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    small_library(Variant::Input).save(&lib).unwrap();

    edit(&lib, "manifest.yaml", |s| s.replace("n: 16", "n: [16"));
    assert!(matches!(
        Library::load(&lib),
        Err(LibraryError::Manifest { .. })
    ));
    small_library(Variant::Input).save(&lib).unwrap();
    edit(&lib, "manifest.yaml", |s| {
        s.replace("format_version: 1", "format_version: 7")
    });
    assert!(matches!(
        Library::load(&lib),
        Err(LibraryError::Version { found: 7, .. })
    ));

    small_library(Variant::Input).save(&lib).unwrap();
    let w = lib.join("weights.safetensors");
    let bytes = std::fs::read(&w).unwrap();
    std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
    let err = Library::load(&lib).unwrap_err();
    assert!(err.to_string().contains("weights.safetensors"), "{err}");
}

#[test]
fn manifest_and_weights_must_agree() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    small_library(Variant::Input).save(&lib).unwrap();
    edit(&lib, "manifest.yaml", |s| s.replace("n: 16", "n: 17"));
    let err = Library::load(&lib).unwrap_err();
    assert!(err.to_string().contains("shape"), "{err}");

    small_library(Variant::Input).save(&lib).unwrap();
    edit(&lib, "manifest.yaml", |s| {
        s.replacen("- name: b", "- name: a", 1)
    });
    let err = Library::load(&lib).unwrap_err();
    assert!(err.to_string().contains("listed twice"), "{err}");

    small_library(Variant::Input).save(&lib).unwrap();
    edit(&lib, "manifest.yaml", |s| {
        s.replace("kind: input", "kind: loop\n  rank: 2")
    });
    let err = Library::load(&lib).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn non_finite_weights_are_rejected_and_never_saved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib");
    let good = small_library(Variant::Input);
    good.save(&path).unwrap();
    let before = std::fs::read(path.join("weights.safetensors")).unwrap();

    let mut bad = good.clone();
    bad.network.shared.j[[3, 4]] = f32::NAN;
    let err = bad.save(&path).unwrap_err();
    assert!(err.to_string().contains("NaN"), "{err}");
    // The existing library is untouched and no staging directory is left behind.
    assert_eq!(
        std::fs::read(path.join("weights.safetensors")).unwrap(),
        before
    );
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);
}

#[test]
fn replacing_a_library_leaves_no_staging_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib");
    small_library(Variant::Input).save(&path).unwrap();
    let mut other = small_library(Variant::Input);
    other.network.shared.y0[0] = 0.5;
    other.save(&path).unwrap();
    assert_eq!(Library::load(&path).unwrap().network.shared.y0[0], 0.5);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn joint_names_must_match_the_urdf() {
    let arm =
        ArmModel::from_urdf_file(concat!(env!("CARGO_MANIFEST_DIR"), "/urdf/arm.urdf")).unwrap();
    let lib = small_library(Variant::Input);
    let err = arm.check_joint_names(&lib.manifest.outputs).unwrap_err();
    assert!(err.to_string().contains("panda_joint1"), "{err}");
}
