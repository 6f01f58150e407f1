//! Joint limits in ros2_control's `joint_limits` YAML convention
//! (`joint_limits: <joint>: has_acceleration_limits, max_acceleration,
//! has_jerk_limits, max_jerk, ...`), the file MoveIt and ros2_control's
//! limiters read next to the URDF.
//!
//! The URDF has no acceleration or jerk limits, so those come from here;
//! position and velocity stay the URDF's, and a YAML value may only tighten
//! them (a limiter that could widen the URDF would be a foot-gun).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_norway::Value;

#[derive(Debug, thiserror::Error)]
pub enum JointLimitsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a joint_limits file: {message}")]
    Malformed { path: PathBuf, message: String },
    #[error("{path}: joint `{joint}`: {message}")]
    Joint {
        path: PathBuf,
        joint: String,
        message: String,
    },
}

/// One joint's entry. Unknown keys are errors (a typo such as `max_jerks`
/// must not silently drop a limit); the keys ros2_control defines but this
/// node does not use (effort, deceleration, soft limits) are accepted.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JointLimitEntry {
    #[serde(default)]
    pub has_position_limits: bool,
    pub min_position: Option<f64>,
    pub max_position: Option<f64>,
    #[serde(default)]
    pub has_velocity_limits: bool,
    pub max_velocity: Option<f64>,
    #[serde(default)]
    pub has_acceleration_limits: bool,
    pub max_acceleration: Option<f64>,
    #[serde(default)]
    pub has_deceleration_limits: bool,
    pub max_deceleration: Option<f64>,
    #[serde(default)]
    pub has_jerk_limits: bool,
    pub max_jerk: Option<f64>,
    #[serde(default)]
    pub has_effort_limits: bool,
    pub max_effort: Option<f64>,
    #[serde(default)]
    pub angle_wraparound: bool,
    #[serde(default)]
    pub has_soft_limits: bool,
    pub k_position: Option<f64>,
    pub k_velocity: Option<f64>,
    pub soft_lower_limit: Option<f64>,
    pub soft_upper_limit: Option<f64>,
}

/// The limits a `joint_limits` file sets for one joint, checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResolvedLimits {
    pub lower: f64,
    pub upper: f64,
    pub velocity: f64,
    pub acceleration: f64,
    pub jerk: f64,
}

/// A parsed `joint_limits` file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JointLimitsFile {
    pub path: PathBuf,
    pub joints: BTreeMap<String, JointLimitEntry>,
}

