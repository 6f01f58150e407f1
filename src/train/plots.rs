//! PNG plots of evaluations: a chained sequence (target vs produced, with
//! motif boundaries and preparations marked) and the preparation transient.
//!
//! The font is compiled in and registered with plotters' `ab_glyph` backend,
//! so plotting needs no fontconfig or freetype on the machine (docs/architecture.md, "Traps").

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::eval::{ChainTrace, PrepTransient, SegmentKind};

/// DejaVu Sans (license in `assets/fonts/DejaVuSans-LICENSE.txt`).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The family name our text styles ask for; registered once per process.
const FAMILY: &str = "sans-serif";

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("{path}: {message}")]
    Draw { path: PathBuf, message: String },
    #[error("the embedded font could not be loaded")]
    Font,
    #[error("nothing to plot: {0}")]
    Empty(String),
}

fn register() -> Result<(), PlotError> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = register_font(FAMILY, FontStyle::Normal, FONT).map_err(|_| PlotError::Font);
    });
    result
}

fn draw_err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> PlotError + '_ {
    move |e| PlotError::Draw {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// A white canvas with a title and a grey legend line over the plotting area;
/// returns the whole canvas (to present) and the area below the header.
fn titled_canvas<'a>(
    path: &'a Path,
    size: (u32, u32),
    title: &str,
    legend: &str,
) -> Result<(Area<'a>, Area<'a>), PlotError> {
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let (header, body) = root.split_vertically(70);
    header
        .draw(&Text::new(
            title.to_string(),
            (20, 12),
            (FAMILY, 26).into_font(),
        ))
        .map_err(draw_err(path))?;
    header
        .draw(&Text::new(
            legend.to_string(),
            (20, 44),
            (FAMILY, 17).into_font().color(&RGBColor(80, 80, 80)),
        ))
        .map_err(draw_err(path))?;
    Ok((root, body))
}

/// Colours that stay distinguishable in print and for most colour-blind readers.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(0, 0, 0),
];

fn finite_range(values: impl Iterator<Item = f32>) -> (f32, f32) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (-1.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(1e-3);
    (lo - pad, hi + pad)
}

/// How a line plot's x axis is scaled (y is always logarithmic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XAxis {
    Log,
    Linear,
}

/// Curves on a log y axis, one colour per series, points marked: benchmark
/// figures against N (log x), ratios against a length (linear x).
pub fn log_y_lines(
    path: &Path,
    title: &str,
    legend: &str,
    axes: (&str, &str),
    x_axis: XAxis,
    series: &[(String, Vec<(f32, f32)>)],
) -> Result<(), PlotError> {
    register()?;
    let points = || series.iter().flat_map(|s| s.1.iter());
    if points().next().is_none() {
        return Err(PlotError::Empty("no points".into()));
    }
    let bounds = |v: Vec<f32>| {
        let lo = v.iter().copied().fold(f32::MAX, f32::min).max(1e-9);
        let hi = v.iter().copied().fold(f32::MIN, f32::max).max(lo * 1.01);
        lo..hi
    };
    let log_padded = |r: std::ops::Range<f32>| (r.start / 1.3)..(r.end * 1.3);
    let xs = bounds(points().map(|p| p.0).collect());
    let ys = log_padded(bounds(points().map(|p| p.1).collect())).log_scale();
    let (root, body) = titled_canvas(path, (1000, 720), title, legend)?;
    match x_axis {
        XAxis::Log => draw_lines(path, &body, log_padded(xs).log_scale(), ys, axes, series)?,
        XAxis::Linear => {
            let pad = (xs.end - xs.start) * 0.05;
            draw_lines(
                path,
                &body,
                (xs.start - pad)..(xs.end + pad),
                ys,
                axes,
                series,
            )?
        }
    }
    root.present().map_err(draw_err(path))?;
    Ok(())
}

fn draw_lines<X, Y>(
    path: &Path,
    body: &Area<'_>,
    xs: X,
    ys: Y,
    (x_desc, y_desc): (&str, &str),
    series: &[(String, Vec<(f32, f32)>)],
) -> Result<(), PlotError>
where
    X: AsRangedCoord<Value = f32>,
    X::CoordDescType: ValueFormatter<f32>,
    Y: AsRangedCoord<Value = f32>,
    Y::CoordDescType: ValueFormatter<f32>,
{
    let mut chart = ChartBuilder::on(body)
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(xs, ys)
        .map_err(draw_err(path))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 16))
        .draw()
        .map_err(draw_err(path))?;
    for (i, (name, pts)) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))
            .map_err(draw_err(path))?
            .label(name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(pts.iter().map(|p| Circle::new(*p, 4, colour.filled())))
            .map_err(draw_err(path))?;
    }
    chart
        .configure_series_labels()
        .position(legend_corner(series))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font((FAMILY, 16))
        .draw()
        .map_err(draw_err(path))?;
    Ok(())
}

