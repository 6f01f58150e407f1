//! Two arms in one DDS domain: two controllers (`-r __ns:=/left_arm`,
//! `-r __ns:=/right_arm`) and two simulated arms (`--namespace`), in a
//! private network namespace. Each arm must follow only its own
//! controller: the left one plays a motif, the right one is told nothing
//! and must stand still. What each arm received and did is read from the
//! bags the arms record (`sim_arm --record`).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{in_private_netns, interrupt};
use motif::ros::bag::{decode, read_joint_motion};
use motif::ros::msgs::Float64MultiArray;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn bin(name: &str) -> Command {
    let mut c = Command::new(Path::new(env!("CARGO_BIN_EXE_motif_train")).with_file_name(name));
    c.current_dir(ROOT)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// The largest range any joint covers over the samples.
fn largest_range(samples: &[motif::ros::bag::JointSample]) -> f64 {
    (0..samples[0].positions.len())
        .map(|j| {
            let (lo, hi) = samples.iter().fold((f64::MAX, f64::MIN), |(lo, hi), s| {
                (lo.min(s.positions[j]), hi.max(s.positions[j]))
            });
            hi - lo
        })
        .fold(0.0, f64::max)
}

#[test]
fn two_namespaced_controllers_each_drive_only_their_own_arm() {
    const NAME: &str = "two_namespaced_controllers_each_drive_only_their_own_arm";
    if !in_private_netns(NAME, Duration::from_secs(120)) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let arm = |side: &str| {
        bin("sim_arm")
            .args(["--namespace", &format!("/{side}")])
            .arg("--record")
            .arg(dir.path().join(side))
            .spawn()
            .unwrap()
    };
    let controller = |side: &str, autostart: &str| {
        bin("motif_controller")
            .args(["--ros-args", "-r", &format!("__ns:=/{side}")])
            .args(["-p", &format!("autostart:={autostart}")])
            .args(["-p", "realtime_priority:=0"])
            .spawn()
            .unwrap()
    };
    let arms = [arm("left_arm"), arm("right_arm")];
    let controllers = [
        controller("left_arm", "circle"),
        controller("right_arm", ""),
    ];
    // Discovery, the wait for joint states, the preparation and a good part
    // of the circle.
    std::thread::sleep(Duration::from_secs(8));
    for c in controllers {
        interrupt(c, "motif_controller");
    }
    for a in arms {
        interrupt(a, "sim_arm");
    }

    let motion = |side: &str, topic: &str| {
        read_joint_motion(&dir.path().join(side), &format!("/{side}/{topic}"))
            .unwrap_or_else(|e| panic!("{side}: {e}"))
    };
    let left = motion("left_arm", "joint_states");
    let right = motion("right_arm", "joint_states");
    assert!(left.len() > 500 && right.len() > 500, "100 Hz for 8 s");
    let moved = largest_range(&left);
    let still = largest_range(&right);
    assert!(moved > 0.05, "the left arm played the circle: {moved} rad");
    assert!(still < 0.005, "the right arm stood still: {still} rad");

    // Each arm received commands, from its own controller only: the
    // right controller's commands hold the right arm's start posture.
    let bag = |side: &str| dir.path().join(side);
    let topic = |side: &str| format!("/{side}/forward_position_controller/commands");
    let left_cmds = motif::ros::bag::read_topic(&bag("left_arm"), &topic("left_arm")).unwrap();
    let right_cmds = motif::ros::bag::read_topic(&bag("right_arm"), &topic("right_arm")).unwrap();
    let spread = |cmds: &motif::ros::bag::TopicMessages| {
        let decoded: Vec<Vec<f64>> = cmds
            .messages
            .iter()
            .map(|(_, data)| decode::<Float64MultiArray>(data).unwrap().data)
            .collect();
        assert!(decoded.len() > 1000, "{} commands", decoded.len());
        decoded
            .iter()
            .flat_map(|c| c.iter().zip(&decoded[0]).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max)
    };
    let (l, r) = (spread(&left_cmds), spread(&right_cmds));
    assert!(l > 0.05, "left commands move: {l}");
    assert!(r < 1e-3, "right commands hold: {r}");
}
