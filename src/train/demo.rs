//! Demonstration files: the target trajectories a motif is trained to reproduce.
//!
//! # Format
//!
//! Plain CSV, comma separated, UTF-8, one sample per line:
//!
//! ```text
//! time,panda_joint1,panda_joint2
//! 0,0.0,-0.785
//! 0.004,0.0001,-0.7849
//! ```
//!
//! - Line 1 is the header. Its first column must be `time` (seconds); every other
//!   column is one output (for arm motifs: one joint, named as in the URDF). Names are
//!   trimmed, must be non-empty and unique, and there must be at least one output.
//! - Every following line has exactly as many fields as the header. Fields are
//!   trimmed; values must parse as finite numbers (NaN and ±Inf are rejected, as are
//!   values outside the `f32` range). Empty lines are skipped; `\r\n` is accepted.
//! - At least 2 data rows. Time strictly increases with a fixed step
//!   `dt = (t_last − t_first)/(rows − 1)`: every step must equal `dt` within
//!   `1e-6·dt` (plus a few ulps of `t`), so write times with full precision.
//! - Values are stored as `f32` in memory (`data` is rows × outputs); time is not
//!   kept beyond `dt`, so a loaded demo always starts at time 0.
//! - Limits (`crate::library::limits`), checked before the data is read or
//!   split: at most `MAX_DEMO_BYTES` of file, `MAX_OUTPUTS` output columns and
//!   `MAX_DEMO_ROWS` rows; a step of at least `MIN_DEMO_DT` and a duration of
//!   at most `MAX_DEMO_SECONDS`.
//!
//! Errors name the file and, where it applies, the 1-based line and column.
//! The same text is in `docs/demo_format.md`.

use std::io::Write;
use std::path::Path;

use ndarray::Array2;
use thiserror::Error;

use crate::library::limits::{
    MAX_DEMO_BYTES, MAX_DEMO_ROWS, MAX_DEMO_SECONDS, MAX_OUTPUTS, MIN_DEMO_DT,
};

/// Relative tolerance on time-step uniformity: loose enough for times printed
/// with six or seven significant digits, tight enough to catch dropped samples.
pub const DT_REL_TOL: f64 = 1e-3;

#[derive(Debug, Error)]
pub enum DemoError {
    #[error("cannot read demonstration file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write demonstration file {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: file is empty")]
    Empty { file: String },
    #[error("{file}: line 1 is not a header (it holds only numbers); expected `time,<name>,...`")]
    NoHeader { file: String },
    #[error("{file}: line 1 column 1: first column must be `time`, found `{found}`")]
    TimeNotFirst { file: String, found: String },
    #[error("{file}: line 1 column {column}: empty column name")]
    EmptyColumnName { file: String, column: usize },
    #[error("{file}: line 1: column name `{name}` appears in columns {first} and {second}")]
    DuplicateColumn {
        file: String,
        name: String,
        first: usize,
        second: usize,
    },
    #[error("{file}: line 1: no output columns after `time`")]
    NoOutputColumns { file: String },
    #[error("{file}: line {line}: expected {expected} fields, found {found}")]
    FieldCount {
        file: String,
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("{file}: line {line} column {column}: cannot parse `{text}` as a number")]
    BadNumber {
        file: String,
        line: usize,
        column: usize,
        text: String,
    },
    #[error("{file}: line {line} column {column}: value `{text}` is not finite (or exceeds f32)")]
    NonFinite {
        file: String,
        line: usize,
        column: usize,
        text: String,
    },
    #[error("{file}: {rows} data row(s); at least 2 are needed to define the time step")]
    TooFewRows { file: String, rows: usize },
    #[error("{file}: line {line}: time {time} does not increase (previous {previous})")]
    NonIncreasingTime {
        file: String,
        line: usize,
        time: f64,
        previous: f64,
    },
    #[error("{file}: line {line}: time step {step} differs from the uniform step {dt}")]
    NonUniformTime {
        file: String,
        line: usize,
        step: f64,
        dt: f64,
    },
    #[error("{file}: {what}")]
    Limit { file: String, what: String },
    #[error("invalid demonstration {file}: {reason}")]
    Invalid { file: String, reason: String },
}