/// The upper corner the curves leave free: rising curves leave the left one.
fn legend_corner(series: &[(String, Vec<(f32, f32)>)]) -> SeriesLabelPosition {
    let rising = series
        .iter()
        .filter(|s| s.1.len() >= 2)
        .map(|s| s.1[s.1.len() - 1].1.ln() - s.1[0].1.ln())
        .sum::<f32>()
        >= 0.0;
    if rising {
        SeriesLabelPosition::UpperLeft
    } else {
        SeriesLabelPosition::UpperRight
    }
}

/// One panel per output: target (black, dashed look via thin line) and
/// produced (coloured); preparations shaded, motif onsets as vertical lines
/// labelled with the motif name and its segment NMSE.
pub fn chained_sequence(
    path: &Path,
    title: &str,
    trace: &ChainTrace,
    motif_names: &[String],
    output_names: &[String],
    dt: f32,
) -> Result<(), PlotError> {
    register()?;
    let (samples, d) = trace.produced.dim();
    if samples == 0 || d == 0 {
        return Err(PlotError::Empty("empty chained trace".into()));
    }
    let panel_h = if d > 3 { 170 } else { 260 };
    let (root, body) = titled_canvas(
        path,
        (1600, 70 + panel_h * d as u32),
        title,
        "black: target   colour: produced   grey bands: preparation   labels: motif (segment NMSE)",
    )?;
    let t_end = samples as f32 * dt;
    for (c, panel) in body.split_evenly((d, 1)).iter().enumerate() {
        let (lo, hi) = finite_range(
            trace
                .produced
                .column(c)
                .iter()
                .chain(trace.target.column(c).iter())
                .copied(),
        );
        let last = c + 1 == d;
        let mut chart = ChartBuilder::on(panel)
            .margin_left(10)
            .margin_right(20)
            .margin_top(22)
            .x_label_area_size(if last { 40 } else { 8 })
            .y_label_area_size(70)
            .build_cartesian_2d(0f32..t_end, lo..hi)
            .map_err(draw_err(path))?;
        let mut mesh = chart.configure_mesh();
        mesh.disable_mesh()
            .y_desc(output_names.get(c).cloned().unwrap_or_default())
            .label_style((FAMILY, 15))
            .axis_desc_style((FAMILY, 17));
        if last {
            mesh.x_desc("time (s)");
        } else {
            mesh.x_labels(0);
        }
        mesh.draw().map_err(draw_err(path))?;
        let motif_count = trace
            .segments
            .iter()
            .filter(|s| s.kind == SegmentKind::Motif)
            .count();
        let mut motif_i = 0;
        for seg in &trace.segments {
            let (t0, t1) = (seg.start as f32 * dt, seg.end as f32 * dt);
            match seg.kind {
                SegmentKind::Preparation => {
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(t0, lo), (t1, hi)],
                            RGBColor(215, 215, 215).filled(),
                        )))
                        .map_err(draw_err(path))?;
                }
                SegmentKind::Motif => {
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(t0, lo), (t0, hi)],
                            RGBColor(150, 150, 150).stroke_width(1),
                        )))
                        .map_err(draw_err(path))?;
                    if c == 0 {
                        // Labels on the top panel only; long sequences get short labels.
                        let name = motif_names.get(seg.motif).cloned().unwrap_or_default();
                        let label = match trace.nmse.get(motif_i) {
                            Some(e) if motif_count <= 6 => format!("{name} ({e:.2e})"),
                            Some(e) => format!("{name}\n{e:.1e}"),
                            None => name,
                        };
                        for (l, line) in label.lines().enumerate() {
                            chart
                                .draw_series(std::iter::once(Text::new(
                                    line.to_string(),
                                    (
                                        t0 + 0.005 * t_end,
                                        hi - (hi - lo) * (0.02 + 0.09 * l as f32),
                                    ),
                                    (FAMILY, 14).into_font(),
                                )))
                                .map_err(draw_err(path))?;
                        }
                    }
                    motif_i += 1;
                }
            }
        }
        // The target is NaN during preparations: draw it piecewise.
        let mut run: Vec<(f32, f32)> = Vec::new();
        let mut runs = Vec::new();
        for (t, v) in trace.target.column(c).iter().enumerate() {
            if v.is_finite() {
                run.push((t as f32 * dt, *v));
            } else if !run.is_empty() {
                runs.push(std::mem::take(&mut run));
            }
        }
        runs.push(run);
        for r in runs.into_iter().filter(|r| !r.is_empty()) {
            chart
                .draw_series(LineSeries::new(r, BLACK.stroke_width(2)))
                .map_err(draw_err(path))?;
        }
        let colour = PALETTE[c % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(
                trace
                    .produced
                    .column(c)
                    .iter()
                    .enumerate()
                    .map(|(t, v)| (t as f32 * dt, *v)),
                colour.stroke_width(2),
            ))
            .map_err(draw_err(path))?;
    }
    root.present().map_err(draw_err(path))?;
    Ok(())
}

