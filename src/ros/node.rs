//! What a node is, for every backend: its name, namespace, domain and
//! parameters, ROS 2 name resolution, and the QoS this project needs.

use super::{error::RosError, params::ParamValue};

/// Highest domain id whose RTPS ports still fit in 16 bits with the standard
/// port mapping; ROS 2 documents the same bound.
const MAX_DOMAIN_ID: u16 = 232;

/// Which node the transport runs as.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    pub name: String,
    /// `/` or `/a/b`; relative topic names resolve under it.
    pub namespace: String,
    /// `None` reads `ROS_DOMAIN_ID` (default 0), as every ROS 2 node does.
    pub domain_id: Option<u16>,
    /// Declared as ROS parameters, so `ros2 param list/get` show the values
    /// the node actually runs with. The node reads its parameters once, at
    /// start-up; see [`crate::ros::params`].
    pub parameters: Vec<(String, ParamValue)>,
    /// Topic remapping rules `(from, to)`, as `--ros-args -r from:=to`;
    /// both sides are resolved like topics before they are compared.
    pub remaps: Vec<(String, String)>,
}

impl NodeSpec {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            namespace: "/".into(),
            domain_id: None,
            parameters: Vec::new(),
            remaps: Vec::new(),
        }
    }

    /// Applies `--ros-args -r` rules: `__node:=name` renames the node,
    /// `__ns:=/ns` puts it in a namespace, `from:=to` remaps a topic.
    /// Node-targeted rules (`node:from:=to`) are refused, not ignored.
    pub fn with_remap_rules<S: AsRef<str>>(mut self, rules: &[S]) -> Result<Self, RosError> {
        for rule in rules {
            let rule = rule.as_ref();
            let bad = |why: &'static str| invalid(rule, why);
            let (from, to) = rule
                .split_once(":=")
                .ok_or_else(|| bad("expected from:=to"))?;
            if from.contains(':') {
                return Err(bad(
                    "node-targeted rules (`node:from:=to`) are not supported",
                ));
            }
            match from {
                "__node" | "__name" => {
                    check_token(rule, to)?;
                    self.name = to.into();
                }
                "__ns" => {
                    normalise_namespace(to)?;
                    self.namespace = to.into();
                }
                _ if from.starts_with("__") => return Err(bad("unknown special rule")),
                _ => self.remaps.push((from.into(), to.into())),
            }
        }
        // Resolve now, so a bad rule fails at start-up with its text.
        for (from, to) in &self.remaps {
            self.expand(from)?;
            self.expand(to)?;
        }
        Ok(self)
    }

    /// The node's fully qualified name, e.g. `/left_arm/motif_controller`.
    pub fn fully_qualified_name(&self) -> Result<String, RosError> {
        self.expand("~")
    }

    pub fn with_parameters(mut self, parameters: Vec<(String, ParamValue)>) -> Self {
        self.parameters = parameters;
        self
    }

    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    pub fn with_domain_id(mut self, domain_id: u16) -> Self {
        self.domain_id = Some(domain_id);
        self
    }

    /// Domain id from the spec, else `ROS_DOMAIN_ID`, else 0.
    pub fn resolve_domain_id(&self) -> Result<u16, RosError> {
        match self.domain_id {
            Some(id) => check_domain_id(id, || id.to_string()),
            None => match std::env::var("ROS_DOMAIN_ID") {
                Ok(v) if v.trim().is_empty() => Ok(0),
                Ok(v) => match v.trim().parse::<u16>() {
                    Ok(id) => check_domain_id(id, || v.clone()),
                    Err(_) => Err(RosError::InvalidDomainId { value: v }),
                },
                Err(_) => Ok(0),
            },
        }
    }

    /// Fully qualified ROS name of a topic, with ROS 2 rules: `/x` is
    /// absolute, `~/x` is private to the node, anything else is relative to
    /// the namespace.
    /// Remapping rules apply to the result, as in ROS 2.
    pub fn resolve_topic(&self, topic: &str) -> Result<String, RosError> {
        let full = self.expand(topic)?;
        for (from, to) in &self.remaps {
            if self.expand(from)? == full {
                return self.expand(to);
            }
        }
        Ok(full)
    }

    /// Name expansion alone (`~` alone is the node's own name).
    fn expand(&self, topic: &str) -> Result<String, RosError> {
        let ns = normalise_namespace(&self.namespace)?;
        check_token(&self.name, &self.name)?;
        let full = if topic == "~" {
            format!("{}/{}", ns.trim_end_matches('/'), self.name)
        } else if let Some(rest) = topic.strip_prefix("~/") {
            format!("{}/{}/{}", ns.trim_end_matches('/'), self.name, rest)
        } else if topic.starts_with('/') {
            topic.to_string()
        } else {
            format!("{}/{}", ns.trim_end_matches('/'), topic)
        };
        let body = full.strip_prefix('/').unwrap_or(&full);
        if body.is_empty() {
            return Err(invalid(topic, "empty name"));
        }
        for token in body.split('/') {
            check_token(topic, token)?;
        }
        Ok(full)
    }
}

/// DDS topic name of a fully qualified ROS topic: `/joint_states` →
/// `rt/joint_states`.
pub fn dds_topic_name(fully_qualified: &str) -> String {
    format!("rt{fully_qualified}")
}

