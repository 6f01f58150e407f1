//! Static checks of the Gazebo / ros2_control assets, which cannot run here:
//! the URDF variant parses and is the same arm, its <ros2_control> block
//! declares the right interfaces for every movable joint, and the controllers
//! YAML lists the same joints.

use std::path::{Path, PathBuf};

use motif::robot::ArmModel;
use xml::reader::{EventReader, XmlEvent};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn movable_joints() -> Vec<String> {
    ArmModel::from_urdf_file(repo("urdf/arm.urdf"))
        .unwrap()
        .joint_names()
        .to_vec()
}

/// One `<joint>` inside `<ros2_control>`: its name and interface names.
#[derive(Debug, Default)]
struct ControlJoint {
    name: String,
    command: Vec<String>,
    state: Vec<String>,
}

#[derive(Debug, Default)]
struct Ros2Control {
    plugin: String,
    joints: Vec<ControlJoint>,
    gazebo_plugins: Vec<String>,
    gazebo_parameters: String,
}

fn attr(attrs: &[xml::attribute::OwnedAttribute], key: &str) -> String {
    attrs
        .iter()
        .find(|a| a.name.local_name == key)
        .map(|a| a.value.clone())
        .unwrap_or_default()
}

fn read_ros2_control(text: &str) -> Ros2Control {
    let mut out = Ros2Control::default();
    let mut stack: Vec<String> = Vec::new();
    for ev in EventReader::new(text.as_bytes()) {
        match ev.expect("well-formed XML") {
            XmlEvent::StartElement {
                name, attributes, ..
            } => {
                let tag = name.local_name;
                let inside = |t: &str| stack.iter().any(|s| s == t);
                if inside("ros2_control") {
                    match tag.as_str() {
                        "joint" => out.joints.push(ControlJoint {
                            name: attr(&attributes, "name"),
                            ..Default::default()
                        }),
                        "command_interface" => out
                            .joints
                            .last_mut()
                            .expect("interface outside <joint>")
                            .command
                            .push(attr(&attributes, "name")),
                        "state_interface" => out
                            .joints
                            .last_mut()
                            .expect("interface outside <joint>")
                            .state
                            .push(attr(&attributes, "name")),
                        _ => {}
                    }
                }
                if inside("gazebo") && tag == "plugin" {
                    out.gazebo_plugins.push(attr(&attributes, "name"));
                }
                stack.push(tag);
            }
            XmlEvent::Characters(s) => match stack.last().map(String::as_str) {
                Some("plugin") if stack.iter().any(|t| t == "ros2_control") => {
                    out.plugin = s.trim().to_string()
                }
                Some("parameters") if stack.iter().any(|t| t == "gazebo") => {
                    out.gazebo_parameters = s.trim().to_string()
                }
                _ => {}
            },
            XmlEvent::EndElement { .. } => {
                stack.pop();
            }
            _ => {}
        }
    }
    out
}

#[test]
fn ros2_control_urdf_is_the_same_arm() {
    let path = repo("urdf/arm.ros2_control.urdf");
    let gz = ArmModel::from_urdf_file(&path).unwrap();
    let plain = ArmModel::from_urdf_file(repo("urdf/arm.urdf")).unwrap();
    assert_eq!(gz.joints(), plain.joints(), "limits or joints differ");
    assert_eq!(gz.tip_link(), plain.tip_link());
    // Same inertials link by link (Gazebo simulates with these).
    for link in &plain.urdf().links {
        let other = gz
            .urdf()
            .links
            .iter()
            .find(|l| l.name == link.name)
            .unwrap_or_else(|| panic!("link {} missing", link.name));
        assert_eq!(other.inertial.mass.value, link.inertial.mass.value);
        assert_eq!(other.inertial.inertia.ixx, link.inertial.inertia.ixx);
        assert_eq!(other.inertial.inertia.izz, link.inertial.inertia.izz);
    }
    // The base is welded to the world, or Gazebo lets the arm fall over.
    let weld = gz
        .urdf()
        .joints
        .iter()
        .find(|j| j.parent.link == "world")
        .expect("world joint");
    assert_eq!(weld.joint_type, urdf_rs::JointType::Fixed);
}

#[test]
fn ros2_control_tags_cover_every_movable_joint() {
    let text = std::fs::read_to_string(repo("urdf/arm.ros2_control.urdf")).unwrap();
    let rc = read_ros2_control(&text);
    assert_eq!(rc.plugin, "gz_ros2_control/GazeboSimSystem");
    let names: Vec<String> = rc.joints.iter().map(|j| j.name.clone()).collect();
    assert_eq!(names, movable_joints());
    for j in &rc.joints {
        assert_eq!(j.command, ["position"], "{}", j.name);
        assert!(
            j.state.iter().any(|s| s == "position") && j.state.iter().any(|s| s == "velocity"),
            "{}: state interfaces {:?}",
            j.name,
            j.state
        );
    }
    assert_eq!(
        rc.gazebo_plugins,
        ["gz_ros2_control::GazeboSimROS2ControlPlugin"]
    );
    // The launch file substitutes this placeholder; keep them in step.
    assert_eq!(rc.gazebo_parameters, "__CONTROLLERS_YAML__");
    let launch = std::fs::read_to_string(repo("launch/gazebo.launch.py")).unwrap();
    assert!(launch.contains("__CONTROLLERS_YAML__"));
    assert!(launch.contains("config\" / \"ros2_controllers.yaml"));
    assert!(launch.contains("config\" / \"motif_controller.yaml"));
}

#[test]
fn controllers_yaml_lists_the_same_joints() {
    let text = std::fs::read_to_string(repo("config/ros2_controllers.yaml")).unwrap();
    let y: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let cm = &y["controller_manager"]["ros__parameters"];
    assert!(cm["update_rate"].as_u64().unwrap_or(0) > 0);
    let types = [
        (
            "joint_state_broadcaster",
            "joint_state_broadcaster/JointStateBroadcaster",
        ),
        (
            "forward_position_controller",
            "position_controllers/JointGroupPositionController",
        ),
        (
            "joint_trajectory_controller",
            "joint_trajectory_controller/JointTrajectoryController",
        ),
    ];
    for (name, ty) in types {
        assert_eq!(cm[name]["type"].as_str(), Some(ty), "{name}");
    }
    let want = movable_joints();
    for ctrl in ["forward_position_controller", "joint_trajectory_controller"] {
        let joints: Vec<String> =
            serde_norway::from_value(y[ctrl]["ros__parameters"]["joints"].clone())
                .unwrap_or_else(|e| panic!("{ctrl}.joints: {e}"));
        assert_eq!(joints, want, "{ctrl}");
    }
    let jtc = &y["joint_trajectory_controller"]["ros__parameters"];
    let cmd: Vec<String> = serde_norway::from_value(jtc["command_interfaces"].clone()).unwrap();
    assert_eq!(cmd, ["position"]);
}
