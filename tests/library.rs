//! The library file format: round trip, validation, atomic replacement.

use std::path::Path;

use motif::library::{
    sha256_hex, Library, LibraryError, Manifest, Mode, MotifEntry, PrepInfo, PrepKind, Provenance,
    TrainOptions, TrainingInfo, FORMAT_VERSION,
};
use motif::model::{OutputScaling, Preparation, Variant};
use motif::robot::ArmModel;
use motif::train::config::NetworkConfig;
use motif::train::trainer::{init_motif, init_network};
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
                lr: None,
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
            weights_sha256: None,
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
        let weights = std::fs::read(dir.path().join("lib/weights.safetensors")).unwrap();
        assert_eq!(back.manifest.weights_sha256, Some(sha256_hex(&weights)));
        let mut expect = lib.clone();
        expect.manifest.weights_sha256 = back.manifest.weights_sha256.clone();
        assert_eq!(back, expect);
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
    // Unparsable, it is no longer recognisably a library, so save refuses it.
    assert!(matches!(
        small_library(Variant::Input).save(&lib),
        Err(LibraryError::NotALibrary { .. })
    ));
    std::fs::remove_dir_all(&lib).unwrap();
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

// ---- Bad inputs (issue 13): each is an error naming the file and the field. ----

fn saved(dir: &Path) -> std::path::PathBuf {
    let lib = dir.join("lib");
    small_library(Variant::Input).save(&lib).unwrap();
    lib
}

