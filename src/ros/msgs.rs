//! ROS 2 message types as serde structs.
//!
//! CDR has no field names or tags: a struct is its fields in declaration
//! order, so each struct below lists its fields exactly in `.msg` order. Do not
//! reorder, add or remove fields, or peers will decode garbage.

use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// A message type that the transport can carry.
///
/// The package and type name give both the ROS name
/// (`std_msgs/msg/String`) and the DDS type name that other DDS
/// implementations match on (`std_msgs::msg::dds_::String_`).
/// [`BackendMessage`] adds what an optional backend needs (for r2r, the
/// conversion to its generated type); without such a backend it is empty.
pub trait RosMessage:
    Serialize + DeserializeOwned + std::fmt::Debug + Send + Sync + BackendMessage + 'static
{
    const PACKAGE: &'static str;
    const NAME: &'static str;
    /// The `.msg` definition (fields; comments as in the `.msg` file), what a bag's
    /// `ros2msg` schema carries.
    const DEFINITION: &'static str;

    /// The message types this one's fields use, depth first, each once:
    /// `(package/Name, definition)`.
    fn uses(_out: &mut Vec<(String, &'static str)>) {}

    /// The `ros2msg` schema rosbag2 writes into an MCAP file: the definition,
    /// then each type it uses after a line of 80 `=` and `MSG: package/Name`.
    fn ros2msg_schema() -> String {
        let mut used = Vec::new();
        Self::uses(&mut used);
        let mut s = Self::DEFINITION.to_string();
        for (name, def) in used {
            s.push_str(&"=".repeat(80));
            s.push_str("\nMSG: ");
            s.push_str(&name);
            s.push('\n');
            s.push_str(def);
        }
        s
    }

    fn ros_type_name() -> String {
        format!("{}/msg/{}", Self::PACKAGE, Self::NAME)
    }

    fn dds_type_name() -> String {
        format!("{}::msg::dds_::{}_", Self::PACKAGE, Self::NAME)
    }
}

#[cfg(feature = "ros-r2r")]
pub use super::r2r_backend::R2rMessage as BackendMessage;

/// Nothing to add when only the default backend is compiled.
#[cfg(not(feature = "ros-r2r"))]
pub trait BackendMessage {}

#[cfg(not(feature = "ros-r2r"))]
impl<T> BackendMessage for T {}

/// A service type: `package/srv/Name`, its request and response.
pub trait RosService: 'static {
    const PACKAGE: &'static str;
    const NAME: &'static str;
    type Request: Serialize + DeserializeOwned + std::fmt::Debug + Clone + Send + Sync + 'static;
    type Response: Serialize + DeserializeOwned + std::fmt::Debug + Clone + Send + Sync + 'static;
}

/// An action type: `package/action/Name`, its goal, result and feedback.
pub trait RosAction: 'static {
    const PACKAGE: &'static str;
    const NAME: &'static str;
    type Goal: Serialize + DeserializeOwned + std::fmt::Debug + Clone + Send + Sync + 'static;
    type Result: Serialize
        + DeserializeOwned
        + std::fmt::Debug
        + Clone
        + Default
        + Send
        + Sync
        + 'static;
    type Feedback: Serialize + DeserializeOwned + std::fmt::Debug + Clone + Send + Sync + 'static;
}

macro_rules! ros_message {
    ($ty:ty, $pkg:literal, $name:literal, $def:expr $(, $dep:ty)*) => {
        impl RosMessage for $ty {
            const PACKAGE: &'static str = $pkg;
            const NAME: &'static str = $name;
            const DEFINITION: &'static str = $def;

            fn uses(_out: &mut Vec<(String, &'static str)>) {
                $(
                    let name = format!("{}/{}", <$dep>::PACKAGE, <$dep>::NAME);
                    if !_out.iter().any(|(n, _)| *n == name) {
                        _out.push((name, <$dep>::DEFINITION));
                        <$dep>::uses(_out);
                    }
                )*
            }
        }
    };
}

// For the message modules beside this one (`motif_interfaces`).
#[cfg(not(feature = "ros-r2r"))]
pub(crate) use ros_message;

/// `builtin_interfaces/Time`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Time {
    pub sec: i32,
    pub nanosec: u32,
}

impl Time {
    /// Wall-clock time, as ROS stamps it.
    pub fn now() -> Self {
        std::time::SystemTime::now().into()
    }
}

/// Times outside the `i32` seconds range saturate instead of wrapping, so a
/// bad clock cannot produce a stamp in the far past.
impl From<std::time::SystemTime> for Time {
    fn from(t: std::time::SystemTime) -> Self {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Self {
                sec: i32::try_from(d.as_secs()).unwrap_or(i32::MAX),
                nanosec: d.subsec_nanos(),
            },
            Err(_) => Self::default(),
        }
    }
}

ros_message!(
    Time,
    "builtin_interfaces",
    "Time",
    "int32 sec\nuint32 nanosec\n"
);

/// `builtin_interfaces/Duration`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duration {
    pub sec: i32,
    pub nanosec: u32,
}

impl Duration {
    /// Saturates at the `i32` seconds range rather than wrapping.
    pub fn from_std(d: std::time::Duration) -> Self {
        Self {
            sec: i32::try_from(d.as_secs()).unwrap_or(i32::MAX),
            nanosec: d.subsec_nanos(),
        }
    }
}

ros_message!(
    Duration,
    "builtin_interfaces",
    "Duration",
    "int32 sec\nuint32 nanosec\n"
);

