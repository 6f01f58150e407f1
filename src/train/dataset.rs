//! Turning demonstrations into training targets: one column layout for all,
//! resampled to the network step, scaled to unit spread per output.

use ndarray::{Array2, Axis};

use super::demo::Demo;
use crate::model::OutputScaling;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DatasetError {
    #[error("{source_name}: columns {found:?} differ from the library's outputs {expected:?}")]
    Columns {
        source_name: String,
        found: Vec<String>,
        expected: Vec<String>,
    },
    #[error("{0}: the demonstration is shorter than one network step")]
    TooShort(String),
    #[error("no demonstrations given")]
    Empty,
}

/// Linear resampling of a demo from its own step to `dt`, over its whole duration.
pub fn resample(demo: &Demo, dt: f64) -> Array2<f32> {
    let (t_len, d) = demo.data.dim();
    let duration = (t_len - 1) as f64 * demo.dt;
    let steps = (duration / dt).round() as usize;
    Array2::from_shape_fn((steps, d), |(k, c)| {
        // Network output k is produced after k+1 steps, at time (k+1)·dt.
        let t = ((k + 1) as f64 * dt / demo.dt).min((t_len - 1) as f64);
        let i = (t.floor() as usize).min(t_len - 2);
        let f = (t - i as f64) as f32;
        demo.data[[i, c]] * (1.0 - f) + demo.data[[i + 1, c]] * f
    })
}

/// Per-output offset (mean) and scale (spread), the scale floored at a tenth of
/// the largest so an output that barely moves is not blown up into noise.
pub fn fit_scaling(trajectories: &[Array2<f32>]) -> Result<OutputScaling, DatasetError> {
    let first = trajectories.first().ok_or(DatasetError::Empty)?;
    let d = first.ncols();
    let all = ndarray::concatenate(Axis(0), &trajectories.iter().map(|t| t.view()).collect::<Vec<_>>())
        .expect("equal widths checked by the caller");
    let mean = all.mean_axis(Axis(0)).expect("non-empty");
    let std = all.std_axis(Axis(0), 0.0);
    let largest = std.iter().cloned().fold(0.0f32, f32::max).max(1e-6);
    Ok(OutputScaling {
        offset: mean.to_vec(),
        scale: (0..d).map(|i| std[i].max(0.1 * largest)).collect(),
    })
}

/// Checks the demo's columns and returns its target in network units at step `dt`.
pub fn target(demo: &Demo, source_name: &str, outputs: &[String], scaling: &OutputScaling, dt: f64) -> Result<Array2<f32>, DatasetError> {
    if demo.names != outputs {
        return Err(DatasetError::Columns {
            source_name: source_name.to_string(),
            found: demo.names.clone(),
            expected: outputs.to_vec(),
        });
    }
    let mut t = resample(demo, dt);
    if t.nrows() == 0 {
        return Err(DatasetError::TooShort(source_name.to_string()));
    }
    for mut row in t.rows_mut() {
        scaling.to_network(row.as_slice_mut().expect("contiguous"));
    }
    Ok(t)
}
