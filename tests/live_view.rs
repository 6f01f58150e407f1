//! The live view, seen by a client of the Foxglove WebSocket protocol that
//! is not the foxglove crate (tests/peer/foxglove_client.py, on Python
//! `websockets`): it subscribes to a running `sim_arm`'s and node's
//! channels and decodes what they publish. Each runs in a private network
//! namespace, so neither DDS nor the WebSocket leave its loopback.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{in_private_netns, interrupt, venv_python};
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const ADDR: &str = "127.0.0.1:18765";

fn bin(name: &str) -> Command {
    let mut c = Command::new(Path::new(env!("CARGO_BIN_EXE_motif_train")).with_file_name(name));
    c.current_dir(ROOT);
    c
}

/// Runs the client for `secs` against [`ADDR`] and returns its JSON.
fn watch(py: &Path, secs: f64, topics: &[&str]) -> Value {
    let o = Command::new(py)
        .arg(Path::new(ROOT).join("tests/peer/foxglove_client.py"))
        .arg(format!("ws://{ADDR}"))
        .arg(secs.to_string())
        .args(topics)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "foxglove client: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The node without a robot, playing `autostart`, its view on [`ADDR`].
fn node_with_live_view(autostart: &str, stderr: Stdio) -> Child {
    bin("motif_controller")
        .args(["--ros-args", "-p", "wait_for_joint_states:=false"])
        .args(["-p", &format!("autostart:={autostart}")])
        .args([
            "-p",
            "realtime_priority:=0",
            "-p",
            &format!("live_view:={ADDR}"),
        ])
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

fn rotation_angle_about_z(tf: &Value) -> f64 {
    let r = &tf["rotation"];
    2.0 * r["z"].as_f64().unwrap().atan2(r["w"].as_f64().unwrap())
}

#[test]
fn a_foxglove_client_sees_the_simulated_arm() {
    const NAME: &str = "a_foxglove_client_sees_the_simulated_arm";
    let Some(py) = venv_python(Path::new(ROOT), "websockets.sync.client", NAME) else {
        return;
    };
    if !in_private_netns(NAME, Duration::from_secs(90)) {
        return;
    }
    let sim = bin("sim_arm")
        .args(["--live-view", ADDR])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let doc = watch(&py, 3.0, &["/joint_states", "/tf", "/robot_description"]);
    interrupt(sim, "sim_arm");
    assert_eq!(doc["server"], "sim_arm", "{doc}");
    // An arm has measurements only: no command, status or activity channels.
    assert_eq!(
        doc["advertised"],
        serde_json::json!(["/joint_states", "/robot_description", "/tf"])
    );
    let js = &doc["topics"]["/joint_states"];
    assert_eq!(js["schemaName"], "sensor_msgs/msg/JointState");
    assert_eq!(js["encoding"], "json");
    // 50 Hz for the part of 3 s after the client connected.
    let n = js["count"].as_u64().unwrap();
    assert!((50..=160).contains(&n), "{n} joint states in 3 s");
    let last = &js["last"];
    assert_eq!(last["name"][0], "panda_joint1");
    assert_eq!(last["name"].as_array().unwrap().len(), 7);
    let q1 = last["position"][0].as_f64().unwrap();

    let tf = &doc["topics"]["/tf"];
    assert_eq!(tf["schemaName"], "foxglove.FrameTransforms");
    let transforms = tf["last"]["transforms"].as_array().unwrap();
    // One per URDF joint (7 arm joints and the fixed flange), as robot_state_publisher.
    assert_eq!(transforms.len(), 8, "{transforms:?}");
    let j1 = transforms
        .iter()
        .find(|t| t["child_frame_id"] == "panda_link1")
        .expect("panda_link0 → panda_link1");
    assert_eq!(j1["parent_frame_id"], "panda_link0");
    assert!((j1["translation"]["z"].as_f64().unwrap() - 0.333).abs() < 1e-9);
    // Joint 1 turns about z from an unrotated origin: its angle is in the quaternion.
    assert!(
        (rotation_angle_about_z(j1) - q1).abs() < 0.05,
        "tf {} vs joint state {q1}",
        rotation_angle_about_z(j1)
    );

    let desc = &doc["topics"]["/robot_description"];
    assert!(
        desc["count"].as_u64().unwrap() >= 2,
        "repeated every second"
    );
    let urdf = desc["last"]["data"].as_str().unwrap();
    assert!(
        urdf.contains(r#"<joint name="panda_joint7""#),
        "{urdf:.200}"
    );
}

#[test]
fn a_foxglove_client_sees_the_node_prepare_and_play() {
    const NAME: &str = "a_foxglove_client_sees_the_node_prepare_and_play";
    let Some(py) = venv_python(Path::new(ROOT), "websockets.sync.client", NAME) else {
        return;
    };
    if !in_private_netns(NAME, Duration::from_secs(90)) {
        return;
    }
    let node = node_with_live_view("circle wave", Stdio::null());
    let doc = watch(
        &py,
        5.0,
        &[
            "/joint_commands",
            "/tf",
            "/status",
            "/activity",
            "--all",
            "/activity",
        ],
    );
    interrupt(node, "motif_controller");
    assert_eq!(doc["server"], "motif_controller", "{doc}");
    let jc = &doc["topics"]["/joint_commands"];
    assert!(jc["count"].as_u64().unwrap() > 100, "{jc}");
    assert_eq!(jc["last"]["velocity"].as_array().unwrap().len(), 7);
    // Without a robot, /tf shows the commanded posture.
    assert_eq!(
        doc["topics"]["/tf"]["last"]["transforms"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    assert!(doc["topics"]["/status"]["last"]["phase"].is_string());

    let activity = doc["topics"]["/activity"]["all"].as_array().unwrap();
    let residuals: Vec<f64> = activity
        .iter()
        .filter(|a| a["phase"] == "preparing")
        .map(|a| {
            a["prep_residual"]
                .as_f64()
                .expect("a residual while preparing")
        })
        .collect();
    assert!(residuals.len() >= 3, "{activity:?}");
    // The transition module drives the state toward the next motif's start.
    assert!(
        residuals.last().unwrap() < &(0.5 * residuals[0]),
        "{residuals:?}"
    );
    assert!(activity
        .iter()
        .any(|a| a["phase"] == "executing" && a["motif"].is_string()));
    assert!(activity
        .iter()
        .filter(|a| a["phase"] != "preparing")
        .all(|a| a["prep_residual"].is_null()));
}

/// A viewer that stops reading for 8 s costs the node nothing: the loop hands over every sample (`0 samples dropped`
/// in the timing line), the viewer catches up afterwards, and the node
/// still stops at once.
#[test]
fn a_stuck_viewer_does_not_hold_up_the_node() {
    const NAME: &str = "a_stuck_viewer_does_not_hold_up_the_node";
    let Some(py) = venv_python(Path::new(ROOT), "websockets.sync.client", NAME) else {
        return;
    };
    if !in_private_netns(NAME, Duration::from_secs(90)) {
        return;
    }
    let log = tempfile::NamedTempFile::new().unwrap();
    let node = node_with_live_view("circle wave circle wave", log.reopen().unwrap().into());
    let doc = watch(
        &py,
        10.0,
        &[
            "/joint_commands",
            "/tf",
            "/robot_description",
            "/status",
            "/activity",
            "--stall",
            "8",
        ],
    );
    interrupt(node, "motif_controller");
    let log = std::fs::read_to_string(log.path()).unwrap();
    let timing = log
        .lines()
        .find(|l| l.contains("timing: "))
        .unwrap_or_else(|| panic!("no timing line:\n{log}"));
    assert!(timing.contains(" 0 samples dropped"), "{timing}");
    assert!(log.contains("live view: "), "{log}");
    // Afterwards the viewer is served again. (On loopback the kernel's
    // socket buffers absorb an 8 s stall, so little or nothing is dropped
    // for it; what matters here is that the node never noticed.)
    let n = doc["topics"]["/joint_commands"]["count"].as_u64().unwrap();
    assert!(n > 20, "{n} joint commands");
    let dropped = log.lines().find(|l| l.contains("live view: ")).unwrap();
    eprintln!("stuck viewer: {n} joint commands received; {dropped}");
}

#[test]
fn a_bad_live_view_address_is_an_error() {
    let o = bin("sim_arm")
        .args(["--live-view", "localhost", "--duration", "0.1"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("`localhost` is not HOST:PORT"), "{err}");
}
