//! The paper's claim at test size (docs/results.md has the full study): on the
//! same demonstrations and seed, thalamocortical training chains zero-shot
//! without losing in-distribution accuracy against the random-start baseline.
//! Plus the `motif_train eval` CLI on broken and one-motif libraries.

use std::path::{Path, PathBuf};
use std::process::Command;

use motif::library::Library;
use motif::train::config::TrainConfig;
use motif::train::eval::{evaluate, EvalOptions, EvalReport};
use motif::train::fit::{self, train_library};

const INPUT: &str = "{ kind: input }";
const LOOP: &str = "{ kind: loop, rank: 4 }";

/// K = 3 smooth 2-D motifs of 50 τ at α = 0.2, N = 64: a few seconds per library.
fn config(mode: &str, prep: &str, n: usize, motifs: usize, steps: usize) -> String {
    config_with(INPUT, mode, prep, n, motifs, steps)
}

/// [`config`] with the network design (`variant`) given.
fn config_with(
    variant: &str,
    mode: &str,
    prep: &str,
    n: usize,
    motifs: usize,
    steps: usize,
) -> String {
    let mut s = format!(
        "network: {{ n: {n}, variant: {variant}, tau: 0.01, dt: 0.002 }}\n\
         mode: {mode}\n\
         preparation: {{ kind: {prep}, tau_multiple: 8 }}\n\
         training: {{ steps: {steps}, batch: 8, lr: 0.003, lr_final: 0.0002, clip: 1.0, seed: 1 }}\n\
         motifs:\n"
    );
    for i in 1..=motifs {
        s += &format!(
            "  - {{ name: m{i}, generate: {{ family: smooth2d, seed: {i}, steps: 250 }} }}\n"
        );
    }
    s
}

fn train_and_eval(dir: &Path, name: &str, yaml: &str) -> (Library, EvalReport) {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, yaml).unwrap();
    let cfg = TrainConfig::load(&path).unwrap();
    let lib = train_library(&cfg, &path, &mut |_, _| {}, None).unwrap();
    let report = evaluate(&lib.network, lib.manifest.mode, &lib.targets, &opts());
    eprintln!(
        "{name}: in-dist {:.3e}, chaining {:?}, ratio {:?}, from mid-motif {:.2}, {:.1} s training",
        report.in_distribution_nmse,
        report.chaining_nmse,
        report.chaining_ratio,
        mid_ratio(&report),
        lib.manifest.training.seconds
    );
    (lib, report)
}

fn mid_ratio(r: &EvalReport) -> f32 {
    r.preemption.as_ref().expect("two or more motifs").ratio
}

fn opts() -> EvalOptions {
    EvalOptions {
        sequences: 10,
        ..EvalOptions::default()
    }
}

#[test]
fn thalamocortical_chains_without_accuracy_cost() {
    let dir = tempfile::tempdir().unwrap();
    let steps = 400;
    let (_, base) = train_and_eval(
        dir.path(),
        "baseline",
        &config("{ kind: baseline, sigma0: 0.1 }", "leak", 64, 3, steps),
    );
    let (tc_lib, tc) = train_and_eval(
        dir.path(),
        "thalamocortical",
        &config(
            "{ kind: thalamocortical, xi_sigma: 1.0, chain_fraction: 0.0 }",
            "leak",
            64,
            3,
            steps,
        ),
    );
    let ratio = tc.chaining_ratio.unwrap();
    assert!(ratio <= 1.5, "thalamocortical chaining ratio {ratio} > 1.5");
    // Preempted mid-motif (the node's case), the same holds, and the baseline
    // fails there too.
    let (tc_mid, base_mid) = (mid_ratio(&tc), mid_ratio(&base));
    assert!(
        tc_mid <= 1.5,
        "thalamocortical ratio from mid-motif {tc_mid}"
    );
    assert!(base_mid >= 3.0, "baseline ratio from mid-motif {base_mid}");
    let needed = tc
        .preemption
        .as_ref()
        .unwrap()
        .prep_needed
        .as_ref()
        .unwrap();
    assert!(
        needed.from_mid_tau.is_some_and(|t| t <= 8.0)
            && needed.from_ends_tau.is_some_and(|t| t <= 8.0),
        "{needed:?}"
    );
    assert!(base.preemption.as_ref().unwrap().prep_needed.is_none());
    assert!(
        tc.in_distribution_nmse <= 1.2 * base.in_distribution_nmse,
        "thalamocortical in-distribution NMSE {} is more than 20% worse than the baseline's {}",
        tc.in_distribution_nmse,
        base.in_distribution_nmse
    );
    // The preparation is what chains: the same network started straight from
    // the previous motif's end state chains like the baseline.
    let unprepared = evaluate(
        &tc_lib.network,
        tc_lib.manifest.mode,
        &tc_lib.targets,
        &EvalOptions {
            chain_prep_steps: Some(0),
            ..opts()
        },
    );
    let r0 = unprepared.chaining_ratio.unwrap();
    eprintln!("thalamocortical without preparation: chaining ratio {r0:.2}");
    assert_eq!(unprepared.chain_prep_tau, Some(0.0));
    assert_eq!(unprepared.in_distribution_nmse, tc.in_distribution_nmse);
    assert!(
        r0 > 3.0 * ratio,
        "chaining ratio without preparation {r0} vs {ratio} with it"
    );
}