fn manifest_of(lib: &Path) -> Manifest {
    let text = std::fs::read_to_string(lib.join("manifest.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// Writes a manifest as is, without the checks `save` makes.
fn write_manifest(lib: &Path, m: &Manifest) {
    std::fs::write(
        lib.join("manifest.yaml"),
        serde_norway::to_string(m).unwrap(),
    )
    .unwrap();
}

/// Writes weights and a manifest checksum that matches them, so the checks
/// behind the checksum are what is tested.
fn write_weights(lib: &Path, bytes: &[u8]) {
    std::fs::write(lib.join("weights.safetensors"), bytes).unwrap();
    let mut m = manifest_of(lib);
    m.weights_sha256 = Some(sha256_hex(bytes));
    write_manifest(lib, &m);
}

fn load_err(lib: &Path) -> String {
    match Library::load(lib) {
        Ok(_) => panic!("{} loaded", lib.display()),
        Err(e) => e.to_string(),
    }
}

/// (what, edit, text the error must contain).
type Edit<'a> = (&'a str, Box<dyn Fn(&mut Manifest)>, &'a str);

/// Each edit of a saved library's manifest must fail to load with an error
/// containing the given text.
fn assert_rejected(edits: Vec<Edit>) {
    let dir = tempfile::tempdir().unwrap();
    let lib = saved(dir.path());
    let good = manifest_of(&lib);
    for (what, edit, expect) in edits {
        let mut m = good.clone();
        edit(&mut m);
        write_manifest(&lib, &m);
        let err = load_err(&lib);
        assert!(
            err.contains("manifest.yaml") && err.contains(expect),
            "{what}: {err}"
        );
    }
}

#[test]
fn preparation_beyond_the_limits_is_rejected_on_load() {
    assert_rejected(vec![
        (
            "1e18 steps",
            Box::new(|m| m.preparation.steps = 1_000_000_000_000_000_000),
            "preparation.steps",
        ),
        (
            "1e9 steps",
            Box::new(|m| m.preparation.steps = 1_000_000_000),
            "preparation.steps",
        ),
        (
            "20 000 τ",
            Box::new(|m| m.preparation.steps = 20_000),
            "tau; at most 1000 tau",
        ),
        (
            "leak with a rank",
            Box::new(|m| m.preparation.rank = Some(2)),
            "preparation.rank",
        ),
    ]);
}

#[test]
fn timing_outside_the_limits_is_rejected_on_load() {
    assert_rejected(vec![
        ("tau 1e-45", Box::new(|m| m.tau = 1e-45), "dt/tau"),
        ("dt > tau", Box::new(|m| m.dt = 1.0), "dt/tau"),
        (
            "dt 1e-30",
            Box::new(|m| {
                m.dt = 1e-30;
                m.tau = 1e-29
            }),
            "dt = 0.000000000000000000000000000001 s",
        ),
        // τ = 100 000 steps: not a sensible step for this τ.
        ("dt ≪ tau", Box::new(|m| m.tau = 100.0), "dt/tau"),
        ("tau NaN", Box::new(|m| m.tau = f32::NAN), "tau = NaN"),
        ("n 2^40", Box::new(|m| m.n = 1 << 40), "n = 1099511627776"),
        ("n 1e6", Box::new(|m| m.n = 1_000_000), "n = 1000000"),
    ]);
}

#[test]
fn non_finite_or_inconsistent_manifest_values_are_rejected() {
    assert_rejected(vec![
        (
            "final_loss NaN",
            Box::new(|m| m.motifs[0].provenance.final_loss = f32::NAN),
            "final_loss",
        ),
        (
            "nmse inf",
            Box::new(|m| m.motifs[1].provenance.nmse = f32::INFINITY),
            "nmse",
        ),
        (
            "xi_sigma NaN",
            Box::new(|m| {
                m.mode = Mode::Thalamocortical {
                    xi_sigma: f32::NAN,
                    chain_fraction: 0.0,
                }
            }),
            "mode.xi_sigma",
        ),
        (
            "lr NaN",
            Box::new(|m| m.training.options.lr = f32::NAN),
            "training.options.lr",
        ),
        (
            "options.steps 1e12",
            Box::new(|m| m.training.options.steps = 1_000_000_000_000),
            "training.options.steps",
        ),
        (
            "seconds inf",
            Box::new(|m| m.training.seconds = f64::INFINITY),
            "training.seconds",
        ),
        (
            "duration_s",
            Box::new(|m| m.motifs[0].duration_s = 5.0),
            "duration_s",
        ),
        (
            "denormal scale",
            Box::new(|m| m.output_scaling.scale[0] = 1e-45),
            "output_scaling",
        ),
        ("no motifs", Box::new(|m| m.motifs.clear()), "motifs"),
    ]);
}

#[test]
fn duplicate_or_empty_output_names_are_rejected() {
    assert_rejected(vec![
        (
            "duplicate",
            Box::new(|m| m.outputs[1] = "x".into()),
            "output 'x' is listed twice",
        ),
        ("empty", Box::new(|m| m.outputs[0] = String::new()), "empty"),
        ("comma", Box::new(|m| m.outputs[0] = "a,b".into()), "comma"),
        ("padded", Box::new(|m| m.outputs[0] = " a".into()), "space"),
    ]);
}

const BAD_MOTIF_NAMES: [&str; 11] = [
    "",
    "two words",
    "tab\there",
    "nbsp\u{a0}here",
    "a,b",
    "line\nbreak",
    "bell\u{7}",
    "stop",
    "Hold",
    "SPEED",
    "run",
];

#[test]
fn uncommandable_motif_names_are_rejected_on_load_and_save() {
    for name in BAD_MOTIF_NAMES.iter().chain(&["append"]) {
        assert!(
            motif::library::validate_motif_name(name).is_err(),
            "{name:?}"
        );
        assert_rejected(vec![(
            name,
            Box::new(move |m| m.motifs[0].name = name.to_string()),
            "motifs[0].name",
        )]);
        let dir = tempfile::tempdir().unwrap();
        let mut lib = small_library(Variant::Input);
        lib.manifest.motifs[0].name = name.to_string();
        lib.network.motifs[0].name = name.to_string();
        let err = lib.save(&dir.path().join("lib")).unwrap_err().to_string();
        assert!(err.contains("motifs[0].name"), "{name:?}: {err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
    for good in [
        "circle",
        "reach_left",
        "figure-8",
        "stopper",
        "ünïcode",
        "x",
    ] {
        motif::library::validate_motif_name(good).unwrap();
    }
    let long = "m".repeat(motif::library::limits::MAX_NAME_BYTES + 1);
    assert!(motif::library::validate_motif_name(&long).is_err());
}

/// The keyword list the library rejects is the one the command parser reads.
#[test]
fn command_keywords_match_the_command_parser() {
    use motif::control::{CommandError, CommandParser};
    let p = CommandParser::new(vec!["m".into()], 0.1, 2.0, 4096);
    for kw in motif::library::COMMAND_KEYWORDS {
        assert!(
            !matches!(p.parse(kw), Err(CommandError::UnknownMotifs { .. })),
            "{kw} is not a keyword of the parser"
        );
    }
    assert!(matches!(
        p.parse("circle"),
        Err(CommandError::UnknownMotifs { .. })
    ));
}

#[test]
fn a_full_queue_of_the_longest_names_fits_one_command() {
    use motif::control::commands::DEFAULT_MAX_COMMAND_BYTES;
    let longest =
        "append ".len() + motif::control::MAX_QUEUE * (motif::library::limits::MAX_NAME_BYTES + 1);
    assert!(longest <= DEFAULT_MAX_COMMAND_BYTES, "{longest}");
}

/// Byte offset of element `index` of tensor `name` in a safetensors file.
fn tensor_offset(bytes: &[u8], name: &str, index: usize) -> usize {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    8 + n + header[name]["data_offsets"][0].as_u64().unwrap() as usize + 4 * index
}

#[test]
fn a_non_finite_stored_target_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let lib = saved(dir.path());
    let good = std::fs::read(lib.join("weights.safetensors")).unwrap();
    for bad in [f32::NAN, f32::INFINITY] {
        let mut w = good.clone();
        let at = tensor_offset(&w, "motif.1.target", 3);
        w[at..at + 4].copy_from_slice(&bad.to_le_bytes());
        write_weights(&lib, &w);
        let err = load_err(&lib);
        assert!(
            err.contains("weights.safetensors") && err.contains("motif 'b'") && err.contains("NaN"),
            "{err}"
        );
    }
}

#[test]
fn extra_or_duplicated_tensors_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let lib = saved(dir.path());
    let good = std::fs::read(lib.join("weights.safetensors")).unwrap();

    let parsed = safetensors::SafeTensors::deserialize(&good).unwrap();
    let extra_data = 1.0f32.to_le_bytes();
    let mut views = parsed.tensors();
    views.push((
        "motif.2.x_init".into(),
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1], &extra_data)
            .unwrap(),
    ));
    write_weights(&lib, &safetensors::serialize(views, None).unwrap());
    let err = load_err(&lib);
    assert!(err.contains("'motif.2.x_init'"), "{err}");

    // The same entry twice: the safetensors crate keeps one and accepts the file.
    let n = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&good[8..8 + n]).unwrap();
    let info: serde_json::Value = serde_json::from_str(header).unwrap();
    let dup = format!(
        "{{\"y0\":{},{}",
        info["y0"],
        header.strip_prefix('{').unwrap()
    );
    let mut w = (dup.len() as u64).to_le_bytes().to_vec();
    w.extend_from_slice(dup.as_bytes());
    w.extend_from_slice(&good[8 + n..]);
    assert!(safetensors::SafeTensors::deserialize(&w).is_ok());
    write_weights(&lib, &w);
    let err = load_err(&lib);
    assert!(err.contains("'y0' twice"), "{err}");
}

