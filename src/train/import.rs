//! A demonstration from recorded joint states: the motion in a bag
//! (`motif_train import --bag`) turned into a [`Demo`] the trainer takes.
//!
//! Pure: the binary reads the bag (`ros::bag`) and hands over one
//! [`Recorded`] per message. Joints are picked by name in the URDF's order
//! (extra joints such as gripper fingers are dropped, a missing one is an
//! error), uneven or jittered timing is resampled linearly to a fixed step,
//! and still segments at both ends can be trimmed.

use ndarray::Array2;
use thiserror::Error;

use super::demo::{Demo, DemoError};

/// A joint counts as still while it stays within this of where the still
/// segment began (rad): above encoder noise, far below any motion we teach.
pub const STILL_TOLERANCE: f64 = 2e-3;

/// A demonstration shorter than this after trimming is refused (s).
pub const MIN_SECONDS: f64 = 0.1;

/// One recorded message: its time (s) and joint positions by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub t: f64,
    pub names: Vec<String>,
    pub positions: Vec<f64>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Keep only samples from this many seconds after the first one.
    pub start: Option<f64>,
    /// … and up to this many seconds after the first one.
    pub end: Option<f64>,
    /// Drop the still segments at both ends (keeping one still sample each).
    pub trim_still: bool,
    /// The resampling step (s); `None` = the mean step of the recording.
    pub dt: Option<f64>,
}

/// What the import did, for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    pub messages: usize,
    /// Joints in the messages that are not the URDF's, dropped.
    pub dropped_joints: Vec<String>,
    /// Median and largest step between the kept messages (s).
    pub median_step: f64,
    pub max_step: f64,
    /// Seconds trimmed as still at the start and the end.
    pub trimmed: (f64, f64),
    pub rows: usize,
    pub dt: f64,
}

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("no messages")]
    Empty,
    #[error("message {index}: no joint {joint} (it has: {has})")]
    MissingJoint {
        index: usize,
        joint: String,
        has: String,
    },
    #[error("message {index}: {names} names but {positions} positions")]
    Mismatch {
        index: usize,
        names: usize,
        positions: usize,
    },
    #[error("message {index}: {joint} = {value} is not finite")]
    NonFinite {
        index: usize,
        joint: String,
        value: f64,
    },
    #[error("message {index}: time {t} s is not finite")]
    BadTime { index: usize, t: f64 },
    #[error("{0}")]
    Window(String),
    #[error("the motion lasts {seconds:.3} s ({rows} samples) after trimming; at least {MIN_SECONDS} s is needed")]
    TooShort { seconds: f64, rows: usize },
    #[error("resampling step {0} s is not positive and finite")]
    BadStep(f64),
    #[error(transparent)]
    Demo(#[from] DemoError),
}

