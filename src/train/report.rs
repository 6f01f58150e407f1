//! The reproduction report (`motif_train report`, `scripts/reproduce.sh`):
//! the runs' `motif_train eval --json` files, named
//! `<family>_n<N>_<mode>[_loop][_s<seed>][_add][_prep<T>].eval.json`
//! (scripts/repro_configs.sh), become one results JSON and the markdown
//! tables of `docs/results.md`, with the verdict per family, size, network
//! design and seed checked from the numbers.

use std::path::{Path, PathBuf};

use thiserror::Error;

use super::eval::{PREP_SWEEP_TAU, RATIO_TARGET};
use crate::plots::{self, PlotError};

/// One line of the tables.
macro_rules! emit {
    ($out:expr, $($arg:tt)*) => {{
        $out.push_str(&format!($($arg)*));
        $out.push('\n');
    }};
}

#[derive(Debug, Error)]
pub enum ReportError {
    #[error("reading {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing {}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: expected <family>_n<N>_<mode>[_loop][_s<seed>][_add][_prep<T>].eval.json", .0.display())]
    Name(PathBuf),
    #[error("{}: the library's network variant, seed or size disagrees with the file name", .0.display())]
    Mismatch(PathBuf),
    #[error("no *.eval.json files in {}", .0.display())]
    Empty(PathBuf),
    #[error("prep sweep {0}: no chain_prep_tau or chaining_ratio")]
    Sweep(String),
    #[error("writing the sweep plot")]
    Plot(#[from] PlotError),
}

/// One row of the results table, parsed from a run's file name and eval JSON.
struct Row {
    family: String,
    n: usize,
    /// `base0.1`, `tc-leak`, …
    mode: String,
    /// `input` or `loop`.
    design: String,
    seed: u64,
    /// The continual-learning row: the last motif added to a trained library.
    added: bool,
    value: serde_json::Value,
}

impl Row {
    fn num(&self, key: &str) -> Option<f64> {
        self.value.get(key).and_then(|v| v.as_f64())
    }

    fn nested(&self, path: &[&str]) -> Option<&serde_json::Value> {
        path.iter().try_fold(&self.value, |v, k| v.get(k))
    }

    fn nested_num(&self, path: &[&str]) -> Option<f64> {
        self.nested(path).and_then(|v| v.as_f64())
    }

    /// The cell a row belongs to, seed and mode aside.
    fn cell(&self) -> (&str, usize, &str) {
        (&self.family, self.n, &self.design)
    }

