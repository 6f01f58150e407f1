//! The reproduction report (`motif_train report`, `scripts/reproduce.sh`):
//! the runs' `motif_train eval --json` files, named
//! `<family>_n<N>_<variant>[_prep<T>].eval.json`, become one results JSON and
//! the markdown tables of `docs/results.md`, with the verdict per family and
//! size checked from the numbers.

use std::path::{Path, PathBuf};

use thiserror::Error;

use super::plots::{self, PlotError};

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
    #[error("{}: expected <family>_n<N>_<variant>[_prep<T>].eval.json", .0.display())]
    Name(PathBuf),
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
    variant: String,
    value: serde_json::Value,
}

impl Row {
    fn num(&self, key: &str) -> Option<f64> {
        self.value.get(key).and_then(|v| v.as_f64())
    }
}

const FAMILIES: [&str; 3] = ["smooth", "steps", "arm"];
const VARIANTS: [&str; 4] = ["base0.1", "base1.0", "tc-leak", "tc-opt"];

fn parse_run_name(stem: &str) -> Option<(String, usize, String)> {
    let mut parts = stem.splitn(3, '_');
    let family = parts.next()?.to_string();
    let n = parts.next()?.strip_prefix('n')?.parse().ok()?;
    let variant = parts.next()?.to_string();
    Some((family, n, variant))
}

fn order(list: &[&str], s: &str) -> usize {
    list.iter().position(|x| *x == s).unwrap_or(list.len())
}

/// The `<family>_n<N>_<variant>[_prep<T>].eval.json` files of a directory,
/// parsed, in table order.
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
        let (family, n, variant) =
            parse_run_name(run).ok_or_else(|| ReportError::Name(path.clone()))?;
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let value = serde_json::from_str(&text).map_err(|source| ReportError::Json {
            path: path.clone(),
            source,
        })?;
        let row = Row {
            family,
            n,
            variant,
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
            order(&VARIANTS, &r.variant),
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
                o.insert("variant".into(), r.variant.clone().into());
            }
            v
        })
        .collect()
}

/// Reads the runs' `*.eval.json` files (and `prep_sweep/`), writes their
/// union with names to `json_out`, plots the sweep to `sweep_plot`, and
/// returns the markdown tables `docs/results.md` quotes.
pub fn report(
    runs: &Path,
    json_out: &Path,
    sweep_plot: Option<&Path>,
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
        "prep_sweep": with_names(&sweep),
    });
    let text = serde_json::to_string_pretty(&doc).expect("a JSON value serialises") + "\n";
    std::fs::write(json_out, text).map_err(|source| ReportError::Io {
        path: json_out.to_path_buf(),
        source,
    })?;

    let sci = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.2e}"));
    let fixed = |v: Option<f64>, p: usize| v.map_or("–".to_string(), |v| format!("{v:.p$}"));
    emit!(out, "| family | N | variant | in-dist NMSE | chaining NMSE | ratio | worst pair (NMSE) | ‖end state‖ | ‖train start‖ | random start, end-state norm: NMSE | train s |");
    emit!(out, "|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
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
        let es = |k: &str| {
            r.value
                .get("end_states")
                .and_then(|e| e.get(k))
                .and_then(|v| v.as_f64())
        };
        emit!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.family,
            r.n,
            r.variant,
            sci(r.num("in_distribution_nmse")),
            sci(r.num("chaining_nmse")),
            fixed(r.num("chaining_ratio"), 2),
            worst,
            fixed(es("end_norm"), 1),
            fixed(es("train_start_norm"), 1),
            sci(es("norm_matched_random_nmse")),
            fixed(r.num("train_seconds"), 0),
        );
    }
    // The reproduction targets, checked per family and size from the numbers above.
    out.push('\n');
    emit!(out, "| family | N | thalamocortical variant | ratio ≤ 1.1 | in-dist ≤ best baseline | best baseline in-dist | baseline ratios |");
    emit!(out, "|---|---|---|---|---|---|---|");
    let yes = |b: bool| if b { "yes" } else { "**no**" };
    // Counts over the paper's protocol only: `tc-leak` and `tc-opt`, not the
    // product options such as `tc-opt-chain0.5`.
    let (mut cells, mut ratio_ok, mut id_ok) = (0, 0, 0);
    for family in FAMILIES {
        let mut sizes: Vec<usize> = rows
            .iter()
            .filter(|r| r.family == family)
            .map(|r| r.n)
            .collect();
        sizes.dedup();
        for n in sizes {
            let group: Vec<&Row> = rows
                .iter()
                .filter(|r| r.family == family && r.n == n)
                .collect();
            let baselines: Vec<&&Row> = group
                .iter()
                .filter(|r| r.variant.starts_with("base"))
                .collect();
            let best = baselines
                .iter()
                .filter_map(|r| r.num("in_distribution_nmse"))
                .fold(f64::INFINITY, f64::min);
            let ratios = baselines
                .iter()
                .map(|r| format!("{}: {}", r.variant, fixed(r.num("chaining_ratio"), 1)))
                .collect::<Vec<_>>()
                .join(", ");
            for tc in group.iter().filter(|r| r.variant.starts_with("tc")) {
                let ratio = tc.num("chaining_ratio").unwrap_or(f64::INFINITY);
                let id = tc.num("in_distribution_nmse").unwrap_or(f64::INFINITY);
                if VARIANTS.contains(&tc.variant.as_str()) {
                    cells += 1;
                    ratio_ok += usize::from(ratio <= 1.1);
                    id_ok += usize::from(id <= best);
                }
                emit!(
                    out,
                    "| {family} | {n} | {} | {} ({ratio:.2}) | {} ({}) | {} | {ratios} |",
                    tc.variant,
                    yes(ratio <= 1.1),
                    yes(id <= best),
                    sci(Some(id)),
                    sci(Some(best)),
                );
            }
        }
    }
    let train_s: f64 = rows.iter().filter_map(|r| r.num("train_seconds")).sum();
    out.push('\n');
    emit!(
        out,
        "Paper-protocol cells (tc-leak, tc-opt): ratio ≤ 1.1 in {ratio_ok} of {cells}, \
         in-dist ≤ best baseline in {id_ok} of {cells}. Training wall clock: {train_s:.0} s \
         over {} libraries.",
        rows.len()
    );
    if !sweep.is_empty() {
        prep_sweep(&mut out, &sweep, sweep_plot)?;
    }
    Ok(out)
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
            return Err(ReportError::Sweep(format!(
                "{}_n{}_{}",
                r.family, r.n, r.variant
            )));
        };
        match series.last_mut() {
            Some((last, pts))
                if (&last.family, last.n, &last.variant) == (&r.family, r.n, &r.variant) =>
            {
                pts.push((t as f32, q as f32))
            }
            _ => series.push((r, vec![(t as f32, q as f32)])),
        }
    }
    out.push('\n');
    let head: Vec<String> = taus.iter().map(|t| format!("{t:.0} τ")).collect();
    emit!(out, "| family | N | variant | {} |", head.join(" | "));
    emit!(out, "|---|---|---|{}", "---|".repeat(taus.len()));
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
            "| {} | {} | {} | {} |",
            r.family,
            r.n,
            r.variant,
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
                .map(|(r, pts)| (format!("{} N = {} {}", r.family, r.n, r.variant), pts))
                .collect::<Vec<_>>(),
        )?;
        tracing::info!(path = %path.display(), "plot written");
    }
    Ok(())
}
