//! `ros2 param set` on a running node, from an independent DDS peer (Cyclone
//! DDS, tests/peer/param_peer.py calling rcl_interfaces/SetParameters over
//! the ROS 2 service topics) in a private network namespace: a valid
//! `speed` is accepted and takes effect (the node's `~/status` shows it), an
//! out-of-range one is refused with the bounds, `velocity_limit_scale` is
//! applied live and refused above its start-up value, and a read-only parameter is
//! refused with the reason.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{cyclone_python, in_private_netns, interrupt_logged};
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn ros2_param_set_changes_speed_and_refuses_the_rest_with_a_reason() {
    const NAME: &str = "ros2_param_set_changes_speed_and_refuses_the_rest_with_a_reason";
    let Some(py) = cyclone_python(Path::new(ROOT), NAME) else {
        return;
    };
    if !in_private_netns(NAME, Duration::from_secs(90)) {
        return;
    }
    let log = tempfile::NamedTempFile::new().unwrap();
    let node = Command::new(
        Path::new(env!("CARGO_BIN_EXE_motif_train")).with_file_name("motif_controller"),
    )
    .current_dir(ROOT)
    .args(["--ros-args", "-p", "wait_for_joint_states:=false"])
    .args([
        "-p",
        "autostart:=circle wave circle",
        "-p",
        "realtime_priority:=0",
    ])
    .stdout(Stdio::null())
    .stderr(log.reopen().unwrap())
    .spawn()
    .unwrap();
    let out = Command::new(&py)
        .arg(Path::new(ROOT).join("tests/peer/param_peer.py"))
        // A `speed` command on the topic first: the parameter must then
        // still set the speed back to its start-up value, 1.0.
        .args(["--say", "/motif_controller/sequence:=speed 0.8"])
        .args([
            "/motif_controller",
            "speed:=1.0",
            "speed:=0.5",
            "speed:=9.0",
        ])
        .args(["loop_rate_hz:=500.0", "speed:=1.0"])
        .args(["velocity_limit_scale:=0.5", "velocity_limit_scale:=1.5"])
        .args(["--status", "/motif_controller/status"])
        .args(["--motif-status", "/motif_controller/motif_status"])
        .output()
        .unwrap();
    let log = interrupt_logged(node, log.path());
    assert!(
        out.status.success(),
        "param peer: {}\n{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let result = |i: usize| {
        (
            &lines[i]["successful"],
            lines[i]["reason"].as_str().unwrap(),
        )
    };
    assert_eq!(result(0).0, true, "speed 1.0: {:?}", lines[0]);
    assert_eq!(result(1).0, true, "speed 0.5: {:?}", lines[1]);
    let (ok, reason) = result(2);
    assert_eq!(ok, false);
    assert!(reason.contains("outside the allowed range"), "{reason}");
    let (ok, reason) = result(3);
    assert_eq!(ok, false);
    assert!(reason.starts_with("read-only"), "{reason}");
    assert_eq!(result(4).0, true, "speed 1.0: {:?}", lines[4]);
    assert_eq!(
        result(5).0,
        true,
        "velocity_limit_scale 0.5: {:?}",
        lines[5]
    );
    let (ok, reason) = result(6);
    assert_eq!(ok, false);
    assert!(reason.contains("is not in (0, 0.95]"), "{reason}");
    assert!(
        log.contains("parameter velocity_limit_scale set to 0.5"),
        "{log}"
    );
    assert!(log.contains("parameter speed set to 0.5"), "{log}");
    assert!(log.contains("parameter speed set to 1"), "{log}");
    // The last change took effect: the status reports the speed in use.
    let last = &lines[7]["status"];
    assert_eq!(last["speed"], 1.0, "{last}");
    let commands: Vec<&str> = last["recent_commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["text"].as_str())
        .collect();
    let speeds: Vec<&str> = commands
        .iter()
        .copied()
        .filter(|c| c.starts_with("speed"))
        .collect();
    assert_eq!(speeds, ["speed 0.8", "speed 1", "speed 0.5", "speed 1"]);
    assert!(
        commands.contains(&"velocity_limit_scale 0.5"),
        "{commands:?}"
    );

    // The typed status (motif_interfaces/msg/MotifStatus) says the same,
    // decoded by Cyclone from an independent declaration of the .msg.
    let typed = &lines[8]["motif_status"];
    assert_eq!(typed["speed"], 1.0, "{typed}");
    assert!(
        ["preparing", "executing"].contains(&typed["phase"].as_str().unwrap()),
        "{typed}"
    );
    assert!(
        typed["motif"] == "circle" || typed["motif"] == "wave",
        "{typed}"
    );
    assert!(typed["ticks"].as_u64().unwrap() > 500, "{typed}");
    assert!(typed["commands_accepted"].as_u64().unwrap() >= 2, "{typed}");
    assert!(
        typed["stamp"]["sec"].as_i64().unwrap() > 1_700_000_000,
        "{typed}"
    );
    assert_eq!(typed["fault"], "", "{typed}");
}