    fn name(&self) -> String {
        let mut s = format!("{}_n{}_{}", self.family, self.n, self.mode);
        if self.design == "loop" {
            s += "_loop";
        }
        if self.seed != 1 {
            s += &format!("_s{}", self.seed);
        }
        if self.added {
            s += "_add";
        }
        s
    }
}

const FAMILIES: [&str; 3] = ["smooth", "steps", "arm"];
/// The paper's protocol; other modes (e.g. `tc-opt-chain0.5`) are product options.
const MODES: [&str; 4] = ["base0.1", "base1.0", "tc-leak", "tc-opt"];
const DESIGNS: [&str; 2] = ["input", "loop"];
/// A baseline "drops" under chaining when its ratio is at least this.
const BASELINE_DROP: f64 = 3.0;

/// `<family>_n<N>_<mode>[_loop][_s<seed>][_add]` (scripts/repro_configs.sh).
fn parse_run_name(stem: &str) -> Option<(String, usize, String, String, u64, bool)> {
    let mut parts = stem.split('_');
    let family = parts.next()?.to_string();
    let n = parts.next()?.strip_prefix('n')?.parse().ok()?;
    let mode = parts.next()?.to_string();
    let (mut design, mut seed, mut added) = ("input".to_string(), 1, false);
    for token in parts {
        match token {
            "loop" => design = "loop".into(),
            "add" => added = true,
            _ => seed = token.strip_prefix('s')?.parse().ok()?,
        }
    }
    Some((family, n, mode, design, seed, added))
}

fn order(list: &[&str], s: &str) -> usize {
    list.iter().position(|x| *x == s).unwrap_or(list.len())
}

/// The `*.eval.json` files of a directory, parsed, in table order.
fn read_rows(dir: &Path) -> Result<Vec<Row>, ReportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Io { path, source }
    };
    let mut rows = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        let Some(stem) = path
            .file_name()
            .and_then(|f| f.to_str())
            .and_then(|f| f.strip_suffix(".eval.json"))
        else {
            continue;
        };
        let run = stem.rsplit_once("_prep").map_or(stem, |s| s.0);
        let (family, n, mode, design, seed, added) =
            parse_run_name(run).ok_or_else(|| ReportError::Name(path.clone()))?;
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| ReportError::Json {
                path: path.clone(),
                source,
            })?;
        // The name is what the tables go by; the library must agree with it.
        let disagrees =
            |key: &str, expected: serde_json::Value| value.get(key).is_some_and(|v| *v != expected);
        if disagrees("network_variant", design.clone().into())
            || disagrees("seed", seed.into())
            || disagrees("n", n.into())
        {
            return Err(ReportError::Mismatch(path));
        }
        let row = Row {
            family,
            n,
            mode,
            design,
            seed,
            added,
            value,
        };
        rows.push((stem.to_string(), row));
    }
    // File-name order first (read_dir's is arbitrary), then the stable table order.
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rows: Vec<Row> = rows.into_iter().map(|(_, row)| row).collect();
    rows.sort_by_key(|r| {
        (
            order(&FAMILIES, &r.family),
            r.n,
            order(&DESIGNS, &r.design),
            r.seed,
            r.added,
            order(&MODES, &r.mode),
        )
    });
    Ok(rows)
}

fn with_names(rows: &[Row]) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|r| {
            let mut v = r.value.clone();
            if let Some(o) = v.as_object_mut() {
                o.insert("family".into(), r.family.clone().into());
                o.insert("variant".into(), r.mode.clone().into());
                o.insert("network_variant".into(), r.design.clone().into());
                o.insert("seed".into(), r.seed.into());
                o.insert("continual".into(), r.added.into());
            }
            v
        })
        .collect()
}

/// The top-level `preemption` section: chaining from mid-motif states per run.
fn preemption_section(rows: &[Row]) -> Vec<serde_json::Value> {
    rows.iter()
        .filter_map(|r| {
            let p = r.value.get("preemption")?;
            Some(serde_json::json!({
                "family": r.family,
                "n": r.n,
                "network_variant": r.design,
                "variant": r.mode,
                "seed": r.seed,
                "continual": r.added,
                "nmse": p.get("nmse"),
                "ratio": p.get("ratio"),
                "end_ratio": r.value.get("chaining_ratio"),
                "prep_needed": p.get("prep_needed"),
            }))
        })
        .collect()
}

fn sci(v: Option<f64>) -> String {
    v.map_or("–".to_string(), |v| format!("{v:.2e}"))
}

fn fixed(v: Option<f64>, p: usize) -> String {
    v.map_or("–".to_string(), |v| format!("{v:.p$}"))
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "**no**"
    }
}

/// Where the report's pictures go.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportPlots<'a> {
    /// Chaining ratio against the preparation length at evaluation.
    pub sweep: Option<&'a Path>,
    /// Chaining ratio against N, per family, design and mode.
    pub size: Option<&'a Path>,
}

/// The default library's NMSE on what the node publishes against the raw
/// network's, as `tests/published_stream.rs` writes it.
fn published_table(out: &mut String, path: &Path) -> Result<(), ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|source| ReportError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    out.push('\n');
    emit!(out, "| default library (models/default) | scored over | raw network NMSE | published NMSE | published / raw |");
    emit!(out, "|---|---|---|---|---|");
    for span in ["whole motifs", "after the first 0.1 s"] {
        for (key, label) in [
            ("in_distribution", "in distribution"),
            ("chained_pairs", "chained pairs"),
        ] {
            let f = |k: &str| v.get(span)?.get(key)?.get(k)?.as_f64();
            emit!(
                out,
                "| {label} | {span} | {} | {} | {} |",
                sci(f("raw")),
                sci(f("published")),
                fixed(f("published").zip(f("raw")).map(|(p, r)| p / r), 2),
            );
        }
    }
    Ok(())
}

