//! Every bad input is a clear error (issue 13). First the demonstration and
//! training-config regressions, then a bounded fuzz harness: fixed-seed
//! mutations (byte flips, truncation, numbers replaced by NaN, ±Inf, huge,
//! negative or zero values, dropped and repeated lines) of manifests, weights
//! files, demonstration CSVs and training configs, fed to the library's own
//! parse and load functions. It asserts no panic, nothing non-finite or beyond
//! the limits accepted, and nothing overwritten when a save fails.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

use motif::library::limits::{
    MAX_DEMO_ROWS, MAX_DEMO_SECONDS, MAX_MOTIF_STEPS, MAX_N, MAX_OUTPUTS, MAX_PREP_STEPS,
    MIN_DEMO_DT,
};
use motif::library::{
    parse_manifest, sha256_hex, validate_motif_name, validate_output_name, Library, MANIFEST_FILE,
    WEIGHTS_FILE,
};
use motif::model::{Drive, OutputScaling};
use motif::train::config::{Generator, TrainConfig};
use motif::train::dataset::{self, DatasetError};
use motif::train::demo::{Demo, DemoError};
use motif::train::eval::{evaluate, EvalOptions};
use motif::train::fit;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CONFIG: &str = "\
network: { n: 12, variant: { kind: input }, tau: 0.01, dt: 0.002 }
mode: { kind: thalamocortical, xi_sigma: 1.0, chain_fraction: 0.5 }
preparation: { kind: leak, tau_multiple: 6 }
training: { steps: 5, batch: 4, lr: 0.003, lr_final: 0.001, clip: 1.0, seed: 3 }
motifs:
  - { name: one, generate: { family: smooth2d, seed: 1, steps: 100 } }
  - { name: two, demo: two.csv }
";

fn demo_csv(rows: usize, dt: f64) -> String {
    let mut s = String::from("time,x,y\n");
    for i in 0..rows {
        let t = i as f64 * dt;
        s += &format!("{t},{},{}\n", (t * 20.0).sin(), (t * 13.0).cos() - 1.0);
    }
    s
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/library_v1")
}

// ---- Demonstrations ----

#[test]
fn demo_time_steps_outside_the_limits_are_errors() {
    for (dt, expect) in [(1e-30, "time step"), (1e30, "lasts"), (1e-7, "time step")] {
        let err = Demo::parse(&demo_csv(50, dt), "d.csv").unwrap_err();
        assert!(
            matches!(err, DemoError::Limit { .. }) && err.to_string().contains(expect),
            "{dt}: {err}"
        );
        assert!(err.to_string().starts_with("d.csv: "), "{err}");
    }
    // Through the training path as well: the demo is refused before resampling.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("two.csv"), demo_csv(50, 1e-30)).unwrap();
    std::fs::write(dir.path().join("t.yaml"), CONFIG).unwrap();
    let cfg = TrainConfig::load(&dir.path().join("t.yaml")).unwrap();
    let err =
        fit::train_library(&cfg, &dir.path().join("t.yaml"), &mut |_, _| {}, None).unwrap_err();
    assert!(err.to_string().contains("two.csv"), "{err}");
}

#[test]
fn a_demo_with_a_million_columns_fails_fast() {
    let names: Vec<String> = (0..1_000_000).map(|i| format!("c{i}")).collect();
    let text = format!(
        "time,{}\n0,{}\n",
        names.join(","),
        vec!["0"; 1_000_000].join(",")
    );
    let started = Instant::now();
    let err = Demo::parse(&text, "wide.csv").unwrap_err();
    assert!(
        started.elapsed().as_secs_f64() < 1.0,
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.to_string()
            .contains(&format!("1000000 output columns; at most {MAX_OUTPUTS}")),
        "{err}"
    );
}

#[test]
fn demo_rows_beyond_the_limit_are_an_error() {
    let text = String::from("time,a\n") + &"0,0\n".repeat(MAX_DEMO_ROWS + 1);
    let err = Demo::parse(&text, "long.csv").unwrap_err();
    assert!(err.to_string().contains("data rows"), "{err}");
}