/// The step and duration limits, shared by files and in-memory demos.
fn check_timing(file: &str, dt: f64, rows: usize) -> Result<(), DemoError> {
    let limit = |what: String| DemoError::Limit {
        file: file.to_string(),
        what,
    };
    if dt < MIN_DEMO_DT {
        return Err(limit(format!(
            "time step {dt} s is below the smallest allowed, {MIN_DEMO_DT} s; is the time column in seconds?"
        )));
    }
    let duration = (rows - 1) as f64 * dt;
    if duration > MAX_DEMO_SECONDS {
        return Err(limit(format!(
            "the demonstration lasts {duration} s; at most {MAX_DEMO_SECONDS} s is allowed (is the time column in seconds?)"
        )));
    }
    Ok(())
}

/// One demonstration: `data[t, d]` is output `names[d]` at time `t·dt`.
#[derive(Debug, Clone, PartialEq)]
pub struct Demo {
    pub dt: f64,
    pub names: Vec<String>,
    /// T × D.
    pub data: Array2<f32>,
}

impl Demo {
    /// Builds a demo, checking what a file would be checked for.
    pub fn new(dt: f64, names: Vec<String>, data: Array2<f32>) -> Result<Self, DemoError> {
        let demo = Self { dt, names, data };
        demo.validate("<memory>")?;
        Ok(demo)
    }

    pub fn len(&self) -> usize {
        self.data.nrows()
    }

    pub fn is_empty(&self) -> bool {
        self.data.nrows() == 0
    }

    pub fn dim(&self) -> usize {
        self.data.ncols()
    }

    /// Time of the last sample, in seconds.
    pub fn duration(&self) -> f64 {
        self.len().saturating_sub(1) as f64 * self.dt
    }

