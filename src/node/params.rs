//! Node parameters: a ROS 2 params file (`motif_controller: ros__parameters:`)
//! plus `-p name:=value` overrides, validated before anything starts.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_norway::{Mapping, Value};

use crate::control::{
    commands::{CommandParser, DEFAULT_MAX_COMMAND_BYTES},
    ControlError, ControllerConfig, LoopConfig, RealtimeConfig, SupervisionSettings,
};
use crate::robot::JointLimitsFile;

/// Node name under which the params file keeps our parameters.
pub const NODE_NAME: &str = "motif_controller";

/// Default path tolerance (rad): about 3× the largest tracking error the
/// simulated arm shows in the demo (docs/running.md, "Supervision").
pub const DEFAULT_PATH_TOLERANCE: f64 = 0.15;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Library directory (manifest.yaml + weights.safetensors).
    pub library: PathBuf,
    pub urdf: PathBuf,
    /// ros2_control-style `joint_limits` YAML: acceleration and jerk limits.
    pub joint_limits: PathBuf,
    /// Commanded joints in output order; empty = the library's outputs.
    pub joint_names: Vec<String>,
    pub loop_rate_hz: f64,
    /// Preparation length in units of τ; 0 = the library's own length.
    pub preparation_tau: f64,
    /// Spin this long before each deadline instead of sleeping (0 = plain sleep).
    pub spin_us: u64,
    pub status_rate_hz: f64,
    /// `/forward_position_controller/commands`.
    pub publish_commands: bool,
    /// `~/joint_commands`.
    pub publish_joint_commands: bool,
    /// `/joint_states` (only without a robot that owns it).
    pub publish_joint_states: bool,
    /// Streamed single-point `JointTrajectory` to `/joint_trajectory_controller/joint_trajectory`.
    pub publish_trajectory: bool,
    /// Publish every n-th tick on the trajectory topic.
    pub trajectory_decimation: u32,
    /// Initial motif time scale.
    pub speed: f64,
    pub speed_min: f64,
    pub speed_max: f64,
    /// Fraction of the URDF velocity limits the controller may use.
    pub velocity_limit_scale: f64,
    /// Seconds `stop` takes to decelerate to a halt.
    pub stop_time: f64,
    /// A tick starting this many ms late counts as a watchdog trip.
    pub watchdog_ms: f64,
    /// Seconds without a loop heartbeat before the node reports a stalled loop.
    pub stall_timeout: f64,
    pub max_command_bytes: usize,
    /// Motifs published on `~/sequence` at start-up (empty = start idle).
    pub autostart: String,
    /// The robot's measured joint states.
    pub joint_states_topic: String,
    /// Command nothing until a joint state has arrived, then start from it;
    /// `false`: start from the library's rest posture (no robot).
    pub wait_for_joint_states: bool,
    /// Per-joint |measured − commanded| bound (rad): one value or one per joint; 0 = off.
    pub path_tolerance: Vec<f64>,
    /// Seconds a path-tolerance violation must last before the node holds.
    pub path_tolerance_window: f64,
    /// Seconds without a joint state before the node holds (0 = off).
    pub joint_states_timeout: f64,
    /// Stamp messages with `/clock` (simulation time) instead of the wall clock.
    pub use_sim_time: bool,
    /// SCHED_FIFO priority (1–99) of the loop thread only; 0 = normal
    /// scheduling. 50, as ros2_control's controller manager asks for.
    pub realtime_priority: u8,
    /// Lock the process's memory (current and future pages) and pre-fault
    /// the loop's stack, so a page fault never stalls a tick.
    pub lock_memory: bool,
    /// Pin the loop thread to this CPU; -1 = any CPU.
    pub cpu_affinity: i32,
    /// Record the node's outputs and the measured joint states to this new
    /// rosbag2 (MCAP) directory; empty = no recording.
    pub record: PathBuf,
    /// Serve a Foxglove WebSocket live view on this `HOST:PORT`
    /// (`docs/live_view.md`); empty = off.
    pub live_view: String,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            library: "models/default".into(),
            urdf: "urdf/arm.urdf".into(),
            joint_limits: "config/joint_limits.yaml".into(),
            joint_names: Vec::new(),
            loop_rate_hz: 1000.0,
            preparation_tau: 0.0,
            spin_us: 100,
            status_rate_hz: 10.0,
            publish_commands: true,
            publish_joint_commands: true,
            publish_joint_states: false,
            publish_trajectory: false,
            trajectory_decimation: 10,
            speed: 1.0,
            speed_min: 0.1,
            speed_max: 2.0,
            velocity_limit_scale: 0.95,
            stop_time: 0.5,
            watchdog_ms: 5.0,
            stall_timeout: 0.5,
            max_command_bytes: DEFAULT_MAX_COMMAND_BYTES,
            autostart: String::new(),
            joint_states_topic: "joint_states".into(),
            wait_for_joint_states: true,
            path_tolerance: vec![DEFAULT_PATH_TOLERANCE],
            path_tolerance_window: 0.1,
            joint_states_timeout: 0.25,
            use_sim_time: false,
            realtime_priority: 50,
            lock_memory: true,
            cpu_affinity: -1,
            record: PathBuf::new(),
            live_view: String::new(),
        }
    }
}