#[test]
fn resampling_beyond_the_motif_limit_is_an_error() {
    // 3000 s of 1 s samples at a 1 ms network step: 3 million steps.
    let demo = Demo::new(1.0, vec!["a".into()], ndarray::Array2::zeros((3001, 1))).unwrap();
    let err = dataset::resample(&demo, "slow.csv", 0.001).unwrap_err();
    assert!(matches!(err, DatasetError::TooLong { .. }), "{err}");
    assert!(err.to_string().contains("slow.csv"), "{err}");
    // Shorter than one step: an error, not an empty target.
    let demo = Demo::new(1e-6, vec!["a".into()], ndarray::Array2::zeros((3, 1))).unwrap();
    assert!(matches!(
        dataset::resample(&demo, "short.csv", 0.001),
        Err(DatasetError::TooShort(_))
    ));
}

// ---- Training configs ----

fn config_error(yaml: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.yaml");
    std::fs::write(&path, yaml).unwrap();
    match TrainConfig::load(&path) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn training_config_values_outside_the_limits_are_errors() {
    let cases = [
        ("n: 12", "n: 1099511627776", "network.n = 1099511627776"),
        ("n: 12", "n: 1000000", "network.n = 1000000"),
        ("dt: 0.002", "dt: 1e-30", "network.dt"),
        ("tau: 0.01", "tau: 1e-45", "network.tau"),
        ("tau: 0.01", "tau: 0.001", "dt/tau"),
        ("tau: 0.01", "tau: 1000", "dt/tau"),
        ("tau_multiple: 6", "tau_multiple: 1e30", "preparation.tau_multiple"),
        ("tau_multiple: 6", "tau_multiple: .nan", "preparation.tau_multiple"),
        // 999 τ at α = 0.0002 s / 0.1 s: 499 500 steps.
        (
            "tau: 0.01, dt: 0.002 }\nmode: { kind: thalamocortical, xi_sigma: 1.0, chain_fraction: 0.5 }\npreparation: { kind: leak, tau_multiple: 6 }",
            "tau: 0.1, dt: 0.0002 }\nmode: { kind: thalamocortical, xi_sigma: 1.0, chain_fraction: 0.5 }\npreparation: { kind: leak, tau_multiple: 999 }",
            "preparation.tau_multiple × tau / dt = 499500",
        ),
        ("steps: 100 }", "steps: 1000000000000 }", "generate.steps"),
        ("steps: 5,", "steps: 1000000000000,", "training.steps"),
        ("lr: 0.003", "lr: .nan", "training.lr"),
        ("clip: 1.0", "clip: .inf", "training.clip"),
        ("variant: { kind: input }", "variant: { kind: input }, gain: .nan", "network.gain"),
        ("xi_sigma: 1.0", "xi_sigma: .inf", "mode.xi_sigma"),
        ("seed: 3 }", "seed: 3, momentum: 0.9 }", "unknown field `momentum`"),
        ("name: one", "name: stop", "command keyword"),
        ("name: one", "name: Append", "command keyword"),
        ("name: one", "name: \"two words\"", "whitespace"),
        ("name: one", "name: \"nb\u{a0}sp\"", "U+00A0"),
        ("name: one", "name: \"a,b\"", "comma"),
        ("name: one", "name: \"a\\nb\"", "control character"),
        ("name: one", "name: \"\"", "empty"),
    ];
    for (from, to, expect) in cases {
        assert!(CONFIG.contains(from), "{from}");
        let err = config_error(&CONFIG.replacen(from, to, 1));
        assert!(
            err.contains("train.yaml") && err.contains(expect),
            "{to}: {err}"
        );
    }
}

#[test]
fn training_memory_is_checked_before_training() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("two.csv"), demo_csv(5000, 0.002)).unwrap();
    let yaml = CONFIG
        .replace("n: 12", "n: 4096")
        .replace("batch: 4", "batch: 1000")
        .replace("steps: 100 }", "steps: 5000 }");
    let path = dir.path().join("t.yaml");
    std::fs::write(&path, yaml).unwrap();
    let cfg = TrainConfig::load(&path).unwrap();
    let started = Instant::now();
    let err = fit::train_library(&cfg, &path, &mut |_, _| {}, None).unwrap_err();
    assert!(err.to_string().contains("GiB"), "{err}");
    assert!(started.elapsed().as_secs_f64() < 5.0);
}