/// The loop design (a per-motif low-rank loop `U_m V_m` in J instead of an
/// input `b_m`). Its baseline has nothing to fit with: the loop term is
/// linear in the state and no input breaks the symmetry, so from random
/// starts each motif's output depends on the start's direction, and the
/// best the training can do is predict the mean (NMSE ≈ 1, in distribution
/// and chained alike: no drop, because there is nothing to drop from). The
/// thalamocortical loop network, started at its learned `x*_m`, fits and
/// chains. docs/results.md reports the same at full size.
#[test]
fn loop_design_baseline_cannot_fit_and_thalamocortical_chains() {
    let dir = tempfile::tempdir().unwrap();
    let steps = 400;
    let (_, base) = train_and_eval(
        dir.path(),
        "loop_baseline",
        &config_with(
            LOOP,
            "{ kind: baseline, sigma0: 0.1 }",
            "leak",
            64,
            3,
            steps,
        ),
    );
    let (_, tc) = train_and_eval(
        dir.path(),
        "loop_thalamocortical",
        &config_with(
            LOOP,
            "{ kind: thalamocortical, xi_sigma: 1.0, chain_fraction: 0.0 }",
            "leak",
            64,
            3,
            steps,
        ),
    );
    assert!(
        base.in_distribution_nmse >= 0.5,
        "the loop baseline fits in distribution ({}): the explanation above is wrong",
        base.in_distribution_nmse
    );
    let t = tc.chaining_ratio.unwrap();
    assert!(t <= 1.1, "loop thalamocortical chaining ratio {t} > 1.1");
    assert!(mid_ratio(&tc) <= 1.1, "from mid-motif {}", mid_ratio(&tc));
    assert!(
        tc.in_distribution_nmse <= 0.1 * base.in_distribution_nmse,
        "{} vs {}",
        tc.in_distribution_nmse,
        base.in_distribution_nmse
    );
}

/// Continual learning and chaining together: a motif added to a trained
/// library chains with the earlier ones, both ways, at the same ratio.
#[test]
fn added_motif_chains_with_the_earlier_ones() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.yaml");
    std::fs::write(
        &full,
        config(
            "{ kind: thalamocortical, xi_sigma: 1.0, chain_fraction: 0.0 }",
            "leak",
            64,
            3,
            400,
        ),
    )
    .unwrap();
    let cfg = TrainConfig::load(&full).unwrap();
    let demos = cfg.demos(&full).unwrap();
    let mut first_two = cfg.clone();
    first_two.motifs.truncate(2);
    let mut lib = train_library(&first_two, &full, &mut |_, _| {}, None).unwrap();
    let shared = lib.network.shared.clone();
    let add = fit::AddOptions::for_library(&lib);
    fit::add_motif(
        &mut lib,
        "m3",
        &demos[2].1,
        &demos[2].0,
        add,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(
        lib.network.shared, shared,
        "adding a motif changed the shared weights"
    );
    let r = evaluate(&lib.network, lib.manifest.mode, &lib.targets, &opts());
    let ratio = r.chaining_ratio.unwrap();
    let added = &r.per_motif[2];
    let into = added.chaining_nmse.unwrap() / added.in_distribution_nmse;
    eprintln!(
        "added m3: in-dist {:.3e}, chained into it {:.3e} (×{into:.2}); library ratio {ratio:.2}, from mid-motif {:.2}",
        added.in_distribution_nmse,
        added.chaining_nmse.unwrap(),
        mid_ratio(&r)
    );
    assert!(
        ratio <= 1.1,
        "library chaining ratio {ratio} with the added motif"
    );
    assert!(into <= 1.1, "chaining into the added motif costs ×{into}");
    // Out of it: the earlier motifs after m3 are no worse than their own in-distribution.
    for m in &r.per_motif[..2] {
        let q = m.chaining_nmse.unwrap() / m.in_distribution_nmse;
        assert!(q <= 1.1, "{} chained ×{q}", m.name);
    }
}