fn invalid(name: &'static str, message: impl Into<String>) -> ControlError {
    ControlError::InvalidParam {
        name,
        message: message.into(),
    }
}

impl Params {
    /// The loop's timing as these parameters set it.
    pub fn loop_config(&self) -> LoopConfig {
        LoopConfig {
            period: std::time::Duration::from_secs_f64(1.0 / self.loop_rate_hz),
            spin: std::time::Duration::from_micros(self.spin_us),
            status_period: std::time::Duration::from_secs_f64(1.0 / self.status_rate_hz),
            watchdog: std::time::Duration::from_secs_f64(self.watchdog_ms * 1e-3),
            realtime: RealtimeConfig {
                priority: self.realtime_priority,
                lock_memory: self.lock_memory,
                cpu: u16::try_from(self.cpu_affinity).ok(),
            },
        }
    }

    /// These parameters for a run without a robot: nothing measured, start
    /// from the rest posture (visualisation, tests, benches).
    pub fn without_robot(&self) -> Self {
        Self {
            wait_for_joint_states: false,
            ..self.clone()
        }
    }

    /// The control core's configuration; reads the joint-limits file.
    pub fn controller_config(&self) -> Result<ControllerConfig, ControlError> {
        Ok(ControllerConfig {
            joint_names: self.joint_names.clone(),
            joint_limits: JointLimitsFile::load(&self.joint_limits)?,
            velocity_limit_scale: self.velocity_limit_scale,
            period: 1.0 / self.loop_rate_hz,
            speed: self.speed,
            stop_time: self.stop_time,
            preparation_tau: self.preparation_tau,
            supervision: self.wait_for_joint_states.then(|| SupervisionSettings {
                path_tolerance: self.path_tolerance.clone(),
                window: self.path_tolerance_window,
                timeout: self.joint_states_timeout,
            }),
        })
    }

    /// A command parser for these motifs with this node's speed and size bounds.
    pub fn command_parser(&self, motif_names: Vec<String>) -> CommandParser {
        CommandParser::new(
            motif_names,
            self.speed_min,
            self.speed_max,
            self.max_command_bytes,
        )
        .with_velocity_scale_max(self.velocity_limit_scale)
    }

    /// Defaults, then `file` (if any), then `overrides` (`name:=value`, value in YAML syntax).
    pub fn load(file: Option<&Path>, overrides: &[String]) -> Result<Self, ControlError> {
        Self::load_for(&format!("/{NODE_NAME}"), file, overrides)
    }