#[test]
fn add_rejects_an_uncommandable_name_before_training() {
    let mut lib = Library::load(&fixture()).unwrap();
    let before = lib.clone();
    let demo = Demo::parse(&demo_csv(60, 0.002), "three.csv").unwrap();
    for name in ["stop", "a b", "x,y", ""] {
        let add = fit::AddOptions::for_library(&lib);
        let err = fit::add_motif(&mut lib, name, &demo, "three.csv", add, &mut |_, _| {
            panic!("trained")
        })
        .unwrap_err();
        assert!(err.to_string().contains("motif name"), "{name:?}: {err}");
    }
    assert_eq!(lib, before);
}

#[test]
fn add_rejects_a_bad_rate_or_step_count_before_training() {
    let mut lib = Library::load(&fixture()).unwrap();
    let before = lib.clone();
    let demo = Demo::parse(&demo_csv(60, 0.002), "three.csv").unwrap();
    let good = fit::AddOptions::for_library(&lib);
    for (bad, what) in [
        (fit::AddOptions { lr: 0.0, ..good }, "add.lr = 0"),
        (
            fit::AddOptions {
                lr: f32::NAN,
                ..good
            },
            "add.lr = NaN",
        ),
        (fit::AddOptions { steps: 0, ..good }, "add.steps"),
    ] {
        let err = fit::add_motif(&mut lib, "new", &demo, "three.csv", bad, &mut |_, _| {
            panic!("trained")
        })
        .unwrap_err();
        assert!(err.to_string().contains(what), "{bad:?}: {err}");
    }
    assert_eq!(lib, before);
}

/// The limits leave room for everything shipped: configs, libraries, fixtures.
#[test]
fn shipped_configs_and_libraries_satisfy_the_limits() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut configs = vec![root.join("config/default_arm.yaml")];
    for e in std::fs::read_dir(root.join("config/repro")).unwrap() {
        configs.push(e.unwrap().path());
    }
    assert!(configs.len() > 30);
    for c in &configs {
        TrainConfig::load(c).unwrap_or_else(|e| panic!("{e}"));
    }
    for lib in [root.join("models/default"), fixture()] {
        Library::load(&lib).unwrap_or_else(|e| panic!("{e}"));
    }
}

// ---- The fuzz harness ----

const BAD_NUMBERS: &[&str] = &[
    ".nan",
    "NaN",
    ".inf",
    "-.inf",
    "inf",
    "1e30",
    "-1e30",
    "1e-30",
    "1e-45",
    "-1",
    "0",
    "-0",
    "1e300",
    "3.5e38",
    "18446744073709551615",
    "1000000000000000000",
    "1000000000000",
    "1000000000",
    "1099511627776",
    "4294967296",
    "100001",
];

/// Byte ranges of the numbers in a text (not digits inside names like `joint1`).
fn numeric_spans(text: &[u8]) -> Vec<(usize, usize)> {
    let num = |b: u8| b.is_ascii_digit() || b"+-.eE".contains(&b);
    let mut spans = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let starts = (text[i].is_ascii_digit() || text[i] == b'-' || text[i] == b'.')
            && (i == 0 || !(text[i - 1].is_ascii_alphanumeric() || text[i - 1] == b'_'));
        if starts {
            let mut j = i;
            while j < text.len() && num(text[j]) {
                j += 1;
            }
            if text[i..j].iter().any(u8::is_ascii_digit) {
                spans.push((i, j));
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    spans
}

fn mutate(base: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut out = base.to_vec();
    let spans = numeric_spans(base);
    match rng.random_range(0..6) {
        0 | 1 if !spans.is_empty() => {
            let (a, b) = spans[rng.random_range(0..spans.len())];
            let bad = BAD_NUMBERS[rng.random_range(0..BAD_NUMBERS.len())];
            out.splice(a..b, bad.bytes());
        }
        2 => out.truncate(rng.random_range(0..base.len())),
        3 => {
            // Drop or repeat one line.
            let starts: Vec<usize> = std::iter::once(0)
                .chain(
                    base.iter()
                        .enumerate()
                        .filter(|(_, b)| **b == b'\n')
                        .map(|(i, _)| i + 1),
                )
                .filter(|&i| i < base.len())
                .collect();
            let k = rng.random_range(0..starts.len());
            let end = starts.get(k + 1).copied().unwrap_or(base.len());
            let line = base[starts[k]..end].to_vec();
            if rng.random_bool(0.5) {
                out.drain(starts[k]..end);
            } else {
                out.splice(starts[k]..starts[k], line);
            }
        }
        _ => {
            for _ in 0..rng.random_range(1..=3) {
                let i = rng.random_range(0..out.len());
                out[i] ^= rng.random_range(1..=255u8);
            }
        }
    }
    out
}

fn walk_finite(v: &serde_norway::Value, path: &str) -> Result<(), String> {
    use serde_norway::Value;
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if !f.is_finite() => Err(format!("{path} = {f}")),
            _ => Ok(()),
        },
        Value::Sequence(s) => s
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| walk_finite(v, &format!("{path}[{i}]"))),
        Value::Mapping(m) => m.iter().try_for_each(|(k, v)| {
            walk_finite(v, &format!("{path}.{}", k.as_str().unwrap_or("?")))
        }),
        Value::Tagged(t) => walk_finite(&t.value, path),
        _ => Ok(()),
    }
}