/// `std_msgs/Header` (ROS 2: no `seq`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub stamp: Time,
    pub frame_id: String,
}

ros_message!(
    Header,
    "std_msgs",
    "Header",
    "builtin_interfaces/Time stamp\nstring frame_id\n",
    Time
);

/// `diagnostic_msgs/KeyValue`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

ros_message!(
    KeyValue,
    "diagnostic_msgs",
    "KeyValue",
    "string key\nstring value\n"
);

/// `diagnostic_msgs/DiagnosticStatus`; `level` is one of the `LEVEL_*` constants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosticStatus {
    pub level: u8,
    pub name: String,
    pub message: String,
    pub hardware_id: String,
    pub values: Vec<KeyValue>,
}

impl DiagnosticStatus {
    /// The `.msg` file's `byte OK=0, WARN=1, ERROR=2, STALE=3`.
    pub const OK: u8 = 0;
    pub const WARN: u8 = 1;
    pub const ERROR: u8 = 2;
}

ros_message!(DiagnosticStatus, "diagnostic_msgs", "DiagnosticStatus", "byte level\nstring name\nstring message\nstring hardware_id\ndiagnostic_msgs/KeyValue[] values\n", KeyValue);

/// `diagnostic_msgs/DiagnosticArray`, what `/diagnostics` carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosticArray {
    pub header: Header,
    pub status: Vec<DiagnosticStatus>,
}

ros_message!(
    DiagnosticArray,
    "diagnostic_msgs",
    "DiagnosticArray",
    "std_msgs/Header header\ndiagnostic_msgs/DiagnosticStatus[] status\n",
    Header,
    DiagnosticStatus
);

/// `std_msgs/String`. Named `StringMsg` so it does not shadow `String`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StringMsg {
    pub data: String,
}

impl StringMsg {
    pub fn new(data: impl Into<String>) -> Self {
        Self { data: data.into() }
    }
}

ros_message!(StringMsg, "std_msgs", "String", "string data\n");

/// `std_msgs/MultiArrayDimension`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiArrayDimension {
    pub label: String,
    pub size: u32,
    pub stride: u32,
}

ros_message!(
    MultiArrayDimension,
    "std_msgs",
    "MultiArrayDimension",
    "string label\nuint32 size\nuint32 stride\n"
);

/// `std_msgs/MultiArrayLayout`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiArrayLayout {
    pub dim: Vec<MultiArrayDimension>,
    pub data_offset: u32,
}

ros_message!(
    MultiArrayLayout,
    "std_msgs",
    "MultiArrayLayout",
    "std_msgs/MultiArrayDimension[] dim\nuint32 data_offset\n",
    MultiArrayDimension
);

/// `std_msgs/Float64MultiArray`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Float64MultiArray {
    pub layout: MultiArrayLayout,
    pub data: Vec<f64>,
}

impl Float64MultiArray {
    /// Empty layout, as forward_command_controller expects: it reads `data`
    /// only and an empty layout means "flat".
    pub fn from_slice(data: &[f64]) -> Self {
        Self {
            layout: MultiArrayLayout::default(),
            data: data.to_vec(),
        }
    }
}

ros_message!(
    Float64MultiArray,
    "std_msgs",
    "Float64MultiArray",
    "std_msgs/MultiArrayLayout layout\nfloat64[] data\n",
    MultiArrayLayout
);

/// `sensor_msgs/JointState`. `velocity` and `effort` may be empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JointState {
    pub header: Header,
    pub name: Vec<String>,
    pub position: Vec<f64>,
    pub velocity: Vec<f64>,
    pub effort: Vec<f64>,
}

ros_message!(JointState, "sensor_msgs", "JointState", "std_msgs/Header header\nstring[] name\nfloat64[] position\nfloat64[] velocity\nfloat64[] effort\n", Header);

/// `trajectory_msgs/JointTrajectoryPoint`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JointTrajectoryPoint {
    pub positions: Vec<f64>,
    pub velocities: Vec<f64>,
    pub accelerations: Vec<f64>,
    pub effort: Vec<f64>,
    pub time_from_start: Duration,
}

ros_message!(JointTrajectoryPoint, "trajectory_msgs", "JointTrajectoryPoint", "float64[] positions\nfloat64[] velocities\nfloat64[] accelerations\nfloat64[] effort\nbuiltin_interfaces/Duration time_from_start\n", Duration);

/// `trajectory_msgs/JointTrajectory`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JointTrajectory {
    pub header: Header,
    pub joint_names: Vec<String>,
    pub points: Vec<JointTrajectoryPoint>,
}

ros_message!(
    JointTrajectory,
    "trajectory_msgs",
    "JointTrajectory",
    "std_msgs/Header header\nstring[] joint_names\ntrajectory_msgs/JointTrajectoryPoint[] points\n",
    Header,
    JointTrajectoryPoint
);

/// `rosgraph_msgs/Clock`: simulation time on `/clock` (`use_sim_time`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Clock {
    pub clock: Time,
}

ros_message!(
    Clock,
    "rosgraph_msgs",
    "Clock",
    "builtin_interfaces/Time clock\n",
    Time
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dds_type_names_follow_ros2_convention() {
        assert_eq!(StringMsg::dds_type_name(), "std_msgs::msg::dds_::String_");
        assert_eq!(
            JointState::dds_type_name(),
            "sensor_msgs::msg::dds_::JointState_"
        );
        assert_eq!(
            JointTrajectory::ros_type_name(),
            "trajectory_msgs/msg/JointTrajectory"
        );
    }
}