/// Reads the runs' `*.eval.json` files (and `prep_sweep/`), writes their
/// union with names to `json_out`, draws the plots, and returns the markdown
/// tables `docs/results.md` quotes (with the published-stream table when
/// `published` names the figures of `tests/published_stream.rs`).
pub fn report(
    runs: &Path,
    json_out: &Path,
    plots: ReportPlots,
    published: Option<&Path>,
) -> Result<String, ReportError> {
    let mut out = String::new();
    let rows = read_rows(runs)?;
    if rows.is_empty() {
        return Err(ReportError::Empty(runs.to_path_buf()));
    }
    let sweep_dir = runs.join("prep_sweep");
    let sweep = if sweep_dir.is_dir() {
        read_rows(&sweep_dir)?
    } else {
        Vec::new()
    };
    let doc = serde_json::json!({
        "regenerate": "scripts/reproduce.sh",
        "runs": with_names(&rows),
        "preemption": preemption_section(&rows),
        "prep_sweep": with_names(&sweep),
    });
    let text = serde_json::to_string_pretty(&doc).expect("a JSON value serialises") + "\n";
    std::fs::write(json_out, text).map_err(|source| ReportError::Io {
        path: json_out.to_path_buf(),
        source,
    })?;

    runs_table(&mut out, &rows);
    verdict_table(&mut out, &rows);
    seed_table(&mut out, &rows);
    preemption_table(&mut out, &rows);
    continual_table(&mut out, &rows);
    if let Some(path) = published {
        published_table(&mut out, path)?;
    }
    let train_s: f64 = rows.iter().filter_map(|r| r.num("train_seconds")).sum();
    out.push('\n');
    emit!(
        out,
        "Training wall clock: {train_s:.0} s over {} libraries.",
        rows.len()
    );
    if let Some(path) = plots.size {
        size_plot(path, &rows)?;
    }
    if !sweep.is_empty() {
        prep_sweep(&mut out, &sweep, plots.sweep)?;
    }
    Ok(out)
}

/// Every seed-1 run (the second seed is in the spread table).
fn runs_table(out: &mut String, rows: &[Row]) {
    emit!(out, "| family | N | design | mode | in-dist NMSE | chaining NMSE | ratio | worst pair (NMSE) | ‖end state‖ | ‖train start‖ | random start, end-state norm: NMSE | train s |");
    emit!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows.iter().filter(|r| r.seed == 1) {
        let worst =
            r.value
                .get("worst_pair")
                .filter(|w| !w.is_null())
                .map_or("–".to_string(), |w| {
                    format!(
                        "{}→{} ({:.2e})",
                        w["from"].as_str().unwrap_or("?"),
                        w["to"].as_str().unwrap_or("?"),
                        w["nmse"].as_f64().unwrap_or(f64::NAN)
                    )
                });
        let es = |k: &str| r.nested_num(&["end_states", k]);
        let mode = if r.added {
            format!("{} (last motif added)", r.mode)
        } else {
            r.mode.clone()
        };
        emit!(
            out,
            "| {} | {} | {} | {mode} | {} | {} | {} | {worst} | {} | {} | {} | {} |",
            r.family,
            r.n,
            r.design,
            sci(r.num("in_distribution_nmse")),
            sci(r.num("chaining_nmse")),
            fixed(r.num("chaining_ratio"), 2),
            fixed(es("end_norm"), 1),
            fixed(es("train_start_norm"), 1),
            sci(es("norm_matched_random_nmse")),
            fixed(r.num("train_seconds"), 0),
        );
    }
}