impl JointLimitsFile {
    pub fn load(path: &Path) -> Result<Self, JointLimitsError> {
        let text = std::fs::read_to_string(path).map_err(|source| JointLimitsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Accepts the two layouts in use: a top-level `joint_limits:` (MoveIt's
    /// `joint_limits.yaml`) and a ROS 2 params file whose node section has
    /// `ros__parameters: joint_limits:` (ros2_control's limiters).
    pub fn parse(text: &str, path: &Path) -> Result<Self, JointLimitsError> {
        let bad = |message: String| JointLimitsError::Malformed {
            path: path.to_path_buf(),
            message,
        };
        let root: Value = serde_norway::from_str(text).map_err(|e| bad(e.to_string()))?;
        let Value::Mapping(root) = root else {
            return Err(bad("the top level is not a mapping".into()));
        };
        let section = match root.get("joint_limits") {
            Some(s) => s.clone(),
            None => root
                .values()
                .filter_map(|node| node.get("ros__parameters")?.get("joint_limits"))
                .next()
                .cloned()
                .ok_or_else(|| {
                    bad(
                        "no `joint_limits:` mapping (top level or under <node>: ros__parameters:)"
                            .into(),
                    )
                })?,
        };
        let joints: BTreeMap<String, JointLimitEntry> =
            serde_norway::from_value(section).map_err(|e| bad(e.to_string()))?;
        if joints.is_empty() {
            return Err(bad("`joint_limits` lists no joint".into()));
        }
        Ok(Self {
            path: path.to_path_buf(),
            joints,
        })
    }

    /// Limits of `joint`: position and velocity from the URDF (`urdf`),
    /// tightened where the file says so; acceleration and jerk from the file,
    /// which must give both.
    pub fn resolve(
        &self,
        joint: &str,
        urdf: &crate::robot::JointSpec,
    ) -> Result<ResolvedLimits, JointLimitsError> {
        let err = |message: String| JointLimitsError::Joint {
            path: self.path.clone(),
            joint: joint.to_string(),
            message,
        };
        let e = self.joints.get(joint).ok_or_else(|| {
            err("missing: every commanded joint needs acceleration and jerk limits".into())
        })?;
        let positive = |name: &str,
                        v: Option<f64>,
                        has: bool|
         -> Result<Option<f64>, JointLimitsError> {
            match (has, v) {
                (false, _) => Ok(None),
                (true, None) => Err(err(format!(
                    "has_{name}_limits is true but max_{name} is missing"
                ))),
                (true, Some(v)) if v.is_finite() && v > 0.0 => Ok(Some(v)),
                (true, Some(v)) => Err(err(format!("max_{name} {v} must be positive and finite"))),
            }
        };
        let acceleration = positive(
            "acceleration",
            e.max_acceleration,
            e.has_acceleration_limits,
        )?
        .ok_or_else(|| {
            err("no acceleration limit (has_acceleration_limits: true, max_acceleration: …)".into())
        })?;
        let jerk = positive("jerk", e.max_jerk, e.has_jerk_limits)?
            .ok_or_else(|| err("no jerk limit (has_jerk_limits: true, max_jerk: …)".into()))?;
        let mut velocity = urdf.velocity;
        if let Some(v) = positive("velocity", e.max_velocity, e.has_velocity_limits)? {
            if v > urdf.velocity {
                return Err(err(format!(
                    "max_velocity {v} exceeds the URDF limit {}; the file may only tighten it",
                    urdf.velocity
                )));
            }
            velocity = v;
        }
        let (mut lower, mut upper) = (urdf.lower, urdf.upper);
        if e.has_position_limits {
            let (Some(lo), Some(hi)) = (e.min_position, e.max_position) else {
                return Err(err(
                    "has_position_limits is true but min/max_position is missing".into(),
                ));
            };
            if !(lo.is_finite()
                && hi.is_finite()
                && lo < hi
                && lo >= urdf.lower
                && hi <= urdf.upper)
            {
                return Err(err(format!(
                    "position limits [{lo}, {hi}] must be ordered and inside the URDF's [{}, {}]",
                    urdf.lower, urdf.upper
                )));
            }
            (lower, upper) = (lo, hi);
        }
        Ok(ResolvedLimits {
            lower,
            upper,
            velocity,
            acceleration,
            jerk,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::robot::JointSpec;

    fn urdf() -> JointSpec {
        JointSpec {
            name: "j1".into(),
            lower: -2.0,
            upper: 2.0,
            velocity: 2.0,
            effort: 80.0,
        }
    }

    fn parse(text: &str) -> Result<JointLimitsFile, JointLimitsError> {
        JointLimitsFile::parse(text, Path::new("limits.yaml"))
    }

    const OK: &str = "joint_limits:\n  j1:\n    has_acceleration_limits: true\n    max_acceleration: 15.0\n    has_jerk_limits: true\n    max_jerk: 7500.0\n";

    #[test]
    fn both_layouts_and_urdf_defaults() {
        let f = parse(OK).unwrap();
        let r = f.resolve("j1", &urdf()).unwrap();
        assert_eq!((r.lower, r.upper, r.velocity), (-2.0, 2.0, 2.0));
        assert_eq!((r.acceleration, r.jerk), (15.0, 7500.0));
        let nested = format!(
            "some_node:\n  ros__parameters:\n{}",
            OK.lines().map(|l| format!("    {l}\n")).collect::<String>()
        );
        assert_eq!(parse(&nested).unwrap().joints, f.joints);
    }

    #[test]
    fn overrides_may_only_tighten() {
        let f = parse(&format!(
            "{OK}    has_velocity_limits: true\n    max_velocity: 1.5\n    has_position_limits: true\n    min_position: -1.0\n    max_position: 1.0\n"
        ))
        .unwrap();
        let r = f.resolve("j1", &urdf()).unwrap();
        assert_eq!((r.lower, r.upper, r.velocity), (-1.0, 1.0, 1.5));
        let wide = parse(&format!(
            "{OK}    has_velocity_limits: true\n    max_velocity: 3.0\n"
        ))
        .unwrap();
        assert!(wide
            .resolve("j1", &urdf())
            .unwrap_err()
            .to_string()
            .contains("URDF"));
    }

    #[test]
    fn errors_name_file_joint_and_field() {
        let f = parse(OK).unwrap();
        let e = f.resolve("j2", &urdf()).unwrap_err().to_string();
        assert!(
            e.contains("limits.yaml") && e.contains("j2") && e.contains("missing"),
            "{e}"
        );
        for (text, needle) in [
            ("joint_limits:\n  j1:\n    max_jerks: 1\n", "max_jerks"),
            ("[1, 2]", "mapping"),
            ("other: 1\n", "joint_limits"),
            ("joint_limits: {}\n", "no joint"),
            (": : :", "limits.yaml"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
        for (body, needle) in [
            ("    has_acceleration_limits: true\n    max_acceleration: 15.0\n", "jerk"),
            ("    has_jerk_limits: true\n    max_jerk: 10.0\n", "acceleration"),
            ("    has_acceleration_limits: true\n    max_acceleration: -1\n    has_jerk_limits: true\n    max_jerk: 10.0\n", "positive"),
            ("    has_acceleration_limits: true\n    max_acceleration: .nan\n    has_jerk_limits: true\n    max_jerk: 10.0\n", "finite"),
            ("    has_acceleration_limits: true\n    has_jerk_limits: true\n    max_jerk: 10.0\n", "max_acceleration is missing"),
        ] {
            let f = parse(&format!("joint_limits:\n  j1:\n{body}")).unwrap();
            let e = f.resolve("j1", &urdf()).unwrap_err().to_string();
            assert!(e.contains(needle), "{body}: {e}");
        }
    }
}
