//! Node parameters as ROS parameters, for every backend.
//!
//! The node reads its parameters once, before the transport starts (the
//! library, URDF and loop rate shape everything after), with the same parser
//! on every backend (`node::Params`). The transport then declares the
//! resulting values as ROS parameters so that `ros2 param list/get` show
//! what the node runs with. The few parameters the node can apply while it
//! runs ([`LiveParameters`], e.g. `speed`) are checked and handed to it; a
//! change to any other is refused with [`READ_ONLY_REASON`] where the
//! backend allows it (ros2-client) and logged as not applied where it does
//! not (r2r).

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::error::RosError;

/// The ROS 2 parameter types this project uses (a subset of
/// `rcl_interfaces/msg/ParameterValue`).
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Bool(bool),
    Integer(i64),
    Double(f64),
    String(String),
    StringArray(Vec<String>),
    DoubleArray(Vec<f64>),
}

/// Why a parameter cannot be changed at run time; the text the parameter
/// services return.
pub const READ_ONLY_REASON: &str =
    "read-only: motif_controller reads this parameter at start-up; restart the node with the new value";

/// Which parameters a `ros2 param set` may change while the node runs, and
/// whether a value is acceptable (`Err` carries the reason the parameter
/// service returns). Accepted changes arrive on the channel from
/// [`crate::ros::TransportBuilder::live_parameters`].
pub type LiveCheck = Arc<dyn Fn(&str, &ParamValue) -> Option<Result<(), String>> + Send + Sync>;

/// The backends' end of the live parameters: the check, and where accepted
/// changes go (a bounded channel; a full one refuses the change).
#[derive(Clone)]
pub struct LiveParameters {
    pub check: LiveCheck,
    pub changes: crossbeam_channel::Sender<(String, ParamValue)>,
}

/// The parameter services' answer to setting `name` to `value`, whose
/// start-up value was `declared`: a live parameter goes through its check
/// (and, accepted, on to the node); any other may only be "set" to the value
/// in use. Both backends answer with this.
pub fn answer_set(
    live: Option<&LiveParameters>,
    name: &str,
    value: &ParamValue,
    declared: Option<&ParamValue>,
) -> Result<(), String> {
    match live.and_then(|l| Some((l, (l.check)(name, value)?))) {
        Some((l, Ok(()))) => l
            .changes
            .try_send((name.to_string(), value.clone()))
            .map_err(|_| "busy: too many parameter changes waiting; try again".to_string()),
        Some((_, Err(reason))) => Err(reason),
        None if declared == Some(value) => Ok(()),
        None => Err(READ_ONLY_REASON.to_string()),
    }
}

/// One ROS parameter per field of a flat struct (e.g. `node::Params`), in
/// field order. Paths become strings; an empty list becomes an empty string
/// array, which is how `joint_names: []` is typed in the params file.
pub fn parameters_of<T: Serialize>(value: &T) -> Result<Vec<(String, ParamValue)>, RosError> {
    let json = serde_json::to_value(value).map_err(|e| RosError::Parameter {
        name: "*".into(),
        reason: e.to_string(),
    })?;
    let Value::Object(fields) = json else {
        return Err(RosError::Parameter {
            name: "*".into(),
            reason: "parameters must be a struct of named fields".into(),
        });
    };
    fields
        .into_iter()
        .map(|(name, v)| {
            let p = to_param(&v).ok_or_else(|| RosError::Parameter {
                name: name.clone(),
                reason: format!("{v} has no ROS parameter type"),
            })?;
            Ok((name, p))
        })
        .collect()
}

fn to_param(v: &Value) -> Option<ParamValue> {
    Some(match v {
        Value::Bool(b) => ParamValue::Bool(*b),
        // Integers stay integers so `-p spin_us:=100` and `ros2 param get` agree
        // on the type; u64 above i64::MAX is not a sensible parameter value.
        Value::Number(n) if n.is_i64() || n.is_u64() => ParamValue::Integer(n.as_i64()?),
        Value::Number(n) => ParamValue::Double(n.as_f64()?),
        Value::String(s) => ParamValue::String(s.clone()),
        // An empty list is typed as a string array (`joint_names: []`).
        Value::Array(items) if items.iter().all(Value::is_number) && !items.is_empty() => {
            ParamValue::DoubleArray(items.iter().map(Value::as_f64).collect::<Option<_>>()?)
        }
        Value::Array(items) => ParamValue::StringArray(
            items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<_>>()?,
        ),
        Value::Null | Value::Object(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Params;

    #[test]
    fn every_node_parameter_has_a_ros_type() {
        let params = Params {
            joint_names: vec!["a".into(), "b".into()],
            ..Params::default()
        };
        let p = parameters_of(&params).unwrap();
        let get = |n: &str| p.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        assert_eq!(
            get("library"),
            Some(ParamValue::String("models/default".into()))
        );
        assert_eq!(get("loop_rate_hz"), Some(ParamValue::Double(1000.0)));
        assert_eq!(get("spin_us"), Some(ParamValue::Integer(100)));
        assert_eq!(get("publish_commands"), Some(ParamValue::Bool(true)));
        assert_eq!(
            get("joint_names"),
            Some(ParamValue::StringArray(vec!["a".into(), "b".into()]))
        );
        // Every field of Params, once: the params file and the ROS parameters
        // must name the same things.
        let fields = serde_json::to_value(&params).unwrap();
        assert_eq!(p.len(), fields.as_object().unwrap().len());
    }

    #[test]
    fn rejects_what_ros_cannot_type() {
        #[derive(Serialize)]
        struct Nested {
            inner: std::collections::BTreeMap<String, u8>,
        }
        let e = parameters_of(&Nested {
            inner: Default::default(),
        })
        .unwrap_err();
        assert!(e.to_string().contains("inner"), "{e}");
        assert!(parameters_of(&3u8).is_err());
    }
}