fn motif_train(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_motif_train"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// A tiny library through the CLI: N = 16, a few training steps.
fn tiny_library(dir: &Path, name: &str, mode: &str, motifs: usize) -> std::path::PathBuf {
    let cfg = dir.join(format!("{name}.yaml"));
    std::fs::write(&cfg, config(mode, "leak", 16, motifs, 5)).unwrap();
    let out = dir.join(name);
    let o = motif_train(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

#[test]
fn eval_missing_library_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    let o = motif_train(&["eval", "--library", missing.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("manifest.yaml") && err.contains("nowhere"),
        "{err}"
    );
    // The cause is said once, not repeated by the error chain.
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
}

#[test]
fn eval_inconsistent_library_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let lib = tiny_library(dir.path(), "lib", "{ kind: baseline, sigma0: 0.5 }", 2);
    // The manifest claims a size the weights do not have.
    let manifest = lib.join("manifest.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("n: 16"), "{text}");
    std::fs::write(&manifest, text.replace("n: 16", "n: 17")).unwrap();
    let o = motif_train(&["eval", "--library", lib.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("evaluating") && err.contains("weights.safetensors"),
        "{err}"
    );

    std::fs::remove_file(lib.join("weights.safetensors")).unwrap();
    let o = motif_train(&["eval", "--library", lib.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("weights.safetensors"), "{err}");
}

#[test]
fn eval_one_motif_library_reports_in_distribution_only() {
    let dir = tempfile::tempdir().unwrap();
    let lib = tiny_library(dir.path(), "one", "{ kind: baseline, sigma0: 0.5 }", 1);
    let plots = dir.path().join("plots");
    let o = motif_train(&[
        "eval",
        "--library",
        lib.to_str().unwrap(),
        "--json",
        "--plots",
        plots.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["in_distribution_nmse"].as_f64().unwrap().is_finite());
    assert!(
        v["chaining_nmse"].is_null() && v["chaining_ratio"].is_null() && v["worst_pair"].is_null()
    );
    assert!(v["note"].as_str().unwrap().contains("at least two"), "{v}");
    assert_eq!(v["per_motif"].as_array().unwrap().len(), 1);
    assert!(plots.join("chained.png").exists());

    let o = motif_train(&["eval", "--library", lib.to_str().unwrap()]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("at least two"));
}

#[test]
fn eval_json_and_plots_for_a_thalamocortical_library() {
    let dir = tempfile::tempdir().unwrap();
    let lib = tiny_library(
        dir.path(),
        "tc",
        "{ kind: thalamocortical, xi_sigma: 1.0, chain_fraction: 0.0 }",
        3,
    );
    let plots = dir.path().join("plots");
    let o = motif_train(&[
        "eval",
        "--library",
        lib.to_str().unwrap(),
        "--json",
        "--sequences",
        "50",
        "--plots",
        plots.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in ["in_distribution_nmse", "chaining_nmse", "chaining_ratio"] {
        assert!(v[key].as_f64().unwrap().is_finite(), "{key}: {v}");
    }
    assert!(v["worst_pair"]["from"].is_string());
    assert_eq!(v["network_variant"], "input");
    assert_eq!(v["seed"], 1);
    // 3 mid-motif starts for each of the 6 ordered pairs, and the preparation each needs.
    assert_eq!(v["preemption"]["segments"], 18, "{v}");
    assert!(v["preemption"]["ratio"].as_f64().unwrap().is_finite());
    assert!(
        v["preemption"]["prep_needed"].get("from_mid_tau").is_some(),
        "{v}"
    );
    // All 6 ordered pairs plus 50 sequences of 10 (9 chained segments each).
    assert_eq!(v["chained_segments"].as_u64().unwrap(), 6 + 50 * 9);
    assert_eq!(v["per_motif"].as_array().unwrap().len(), 3);
    for png in ["chained.png", "prep_transient.png"] {
        let bytes = std::fs::read(plots.join(png)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{png}");
    }
}

#[test]
fn report_tables_and_prep_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let base = tiny_library(dir.path(), "b", "{ kind: baseline, sigma0: 0.1 }", 2);
    let tc = tiny_library(
        dir.path(),
        "t",
        "{ kind: thalamocortical, xi_sigma: 1.0, chain_fraction: 0.0 }",
        2,
    );
    let runs = dir.path().join("runs");
    std::fs::create_dir_all(runs.join("prep_sweep")).unwrap();
    let eval_to = |lib: &Path, out: PathBuf, extra: &[&str]| {
        let mut args = vec!["eval", "--library", lib.to_str().unwrap(), "--json"];
        args.extend(extra);
        let o = motif_train(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::write(out, o.stdout).unwrap();
    };
    eval_to(&base, runs.join("smooth_n16_base0.1.eval.json"), &[]);
    eval_to(&tc, runs.join("smooth_n16_tc-leak.eval.json"), &[]);
    for t in ["0", "4"] {
        let out = runs.join(format!("prep_sweep/smooth_n16_tc-leak_prep{t}.eval.json"));
        eval_to(&tc, out, &["--prep-tau", t]);
    }
    let json = dir.path().join("results.json");
    let png = dir.path().join("sweep.png");
    let size_png = dir.path().join("size.png");
    // The shape tests/published_stream.rs writes (figures made up here).
    let published = dir.path().join("published.json");
    let span = r#"{ "in_distribution": { "raw": 4.0e-6, "published": 5.0e-6 },
                    "chained_pairs": { "raw": 2.0e-6, "published": 2.0e-6 } }"#;
    std::fs::write(
        &published,
        format!(r#"{{ "whole motifs": {span}, "after the first 0.1 s": {span} }}"#),
    )
    .unwrap();
    let report = |runs: &Path| {
        motif_train(&[
            "report",
            "--runs",
            runs.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--sweep-plot",
            png.to_str().unwrap(),
            "--size-plot",
            size_png.to_str().unwrap(),
            "--published",
            published.to_str().unwrap(),
        ])
    };
    let o = report(&runs);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("| smooth | 16 | input | base0.1 |"),
        "{table}"
    );
    assert!(
        table.contains("| smooth | 16 | input | tc-leak | "),
        "{table}"
    );
    assert!(
        table.contains("input design, paper-protocol cells") && table.contains("over 2 libraries"),
        "{table}"
    );
    assert!(
        table.contains("| ratio from motif ends | mid-motif NMSE |"),
        "{table}"
    );
    assert!(
        table.contains("| in distribution | whole motifs | 4.00e-6 | 5.00e-6 | 1.25 |"),
        "{table}"
    );
    assert!(
        table.contains("| family | N | design | mode | 0 τ | 4 τ |"),
        "{table}"
    );
    for p in [&png, &size_png] {
        assert!(std::fs::read(p).unwrap().starts_with(b"\x89PNG"));
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["runs"].as_array().unwrap().len(), 2);
    assert_eq!(v["runs"][0]["network_variant"], "input");
    assert_eq!(v["runs"][0]["seed"], 1);
    let pre = v["preemption"].as_array().unwrap();
    assert_eq!(pre.len(), 2);
    assert!(pre.iter().all(|p| p["ratio"].as_f64().unwrap().is_finite()));
    let t = v["prep_sweep"][1]["chain_prep_tau"].as_f64().unwrap();
    assert!((t - 4.0).abs() < 1e-5, "{t}");

    // A baseline has no preparation to change; a stray file name is named.
    let o = motif_train(&[
        "eval",
        "--library",
        base.to_str().unwrap(),
        "--prep-tau",
        "4",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("thalamocortical"));
    // A file whose name says another design than its library is refused.
    let renamed = runs.join("smooth_n16_tc-leak_loop.eval.json");
    std::fs::copy(runs.join("smooth_n16_tc-leak.eval.json"), &renamed).unwrap();
    let o = report(&runs);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("disagrees with the file name"), "{err}");
    std::fs::remove_file(renamed).unwrap();
    std::fs::write(runs.join("stray.eval.json"), "{}").unwrap();
    let o = report(&runs);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("stray.eval.json") && err.contains("<family>_n<N>"),
        "{err}"
    );
}