#[test]
fn a_bit_flip_in_the_weights_fails_the_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let lib = saved(dir.path());
    let path = lib.join("weights.safetensors");
    let good = std::fs::read(&path).unwrap();
    let mut w = good.clone();
    // The lowest mantissa bit of one J entry: still a finite, plausible weight.
    w[tensor_offset(&good, "J", 17)] ^= 1;
    std::fs::write(&path, &w).unwrap();
    let err = load_err(&lib);
    assert!(
        err.contains("weights.safetensors") && err.contains("SHA-256") && err.contains("corrupt"),
        "{err}"
    );

    std::fs::write(&path, &good).unwrap();
    let mut m = manifest_of(&lib);
    m.weights_sha256 = Some("not hex".into());
    write_manifest(&lib, &m);
    assert!(load_err(&lib).contains("weights_sha256"));
}

#[test]
fn the_shipped_default_library_carries_its_checksum() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default");
    let weights = std::fs::read(dir.join("weights.safetensors")).unwrap();
    let lib = Library::load(&dir).unwrap();
    assert_eq!(lib.manifest.weights_sha256, Some(sha256_hex(&weights)));
    // Written the way `save` writes it, so regenerating changes nothing else.
    let text = std::fs::read_to_string(dir.join("manifest.yaml")).unwrap();
    assert_eq!(serde_norway::to_string(&lib.manifest).unwrap(), text);
}

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/library_v1")
}