/// What an accepted library must satisfy, or why it should have been rejected.
fn check_accepted(lib: &Library, evaluate_it: bool) -> Result<(), String> {
    let m = &lib.manifest;
    walk_finite(&serde_norway::to_value(m).unwrap(), "manifest")?;
    lib.network.validate().map_err(|e| e.to_string())?;
    if lib.targets.iter().flatten().any(|v| !v.is_finite()) {
        return Err("a non-finite target".into());
    }
    let alpha = m.dt / m.tau;
    if m.n > MAX_N || m.preparation.steps > MAX_PREP_STEPS || !(1e-3..=1.0).contains(&alpha) {
        return Err(format!(
            "n {} prep {} alpha {alpha} beyond the limits",
            m.n, m.preparation.steps
        ));
    }
    for e in &m.motifs {
        validate_motif_name(&e.name).map_err(|e| e.to_string())?;
        if e.steps > MAX_MOTIF_STEPS {
            return Err(format!("motif steps {}", e.steps));
        }
    }
    for (i, o) in m.outputs.iter().enumerate() {
        validate_output_name(o).map_err(|e| e.to_string())?;
        if m.outputs[..i].contains(o) {
            return Err(format!("duplicate output {o}"));
        }
    }
    if evaluate_it {
        let opts = EvalOptions {
            trials: 1,
            sequences: 1,
            sequence_len: 3,
            preemption_starts: 0,
            ..EvalOptions::default()
        };
        let r = evaluate(&lib.network, m.mode, &lib.targets, &opts);
        if !r.in_distribution_nmse.is_finite() || r.chaining_nmse.is_some_and(|c| !c.is_finite()) {
            return Err(format!(
                "evaluation gives NMSE {} / {:?}",
                r.in_distribution_nmse, r.chaining_nmse
            ));
        }
    }
    Ok(())
}

/// Runs `case` for each mutation under `catch_unwind`; a panic or an
/// `Err(why)` (something accepted that should not be) is a failure.
fn run_cases(
    what: &str,
    base: &[u8],
    count: usize,
    seed: u64,
    mut case: impl FnMut(&[u8]) -> Result<(), String>,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut failures = Vec::new();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for i in 0..count {
        let input = mutate(base, &mut rng);
        let outcome = catch_unwind(AssertUnwindSafe(|| case(&input)));
        let why = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(why)) => why,
            Err(p) => format!(
                "panicked: {}",
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            ),
        };
        let shown = String::from_utf8_lossy(&input);
        failures.push(format!(
            "{what} case {i}: {why}\n--- input (first 600 bytes) ---\n{}",
            &shown.chars().take(600).collect::<String>()
        ));
    }
    std::panic::set_hook(hook);
    assert!(
        failures.is_empty(),
        "{} of {count} {what} cases failed; first:\n{}",
        failures.len(),
        failures[..failures.len().min(3)].join("\n\n")
    );
}

fn with_checksum(manifest: &str, weights: &[u8]) -> String {
    format!("{manifest}weights_sha256: {}\n", sha256_hex(weights))
}

