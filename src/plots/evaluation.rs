//! Evaluations of a library: a chained sequence (target against produced,
//! motif boundaries and preparations marked) and the preparation transient.

use std::path::Path;

use ndarray::Array2;
use plotters::prelude::*;

use super::{draw_err, finite_range, register, titled_canvas, PlotError, FAMILY, PALETTE};

/// What a segment of a chained trace is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentKind {
    Preparation,
    Motif,
}

#[derive(Debug, Clone)]
pub struct Segment {
    pub kind: SegmentKind,
    pub motif: usize,
    /// Sample range `[start, end)` in the trace.
    pub start: usize,
    pub end: usize,
}

/// One chained run, sample by sample, for plotting.
#[derive(Debug, Clone)]
pub struct ChainTrace {
    /// Network outputs (samples × D, network units).
    pub produced: Array2<f32>,
    /// Targets over motif segments, NaN during preparations.
    pub target: Array2<f32>,
    pub segments: Vec<Segment>,
    /// NMSE of each motif segment, in sequence order.
    pub nmse: Vec<f32>,
}

/// The preparation toward motif `to` from one start: outputs and the residual
/// `‖x − x*_to‖` after every step (index 0 is the start).
#[derive(Debug, Clone)]
pub struct PrepTransient {
    pub from: String,
    pub outputs: Array2<f32>,
    pub residual: Vec<f32>,
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