    /// As [`Params::load`] for the node `node` (fully qualified, e.g.
    /// `/left_arm/motif_controller`): its section of the file applies too.
    pub fn load_for(
        node: &str,
        file: Option<&Path>,
        overrides: &[String],
    ) -> Result<Self, ControlError> {
        let mut map = match file {
            Some(path) => read_params_file(path, node)?,
            None => Mapping::new(),
        };
        for arg in overrides {
            let (name, value) = arg.split_once(":=").ok_or_else(|| ControlError::Override {
                arg: arg.clone(),
                message: "expected name:=value".into(),
            })?;
            let value: Value = if value.trim().is_empty() {
                Value::String(String::new())
            } else {
                serde_norway::from_str(value).map_err(|e| ControlError::Override {
                    arg: arg.clone(),
                    message: e.to_string(),
                })?
            };
            map.insert(Value::String(name.trim().to_string()), value);
        }
        let params: Params = serde_norway::from_value(Value::Mapping(map))
            .map_err(|e| ControlError::Params(e.to_string()))?;
        params.validate()?;
        Ok(params)
    }

    pub fn validate(&self) -> Result<(), ControlError> {
        let pos = |v: f64| v.is_finite() && v > 0.0;
        if !(pos(self.loop_rate_hz) && self.loop_rate_hz <= 10_000.0) {
            return Err(invalid(
                "loop_rate_hz",
                format!("{} is not in (0, 10000]", self.loop_rate_hz),
            ));
        }
        if !(self.preparation_tau.is_finite() && (0.0..=1000.0).contains(&self.preparation_tau)) {
            return Err(invalid(
                "preparation_tau",
                format!(
                    "{} is not in [0, 1000] (0 = library default)",
                    self.preparation_tau
                ),
            ));
        }
        if !(pos(self.status_rate_hz) && self.status_rate_hz <= self.loop_rate_hz) {
            return Err(invalid(
                "status_rate_hz",
                format!(
                    "{} must be positive and at most loop_rate_hz",
                    self.status_rate_hz
                ),
            ));
        }
        if self.spin_us as f64 > 1e6 / self.loop_rate_hz {
            return Err(invalid(
                "spin_us",
                format!("{} µs is longer than a loop period", self.spin_us),
            ));
        }
        if !(pos(self.speed_min)
            && pos(self.speed_max)
            && self.speed_min <= self.speed_max
            && self.speed_max <= 100.0)
        {
            return Err(invalid(
                "speed_min",
                format!(
                    "speed bounds [{}, {}] must satisfy 0 < min <= max <= 100",
                    self.speed_min, self.speed_max
                ),
            ));
        }
        if !(self.speed.is_finite() && (self.speed_min..=self.speed_max).contains(&self.speed)) {
            return Err(invalid(
                "speed",
                format!(
                    "{} is outside [{}, {}]",
                    self.speed, self.speed_min, self.speed_max
                ),
            ));
        }
        if !(pos(self.velocity_limit_scale) && self.velocity_limit_scale <= 1.0) {
            return Err(invalid(
                "velocity_limit_scale",
                format!("{} is not in (0, 1]", self.velocity_limit_scale),
            ));
        }
        if !(self.stop_time.is_finite() && (0.0..=60.0).contains(&self.stop_time)) {
            return Err(invalid(
                "stop_time",
                format!("{} s is not in [0, 60]", self.stop_time),
            ));
        }
        if !pos(self.watchdog_ms) {
            return Err(invalid(
                "watchdog_ms",
                format!("{} must be positive", self.watchdog_ms),
            ));
        }
        if !pos(self.stall_timeout) {
            return Err(invalid(
                "stall_timeout",
                format!("{} must be positive", self.stall_timeout),
            ));
        }
        if !(1..=1 << 20).contains(&self.max_command_bytes) {
            return Err(invalid(
                "max_command_bytes",
                format!("{} is not in [1, 1048576]", self.max_command_bytes),
            ));
        }
        if self.trajectory_decimation == 0 {
            return Err(invalid("trajectory_decimation", "must be at least 1"));
        }
        if self.path_tolerance.is_empty()
            || self
                .path_tolerance
                .iter()
                .any(|t| !(t.is_finite() && *t >= 0.0))
        {
            return Err(invalid(
                "path_tolerance",
                format!(
                    "{:?}: give one value or one per joint, each finite and ≥ 0 (0 = off)",
                    self.path_tolerance
                ),
            ));
        }
        for (name, v) in [
            ("path_tolerance_window", self.path_tolerance_window),
            ("joint_states_timeout", self.joint_states_timeout),
        ] {
            if !(v.is_finite() && (0.0..=60.0).contains(&v)) {
                return Err(invalid(name, format!("{v} s is not in [0, 60]")));
            }
        }
        if self.realtime_priority > 99 {
            return Err(invalid(
                "realtime_priority",
                format!(
                    "{} is not a SCHED_FIFO priority: give 1–99, or 0 for normal scheduling",
                    self.realtime_priority
                ),
            ));
        }
        if !(-1..=i32::from(u16::MAX)).contains(&self.cpu_affinity) {
            return Err(invalid(
                "cpu_affinity",
                format!("{} is not a CPU number (-1 = any CPU)", self.cpu_affinity),
            ));
        }
        if self.joint_states_topic.trim().is_empty() {
            return Err(invalid("joint_states_topic", "must not be empty"));
        }
        Ok(())
    }
}