/// A library in format version 1 as written before the checksum existed
/// (tests/fixtures/library_v1.train.yaml): every later build must load it.
#[test]
fn the_v1_fixture_loads_in_every_later_build() {
    let weights = std::fs::read(fixture().join("weights.safetensors")).unwrap();
    // The fixture itself never changes.
    assert_eq!(
        sha256_hex(&weights),
        "b59a88d9271599c35833081af15d305ae915fd426ba60015c65170c2812a04a3"
    );
    let lib = Library::load(&fixture()).unwrap();
    let m = &lib.manifest;
    assert_eq!(m.weights_sha256, None);
    assert_eq!((m.n, m.variant), (8, Variant::Loop { rank: 2 }));
    assert_eq!(m.preparation.kind, PrepKind::Optimised);
    let names: Vec<&str> = m.motifs.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["one", "two"]);
    assert!(lib.network.prep.j_prep.is_some());

    // Saved again by this build it gains the checksum and nothing else changes.
    let dir = tempfile::tempdir().unwrap();
    lib.save(&dir.path().join("lib")).unwrap();
    let back = Library::load(&dir.path().join("lib")).unwrap();
    assert!(back.manifest.weights_sha256.is_some());
    assert_eq!(back.network, lib.network);
    assert_eq!(back.targets, lib.targets);
    assert_eq!(
        std::fs::read(dir.path().join("lib/weights.safetensors")).unwrap(),
        weights
    );
}

fn copy_fixture(to: &Path) -> std::path::PathBuf {
    let lib = to.join("lib");
    std::fs::create_dir(&lib).unwrap();
    for f in ["manifest.yaml", "weights.safetensors"] {
        std::fs::copy(fixture().join(f), lib.join(f)).unwrap();
    }
    lib
}

/// Training options are provenance: one a newer trainer adds must not make
/// the library unloadable. Fields that change how it runs stay strict.
#[test]
fn unknown_training_options_load_unknown_behaviour_fields_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let lib = copy_fixture(dir.path());
    edit(&lib, "manifest.yaml", |s| {
        s.replace(
            "    seed: 7\n  seconds:",
            "    seed: 7\n    warmup_steps: 100\n    schedule: { kind: cosine }\n  tool_commit: abc\n  seconds:",
        )
    });
    let text = std::fs::read_to_string(lib.join("manifest.yaml")).unwrap();
    assert!(text.contains("warmup_steps"), "{text}");
    let loaded = Library::load(&lib).unwrap();
    assert_eq!(loaded.manifest.training.options.seed, 7);

    for (what, from, to) in [
        ("network", "n: 8\n", "n: 8\nleak_rate: 0.5\n"),
        ("variant", "  rank: 2\nmode", "  rank: 2\n  gate: 1\nmode"),
        ("preparation", "  steps: 20\n", "  steps: 20\n  gain: 2\n"),
        (
            "mode",
            "  chain_fraction: 0.5\n",
            "  chain_fraction: 0.5\n  noise: 1\n",
        ),
        ("scaling", "  scale:\n", "  clip: 1\n  scale:\n"),
        (
            "motif",
            "  steps: 59\n  duration_s",
            "  steps: 59\n  speed: 2\n  duration_s",
        ),
    ] {
        let lib = dir.path().join(what);
        std::fs::create_dir(&lib).unwrap();
        std::fs::copy(
            fixture().join("weights.safetensors"),
            lib.join("weights.safetensors"),
        )
        .unwrap();
        assert!(text.contains(from), "{what}");
        std::fs::write(lib.join("manifest.yaml"), text.replacen(from, to, 1)).unwrap();
        let err = load_err(&lib);
        assert!(err.contains("unknown field"), "{what}: {err}");
    }
}