fn check_domain_id(id: u16, shown: impl FnOnce() -> String) -> Result<u16, RosError> {
    if id <= MAX_DOMAIN_ID {
        Ok(id)
    } else {
        Err(RosError::InvalidDomainId { value: shown() })
    }
}

fn invalid(name: &str, reason: &'static str) -> RosError {
    RosError::InvalidName {
        name: name.to_string(),
        reason,
    }
}

pub(crate) fn normalise_namespace(ns: &str) -> Result<String, RosError> {
    if ns.is_empty() || ns == "/" {
        return Ok("/".into());
    }
    let ns = if ns.starts_with('/') {
        ns.to_string()
    } else {
        format!("/{ns}")
    };
    for token in ns[1..].split('/') {
        check_token(&ns, token)?;
    }
    Ok(ns)
}

/// ROS 2 name token rules (alphanumerics and `_`, not starting with a digit,
/// no `__`); `~` and `{}` substitutions are handled (or refused) before this.
pub(crate) fn check_token(whole: &str, token: &str) -> Result<(), RosError> {
    if token.is_empty() {
        return Err(invalid(whole, "empty token (double or trailing slash)"));
    }
    if !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(invalid(whole, "only ASCII letters, digits and '_' allowed"));
    }
    if token.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(invalid(whole, "a token must not start with a digit"));
    }
    if token.contains("__") {
        return Err(invalid(whole, "'__' is reserved"));
    }
    Ok(())
}

/// Backend-neutral QoS: what this project needs, nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QosSpec {
    pub reliable: bool,
    /// Late joiners get the last `depth` samples (ROS 1 "latched").
    pub transient_local: bool,
    pub depth: usize,
}

impl QosSpec {
    /// ROS 2 default: reliable, volatile, keep-last 10.
    pub const DEFAULT: QosSpec = QosSpec {
        reliable: true,
        transient_local: false,
        depth: 10,
    };

    /// Latched topic (e.g. `~/motifs`): late joiners get the latest sample.
    pub const LATCHED: QosSpec = QosSpec {
        reliable: true,
        transient_local: true,
        depth: 1,
    };
}

impl Default for QosSpec {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_ros2_names() {
        let spec = NodeSpec::new("motif_controller");
        assert_eq!(
            spec.resolve_topic("/joint_states").unwrap(),
            "/joint_states"
        );
        assert_eq!(
            spec.resolve_topic("~/sequence").unwrap(),
            "/motif_controller/sequence"
        );
        assert_eq!(spec.resolve_topic("status").unwrap(), "/status");
        let ns = spec.clone().with_namespace("/arm1");
        assert_eq!(
            ns.resolve_topic("~/motifs").unwrap(),
            "/arm1/motif_controller/motifs"
        );
        assert_eq!(ns.resolve_topic("cmd").unwrap(), "/arm1/cmd");
        assert_eq!(
            dds_topic_name(&spec.resolve_topic("/joint_states").unwrap()),
            "rt/joint_states"
        );
    }

    #[test]
    fn remap_rules_rename_namespace_and_remap_as_ros2() {
        let spec = NodeSpec::new("motif_controller")
            .with_remap_rules(&[
                "__ns:=/left_arm",
                "__node:=ctl",
                "joint_states:=measured",
                "/forward_position_controller/commands:=/robot/cmd",
            ])
            .unwrap();
        assert_eq!(spec.fully_qualified_name().unwrap(), "/left_arm/ctl");
        assert_eq!(
            spec.resolve_topic("~/status").unwrap(),
            "/left_arm/ctl/status"
        );
        // Relative rules are expanded in the node's namespace before matching.
        assert_eq!(
            spec.resolve_topic("joint_states").unwrap(),
            "/left_arm/measured"
        );
        assert_eq!(
            spec.resolve_topic("/left_arm/joint_states").unwrap(),
            "/left_arm/measured"
        );
        assert_eq!(
            spec.resolve_topic("/forward_position_controller/commands")
                .unwrap(),
            "/robot/cmd"
        );
        // Absolute names outside the rules stay put.
        assert_eq!(spec.resolve_topic("/diagnostics").unwrap(), "/diagnostics");
        for bad in [
            "x",
            "__ns:=bad ns",
            "__node:=a/b",
            "n:a:=b",
            "__log_level:=debug",
            "a:=b c",
        ] {
            assert!(
                NodeSpec::new("n").with_remap_rules(&[bad]).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn rejects_bad_names() {
        let spec = NodeSpec::new("n");
        for bad in [
            "", "/", "a//b", "a/", "1abc", "a b", "a__b", "~x", "{sub}/x",
        ] {
            assert!(spec.resolve_topic(bad).is_err(), "{bad:?} accepted");
        }
        assert!(NodeSpec::new("bad-name").resolve_topic("/x").is_err());
    }

    #[test]
    fn domain_id_bounds() {
        assert!(NodeSpec::new("n")
            .with_domain_id(232)
            .resolve_domain_id()
            .is_ok());
        assert!(NodeSpec::new("n")
            .with_domain_id(233)
            .resolve_domain_id()
            .is_err());
    }
}