/// Left: the first output during the preparation toward one motif, from the
/// end state of every other motif. Right: the residual `‖x − x*‖` on a log
/// scale, time in units of τ. A vertical line marks `used_tau`, the length the
/// library actually prepares for.
pub fn prep_transient(
    path: &Path,
    title: &str,
    transients: &[PrepTransient],
    output_name: &str,
    tau_steps: f32,
    used_tau: f32,
) -> Result<(), PlotError> {
    register()?;
    if transients.is_empty() {
        return Err(PlotError::Empty("no preparation transients".into()));
    }
    let root = BitMapBackend::new(path, (1500, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let (header, body) = root.split_vertically(50);
    header
        .draw(&Text::new(
            title.to_string(),
            (20, 12),
            (FAMILY, 24).into_font(),
        ))
        .map_err(draw_err(path))?;
    let (left, right) = body.split_horizontally(750);
    let steps = transients[0].outputs.nrows();
    let t_end = steps as f32 / tau_steps;

    let (lo, hi) = finite_range(transients.iter().flat_map(|p| p.outputs.column(0).to_vec()));
    let mut chart = ChartBuilder::on(&left)
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .caption(
            format!("output {output_name} during preparation"),
            (FAMILY, 19),
        )
        .build_cartesian_2d(0f32..t_end, lo..hi)
        .map_err(draw_err(path))?;
    chart
        .configure_mesh()
        .x_desc("time (τ)")
        .y_desc(output_name)
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 17))
        .draw()
        .map_err(draw_err(path))?;
    for (i, p) in transients.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(
                p.outputs
                    .column(0)
                    .iter()
                    .enumerate()
                    .map(|(t, v)| ((t + 1) as f32 / tau_steps, *v)),
                colour.stroke_width(2),
            ))
            .map_err(draw_err(path))?
            .label(format!("after {}", p.from))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, 14))
        .draw()
        .map_err(draw_err(path))?;

    let floor = 1e-6f32;
    let r_max = transients
        .iter()
        .flat_map(|p| p.residual.iter().copied())
        .fold(floor, f32::max)
        * 2.0;
    let mut chart = ChartBuilder::on(&right)
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .caption("residual ‖x − x*‖ (log scale)", (FAMILY, 19))
        .build_cartesian_2d(0f32..t_end, (floor..r_max).log_scale())
        .map_err(draw_err(path))?;
    chart
        .configure_mesh()
        .x_desc("time (τ)")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 17))
        .draw()
        .map_err(draw_err(path))?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(used_tau, floor), (used_tau, r_max)],
            RGBColor(200, 0, 0).stroke_width(1),
        )))
        .map_err(draw_err(path))?;
    chart
        .draw_series(std::iter::once(Text::new(
            "motif onset".to_string(),
            (used_tau + 0.1, r_max / 3.0),
            (FAMILY, 14).into_font().color(&RGBColor(200, 0, 0)),
        )))
        .map_err(draw_err(path))?;
    for (i, p) in transients.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(
                p.residual
                    .iter()
                    .enumerate()
                    .map(|(t, v)| (t as f32 / tau_steps, v.max(floor))),
                colour.stroke_width(2),
            ))
            .map_err(draw_err(path))?;
    }
    root.present().map_err(draw_err(path))?;
    Ok(())
}

/// A closed-loop run: commanded and measured joint angles per tick, and the
/// onset time and name of each motif played.
#[derive(Debug, Clone)]
pub struct Track {
    pub times: Vec<f64>,
    pub commanded: Vec<Vec<f64>>,
    pub measured: Vec<Vec<f64>>,
    pub joint_names: Vec<String>,
    pub onsets: Vec<(f64, String)>,
    /// Per sample, the largest |velocity|, |acceleration| and |jerk| over
    /// the joints as a fraction of its limit (finite differences of the
    /// commanded positions); drawn as a last panel when present.
    pub limit_usage: Option<Vec<[f64; 3]>>,
}

