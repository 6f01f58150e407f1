//! `~/play_motifs` (motif_interfaces/action/PlayMotifs) and `~/list_motifs`
//! from an independent ROS 2 action client: Cyclone DDS speaking the action
//! protocol's five DDS topics (tests/peer/action_peer.py, types written
//! from the .action/.srv files), in a private network namespace. A goal
//! plays to its end with feedback; a cancel mid-motif stops the arm and ends
//! the goal CANCELED; a goal naming an unknown motif is rejected and the
//! node says which names it has; a new goal preempts the running one.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{cyclone_python, in_private_netns, interrupt_logged};
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// action_msgs/GoalStatus codes.
const EXECUTING: i64 = 2;
const CANCELING: i64 = 3;
const SUCCEEDED: i64 = 4;
const CANCELED: i64 = 5;
const ABORTED: i64 = 6;

#[test]
fn play_motifs_goals_feedback_cancel_reject_and_preempt_over_the_action_protocol() {
    const NAME: &str =
        "play_motifs_goals_feedback_cancel_reject_and_preempt_over_the_action_protocol";
    let Some(py) = cyclone_python(Path::new(ROOT), NAME) else {
        return;
    };
    if !in_private_netns(NAME, Duration::from_secs(120)) {
        return;
    }
    let log = tempfile::NamedTempFile::new().unwrap();
    let node = Command::new(
        Path::new(env!("CARGO_BIN_EXE_motif_train")).with_file_name("motif_controller"),
    )
    .current_dir(ROOT)
    .args(["--ros-args", "-p", "wait_for_joint_states:=false"])
    .args(["-p", "realtime_priority:=0"])
    .stdout(Stdio::null())
    .stderr(log.reopen().unwrap())
    .spawn()
    .unwrap();
    let out = Command::new(&py)
        .arg(Path::new(ROOT).join("tests/peer/action_peer.py"))
        .arg("/motif_controller")
        .output()
        .unwrap();
    let log = interrupt_logged(node, log.path());
    assert!(
        out.status.success(),
        "action peer: {}\n{}\n{log}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let steps: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("no {name} step in {steps:?}"))
    };

    // ListMotifs: the library's motifs, their durations, the joints.
    let list = step("list");
    let names: Vec<&str> = list["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "circle",
            "figure_eight",
            "wave",
            "reach_left",
            "reach_right",
            "lift",
            "square",
            "pick",
            "place"
        ]
    );
    assert!(
        (list["durations"][0].as_f64().unwrap() - 3.0).abs() < 1e-3,
        "{list}"
    );
    assert_eq!(list["outputs"][0], "panda_joint1");
    assert_eq!(list["outputs"].as_array().unwrap().len(), 7);

    // Played to the end at the goal's speed: feedback through preparation
    // and execution, rising progress, EXECUTING then SUCCEEDED.
    let play = step("play");
    assert_eq!(play["accepted"], true);
    assert_eq!(play["result"]["status"], SUCCEEDED, "{play}");
    assert_eq!(play["result"]["success"], true);
    assert_eq!(play["result"]["motifs_completed"], 1);
    let fb = play["feedback"].as_array().unwrap();
    let phases: Vec<&str> = fb.iter().map(|f| f["phase"].as_str().unwrap()).collect();
    assert!(
        phases.contains(&"preparing") && phases.contains(&"executing"),
        "{phases:?}"
    );
    assert!(fb
        .iter()
        .all(|f| f["motif"] == "reach_left" && f["index"] == 0));
    let executing: Vec<f64> = fb
        .iter()
        .filter(|f| f["phase"] == "executing")
        .map(|f| f["progress"].as_f64().unwrap())
        .collect();
    assert!(executing.windows(2).all(|w| w[1] >= w[0]), "{executing:?}");
    // reach_left lasts 2.5 s at speed 1; at 2 it is done in about 1.25 s,
    // so at 10 Hz feedback there are well under 20 executing samples.
    assert!(
        executing.len() < 20,
        "speed 2 not applied: {}",
        executing.len()
    );
    assert_eq!(
        play["statuses"],
        serde_json::json!([EXECUTING, SUCCEEDED]),
        "{play}"
    );

    // Canceled while executing its first motif: the stop decelerates (the
    // feedback after the cancel says `stopping`), then CANCELED.
    let cancel = step("cancel");
    assert_eq!(cancel["cancel"]["return_code"], 0, "{cancel}");
    assert_eq!(cancel["cancel"]["canceling"], serde_json::json!([true]));
    assert_eq!(cancel["result"]["status"], CANCELED, "{cancel}");
    assert_eq!(cancel["result"]["success"], false);
    assert_eq!(cancel["result"]["motifs_completed"], 0);
    let after: Vec<&str> = cancel["after"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["phase"].as_str().unwrap())
        .collect();
    assert!(after.contains(&"stopping"), "{after:?}");
    assert_eq!(
        cancel["statuses"],
        serde_json::json!([EXECUTING, CANCELING, CANCELED]),
        "{cancel}"
    );
    assert_eq!(cancel["node_phase"], "holding", "{cancel}");

    // An unknown motif: rejected, and the node's status names what it has.
    let unknown = step("unknown");
    assert_eq!(unknown["accepted"], false);
    let e = unknown["last_error"].as_str().unwrap();
    assert!(e.contains("jump") && e.contains("figure_eight"), "{e}");

    // A new goal preempts: the first ends ABORTED saying so, the second
    // plays its motif to the end.
    let pre = step("preempt");
    assert_eq!(pre["accepted"], serde_json::json!([true, true]));
    assert_eq!(pre["first"]["status"], ABORTED, "{pre}");
    assert!(
        pre["first"]["error"]
            .as_str()
            .unwrap()
            .contains("preempted"),
        "{pre}"
    );
    assert_eq!(pre["second"]["status"], SUCCEEDED, "{pre}");
    assert_eq!(pre["second_motifs"], serde_json::json!(["lift"]));
    assert!(log.contains("goal") && log.contains("accepted"), "{log}");
}
