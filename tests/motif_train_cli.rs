//! `motif_train` end to end: bad input gives a clear error and a non-zero
//! exit without touching existing libraries; `add` keeps earlier motifs
//! bit-identical.

use std::path::Path;
use std::process::{Command, Output};

use motif::library::Library;
use motif::model::run_motif;

fn motif_train(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_motif_train"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("motif_train runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const CONFIG: &str = r#"
network: { n: 24, variant: { kind: input }, tau: 0.01, dt: 0.002 }
mode: { kind: thalamocortical, xi_sigma: 1.0, chain_fraction: 0.5 }
preparation: { kind: leak, tau_multiple: 6 }
training: { steps: 60, batch: 4, lr: 0.003, lr_final: 0.001, clip: 1.0, seed: 3 }
motifs:
  - { name: one, generate: { family: smooth2d, seed: 1, steps: 100 } }
  - { name: two, demo: two.csv }
"#;

fn demo_csv(rows: usize, phase: f32) -> String {
    let mut s = String::from("time,x,y\n");
    for i in 0..rows {
        let t = i as f32 * 0.002;
        s += &format!(
            "{t},{},{}\n",
            (t * 20.0 + phase).sin(),
            (t * 13.0).cos() - 1.0
        );
    }
    s
}

/// Two columns sampled every `dt` seconds.
fn timed_demo(rows: usize, dt: f64) -> String {
    let mut s = String::from("time,x,y\n");
    for i in 0..rows {
        s += &format!("{},{},0\n", i as f64 * dt, (i as f32 * 0.1).sin());
    }
    s
}

/// A demo whose fifth data row holds a NaN.
fn nan_demo() -> String {
    let mut lines: Vec<String> = demo_csv(100, 0.0).lines().map(String::from).collect();
    lines[5] = format!("{},NaN,0", lines[5].split(',').next().unwrap());
    lines.join("\n")
}

fn setup(dir: &Path, config: &str, two: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("two.csv"), two).unwrap();
    let cfg = dir.join("train.yaml");
    std::fs::write(&cfg, config).unwrap();
    cfg
}

fn train(dir: &Path, cfg: &Path, out: &str) -> Output {
    motif_train(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        dir.join(out).to_str().unwrap(),
    ])
}

#[test]
fn bad_inputs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: Vec<(&str, String, String, &str)> = vec![
        (
            "truncated config",
            CONFIG[..CONFIG.len() / 2].to_string(),
            demo_csv(100, 0.0),
            "train.yaml",
        ),
        (
            "unknown field",
            CONFIG.replace("tau_multiple", "tau_mult"),
            demo_csv(100, 0.0),
            "tau_mult",
        ),
        (
            "duplicate motif",
            CONFIG.replace("name: two", "name: one"),
            demo_csv(100, 0.0),
            "duplicate motif name 'one'",
        ),
        ("NaN in demo", CONFIG.to_string(), nan_demo(), "two.csv"),
        (
            "empty demo",
            CONFIG.to_string(),
            "time,x,y\n".to_string(),
            "two.csv",
        ),
        (
            "mismatched width",
            CONFIG.to_string(),
            demo_csv(100, 0.0)
                .replace("time,x,y", "time,x,y,z")
                .replace('\n', ",0\n")
                .replacen("time,x,y,z,0", "time,x,y,z", 1),
            "differ",
        ),
        (
            "zero units",
            CONFIG.replace("n: 24", "n: 0"),
            demo_csv(100, 0.0),
            "network.n",
        ),
        (
            "missing demo",
            CONFIG.replace("two.csv", "absent.csv"),
            demo_csv(100, 0.0),
            "absent.csv",
        ),
        // Issue 13: each of these panicked, aborted, hung or was accepted.
        (
            "motif named like a command",
            CONFIG.replace("name: one", "name: stop"),
            demo_csv(100, 0.0),
            "command keyword",
        ),
        (
            "motif name with a non-breaking space",
            CONFIG.replace("name: one", "name: \"a\u{a0}b\""),
            demo_csv(100, 0.0),
            "U+00A0",
        ),
        (
            "2^40 units",
            CONFIG.replace("n: 24", "n: 1099511627776"),
            demo_csv(100, 0.0),
            "network.n = 1099511627776",
        ),
        (
            "a million units",
            CONFIG.replace("n: 24", "n: 1000000"),
            demo_csv(100, 0.0),
            "network.n = 1000000",
        ),
        (
            "dt 1e-30",
            CONFIG.replace("dt: 0.002", "dt: 1e-30"),
            demo_csv(100, 0.0),
            "network.dt",
        ),
        (
            "tau_multiple 1e30",
            CONFIG.replace("tau_multiple: 6", "tau_multiple: 1e30"),
            demo_csv(100, 0.0),
            "preparation.tau_multiple",
        ),
        (
            "generator steps 1e12",
            CONFIG.replace("steps: 100 }", "steps: 1000000000000 }"),
            demo_csv(100, 0.0),
            "generate.steps",
        ),
        (
            "1e-30 s demo step",
            CONFIG.to_string(),
            timed_demo(100, 1e-30),
            "time step",
        ),
        (
            "1e30 s demo step",
            CONFIG.to_string(),
            timed_demo(100, 1e30),
            "lasts",
        ),
        (
            "a million demo columns",
            CONFIG.to_string(),
            format!(
                "time,{}\n0,{}\n",
                (0..1_000_000)
                    .map(|i| format!("c{i}"))
                    .collect::<Vec<_>>()
                    .join(","),
                vec!["0"; 1_000_000].join(",")
            ),
            "1000000 output columns",
        ),
    ];
    for (what, cfg_text, demo, expect) in cases {
        let cfg = setup(d, &cfg_text, &demo);
        let started = std::time::Instant::now();
        let out = train(d, &cfg, "lib");
        assert!(
            started.elapsed().as_secs() < 20,
            "{what}: {:?}",
            started.elapsed()
        );
        let err = stderr(&out);
        assert!(!out.status.success(), "{what}: succeeded");
        assert!(
            err.contains(expect),
            "{what}: stderr lacks '{expect}':\n{err}"
        );
        assert!(!err.contains("panicked"), "{what}: panicked:\n{err}");
        assert!(!d.join("lib").exists(), "{what}: wrote a library");
    }
}