#[test]
fn fuzz_manifests() {
    let mpath = Path::new("lib/manifest.yaml");
    let wpath = Path::new("lib/weights.safetensors");
    let read = |dir: &Path| {
        (
            std::fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap(),
            std::fs::read(dir.join(WEIGHTS_FILE)).unwrap(),
        )
    };
    let (text, weights) = read(&fixture());
    let (default_text, default_weights) =
        read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default"));
    let bases: [(&str, String, &[u8], usize, bool); 3] = [
        ("v1 manifest", text.clone(), &weights, 1200, true),
        (
            "v1 manifest with checksum",
            with_checksum(&text, &weights),
            &weights,
            600,
            true,
        ),
        (
            "default manifest",
            default_text,
            &default_weights,
            300,
            false,
        ),
    ];
    for (seed, (what, base, w, count, eval)) in bases.into_iter().enumerate() {
        run_cases(what, base.as_bytes(), count, 100 + seed as u64, |input| {
            let Ok(text) = std::str::from_utf8(input) else {
                return Ok(());
            };
            match parse_manifest(text, mpath).and_then(|m| Library::from_parts(m, w, wpath)) {
                Ok(lib) => check_accepted(&lib, eval),
                Err(e) => {
                    let msg = e.to_string();
                    if msg.contains("manifest.yaml") || msg.contains("weights.safetensors") {
                        Ok(())
                    } else {
                        Err(format!("error names no file: {msg}"))
                    }
                }
            }
        });
    }
}

#[test]
fn fuzz_weights() {
    let text = std::fs::read_to_string(fixture().join(MANIFEST_FILE)).unwrap();
    let weights = std::fs::read(fixture().join(WEIGHTS_FILE)).unwrap();
    let wpath = Path::new("lib/weights.safetensors");
    let plain = parse_manifest(&text, Path::new("m")).unwrap();
    let checked = parse_manifest(&with_checksum(&text, &weights), Path::new("m")).unwrap();
    // Without a checksum, whatever parses must still be valid.
    run_cases(
        "weights",
        &weights,
        800,
        200,
        |input| match Library::from_parts(plain.clone(), input, wpath) {
            Ok(lib) => check_accepted(&lib, true),
            Err(e) if e.to_string().contains("weights.safetensors") => Ok(()),
            Err(e) => Err(format!("error names no file: {e}")),
        },
    );
    // With one, no changed byte gets through.
    run_cases(
        "checksummed weights",
        &weights,
        400,
        201,
        |input| match Library::from_parts(checked.clone(), input, wpath) {
            Ok(_) if input != weights => Err("a changed weights file loaded".into()),
            _ => Ok(()),
        },
    );
}

#[test]
fn fuzz_demos() {
    let d7 = {
        let mut s = String::from("time,j1,j2,j3,j4,j5,j6,j7\n");
        for i in 0..80 {
            s += &format!("{}", i as f64 * 0.004);
            for j in 0..7 {
                s += &format!(",{}", ((i * (j + 1)) as f32 * 0.01).sin());
            }
            s += "\n";
        }
        s
    };
    for (seed, base) in [demo_csv(120, 0.002), d7].iter().enumerate() {
        run_cases("demo", base.as_bytes(), 800, 300 + seed as u64, |input| {
            let Ok(text) = std::str::from_utf8(input) else {
                return Ok(());
            };
            let demo = match Demo::parse(text, "d.csv") {
                Ok(d) => d,
                Err(e) if e.to_string().contains("d.csv") => return Ok(()),
                Err(e) => return Err(format!("error names no file: {e}")),
            };
            if demo.data.iter().any(|v| !v.is_finite())
                || !(demo.dt >= MIN_DEMO_DT && demo.duration() <= MAX_DEMO_SECONDS)
                || demo.dim() > MAX_OUTPUTS
                || demo.len() > MAX_DEMO_ROWS
            {
                return Err(format!(
                    "accepted a demo beyond the limits (dt {})",
                    demo.dt
                ));
            }
            let names = demo.names.clone();
            let scaling = OutputScaling::identity(names.len());
            if let Ok(t) = dataset::target(&demo, "d.csv", &names, &scaling, 0.002) {
                if t.iter().any(|v| !v.is_finite()) || t.nrows() > MAX_MOTIF_STEPS {
                    return Err("a non-finite or overlong target".into());
                }
                if let Ok(s) = dataset::fit_scaling(&[t]) {
                    if s.offset.iter().chain(&s.scale).any(|v| !v.is_finite()) {
                        return Err("a non-finite scaling".into());
                    }
                }
            }
            Ok(())
        });
    }
}

