//! The arm as the controller sees it: movable joints in chain order with their limits.
//!
//! Everything is read from a URDF. Errors name the source (file path or caller-given
//! name) because a URDF mistake is usually found far from where the file was chosen.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use thiserror::Error;
use urdf_rs::JointType;

/// The Panda "ready" pose, the default start for a 7-joint arm:
/// the arm motifs start and end here and the simulated arm starts here.
pub const PANDA_READY: [f64; 7] = [
    0.0,
    -std::f64::consts::FRAC_PI_4,
    0.0,
    -3.0 * std::f64::consts::FRAC_PI_4,
    0.0,
    std::f64::consts::FRAC_PI_2,
    std::f64::consts::FRAC_PI_4,
];

/// Why a URDF could not be used as an arm model.
#[derive(Debug, Error)]
pub enum ArmError {
    #[error("cannot read URDF file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("malformed URDF in {source_name}: {message}")]
    Malformed {
        source_name: String,
        message: String,
    },
    #[error("{source_name}: joint `{joint}` is {kind} but has no <limit> element")]
    MissingLimits {
        source_name: String,
        joint: String,
        kind: &'static str,
    },
    #[error(
        "{source_name}: joint `{joint}` has invalid limits \
         (lower {lower}, upper {upper}, velocity {velocity}, effort {effort}): {reason}"
    )]
    InvalidLimits {
        source_name: String,
        joint: String,
        lower: f64,
        upper: f64,
        velocity: f64,
        effort: f64,
        reason: &'static str,
    },
    #[error(
        "{source_name}: joint `{joint}` is continuous; position limits are required, \
         so continuous joints are unsupported"
    )]
    ContinuousJoint { source_name: String, joint: String },
    #[error("{source_name}: joint `{joint}` has unsupported type {kind}")]
    UnsupportedJoint {
        source_name: String,
        joint: String,
        kind: String,
    },
    #[error("{source_name}: joint `{joint}` refers to unknown link `{link}`")]
    UnknownLink {
        source_name: String,
        joint: String,
        link: String,
    },
    #[error("{source_name}: joint `{joint}` mimics unknown joint `{target}`")]
    UnknownMimic {
        source_name: String,
        joint: String,
        target: String,
    },
    #[error("{source_name}: links and joints do not form a single tree: {reason}")]
    NotATree { source_name: String, reason: String },
    #[error("{source_name}: no movable (revolute or prismatic) joints")]
    NoMovableJoints { source_name: String },
    #[error(
        "joint names do not match the arm `{robot}`: expected {expected:?}, got {got:?}; \
         missing {missing:?}, unexpected {unexpected:?}"
    )]
    JointNameMismatch {
        robot: String,
        expected: Vec<String>,
        got: Vec<String>,
        missing: Vec<String>,
        unexpected: Vec<String>,
    },
}

/// Limits of one movable joint, in SI units (rad or m, per second, N·m or N).
#[derive(Debug, Clone, PartialEq)]
pub struct JointSpec {
    pub name: String,
    pub lower: f64,
    pub upper: f64,
    pub velocity: f64,
    pub effort: f64,
}

/// The movable joints of a URDF in root-to-tip (depth-first) order, with limits.
#[derive(Debug, Clone)]
pub struct ArmModel {
    name: String,
    source_name: String,
    joints: Vec<JointSpec>,
    names: Vec<String>,
    tip_link: String,
    robot: urdf_rs::Robot,
    text: String,
}

