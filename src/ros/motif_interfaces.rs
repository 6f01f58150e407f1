//! Our own interface package, `interfaces/motif_interfaces/` (msg, srv and
//! action files), as serde structs in the files' field order: the CDR
//! encoding follows the struct. The definitions are included from those
//! files, so a bag's schema is the file itself.
//!
//! The transport carries them on the default backend only: r2r would need
//! motif_interfaces' generated bindings, which its bundled set (CI's
//! type-check) does not have.

use serde::{Deserialize, Serialize};

#[cfg(not(feature = "ros-r2r"))]
use super::msgs::{ros_message, RosMessage};
use super::msgs::{RosAction, RosService, Time};

/// `motif_interfaces/msg/MotifStatus`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MotifStatus {
    pub stamp: Time,
    pub phase: String,
    pub motif: String,
    pub progress: f64,
    pub queue: Vec<String>,
    pub speed: f64,
    pub effective_speed: f64,
    pub state: String,
    pub fault: String,
    pub last_error: String,
    pub commands_accepted: u64,
    pub commands_rejected: u64,
    pub faults: u64,
    pub ticks: u64,
    pub overruns: u64,
    pub lateness_p99_us: f64,
}

#[cfg(not(feature = "ros-r2r"))]
ros_message!(
    MotifStatus,
    "motif_interfaces",
    "MotifStatus",
    include_str!("../../interfaces/motif_interfaces/msg/MotifStatus.msg"),
    Time
);

/// `motif_interfaces/action/PlayMotifs`.
pub struct PlayMotifs;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlayMotifsGoal {
    pub motifs: Vec<String>,
    pub append: bool,
    pub speed: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlayMotifsResult {
    pub success: bool,
    pub motifs_completed: u32,
    pub error: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlayMotifsFeedback {
    pub current_motif: String,
    pub index: u32,
    pub progress: f64,
    pub phase: String,
}

impl RosAction for PlayMotifs {
    const PACKAGE: &'static str = "motif_interfaces";
    const NAME: &'static str = "PlayMotifs";
    type Goal = PlayMotifsGoal;
    type Result = PlayMotifsResult;
    type Feedback = PlayMotifsFeedback;
}

/// `motif_interfaces/srv/ListMotifs`.
pub struct ListMotifs;

/// An empty request: rosidl gives every empty message this one byte.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListMotifsRequest {
    pub structure_needs_at_least_one_member: u8,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListMotifsResponse {
    pub names: Vec<String>,
    pub durations: Vec<f64>,
    pub outputs: Vec<String>,
}

impl RosService for ListMotifs {
    const PACKAGE: &'static str = "motif_interfaces";
    const NAME: &'static str = "ListMotifs";
    type Request = ListMotifsRequest;
    type Response = ListMotifsResponse;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The structs above against the files they mirror: the same field
    /// names per section. (The order is what the Cyclone peer's types,
    /// written from the files, check on the wire: tests/actions.rs.)
    #[test]
    fn structs_follow_the_interface_files() {
        fn fields(def: &str) -> Vec<Vec<String>> {
            def.split("\n---")
                .map(|part| {
                    part.lines()
                        .map(|l| l.split('#').next().unwrap().trim())
                        .filter(|l| !l.is_empty())
                        .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
                        .collect()
                })
                .collect()
        }
        fn names<T: Serialize + Default>() -> Vec<String> {
            // serde_json's map is sorted by key.
            let serde_json::Value::Object(m) = serde_json::to_value(T::default()).unwrap() else {
                panic!("not a struct")
            };
            m.keys().cloned().collect()
        }
        let root = env!("CARGO_MANIFEST_DIR");
        let read = |p: &str| {
            std::fs::read_to_string(format!("{root}/interfaces/motif_interfaces/{p}")).unwrap()
        };
        let sort = |mut v: Vec<String>| {
            v.sort();
            v
        };
        let action = fields(&read("action/PlayMotifs.action"));
        assert_eq!(sort(action[0].clone()), names::<PlayMotifsGoal>());
        assert_eq!(sort(action[1].clone()), names::<PlayMotifsResult>());
        assert_eq!(sort(action[2].clone()), names::<PlayMotifsFeedback>());
        let srv = fields(&read("srv/ListMotifs.srv"));
        assert!(srv[0].is_empty());
        assert_eq!(sort(srv[1].clone()), names::<ListMotifsResponse>());
        assert_eq!(
            sort(fields(&read("msg/MotifStatus.msg"))[0].clone()),
            names::<MotifStatus>()
        );
    }
}