/// The reproduction targets, checked per family, size, design and seed.
fn verdict_table(out: &mut String, rows: &[Row]) {
    let target = f64::from(RATIO_TARGET);
    out.push('\n');
    emit!(out, "| family | N | design | seed | thalamocortical mode | ratio ≤ {RATIO_TARGET} | in-dist ≤ best baseline | best baseline in-dist | baseline ratios |");
    emit!(out, "|---|---|---|---|---|---|---|---|---|");
    // Per design: [cells, ratio ok, in-dist ok, baselines, baselines that drop].
    let mut counts = [[0usize; 5]; DESIGNS.len()];
    let protocol: Vec<&Row> = rows
        .iter()
        .filter(|r| !r.added && MODES.contains(&r.mode.as_str()))
        .collect();
    let mut groups: Vec<(&str, usize, &str, u64)> = protocol
        .iter()
        .map(|r| (r.family.as_str(), r.n, r.design.as_str(), r.seed))
        .collect();
    groups.dedup();
    for (family, n, design, seed) in groups {
        let group: Vec<&&Row> = protocol
            .iter()
            .filter(|r| r.cell() == (family, n, design) && r.seed == seed)
            .collect();
        let c = &mut counts[order(&DESIGNS, design).min(DESIGNS.len() - 1)];
        let baselines: Vec<&&&Row> = group
            .iter()
            .filter(|r| r.mode.starts_with("base"))
            .collect();
        let best = baselines
            .iter()
            .filter_map(|r| r.num("in_distribution_nmse"))
            .fold(f64::INFINITY, f64::min);
        for b in &baselines {
            c[3] += 1;
            c[4] += usize::from(b.num("chaining_ratio").is_some_and(|q| q >= BASELINE_DROP));
        }
        let ratios = baselines
            .iter()
            .map(|r| format!("{}: {}", r.mode, fixed(r.num("chaining_ratio"), 1)))
            .collect::<Vec<_>>()
            .join(", ");
        // Without a trained baseline in the cell (a partial run) there is
        // nothing to compare the in-distribution NMSE with.
        let best = best.is_finite().then_some(best);
        for tc in group.iter().filter(|r| r.mode.starts_with("tc")) {
            let ratio = tc.num("chaining_ratio").unwrap_or(f64::INFINITY);
            let id = tc.num("in_distribution_nmse").unwrap_or(f64::INFINITY);
            c[0] += 1;
            c[1] += usize::from(ratio <= target);
            let id_ok = best.map(|b| id <= b);
            c[2] += usize::from(id_ok == Some(true));
            emit!(
                out,
                "| {family} | {n} | {design} | {seed} | {} | {} ({ratio:.2}) | {} ({}) | {} | {ratios} |",
                tc.mode,
                yes(ratio <= target),
                id_ok.map_or("–", yes),
                sci(Some(id)),
                sci(best),
            );
        }
    }
    out.push('\n');
    for (design, c) in DESIGNS.iter().zip(counts) {
        if c[0] + c[3] == 0 {
            continue;
        }
        emit!(
            out,
            "- {design} design, paper-protocol cells (tc-leak, tc-opt; every size and seed): \
             ratio ≤ {RATIO_TARGET} in {} of {}, in-dist ≤ best baseline in {} of {}; \
             baseline chaining ratio ≥ {BASELINE_DROP} in {} of {}.",
            c[1],
            c[0],
            c[2],
            c[0],
            c[4],
            c[3]
        );
    }
}

/// The two training seeds side by side, and how far apart they are.
fn seed_table(out: &mut String, rows: &[Row]) {
    let pairs: Vec<(&Row, &Row)> = rows
        .iter()
        .filter(|r| r.seed == 1 && !r.added)
        .filter_map(|a| {
            let b = rows
                .iter()
                .find(|b| b.seed == 2 && !b.added && b.cell() == a.cell() && b.mode == a.mode)?;
            Some((a, b))
        })
        .collect();
    if pairs.is_empty() {
        return;
    }
    out.push('\n');
    emit!(out, "| family | N | design | mode | in-dist seed 1 | in-dist seed 2 | larger / smaller | ratio seed 1 | ratio seed 2 |");
    emit!(out, "|---|---|---|---|---|---|---|---|---|");
    let mut spreads = Vec::new();
    for (a, b) in &pairs {
        let (x, y) = (a.num("in_distribution_nmse"), b.num("in_distribution_nmse"));
        let spread = x.zip(y).map(|(x, y)| x.max(y) / x.min(y).max(1e-300));
        spreads.extend(spread);
        emit!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            a.family,
            a.n,
            a.design,
            a.mode,
            sci(x),
            sci(y),
            fixed(spread, 2),
            fixed(a.num("chaining_ratio"), 2),
            fixed(b.num("chaining_ratio"), 2),
        );
    }
    spreads.sort_by(f64::total_cmp);
    let median = spreads[spreads.len() / 2];
    let max = spreads[spreads.len() - 1];
    out.push('\n');
    emit!(
        out,
        "Seed spread of the in-distribution NMSE over {} cells: median ×{median:.2}, largest ×{max:.2}.",
        spreads.len()
    );
}