impl ArmModel {
    /// Reads and validates a URDF file (plain URDF; xacro is not expanded).
    pub fn from_urdf_file(path: impl AsRef<Path>) -> Result<Self, ArmError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ArmError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_urdf_str(&text, &path.display().to_string())
    }

    /// Parses and validates URDF text; `source_name` is used in error messages.
    pub fn from_urdf_str(text: &str, source_name: &str) -> Result<Self, ArmError> {
        let src = source_name.to_string();
        let robot = urdf_rs::read_from_string(text).map_err(|e| ArmError::Malformed {
            source_name: src.clone(),
            message: e.to_string(),
        })?;
        let order = tree_order(&robot, &src)?;

        let joint_names: HashSet<&str> = robot.joints.iter().map(|j| j.name.as_str()).collect();
        let mut joints = Vec::new();
        for &ji in &order {
            let j = &robot.joints[ji];
            if let Some(m) = &j.mimic {
                if !joint_names.contains(m.joint.as_str()) {
                    return Err(ArmError::UnknownMimic {
                        source_name: src.clone(),
                        joint: j.name.clone(),
                        target: m.joint.clone(),
                    });
                }
            }
            let kind = match j.joint_type {
                JointType::Fixed => continue,
                JointType::Revolute => "revolute",
                JointType::Prismatic => "prismatic",
                JointType::Continuous => {
                    return Err(ArmError::ContinuousJoint {
                        source_name: src.clone(),
                        joint: j.name.clone(),
                    })
                }
                ref other => {
                    return Err(ArmError::UnsupportedJoint {
                        source_name: src.clone(),
                        joint: j.name.clone(),
                        kind: format!("{other:?}").to_lowercase(),
                    })
                }
            };
            // A mimic joint follows its leader; the controller must not command it.
            if j.mimic.is_some() {
                continue;
            }
            joints.push(validate_limits(j, kind, &src)?);
        }
        if joints.is_empty() {
            return Err(ArmError::NoMovableJoints { source_name: src });
        }
        let tip_link = tip_link(&robot, &order, &joints[joints.len() - 1].name);
        let names = joints.iter().map(|j| j.name.clone()).collect();
        Ok(Self {
            name: robot.name.clone(),
            source_name: src,
            joints,
            names,
            tip_link,
            robot,
            text: text.to_string(),
        })
    }

    /// The URDF text, as published on `robot_description`.
    pub fn urdf_text(&self) -> &str {
        &self.text
    }

    /// The robot name from the URDF.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file path or name the model was read from.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    pub fn dof(&self) -> usize {
        self.joints.len()
    }

    pub fn joints(&self) -> &[JointSpec] {
        &self.joints
    }

    /// Movable joint names in chain order: the order of every joint vector in this crate.
    pub fn joint_names(&self) -> &[String] {
        &self.names
    }

    /// `(lower, upper)` position limits per joint.
    pub fn position_limits(&self) -> Vec<(f64, f64)> {
        self.joints.iter().map(|j| (j.lower, j.upper)).collect()
    }

    pub fn velocity_limits(&self) -> Vec<f64> {
        self.joints.iter().map(|j| j.velocity).collect()
    }

    pub fn effort_limits(&self) -> Vec<f64> {
        self.joints.iter().map(|j| j.effort).collect()
    }

    /// The link at the end of the chain that carries the last movable joint
    /// (following fixed joints, e.g. the flange).
    pub fn tip_link(&self) -> &str {
        &self.tip_link
    }

    /// The parsed URDF, for kinematics and simulation.
    pub fn urdf(&self) -> &urdf_rs::Robot {
        &self.robot
    }

    /// Checks that `names` are exactly this arm's joint names in the same order.
    pub fn check_joint_names(&self, names: &[String]) -> Result<(), ArmError> {
        if names == self.names.as_slice() {
            return Ok(());
        }
        let have: HashSet<&str> = names.iter().map(String::as_str).collect();
        let want: HashSet<&str> = self.names.iter().map(String::as_str).collect();
        Err(ArmError::JointNameMismatch {
            robot: self.name.clone(),
            expected: self.names.clone(),
            got: names.to_vec(),
            missing: self
                .names
                .iter()
                .filter(|n| !have.contains(n.as_str()))
                .cloned()
                .collect(),
            unexpected: names
                .iter()
                .filter(|n| !want.contains(n.as_str()))
                .cloned()
                .collect(),
        })
    }
}