#[test]
fn train_add_inspect_and_continual_learning() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = setup(d, CONFIG, &demo_csv(120, 0.0));
    let out = train(d, &cfg, "lib");
    assert!(out.status.success(), "{}", stderr(&out));
    let lib_dir = d.join("lib");

    // An existing library is never overwritten without --force.
    let again = train(d, &cfg, "lib");
    assert!(!again.status.success() && stderr(&again).contains("--force"));

    let before = Library::load(&lib_dir).unwrap();
    let outputs = |lib: &Library| -> Vec<Vec<u32>> {
        (0..2)
            .map(|m| {
                let net = &lib.network;
                let (y, _) = run_motif(net, m, net.motifs[m].x_init.view(), net.motifs[m].steps);
                y.iter().map(|v| v.to_bits()).collect()
            })
            .collect()
    };
    let weights_before = std::fs::read(lib_dir.join("weights.safetensors")).unwrap();

    std::fs::write(d.join("three.csv"), demo_csv(90, 1.0)).unwrap();
    let add = |name: &str, demo: &str| {
        motif_train(&[
            "add",
            "--library",
            lib_dir.to_str().unwrap(),
            "--demo",
            d.join(demo).to_str().unwrap(),
            "--name",
            name,
        ])
    };
    // Rejected adds leave the library byte-identical.
    let dup = add("one", "three.csv");
    assert!(
        !dup.status.success() && stderr(&dup).contains("already"),
        "{}",
        stderr(&dup)
    );
    std::fs::write(d.join("wide.csv"), "time,a,b,c\n0,1,2,3\n0.002,1,2,3\n").unwrap();
    let wide = add("wide", "wide.csv");
    assert!(
        !wide.status.success() && stderr(&wide).contains("differ"),
        "{}",
        stderr(&wide)
    );
    assert_eq!(
        std::fs::read(lib_dir.join("weights.safetensors")).unwrap(),
        weights_before
    );

    let ok = add("three", "three.csv");
    assert!(ok.status.success(), "{}", stderr(&ok));
    let after = Library::load(&lib_dir).unwrap();
    assert_eq!(after.network.motifs.len(), 3);
    assert_eq!(after.network.shared, before.network.shared);
    assert_eq!(after.network.motifs[..2], before.network.motifs[..]);
    assert_eq!(outputs(&after), outputs(&before), "earlier motifs changed");
    assert_eq!(after.manifest.motifs[2].provenance.trained_by, "add");

    let inspect = motif_train(&["inspect", lib_dir.to_str().unwrap(), "--json"]);
    assert!(inspect.status.success());
    let json: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let names: Vec<&str> = json["motifs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["one", "two", "three"]);

    // The demonstration can come from a training config instead (a generator
    // here): the motif named there, a clear error for one it does not name.
    let more = d.join("more.yaml");
    std::fs::write(
        &more,
        format!(
            "{CONFIG}  - {{ name: four, generate: {{ family: smooth2d, seed: 4, steps: 100 }} }}\n"
        ),
    )
    .unwrap();
    let from_config = |name: &str| {
        motif_train(&[
            "add",
            "--library",
            lib_dir.to_str().unwrap(),
            "--from-config",
            more.to_str().unwrap(),
            "--name",
            name,
        ])
    };
    let missing = from_config("five");
    assert!(
        !missing.status.success() && stderr(&missing).contains("has no motif named 'five'"),
        "{}",
        stderr(&missing)
    );
    let ok = from_config("four");
    assert!(ok.status.success(), "{}", stderr(&ok));
    let lib = Library::load(&lib_dir).unwrap();
    assert_eq!(lib.network.motifs.len(), 4);
    assert!(
        lib.manifest.motifs[3]
            .provenance
            .source
            .contains("smooth2d"),
        "{:?}",
        lib.manifest.motifs[3].provenance
    );
    // One source only.
    let neither = motif_train(&["add", "--library", lib_dir.to_str().unwrap(), "--name", "x"]);
    assert!(!neither.status.success() && stderr(&neither).contains("--demo"));
}