/// Chaining from mid-motif states (the node's preemption) beside chaining
/// from motif ends, and the preparation each needs.
fn preemption_table(out: &mut String, rows: &[Row]) {
    let longest = PREP_SWEEP_TAU[PREP_SWEEP_TAU.len() - 1];
    let with: Vec<&Row> = rows
        .iter()
        .filter(|r| r.seed == 1 && !r.added && r.value.get("preemption").is_some())
        .collect();
    if with.is_empty() {
        return;
    }
    out.push('\n');
    emit!(out, "| family | N | design | mode | ratio from motif ends | mid-motif NMSE | ratio from mid-motif | preparation for ≤ {RATIO_TARGET} from ends | from mid-motif |");
    emit!(out, "|---|---|---|---|---|---|---|---|---|");
    let tau = |r: &Row, k: &str| {
        r.nested(&["preemption", "prep_needed", k]).map(|v| {
            v.as_f64()
                .map_or(format!("not within {longest} τ"), |t| format!("{t} τ"))
        })
    };
    for r in with {
        emit!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.family,
            r.n,
            r.design,
            r.mode,
            fixed(r.num("chaining_ratio"), 2),
            sci(r.nested_num(&["preemption", "nmse"])),
            fixed(r.nested_num(&["preemption", "ratio"]), 2),
            tau(r, "from_ends_tau").unwrap_or("–".into()),
            tau(r, "from_mid_tau").unwrap_or("–".into()),
        );
    }
}

/// A motif added to a trained library against the same motif trained with
/// the others.
fn continual_table(out: &mut String, rows: &[Row]) {
    let added: Vec<&Row> = rows.iter().filter(|r| r.added).collect();
    if added.is_empty() {
        return;
    }
    out.push('\n');
    emit!(out, "| family | N | mode | library | in-dist NMSE | chaining ratio | ratio from mid-motif | last motif: in-dist | chained | chained / in-dist |");
    emit!(out, "|---|---|---|---|---|---|---|---|---|---|");
    for a in added {
        let joint = rows
            .iter()
            .find(|j| !j.added && j.cell() == a.cell() && j.seed == a.seed && j.mode == a.mode);
        for (label, r) in [("trained together", joint), ("last motif added", Some(a))] {
            let Some(r) = r else { continue };
            let last = r
                .value
                .get("per_motif")
                .and_then(|p| p.as_array())
                .and_then(|p| p.last());
            let last_num = |k: &str| last.and_then(|l| l.get(k)).and_then(|v| v.as_f64());
            let (id, ch) = (last_num("in_distribution_nmse"), last_num("chaining_nmse"));
            emit!(
                out,
                "| {} | {} | {} | {label} | {} | {} | {} | {} | {} | {} |",
                r.family,
                r.n,
                r.mode,
                sci(r.num("in_distribution_nmse")),
                fixed(r.num("chaining_ratio"), 2),
                fixed(r.nested_num(&["preemption", "ratio"]), 2),
                sci(id),
                sci(ch),
                fixed(id.zip(ch).map(|(i, c)| c / i), 2),
            );
        }
    }
}