fn validate_limits(
    j: &urdf_rs::Joint,
    kind: &'static str,
    src: &str,
) -> Result<JointSpec, ArmError> {
    let l = &j.limit;
    // urdf-rs fills an absent <limit> with zeros, which no real joint has.
    if l.lower == 0.0 && l.upper == 0.0 && l.velocity == 0.0 && l.effort == 0.0 {
        return Err(ArmError::MissingLimits {
            source_name: src.to_string(),
            joint: j.name.clone(),
            kind,
        });
    }
    let reason = if ![l.lower, l.upper, l.velocity, l.effort]
        .iter()
        .all(|v| v.is_finite())
    {
        Some("non-finite value")
    } else if l.lower >= l.upper {
        Some("lower must be below upper")
    } else if l.velocity <= 0.0 {
        Some("velocity limit must be positive")
    } else if l.effort <= 0.0 {
        Some("effort limit must be positive")
    } else {
        None
    };
    if let Some(reason) = reason {
        return Err(ArmError::InvalidLimits {
            source_name: src.to_string(),
            joint: j.name.clone(),
            lower: l.lower,
            upper: l.upper,
            velocity: l.velocity,
            effort: l.effort,
            reason,
        });
    }
    Ok(JointSpec {
        name: j.name.clone(),
        lower: l.lower,
        upper: l.upper,
        velocity: l.velocity,
        effort: l.effort,
    })
}

/// Joint indices in depth-first order from the single root link, children in file order.
fn tree_order(robot: &urdf_rs::Robot, src: &str) -> Result<Vec<usize>, ArmError> {
    let not_tree = |reason: String| ArmError::NotATree {
        source_name: src.to_string(),
        reason,
    };
    let links: HashSet<&str> = robot.links.iter().map(|l| l.name.as_str()).collect();
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut child_links = HashSet::new();
    for (i, j) in robot.joints.iter().enumerate() {
        for link in [&j.parent.link, &j.child.link] {
            if !links.contains(link.as_str()) {
                return Err(ArmError::UnknownLink {
                    source_name: src.to_string(),
                    joint: j.name.clone(),
                    link: link.clone(),
                });
            }
        }
        if !child_links.insert(j.child.link.as_str()) {
            return Err(not_tree(format!(
                "link `{}` is the child of more than one joint",
                j.child.link
            )));
        }
        children.entry(j.parent.link.as_str()).or_default().push(i);
    }
    let roots: Vec<&str> = robot
        .links
        .iter()
        .map(|l| l.name.as_str())
        .filter(|l| !child_links.contains(l))
        .collect();
    if roots.len() != 1 {
        return Err(not_tree(format!("expected one root link, found {roots:?}")));
    }
    let mut order = Vec::with_capacity(robot.joints.len());
    let mut stack: Vec<usize> = children.get(roots[0]).cloned().unwrap_or_default();
    stack.reverse();
    while let Some(ji) = stack.pop() {
        order.push(ji);
        if let Some(c) = children.get(robot.joints[ji].child.link.as_str()) {
            stack.extend(c.iter().rev());
        }
    }
    if order.len() != robot.joints.len() {
        return Err(not_tree(
            "some joints are not reachable from the root".into(),
        ));
    }
    Ok(order)
}