#[test]
fn fuzz_training_configs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("two.csv"), demo_csv(100, 0.002)).unwrap();
    let path = dir.path().join("train.yaml");
    run_cases("training config", CONFIG.as_bytes(), 700, 400, |input| {
        std::fs::write(&path, input).unwrap();
        let cfg = match TrainConfig::load(&path) {
            Ok(c) => c,
            Err(e) if e.to_string().contains("train.yaml") => return Ok(()),
            Err(e) => return Err(format!("error names no file: {e}")),
        };
        let n = &cfg.network;
        let alpha = n.dt / n.tau;
        if n.n > MAX_N
            || !(1e-3..=1.0).contains(&alpha)
            || cfg.prep_steps() > MAX_PREP_STEPS
            || !n.gain.is_finite()
            || cfg.training.check("training").is_err()
            || cfg.mode.check("mode").is_err()
        {
            return Err("accepted values beyond the limits".into());
        }
        let mut cheap = true;
        for m in &cfg.motifs {
            validate_motif_name(&m.name).map_err(|e| e.to_string())?;
            if let Some(Generator::Smooth2d { steps, .. } | Generator::Steps2d { steps, .. }) =
                &m.generate
            {
                let steps = steps.unwrap_or((90.0 * n.tau / n.dt) as usize);
                if steps > MAX_MOTIF_STEPS {
                    return Err(format!("generator steps {steps}"));
                }
                cheap &= steps <= 2000;
            }
        }
        if cheap {
            if let Ok(demos) = cfg.demos(&path) {
                if demos
                    .iter()
                    .any(|(_, d)| d.data.iter().any(|v| !v.is_finite()))
                {
                    return Err("a non-finite demonstration".into());
                }
            }
        }
        Ok(())
    });
}

/// A save that fails leaves the library it would replace byte-identical and
/// no staging directory behind.
#[test]
fn fuzz_failed_saves_overwrite_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("lib");
    let good = Library::load(&fixture()).unwrap();
    good.save(&target).unwrap();
    let snapshot = || {
        (
            std::fs::read(target.join(MANIFEST_FILE)).unwrap(),
            std::fs::read(target.join(WEIGHTS_FILE)).unwrap(),
            std::fs::read_dir(dir.path()).unwrap().count(),
        )
    };
    let before = snapshot();
    let mut rng = StdRng::seed_from_u64(500);
    let bad_values = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
    for i in 0..200 {
        let mut lib = good.clone();
        let v = bad_values[rng.random_range(0..bad_values.len())];
        match rng.random_range(0..8) {
            0 => lib.network.shared.j[[rng.random_range(0..8), rng.random_range(0..8)]] = v,
            1 => lib.network.shared.w[[rng.random_range(0..2), rng.random_range(0..8)]] = v,
            2 => lib.network.motifs[i % 2].x_init[rng.random_range(0..8)] = v,
            3 => match &mut lib.network.motifs[i % 2].drive {
                Drive::Loop { u, .. } => u[[rng.random_range(0..8), 1]] = v,
                Drive::Input { b } => b[0] = v,
            },
            4 => lib.targets[i % 2][[rng.random_range(0..59), 1]] = v,
            5 => {
                let steps = [100_001, 1 << 40, usize::MAX][i % 3];
                lib.manifest.preparation.steps = steps;
                lib.network.prep.steps = steps;
            }
            6 => {
                let name = ["stop", "a b", "", "x,y", "nb\u{a0}sp"][i % 5];
                lib.manifest.motifs[0].name = name.into();
                lib.network.motifs[0].name = name.into();
            }
            _ => {
                lib.manifest.tau = v;
                lib.network.tau = v;
            }
        }
        let result = catch_unwind(AssertUnwindSafe(|| lib.save(&target)));
        assert!(
            matches!(result, Ok(Err(_))),
            "case {i}: {:?}",
            result.map(|r| r.map_err(|e| e.to_string()))
        );
        assert!(snapshot() == before, "case {i} changed the library on disk");
    }
}