/// One panel per joint: commanded (black) and measured (colour), motif onsets
/// as labelled vertical lines.
pub fn joint_tracking(path: &Path, title: &str, track: &Track) -> Result<(), PlotError> {
    register()?;
    let d = track.joint_names.len();
    if track.times.is_empty() || d == 0 {
        return Err(PlotError::Empty("no samples to plot".into()));
    }
    let t_end = *track.times.last().expect("non-empty") as f32;
    let extra = usize::from(track.limit_usage.is_some());
    let (root, body) = titled_canvas(
        path,
        (1600, 70 + 150 * (d + extra) as u32),
        title,
        "black: commanded   colour: measured (simulated arm)   lines: motif onsets",
    )?;
    let panels = body.split_evenly((d + extra, 1));
    if let Some(usage) = &track.limit_usage {
        limit_panel(path, &panels[d], &track.times, usage, t_end)?;
    }
    for (j, panel) in panels.iter().take(d).enumerate() {
        let column = |rows: &[Vec<f64>]| -> Vec<(f32, f32)> {
            track
                .times
                .iter()
                .zip(rows)
                .map(|(t, r)| (*t as f32, r[j] as f32))
                .collect()
        };
        let (cmd, meas) = (column(&track.commanded), column(&track.measured));
        let (lo, hi) = finite_range(cmd.iter().chain(&meas).map(|p| p.1));
        let last = j + 1 == d && extra == 0;
        let mut chart = ChartBuilder::on(panel)
            .margin_left(10)
            .margin_right(20)
            .margin_top(14)
            .x_label_area_size(if last { 40 } else { 8 })
            .y_label_area_size(80)
            .build_cartesian_2d(0f32..t_end, lo..hi)
            .map_err(draw_err(path))?;
        let mut mesh = chart.configure_mesh();
        mesh.disable_mesh()
            .y_desc(format!("{} (rad)", track.joint_names[j]))
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 15));
        if last {
            mesh.x_desc("time (s)");
        } else {
            mesh.x_labels(0);
        }
        mesh.draw().map_err(draw_err(path))?;
        for (t, name) in &track.onsets {
            let t = *t as f32;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(t, lo), (t, hi)],
                    RGBColor(150, 150, 150).stroke_width(1),
                )))
                .map_err(draw_err(path))?;
            if j == 0 {
                chart
                    .draw_series(std::iter::once(Text::new(
                        name.clone(),
                        (t + 0.003 * t_end, hi - 0.04 * (hi - lo)),
                        (FAMILY, 14).into_font(),
                    )))
                    .map_err(draw_err(path))?;
            }
        }
        chart
            .draw_series(LineSeries::new(cmd, BLACK.stroke_width(2)))
            .map_err(draw_err(path))?;
        chart
            .draw_series(LineSeries::new(
                meas,
                PALETTE[j % PALETTE.len()].stroke_width(1),
            ))
            .map_err(draw_err(path))?;
    }
    root.present().map_err(draw_err(path))?;
    Ok(())
}

/// The commanded stream's velocity, acceleration and jerk as fractions of
/// their limits (worst joint per sample); 1 is the limit.
fn limit_panel<DB: DrawingBackend>(
    path: &Path,
    panel: &DrawingArea<DB, plotters::coord::Shift>,
    times: &[f64],
    usage: &[[f64; 3]],
    t_end: f32,
) -> Result<(), PlotError> {
    let mut chart = ChartBuilder::on(panel)
        .margin_left(10)
        .margin_right(20)
        .margin_top(14)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0f32..t_end, 0f32..1.1f32)
        .map_err(draw_err(path))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .y_desc("share of limit")
        .x_desc("time (s)")
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 15))
        .draw()
        .map_err(draw_err(path))?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 1.0), (t_end, 1.0)],
            RGBColor(200, 0, 0).stroke_width(1),
        )))
        .map_err(draw_err(path))?;
    for (k, label) in ["velocity", "acceleration", "jerk"].iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(
                times
                    .iter()
                    .zip(usage)
                    .map(|(t, u)| (*t as f32, u[k] as f32)),
                colour.stroke_width(1),
            ))
            .map_err(draw_err(path))?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FAMILY, 14))
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(draw_err(path))?;
    Ok(())
}