#[test]
fn a_corrupt_library_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    std::fs::create_dir(&lib).unwrap();
    std::fs::write(lib.join("manifest.yaml"), "format_version: 1\nn: 3\n").unwrap();
    let out = motif_train(&["inspect", lib.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("manifest.yaml") && !err.contains("panicked"),
        "{err}"
    );
}

fn train_forced(cfg: &Path, out: &Path) -> Output {
    motif_train(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--force",
    ])
}

/// `--force` replaces a motif library and nothing else: a directory of other
/// files, or a plain file, is left as it was (issue 13: both were lost).
#[test]
fn force_replaces_only_a_library() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = setup(d, CONFIG, &demo_csv(100, 0.0));

    let photos = d.join("photos");
    std::fs::create_dir(&photos).unwrap();
    std::fs::write(photos.join("holiday.jpg"), b"not a library").unwrap();
    let notes = d.join("notes.txt");
    std::fs::write(&notes, b"keep me").unwrap();
    let entries = || std::fs::read_dir(d).unwrap().count();
    let before = entries();
    for (out, expect) in [
        (&photos, "not a motif library"),
        (&notes, "not a directory"),
    ] {
        let o = train_forced(&cfg, out);
        let err = stderr(&o);
        assert!(!o.status.success(), "{}: replaced", out.display());
        assert!(err.contains(expect) && !err.contains("panicked"), "{err}");
    }
    assert_eq!(
        std::fs::read(photos.join("holiday.jpg")).unwrap(),
        b"not a library"
    );
    assert_eq!(std::fs::read_dir(&photos).unwrap().count(), 1);
    assert_eq!(std::fs::read(&notes).unwrap(), b"keep me");
    assert_eq!(entries(), before, "something was left behind");

    // A library is replaced.
    let lib = d.join("lib");
    assert!(train(d, &cfg, "lib").status.success());
    let first = std::fs::read(lib.join("manifest.yaml")).unwrap();
    let o = train_forced(&cfg, &lib);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(std::fs::read(lib.join("manifest.yaml")).unwrap(), first);
    Library::load(&lib).unwrap();
}

#[test]
fn add_rejects_names_that_could_never_be_commanded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = setup(d, CONFIG, &demo_csv(100, 0.0));
    assert!(train(d, &cfg, "lib").status.success());
    let lib = d.join("lib");
    std::fs::write(d.join("three.csv"), demo_csv(90, 1.0)).unwrap();
    let snapshot = || {
        (
            std::fs::read(lib.join("manifest.yaml")).unwrap(),
            std::fs::read(lib.join("weights.safetensors")).unwrap(),
        )
    };
    let before = snapshot();
    for (name, expect) in [
        ("stop", "command keyword"),
        ("Speed", "command keyword"),
        ("two words", "whitespace"),
        ("a,b", "comma"),
        ("new\nline", "control character"),
    ] {
        let o = motif_train(&[
            "add",
            "--library",
            lib.to_str().unwrap(),
            "--demo",
            d.join("three.csv").to_str().unwrap(),
            "--name",
            name,
        ]);
        let err = stderr(&o);
        assert!(!o.status.success(), "{name:?} added");
        assert!(err.contains(expect), "{name:?}: {err}");
    }
    assert!(snapshot() == before, "a rejected add changed the library");
}

/// A preparation of 1e18 steps made `eval` abort on a capacity overflow and
/// 1e9 on a 28 GB allocation; both are load errors now.
#[test]
fn eval_rejects_a_preparation_beyond_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = setup(d, CONFIG, &demo_csv(100, 0.0));
    assert!(train(d, &cfg, "lib").status.success());
    let manifest = d.join("lib/manifest.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("  steps: 30\n"), "{text}");
    for steps in ["1000000000000000000", "1000000000"] {
        std::fs::write(
            &manifest,
            text.replacen("  steps: 30\n", &format!("  steps: {steps}\n"), 1),
        )
        .unwrap();
        let o = motif_train(&["eval", "--library", d.join("lib").to_str().unwrap()]);
        let err = stderr(&o);
        assert!(!o.status.success(), "{steps}: evaluated");
        assert!(
            err.contains("manifest.yaml") && err.contains("preparation.steps"),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}