/// Chaining ratio against N (seed 1), one line per family, design and mode.
fn size_plot(path: &Path, rows: &[Row]) -> Result<(), ReportError> {
    let mut series: Vec<(String, Vec<(f32, f32)>)> = Vec::new();
    for family in FAMILIES {
        for design in DESIGNS {
            for mode in ["base0.1", "base1.0", "tc-leak"] {
                let pts: Vec<(f32, f32)> = rows
                    .iter()
                    .filter(|r| {
                        r.seed == 1
                            && !r.added
                            && (r.family.as_str(), r.design.as_str()) == (family, design)
                            && r.mode == mode
                    })
                    .filter_map(|r| Some((r.n as f32, r.num("chaining_ratio")? as f32)))
                    .collect();
                if !pts.is_empty() {
                    series.push((format!("{family} {design} {mode}"), pts));
                }
            }
        }
    }
    if series.is_empty() {
        return Ok(());
    }
    plots::log_y_lines(
        path,
        "Chaining / in-distribution NMSE against network size",
        "seed 1; baselines (base σ0) and thalamocortical with the leak preparation; scripts/reproduce.sh",
        ("N (neurons)", "chaining ratio"),
        plots::XAxis::Log,
        &series,
    )?;
    tracing::info!(path = %path.display(), "plot written");
    Ok(())
}

/// The chaining ratio against the preparation length at evaluation (the
/// libraries were trained with their own length), as a table and a plot.
fn prep_sweep(out: &mut String, sweep: &[Row], plot: Option<&Path>) -> Result<(), ReportError> {
    let tau = |r: &Row| r.num("chain_prep_tau");
    let ratio = |r: &Row| r.num("chaining_ratio");
    let mut taus: Vec<f64> = sweep.iter().filter_map(tau).collect();
    taus.sort_by(f64::total_cmp);
    taus.dedup();
    // Rows come sorted by run, so each run's points are adjacent.
    let mut series: Vec<(&Row, Vec<(f32, f32)>)> = Vec::new();
    for r in sweep {
        let (Some(t), Some(q)) = (tau(r), ratio(r)) else {
            return Err(ReportError::Sweep(r.name()));
        };
        match series.last_mut() {
            Some((last, pts)) if last.name() == r.name() => pts.push((t as f32, q as f32)),
            _ => series.push((r, vec![(t as f32, q as f32)])),
        }
    }
    out.push('\n');
    let head: Vec<String> = taus.iter().map(|t| format!("{t:.0} τ")).collect();
    emit!(out, "| family | N | design | mode | {} |", head.join(" | "));
    emit!(out, "|---|---|---|---|{}", "---|".repeat(taus.len()));
    for (r, pts) in &mut series {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let cells: Vec<String> = taus
            .iter()
            .map(|t| {
                pts.iter()
                    .find(|p| (p.0 as f64 - t).abs() < 1e-3)
                    .map_or("–".into(), |p| format!("{:.2}", p.1))
            })
            .collect();
        emit!(
            out,
            "| {} | {} | {} | {} | {} |",
            r.family,
            r.n,
            r.design,
            r.mode,
            cells.join(" | ")
        );
    }
    if let Some(path) = plot {
        let mut trained: Vec<String> = sweep
            .iter()
            .filter_map(|r| {
                let steps = r.value.get("preparation")?.get("steps")?.as_f64()?;
                Some(steps * r.num("dt")? / r.num("tau")?)
            })
            .map(|t| format!("{t:.1}"))
            .collect();
        trained.sort();
        trained.dedup();
        let legend = format!(
            "the libraries were trained with {} τ of preparation; scripts/reproduce.sh",
            trained.join(", ")
        );
        plots::log_y_lines(
            path,
            "Chaining / in-distribution NMSE against the preparation length at evaluation",
            &legend,
            (
                "preparation before each chained motif (τ)",
                "chaining ratio",
            ),
            plots::XAxis::Linear,
            &series
                .into_iter()
                .map(|(r, pts)| {
                    (
                        format!("{} N = {} {} {}", r.family, r.n, r.design, r.mode),
                        pts,
                    )
                })
                .collect::<Vec<_>>(),
        )?;
        tracing::info!(path = %path.display(), "plot written");
    }
    Ok(())
}