#[test]
fn save_replaces_only_a_library() {
    let dir = tempfile::tempdir().unwrap();
    let good = small_library(Variant::Input);

    let other = dir.path().join("photos");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("holiday.jpg"), b"not a library").unwrap();
    let err = good.save(&other).unwrap_err();
    assert!(matches!(err, LibraryError::NotALibrary { .. }), "{err}");
    assert_eq!(
        std::fs::read(other.join("holiday.jpg")).unwrap(),
        b"not a library"
    );
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);

    // A directory with a broken manifest is not recognisably a library either.
    std::fs::write(other.join("manifest.yaml"), "hello: world\n").unwrap();
    assert!(matches!(
        good.save(&other),
        Err(LibraryError::NotALibrary { .. })
    ));

    let file = dir.path().join("notes.txt");
    std::fs::write(&file, b"keep me").unwrap();
    let err = good.save(&file).unwrap_err().to_string();
    assert!(err.contains("not a directory"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");

    // A library, even of a newer format or with broken weights, is replaced.
    let lib = saved(dir.path());
    std::fs::write(lib.join("weights.safetensors"), b"junk").unwrap();
    edit(&lib, "manifest.yaml", |s| {
        s.replace("format_version: 1", "format_version: 2")
    });
    good.save(&lib).unwrap();
    Library::load(&lib).unwrap();
    // Nothing is left behind: photos, notes.txt and lib.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
}

#[test]
fn save_never_writes_what_load_would_reject() {
    let dir = tempfile::tempdir().unwrap();
    let lib = saved(dir.path());
    let before = (
        std::fs::read(lib.join("manifest.yaml")).unwrap(),
        std::fs::read(lib.join("weights.safetensors")).unwrap(),
    );
    let mut bad = small_library(Variant::Input);
    bad.manifest.preparation.steps = 1_000_000_000;
    bad.network.prep.steps = 1_000_000_000;
    assert!(bad.save(&lib).is_err());
    // A manifest that does not describe the network.
    let mut bad = small_library(Variant::Input);
    bad.manifest.tau = 0.02;
    let err = bad.save(&lib).unwrap_err().to_string();
    assert!(err.contains("does not describe"), "{err}");
    let mut bad = small_library(Variant::Input);
    bad.targets[0][[0, 0]] = f32::NAN;
    assert!(bad.save(&lib).is_err());
    assert_eq!(
        (
            std::fs::read(lib.join("manifest.yaml")).unwrap(),
            std::fs::read(lib.join("weights.safetensors")).unwrap(),
        ),
        before
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// `add` trains an input-design motif's vectors at their own rate and a
/// loop-design motif's low-rank loop at the library's (`train::fit`).
#[test]
fn add_trains_at_the_rate_its_design_needs() {
    let input = small_library(Variant::Input);
    let add = motif::train::fit::AddOptions::for_library(&input);
    assert_eq!(add.lr, motif::train::fit::INPUT_MOTIF_LR);
    assert_eq!(add.steps, input.manifest.training.options.steps);
    let looped = small_library(Variant::Loop { rank: 2 });
    let add = motif::train::fit::AddOptions::for_library(&looped);
    assert_eq!(add.lr, looped.manifest.training.options.lr);
    assert_ne!(add.lr, motif::train::fit::INPUT_MOTIF_LR);
}