    fn validate(&self, file: &str) -> Result<(), DemoError> {
        let invalid = |reason: String| DemoError::Invalid {
            file: file.to_string(),
            reason,
        };
        if !(self.dt.is_finite() && self.dt > 0.0) {
            return Err(invalid(format!(
                "dt must be positive and finite, got {}",
                self.dt
            )));
        }
        if self.names.is_empty() {
            return Err(invalid("no output columns".into()));
        }
        if self.names.len() != self.data.ncols() {
            return Err(invalid(format!(
                "{} names for {} data columns",
                self.names.len(),
                self.data.ncols()
            )));
        }
        if self.data.nrows() < 2 {
            return Err(invalid(format!(
                "{} rows; at least 2 needed",
                self.data.nrows()
            )));
        }
        if self.data.ncols() > MAX_OUTPUTS || self.data.nrows() > MAX_DEMO_ROWS {
            return Err(invalid(format!(
                "{} rows × {} outputs; at most {MAX_DEMO_ROWS} rows and {MAX_OUTPUTS} outputs are allowed",
                self.data.nrows(),
                self.data.ncols()
            )));
        }
        check_timing(file, self.dt, self.data.nrows())?;
        for (i, n) in self.names.iter().enumerate() {
            // A name the parser would split or trim differently would not round-trip.
            if n.trim().is_empty() || n.trim() != n || n.contains([',', '\n', '\r']) {
                return Err(invalid(format!("column name {n:?} cannot be written")));
            }
            if n == "time" || self.names[..i].contains(n) {
                return Err(invalid(format!("duplicate column name `{n}`")));
            }
        }
        if let Some(((t, d), _)) = self.data.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(invalid(format!(
                "non-finite value at row {t}, column `{}`",
                self.names[d]
            )));
        }
        Ok(())
    }

    /// Reads and validates a demonstration file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, DemoError> {
        let path = path.as_ref();
        let read = |source| DemoError::Read {
            path: path.display().to_string(),
            source,
        };
        let len = std::fs::metadata(path).map_err(read)?.len();
        if len > MAX_DEMO_BYTES {
            return Err(DemoError::Limit {
                file: path.display().to_string(),
                what: format!(
                    "{len} bytes; a demonstration file may have at most {MAX_DEMO_BYTES}"
                ),
            });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses demonstration text; `source_name` is used in error messages.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, DemoError> {
        let file = || source_name.to_string();
        let limit = |what: String| DemoError::Limit { file: file(), what };
        if text.len() as u64 > MAX_DEMO_BYTES {
            return Err(limit(format!(
                "{} bytes; a demonstration may have at most {MAX_DEMO_BYTES}",
                text.len()
            )));
        }
        if text.trim().is_empty() {
            return Err(DemoError::Empty { file: file() });
        }
        let mut lines = text
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)));
        // The header is line 1 by definition; a blank first line means no header.
        let (_, header) = lines.next().unwrap_or((1, ""));
        // Counted before splitting: the name checks below compare every pair.
        let outputs = header.matches(',').count();
        if outputs > MAX_OUTPUTS {
            return Err(limit(format!(
                "line 1: {outputs} output columns; at most {MAX_OUTPUTS} are allowed"
            )));
        }
        let cols: Vec<&str> = header.split(',').map(str::trim).collect();
        if header.trim().is_empty() || cols.iter().all(|c| c.parse::<f64>().is_ok()) {
            return Err(DemoError::NoHeader { file: file() });
        }
        if cols[0] != "time" {
            return Err(DemoError::TimeNotFirst {
                file: file(),
                found: cols[0].to_string(),
            });
        }
        for (i, c) in cols.iter().enumerate() {
            if c.is_empty() {
                return Err(DemoError::EmptyColumnName {
                    file: file(),
                    column: i + 1,
                });
            }
            if let Some(j) = cols[..i].iter().position(|p| p == c) {
                return Err(DemoError::DuplicateColumn {
                    file: file(),
                    name: c.to_string(),
                    first: j + 1,
                    second: i + 1,
                });
            }
        }
        if cols.len() < 2 {
            return Err(DemoError::NoOutputColumns { file: file() });
        }
        let d = cols.len() - 1;

        let mut times: Vec<(usize, f64)> = Vec::new();
        let mut values: Vec<f32> = Vec::new();
        for (line, l) in lines {
            if l.trim().is_empty() {
                continue;
            }
            if times.len() == MAX_DEMO_ROWS {
                return Err(limit(format!(
                    "line {line}: more than {MAX_DEMO_ROWS} data rows"
                )));
            }
            let fields: Vec<&str> = l.split(',').map(str::trim).collect();
            if fields.len() != cols.len() {
                return Err(DemoError::FieldCount {
                    file: file(),
                    line,
                    expected: cols.len(),
                    found: fields.len(),
                });
            }
            for (c, f) in fields.iter().enumerate() {
                let v: f64 = f.parse().map_err(|_| DemoError::BadNumber {
                    file: file(),
                    line,
                    column: c + 1,
                    text: f.to_string(),
                })?;
                let finite = if c == 0 {
                    v.is_finite()
                } else {
                    (v as f32).is_finite()
                };
                if !finite {
                    return Err(DemoError::NonFinite {
                        file: file(),
                        line,
                        column: c + 1,
                        text: f.to_string(),
                    });
                }
                if c == 0 {
                    times.push((line, v));
                } else {
                    values.push(v as f32);
                }
            }
        }
        if times.len() < 2 {
            return Err(DemoError::TooFewRows {
                file: file(),
                rows: times.len(),
            });
        }
        for w in times.windows(2) {
            if w[1].1 <= w[0].1 {
                return Err(DemoError::NonIncreasingTime {
                    file: file(),
                    line: w[1].0,
                    time: w[1].1,
                    previous: w[0].1,
                });
            }
        }
        let (t0, tn) = (times[0].1, times[times.len() - 1].1);
        let dt = (tn - t0) / (times.len() - 1) as f64;
        // Also catches t_last − t_first overflowing to infinity.
        check_timing(source_name, dt, times.len())?;
        for w in times.windows(2) {
            let step = w[1].1 - w[0].1;
            // Differences of printed times carry rounding of order ulp(t).
            let tol = DT_REL_TOL * dt + 4.0 * f64::EPSILON * w[1].1.abs().max(w[0].1.abs());
            if (step - dt).abs() > tol {
                return Err(DemoError::NonUniformTime {
                    file: file(),
                    line: w[1].0,
                    step,
                    dt,
                });
            }
        }
        let data =
            Array2::from_shape_vec((times.len(), d), values).map_err(|e| DemoError::Invalid {
                file: file(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            dt,
            names: cols[1..].iter().map(|s| s.to_string()).collect(),
            data,
        })
    }

    /// Formats the demo as file text (time of row `t` is `t·dt`).
    pub fn to_csv(&self) -> String {
        let mut s = String::with_capacity(self.data.len() * 12);
        s.push_str("time");
        for n in &self.names {
            s.push(',');
            s.push_str(n);
        }
        s.push('\n');
        for (t, row) in self.data.outer_iter().enumerate() {
            // `{}` prints the shortest text that parses back to the same value.
            s.push_str(&format!("{}", t as f64 * self.dt));
            for v in row {
                s.push_str(&format!(",{v}"));
            }
            s.push('\n');
        }
        s
    }

    /// Writes atomically: a temporary file in the same directory, then a rename, so a
    /// reader never sees a half-written demonstration.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), DemoError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        self.validate(&name)?;
        let werr = |source| DemoError::Write {
            path: name.clone(),
            source,
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(werr)?;
        tmp.write_all(self.to_csv().as_bytes()).map_err(werr)?;
        tmp.as_file().sync_all().map_err(werr)?;
        tmp.persist(path).map_err(|e| werr(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn parse(text: &str) -> Result<Demo, DemoError> {
        Demo::parse(text, "t.csv")
    }

    #[test]
    fn parses_valid_file() {
        let d = parse("time, a ,b\r\n0,1,2\r\n0.5,3,4\r\n\n1.0,5,6\n").unwrap();
        assert_eq!(d.names, vec!["a", "b"]);
        assert_eq!(d.dt, 0.5);
        assert_eq!(d.data, array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
        assert_eq!(d.duration(), 1.0);
    }

    #[test]
    fn round_trip_through_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.csv");
        let data = Array2::from_shape_fn((250, 3), |(t, d)| {
            ((t as f32) * 0.0123 + d as f32).sin() * 1.7e-3 + d as f32
        });
        let names = vec!["x".to_string(), "y".into(), "z".into()];
        let demo = Demo::new(0.004, names, data).unwrap();
        demo.save(&path).unwrap();
        let back = Demo::load(&path).unwrap();
        assert_eq!(back.names, demo.names);
        assert_eq!(back.data, demo.data);
        assert!((back.dt - demo.dt).abs() < 1e-12);
        // Only the final file remains: the temporary was renamed, not copied.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_file() {
        let e = Demo::load("/nonexistent/demo.csv").unwrap_err();
        assert!(matches!(e, DemoError::Read { .. }));
        assert!(e.to_string().contains("/nonexistent/demo.csv"));
    }

    #[test]
    fn empty_file() {
        assert!(matches!(parse(""), Err(DemoError::Empty { .. })));
        assert!(matches!(parse(" \n\n"), Err(DemoError::Empty { .. })));
    }

    #[test]
    fn no_header() {
        assert!(matches!(
            parse("0,1\n1,2\n"),
            Err(DemoError::NoHeader { .. })
        ));
        assert!(matches!(
            parse("\ntime,a\n0,1\n"),
            Err(DemoError::NoHeader { .. })
        ));
    }

    #[test]
    fn time_not_first() {
        let e = parse("a,time\n0,1\n1,2\n").unwrap_err();
        assert!(matches!(e, DemoError::TimeNotFirst { ref found, .. } if found == "a"));
        assert!(e.to_string().contains("t.csv: line 1 column 1"), "{e}");
    }

    #[test]
    fn duplicate_columns() {
        let e = parse("time,a,b,a\n0,1,2,3\n1,2,3,4\n").unwrap_err();
        assert!(
            matches!(
                e,
                DemoError::DuplicateColumn {
                    first: 2,
                    second: 4,
                    ..
                }
            ),
            "{e}"
        );
        let e = parse("time,a,time\n0,1,2\n1,2,3\n").unwrap_err();
        assert!(matches!(e, DemoError::DuplicateColumn { .. }), "{e}");
    }

    #[test]
    fn empty_column_name() {
        let e = parse("time,a,,b\n0,1,2,3\n").unwrap_err();
        assert!(
            matches!(e, DemoError::EmptyColumnName { column: 3, .. }),
            "{e}"
        );
    }

    #[test]
    fn no_output_columns() {
        assert!(matches!(
            parse("time\n0\n1\n"),
            Err(DemoError::NoOutputColumns { .. })
        ));
    }

    #[test]
    fn wrong_field_count() {
        let e = parse("time,a,b\n0,1,2\n1,2\n").unwrap_err();
        assert!(
            matches!(
                e,
                DemoError::FieldCount {
                    line: 3,
                    expected: 3,
                    found: 2,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("t.csv: line 3"), "{e}");
    }

    #[test]
    fn unparsable_number() {
        let e = parse("time,a,b\n0,1,2\n1,2,x3\n").unwrap_err();
        assert!(
            matches!(
                e,
                DemoError::BadNumber {
                    line: 3,
                    column: 3,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("line 3 column 3"), "{e}");
    }

    #[test]
    fn non_finite_values() {
        for bad in ["NaN", "inf", "-Infinity", "1e300"] {
            let e = parse(&format!("time,a,b\n0,1,2\n1,{bad},3\n")).unwrap_err();
            assert!(
                matches!(
                    e,
                    DemoError::NonFinite {
                        line: 3,
                        column: 2,
                        ..
                    }
                ),
                "{bad}: {e}"
            );
        }
        let e = parse("time,a\n0,1\nnan,2\n").unwrap_err();
        assert!(
            matches!(
                e,
                DemoError::NonFinite {
                    line: 3,
                    column: 1,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn too_few_rows() {
        assert!(matches!(
            parse("time,a\n"),
            Err(DemoError::TooFewRows { rows: 0, .. })
        ));
        assert!(matches!(
            parse("time,a\n0,1\n"),
            Err(DemoError::TooFewRows { rows: 1, .. })
        ));
    }

    #[test]
    fn non_increasing_time() {
        let e = parse("time,a\n0,1\n1,2\n1,3\n").unwrap_err();
        assert!(
            matches!(e, DemoError::NonIncreasingTime { line: 4, .. }),
            "{e}"
        );
        let e = parse("time,a\n0,1\n-1,2\n").unwrap_err();
        assert!(
            matches!(e, DemoError::NonIncreasingTime { line: 3, .. }),
            "{e}"
        );
    }

    #[test]
    fn non_uniform_time() {
        let e = parse("time,a\n0,1\n0.1,2\n0.3,3\n0.4,4\n").unwrap_err();
        assert!(
            matches!(e, DemoError::NonUniformTime { line: 3, .. }),
            "{e}"
        );
        // Within tolerance: accepted.
        parse("time,a\n0,1\n0.1,2\n0.2000000000001,3\n").unwrap();
    }

    #[test]
    fn new_rejects_bad_demos() {
        let names = vec!["a".to_string()];
        assert!(Demo::new(0.0, names.clone(), Array2::zeros((3, 1))).is_err());
        assert!(Demo::new(0.1, names.clone(), Array2::zeros((1, 1))).is_err());
        assert!(Demo::new(0.1, names.clone(), Array2::zeros((3, 2))).is_err());
        assert!(Demo::new(0.1, vec!["a,b".into()], Array2::zeros((3, 1))).is_err());
        let mut bad = Array2::zeros((3, 1));
        bad[[1, 0]] = f32::NAN;
        assert!(Demo::new(0.1, names, bad).is_err());
    }
}
