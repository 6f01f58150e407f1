//! Closed-loop runs of the arm: commanded against measured joint angles and
//! the commanded stream's share of its limits.

use std::path::Path;

use plotters::prelude::*;

use super::{draw_err, finite_range, register, titled_canvas, PlotError, FAMILY, PALETTE};

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