/// Follows fixed joints below the last movable joint to the deepest link.
fn tip_link(robot: &urdf_rs::Robot, order: &[usize], last_joint: &str) -> String {
    let mut link = robot
        .joints
        .iter()
        .find(|j| j.name == last_joint)
        .map(|j| j.child.link.clone())
        .unwrap_or_default();
    loop {
        let next = order.iter().map(|&i| &robot.joints[i]).find(|j| {
            j.parent.link == link && matches!(j.joint_type, JointType::Fixed) && j.mimic.is_none()
        });
        match next {
            Some(j) => link = j.child.link.clone(),
            None => return link,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PANDA: &str = include_str!("../../urdf/arm.urdf");

    fn two_joint(limit1: &str, type1: &str) -> String {
        format!(
            r#"<robot name="t">
  <link name="a"/><link name="b"/><link name="c"/>
  <joint name="j1" type="{type1}"><parent link="a"/><child link="b"/><axis xyz="0 0 1"/>{limit1}</joint>
  <joint name="j2" type="revolute"><parent link="b"/><child link="c"/><axis xyz="0 0 1"/>
    <limit lower="-1" upper="1" effort="1" velocity="1"/></joint>
</robot>"#
        )
    }

    #[test]
    fn panda_joints_and_limits() {
        let arm = ArmModel::from_urdf_str(PANDA, "arm.urdf").unwrap();
        let names: Vec<String> = (1..=7).map(|i| format!("panda_joint{i}")).collect();
        assert_eq!(arm.joint_names(), names.as_slice());
        assert_eq!(arm.tip_link(), "panda_link8");
        let lim = arm.position_limits();
        assert_eq!(lim[3], (-3.0718, -0.0698));
        assert_eq!(lim[5], (-0.0175, 3.7525));
        assert_eq!(
            arm.velocity_limits(),
            vec![2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61]
        );
        assert_eq!(
            arm.effort_limits(),
            vec![87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0]
        );
        arm.check_joint_names(&names).unwrap();
    }

    #[test]
    fn name_mismatch_lists_differences() {
        let arm = ArmModel::from_urdf_str(PANDA, "arm.urdf").unwrap();
        let mut names: Vec<String> = (1..=7).map(|i| format!("panda_joint{i}")).collect();
        names[2] = "elbow".into();
        match arm.check_joint_names(&names) {
            Err(ArmError::JointNameMismatch {
                missing,
                unexpected,
                ..
            }) => {
                assert_eq!(missing, vec!["panda_joint3".to_string()]);
                assert_eq!(unexpected, vec!["elbow".to_string()]);
            }
            other => panic!("{other:?}"),
        }
        names[2] = "panda_joint3".into();
        names.swap(0, 1);
        assert!(arm.check_joint_names(&names).is_err());
    }

    #[test]
    fn missing_file_names_path() {
        let e = ArmModel::from_urdf_file("/nonexistent/arm.urdf").unwrap_err();
        assert!(matches!(e, ArmError::Io { .. }));
        assert!(e.to_string().contains("/nonexistent/arm.urdf"));
    }

    #[test]
    fn malformed_xml() {
        let e = ArmModel::from_urdf_str("<robot name=", "bad.urdf").unwrap_err();
        assert!(matches!(e, ArmError::Malformed { .. }), "{e}");
        assert!(e.to_string().contains("bad.urdf"));
    }

    #[test]
    fn joint_without_limits() {
        let e = ArmModel::from_urdf_str(&two_joint("", "revolute"), "t").unwrap_err();
        assert!(
            matches!(e, ArmError::MissingLimits { ref joint, .. } if joint == "j1"),
            "{e}"
        );
    }

    #[test]
    fn inverted_limits() {
        let lim = r#"<limit lower="1" upper="-1" effort="1" velocity="1"/>"#;
        let e = ArmModel::from_urdf_str(&two_joint(lim, "revolute"), "t").unwrap_err();
        assert!(matches!(e, ArmError::InvalidLimits { .. }), "{e}");
    }

    #[test]
    fn continuous_unsupported() {
        let e = ArmModel::from_urdf_str(&two_joint("", "continuous"), "t").unwrap_err();
        assert!(matches!(e, ArmError::ContinuousJoint { .. }), "{e}");
    }

    #[test]
    fn no_movable_joints() {
        let text = r#"<robot name="t"><link name="a"/><link name="b"/>
  <joint name="f" type="fixed"><parent link="a"/><child link="b"/></joint></robot>"#;
        let e = ArmModel::from_urdf_str(text, "t").unwrap_err();
        assert!(matches!(e, ArmError::NoMovableJoints { .. }), "{e}");
    }

    #[test]
    fn unknown_link() {
        let text = two_joint("", "fixed").replace(r#"<child link="c"/>"#, r#"<child link="zz"/>"#);
        let e = ArmModel::from_urdf_str(&text, "t").unwrap_err();
        assert!(matches!(e, ArmError::UnknownLink { .. }), "{e}");
    }

    #[test]
    fn fixed_first_joint_is_skipped() {
        let arm = ArmModel::from_urdf_str(&two_joint("", "fixed"), "t").unwrap();
        assert_eq!(arm.joint_names(), ["j2".to_string()]);
        assert_eq!(arm.tip_link(), "c");
    }
}