/// Turns recorded messages into a demo over `joints` (URDF order).
pub fn to_demo(
    recorded: &[Recorded],
    joints: &[String],
    opts: &ImportOptions,
) -> Result<(Demo, ImportReport), ImportError> {
    if recorded.is_empty() {
        return Err(ImportError::Empty);
    }
    let mut dropped: Vec<String> = Vec::new();
    let mut samples: Vec<(f64, Vec<f64>)> = Vec::with_capacity(recorded.len());
    for (index, m) in recorded.iter().enumerate() {
        if m.names.len() != m.positions.len() {
            return Err(ImportError::Mismatch {
                index,
                names: m.names.len(),
                positions: m.positions.len(),
            });
        }
        if !m.t.is_finite() {
            return Err(ImportError::BadTime { index, t: m.t });
        }
        let q = joints
            .iter()
            .map(|j| {
                let k = m.names.iter().position(|n| n == j).ok_or_else(|| {
                    ImportError::MissingJoint {
                        index,
                        joint: j.clone(),
                        has: m.names.join(", "),
                    }
                })?;
                let value = m.positions[k];
                if !value.is_finite() {
                    return Err(ImportError::NonFinite {
                        index,
                        joint: j.clone(),
                        value,
                    });
                }
                Ok(value)
            })
            .collect::<Result<Vec<f64>, _>>()?;
        for n in &m.names {
            if !joints.contains(n) && !dropped.contains(n) {
                dropped.push(n.clone());
            }
        }
        samples.push((m.t, q));
    }
    // Out-of-order stamps (several publishers, clock steps) are sorted; a
    // repeated stamp keeps its first message.
    samples.sort_by(|a, b| a.0.total_cmp(&b.0));
    samples.dedup_by(|b, a| b.0 == a.0);
    let t0 = samples[0].0;
    let (start, end) = (opts.start.unwrap_or(0.0), opts.end.unwrap_or(f64::INFINITY));
    if !(start >= 0.0 && end > start) {
        return Err(ImportError::Window(format!(
            "--start {start} and --end {end}: need 0 ≤ start < end"
        )));
    }
    samples.retain(|(t, _)| (start..=end).contains(&(t - t0)));
    if samples.len() < 2 {
        return Err(ImportError::Window(format!(
            "{} message(s) between --start {start} s and --end {end} s; at least 2 are needed",
            samples.len()
        )));
    }
    let mut steps: Vec<f64> = samples.windows(2).map(|w| w[1].0 - w[0].0).collect();
    steps.sort_by(f64::total_cmp);
    let median_step = steps[steps.len() / 2];
    let max_step = *steps.last().expect("two samples or more");
    // The mean step: jitter does not accumulate over a recording, so it is
    // the publisher's period; stamps in ns carry float noise, and a period
    // is a whole number of µs.
    let mean_step = (samples[samples.len() - 1].0 - samples[0].0) / (samples.len() - 1) as f64;
    let dt = opts.dt.unwrap_or((mean_step * 1e6).round() * 1e-6);
    if !(dt.is_finite() && dt > 0.0) {
        return Err(ImportError::BadStep(dt));
    }
    let mut data = resample(&samples, dt);
    let mut trimmed = (0.0, 0.0);
    if opts.trim_still {
        let lead = still_run(data.iter());
        let trail = still_run(data.iter().rev());
        if lead + trail < data.len() {
            data.truncate(data.len() - trail);
            data.drain(..lead);
        } else {
            // Nothing moves: what is left is one posture.
            data.truncate(1);
        }
        trimmed = (lead as f64 * dt, trail as f64 * dt);
    }
    let seconds = (data.len().saturating_sub(1)) as f64 * dt;
    if seconds < MIN_SECONDS {
        return Err(ImportError::TooShort {
            seconds,
            rows: data.len(),
        });
    }
    let rows = data.len();
    let mut arr = Array2::<f32>::zeros((rows, joints.len()));
    for (r, q) in data.iter().enumerate() {
        for (j, v) in q.iter().enumerate() {
            arr[[r, j]] = *v as f32;
        }
    }
    let demo = Demo::new(dt, joints.to_vec(), arr)?;
    Ok((
        demo,
        ImportReport {
            messages: recorded.len(),
            dropped_joints: dropped,
            median_step,
            max_step,
            trimmed,
            rows,
            dt,
        },
    ))
}

