//! The pictures, as PNG: curves on a log axis (benchmarks, the reproduction
//! report), evaluations of a library (`evaluation`), closed-loop runs of
//! the arm (`tracking`) and end-effector paths (`task_space`). Plots take plain data, so the trainer, the demo and
//! the benches all draw through here (docs/architecture.md).
//!
//! The font is compiled in and registered with plotters' `ab_glyph` backend,
//! so plotting needs no fontconfig or freetype on the machine (docs/architecture.md, "Traps").

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

pub mod evaluation;
pub mod task_space;
pub mod tracking;

pub use evaluation::{chained_sequence, prep_transient};
pub use task_space::{tip_paths, PathStyle, TipPath};
pub use tracking::{joint_tracking, Track};

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
