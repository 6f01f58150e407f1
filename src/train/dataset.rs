//! Turning demonstrations into training targets: one column layout for all,
//! resampled to the network step, scaled to unit spread per output.

use ndarray::{Array2, Axis};

use super::demo::Demo;
use crate::library::limits::MAX_MOTIF_STEPS;
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
    #[error("{source_name}: {duration} s at the network step of {dt} s is {steps} steps; a motif may have at most {MAX_MOTIF_STEPS}")]
    TooLong {
        source_name: String,
        duration: f64,
        dt: f64,
        steps: f64,
    },
    #[error("no demonstrations given")]
    Empty,
    #[error("the demonstrations have different numbers of outputs")]
    Widths,
    #[error("{0}: in network units (offset and scale fitted over all demonstrations) the values overflow f32; the demonstration values are too large")]
    Overflow(String),
}

/// Linear resampling of a demo from its own step to `dt`, over its whole
/// duration; its length is checked against the limits before allocating.
pub fn resample(demo: &Demo, source_name: &str, dt: f64) -> Result<Array2<f32>, DatasetError> {
    let (t_len, d) = demo.data.dim();
    let duration = (t_len - 1) as f64 * demo.dt;
    let steps = (duration / dt).round();
    // NaN (a zero or NaN step) is refused as too long as well.
    if steps.is_nan() || steps > MAX_MOTIF_STEPS as f64 {
        return Err(DatasetError::TooLong {
            source_name: source_name.to_string(),
            duration,
            dt,
            steps,
        });
    }
    if steps < 1.0 {
        return Err(DatasetError::TooShort(source_name.to_string()));
    }
    Ok(Array2::from_shape_fn((steps as usize, d), |(k, c)| {
        // Network output k is produced after k+1 steps, at time (k+1)·dt.
        let t = ((k + 1) as f64 * dt / demo.dt).min((t_len - 1) as f64);
        let i = (t.floor() as usize).min(t_len - 2);
        let f = (t - i as f64) as f32;
        demo.data[[i, c]] * (1.0 - f) + demo.data[[i + 1, c]] * f
    }))
}

/// Per-output offset (mean) and scale (spread), the scale floored at a tenth of
/// the largest so an output that barely moves is not blown up into noise.
pub fn fit_scaling(trajectories: &[Array2<f32>]) -> Result<OutputScaling, DatasetError> {
    let first = trajectories.first().ok_or(DatasetError::Empty)?;
    if trajectories.iter().all(|t| t.nrows() == 0) {
        return Err(DatasetError::Empty);
    }
    let d = first.ncols();
    let all = ndarray::concatenate(
        Axis(0),
        &trajectories.iter().map(|t| t.view()).collect::<Vec<_>>(),
    )
    .map_err(|_| DatasetError::Widths)?;
    let mean = all.mean_axis(Axis(0)).ok_or(DatasetError::Empty)?;
    let std = all.std_axis(Axis(0), 0.0);
    let largest = std.iter().cloned().fold(0.0f32, f32::max).max(1e-6);
    let scaling = OutputScaling {
        offset: mean.to_vec(),
        scale: (0..d).map(|i| std[i].max(0.1 * largest)).collect(),
    };
    if !scaling
        .offset
        .iter()
        .chain(&scaling.scale)
        .all(|v| v.is_finite())
    {
        return Err(DatasetError::Overflow("the output scaling".into()));
    }
    Ok(scaling)
}

/// Checks the demo's columns and returns its target in network units at step `dt`.
pub fn target(
    demo: &Demo,
    source_name: &str,
    outputs: &[String],
    scaling: &OutputScaling,
    dt: f64,
) -> Result<Array2<f32>, DatasetError> {
    if demo.names != outputs {
        return Err(DatasetError::Columns {
            source_name: source_name.to_string(),
            found: demo.names.clone(),
            expected: outputs.to_vec(),
        });
    }
    let mut t = resample(demo, source_name, dt)?;
    for mut row in t.rows_mut() {
        scaling.to_network(row.as_slice_mut().expect("contiguous"));
    }
    if !t.iter().all(|v| v.is_finite()) {
        return Err(DatasetError::Overflow(source_name.to_string()));
    }
    Ok(t)
}