/// Linear interpolation of `samples` (sorted, distinct times) at
/// `t0 + k·dt` up to the last sample.
fn resample(samples: &[(f64, Vec<f64>)], dt: f64) -> Vec<Vec<f64>> {
    let t0 = samples[0].0;
    let span = samples[samples.len() - 1].0 - t0;
    // The tolerance keeps a last sample that lands on the grid up to rounding.
    let rows = (span / dt + 1e-9).floor() as usize + 1;
    let mut out = Vec::with_capacity(rows);
    let mut i = 0;
    for k in 0..rows {
        let t = t0 + k as f64 * dt;
        while i + 2 < samples.len() && samples[i + 1].0 < t {
            i += 1;
        }
        let (a, b) = (&samples[i], &samples[(i + 1).min(samples.len() - 1)]);
        let w = if b.0 > a.0 {
            ((t - a.0) / (b.0 - a.0)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        out.push(a.1.iter().zip(&b.1).map(|(x, y)| x + w * (y - x)).collect());
    }
    out
}

/// How many samples from the start of `rows` can go as still: all those
/// before the last one within [`STILL_TOLERANCE`] of the first.
fn still_run<'a>(mut rows: impl Iterator<Item = &'a Vec<f64>>) -> usize {
    let Some(first) = rows.next() else { return 0 };
    let within = rows
        .take_while(|q| {
            q.iter()
                .zip(first)
                .all(|(a, b)| (a - b).abs() <= STILL_TOLERANCE)
        })
        .count();
    within
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    /// q(t) = sin(t) on joint a, cos(t) on b, with a finger joint between.
    fn recording(times: &[f64]) -> Vec<Recorded> {
        times
            .iter()
            .map(|&t| Recorded {
                t,
                names: names(&["b", "finger", "a"]),
                positions: vec![t.cos(), 0.04, t.sin()],
            })
            .collect()
    }

    #[test]
    fn jittered_timing_resamples_to_the_signal() {
        // 250 Hz with ±1 ms jitter, deterministic.
        let times: Vec<f64> = (0..500)
            .map(|k| k as f64 * 0.004 + 0.001 * ((k * 7919) % 13) as f64 / 6.0 - 0.001)
            .collect();
        let (demo, report) = to_demo(
            &recording(&times),
            &names(&["a", "b"]),
            &ImportOptions {
                dt: Some(0.004),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(report.dropped_joints, names(&["finger"]));
        assert_eq!(demo.names, names(&["a", "b"]));
        let t0 = times.iter().cloned().fold(f64::INFINITY, f64::min);
        for (r, row) in demo.data.rows().into_iter().enumerate() {
            let t = t0 + r as f64 * 0.004;
            // Linear interpolation of a unit sine over ≤ 6 ms steps.
            assert!((f64::from(row[0]) - t.sin()).abs() < 1e-4, "row {r}");
            assert!((f64::from(row[1]) - t.cos()).abs() < 1e-4, "row {r}");
        }
    }

    #[test]
    fn still_ends_are_trimmed_to_one_sample() {
        let mut rec: Vec<Recorded> = (0..300)
            .map(|k| {
                let t = k as f64 * 0.01;
                // Still until 1 s, moving until 2 s, still after.
                let x = (t.clamp(1.0, 2.0) - 1.0) * 0.5;
                Recorded {
                    t,
                    names: names(&["a"]),
                    positions: vec![x],
                }
            })
            .collect();
        let opts = ImportOptions {
            trim_still: true,
            ..Default::default()
        };
        let (demo, report) = to_demo(&rec, &names(&["a"]), &opts).unwrap();
        let (lead, trail) = report.trimmed;
        assert!(
            (lead - 1.0).abs() < 0.02 && (trail - 1.0).abs() < 0.02,
            "{lead} {trail}"
        );
        assert!((demo.data.nrows() as f64 * 0.01 - 1.0).abs() < 0.05);
        // Nothing but stillness is too short.
        for r in &mut rec {
            r.positions[0] = 0.3;
        }
        assert!(matches!(
            to_demo(&rec, &names(&["a"]), &opts),
            Err(ImportError::TooShort { .. })
        ));
    }

    #[test]
    fn bad_recordings_are_errors() {
        let ok = recording(&[0.0, 0.1, 0.2, 0.3]);
        let joints = names(&["a", "b"]);
        let opts = ImportOptions::default();
        let missing = to_demo(&ok, &names(&["a", "c"]), &opts).unwrap_err();
        assert!(missing.to_string().contains("no joint c"), "{missing}");
        let mut nan = ok.clone();
        nan[2].positions[2] = f64::NAN;
        assert!(matches!(
            to_demo(&nan, &joints, &opts),
            Err(ImportError::NonFinite { index: 2, .. })
        ));
        let mut short = ok.clone();
        short[1].positions.pop();
        assert!(matches!(
            to_demo(&short, &joints, &opts),
            Err(ImportError::Mismatch { index: 1, .. })
        ));
        assert!(matches!(
            to_demo(&[], &joints, &opts),
            Err(ImportError::Empty)
        ));
        let window = ImportOptions {
            start: Some(0.25),
            ..Default::default()
        };
        assert!(matches!(
            to_demo(&ok, &joints, &window),
            Err(ImportError::Window(_))
        ));
        // 0.3 s of motion at 0.1 s steps is long enough; 0.05 s is not.
        assert!(to_demo(&ok, &joints, &opts).is_ok());
        let brief = recording(&[0.0, 0.05]);
        assert!(matches!(
            to_demo(&brief, &joints, &opts),
            Err(ImportError::TooShort { .. })
        ));
    }
}