/// The `ros__parameters` of our node (or of the `/**` wildcard) in a ROS 2 params file.
fn read_params_file(path: &Path, node: &str) -> Result<Mapping, ControlError> {
    let text = std::fs::read_to_string(path).map_err(|source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |message: String| ControlError::ParamsFile {
        path: path.to_path_buf(),
        message,
    };
    let root: Value = serde_norway::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let Value::Mapping(root) = root else {
        return Err(bad("top level is not a mapping".into()));
    };
    let mut merged = Mapping::new();
    let mut found = false;
    // `/**` applies to every node; our own section wins over it, and the
    // section of the node's own (renamed, namespaced) name wins over that.
    let bare = node.trim_start_matches('/');
    let ours = format!("/{NODE_NAME}");
    let mut keys = vec!["/**", NODE_NAME, &ours];
    if bare != NODE_NAME {
        keys.extend([bare, node]);
    }
    for key in keys {
        let Some(section) = root.get(key) else {
            continue;
        };
        let params = section
            .get("ros__parameters")
            .ok_or_else(|| bad(format!("`{key}` has no `ros__parameters`")))?;
        let Value::Mapping(params) = params else {
            return Err(bad(format!("`{key}.ros__parameters` is not a mapping")));
        };
        for (k, v) in params {
            merged.insert(k.clone(), v.clone());
        }
        found = true;
    }
    if !found {
        return Err(bad(format!(
            "no `{NODE_NAME}:` (or `/**:`) section with `ros__parameters`"
        )));
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn file_then_overrides() {
        let f = write("motif_controller:\n  ros__parameters:\n    loop_rate_hz: 500.0\n    publish_joint_states: false\n");
        let p = Params::load(
            Some(f.path()),
            &["publish_joint_states:=true".into(), "speed_max:=3".into()],
        )
        .unwrap();
        assert_eq!(p.loop_rate_hz, 500.0);
        assert!(p.publish_joint_states);
        assert_eq!(p.speed_max, 3.0);
        assert_eq!(p.library, PathBuf::from("models/default"));
    }

    #[test]
    fn shipped_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/motif_controller.yaml");
        assert_eq!(Params::load(Some(&path), &[]).unwrap(), Params::default());
    }

    #[test]
    fn errors_name_the_problem() {
        let e = Params::load(None, &["loop_rate_hz:=-5".into()]).unwrap_err();
        assert!(e.to_string().contains("loop_rate_hz"), "{e}");
        let e = Params::load(None, &["no_such_param:=1".into()]).unwrap_err();
        assert!(e.to_string().contains("no_such_param"), "{e}");
        let e = Params::load(None, &["speed".into()]).unwrap_err();
        assert!(e.to_string().contains("name:=value"), "{e}");
        let e = Params::load(None, &["loop_rate_hz:=fast".into()]).unwrap_err();
        assert!(
            e.to_string().contains("loop_rate_hz") || e.to_string().contains("invalid type"),
            "{e}"
        );
        let f = write("other_node:\n  ros__parameters: {}\n");
        let e = Params::load(Some(f.path()), &[]).unwrap_err();
        assert!(e.to_string().contains("motif_controller"), "{e}");
        assert!(Params::load(None, &["speed:=5".into()]).is_err());
        assert!(Params::load(None, &["speed_min:=0".into()]).is_err());
    }
}
