//! End-effector paths in task space: a circle motif should look like a
//! circle. Top (x–y), front (y–z) and side (x–z) views of tip positions, on equal scales
//! so shapes are not stretched. The positions come from the URDF's forward
//! kinematics (`robot::Kinematics`), computed by the caller.

use std::path::Path;

use plotters::prelude::*;

use super::{draw_err, register, titled_canvas, Area, PlotError, FAMILY, PALETTE};

/// How a path is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStyle {
    /// Thick, in palette colour `i`: what was played or produced.
    Main(usize),
    /// Thin and pale, in palette colour `i`: the reference it is compared with.
    Reference(usize),
    /// Thin black: a reference shared by every main path (the commanded stream).
    Black,
}

/// One tip path: positions (m) in the URDF's base frame.
#[derive(Debug, Clone)]
pub struct TipPath {
    /// Legend entry; empty for none.
    pub label: String,
    pub points: Vec<[f64; 3]>,
    pub style: PathStyle,
}

/// The span of both axes of a view: the larger of the two, centred on each,
/// so one metre is as long across as up.
fn square_ranges(pts: impl Iterator<Item = (f64, f64)> + Clone) -> ((f64, f64), (f64, f64)) {
    let range = |v: &mut dyn Iterator<Item = f64>| {
        v.filter(|x| x.is_finite())
            .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)))
    };
    let (x0, x1) = range(&mut pts.clone().map(|p| p.0));
    let (y0, y1) = range(&mut pts.map(|p| p.1));
    if x0 > x1 || y0 > y1 {
        return ((-1.0, 1.0), (-1.0, 1.0));
    }
    let half = ((x1 - x0).max(y1 - y0) * 0.55).max(0.01);
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    ((cx - half, cx + half), (cy - half, cy + half))
}

fn view(
    path: &Path,
    area: &Area<'_>,
    paths: &[TipPath],
    (a, b): (usize, usize),
    (a_desc, b_desc): (&str, &str),
    legend: bool,
) -> Result<(), PlotError> {
    let project = |p: &[f64; 3]| (p[a], p[b]);
    let ((x0, x1), (y0, y1)) =
        square_ranges(paths.iter().flat_map(|t| t.points.iter().map(project)));
    let mut chart = ChartBuilder::on(area)
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_err(path))?;
    chart
        .configure_mesh()
        .x_desc(a_desc)
        .y_desc(b_desc)
        .light_line_style(WHITE)
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 15))
        .draw()
        .map_err(draw_err(path))?;
    for t in paths {
        let style = match t.style {
            PathStyle::Main(i) => PALETTE[i % PALETTE.len()].stroke_width(3),
            PathStyle::Reference(i) => PALETTE[i % PALETTE.len()].mix(0.45).stroke_width(1),
            PathStyle::Black => BLACK.stroke_width(1),
        };
        let series = chart
            .draw_series(LineSeries::new(t.points.iter().map(project), style))
            .map_err(draw_err(path))?;
        if legend && !t.label.is_empty() {
            series
                .label(t.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        // Where each path starts, so its direction can be read.
        if let Some(p) = t.points.first() {
            chart
                .draw_series(std::iter::once(Circle::new(project(p), 4, style.filled())))
                .map_err(draw_err(path))?;
        }
    }
    if legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FAMILY, 14))
            .draw()
            .map_err(draw_err(path))?;
    }
    Ok(())
}

/// Top, front and side views of `paths` side by side; a dot marks where each starts.
pub fn tip_paths(
    path: &Path,
    title: &str,
    subtitle: &str,
    paths: &[TipPath],
) -> Result<(), PlotError> {
    register()?;
    if paths.iter().all(|t| t.points.is_empty()) {
        return Err(PlotError::Empty("no tip positions to plot".into()));
    }
    let (root, body) = titled_canvas(path, (1950, 720), title, subtitle)?;
    let views = body.split_evenly((1, 3));
    view(
        path,
        &views[0],
        paths,
        (0, 1),
        ("x (m)", "y (m), top view"),
        false,
    )?;
    view(
        path,
        &views[1],
        paths,
        (1, 2),
        ("y (m)", "z (m), front view"),
        false,
    )?;
    view(
        path,
        &views[2],
        paths,
        (0, 2),
        ("x (m)", "z (m), side view"),
        true,
    )?;
    root.present().map_err(draw_err(path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_have_equal_spans_centred_on_the_data() {
        let ((x0, x1), (y0, y1)) = square_ranges([(0.0, 0.0), (0.4, 0.1)].into_iter());
        assert!((x1 - x0 - (y1 - y0)).abs() < 1e-12);
        assert!((x0 + x1 - 0.4).abs() < 1e-12 && (y0 + y1 - 0.1).abs() < 1e-12);
        assert!(x1 - x0 >= 0.4);
    }

    #[test]
    fn a_plot_is_written_and_empty_input_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("tip.png");
        let circle: Vec<[f64; 3]> = (0..50)
            .map(|i| {
                let a = i as f64 / 49.0 * std::f64::consts::TAU;
                [0.5 + 0.1 * a.cos(), 0.1 * a.sin(), 0.4]
            })
            .collect();
        let paths = [TipPath {
            label: "circle".into(),
            points: circle,
            style: PathStyle::Main(0),
        }];
        tip_paths(&png, "t", "s", &paths).unwrap();
        assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
        let empty = [TipPath {
            label: String::new(),
            points: vec![],
            style: PathStyle::Black,
        }];
        assert!(matches!(
            tip_paths(&png, "t", "s", &empty),
            Err(PlotError::Empty(_))
        ));
    }
}
