//! `motifctl` against the real `motif_controller` over DDS, on a private
//! loopback: each invocation reports the outcome of its own command, by id,
//! even when an identical command was answered just before, and commands
//! whose status echo differs from their text (over 120 characters, control
//! characters) are still answered.

use std::{
    path::Path,
    process::{Command, Output, Stdio},
    time::Duration,
};

mod common;

const TEST_NAME: &str = "motifctl_reports_its_own_command";

#[test]
fn motifctl_reports_its_own_command() {
    if common::in_private_netns(TEST_NAME, Duration::from_secs(180)) {
        scenario();
    }
}

fn motifctl(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_motifctl"))
        .args(["--timeout", "10"])
        .args(args)
        .env("ROS_DOMAIN_ID", "3")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start motifctl");
    common::wait_bounded(&mut child, Duration::from_secs(30)).expect("motifctl hung");
    child.wait_with_output().unwrap()
}

/// Runs motifctl and checks its exit code; returns its stdout.
fn expect(args: &[&str], code: i32) -> String {
    let out = motifctl(args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(code),
        "motifctl {args:?}\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Kills the node if the scenario fails half-way.
struct Node(std::process::Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn scenario() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let node = Command::new(env!("CARGO_BIN_EXE_motif_controller"))
        .current_dir(root)
        .args(["--ros-args", "-p", "wait_for_joint_states:=false"])
        .env("ROS_DOMAIN_ID", "3")
        .env("RUST_LOG", "warn,rustdds=off,ros2_client=off")
        .stderr(Stdio::null())
        .spawn()
        .expect("start motif_controller");
    let mut node = Node(node);

    let list = expect(&["list"], 0);
    assert!(list.contains("circle") && list.contains("wave"), "{list}");
    assert!(expect(&["run", "circle"], 0).starts_with("accepted: circle"));

    // Fill the queue to one free slot, take it, then ask once more: the
    // last `append circle` is refused by the loop, and motifctl must say so
    // rather than echo the accepted identical command before it.
    // The running motif has left the queue: 31 waves leave one slot.
    let fill = format!("append {}", vec!["wave"; 31].join(" "));
    assert!(expect(&["send", &fill], 0).starts_with("accepted"));
    assert!(expect(&["append", "circle"], 0).starts_with("accepted: append circle"));
    let refused = expect(&["append", "circle"], 2);
    assert!(
        refused.contains("rejected") && refused.contains("full"),
        "{refused}"
    );

    // Status echoes 120 characters and shows control characters as
    // spaces; motifctl still finds its own command.
    let long = vec!["circle"; 20].join("  ");
    assert!(long.len() > 120);
    assert!(expect(&["send", &long], 0).starts_with("accepted"));
    assert!(expect(&["send", "circle\twave"], 0).starts_with("accepted"));
    // A parse-time refusal, answered at once with its reason.
    let unknown = expect(&["run", "circle", "bogus"], 2);
    assert!(unknown.contains("bogus"), "{unknown}");

    // `play`, through the ~/play_motifs action: feedback, then the result;
    // a refused goal says why; Ctrl-C cancels with a stop.
    let played = expect(&["play", "reach_left", "--speed", "2"], 0);
    assert!(played.contains("[1/1] reach_left executing"), "{played}");
    assert!(
        played.contains("succeeded: 1 of 1 motifs played"),
        "{played}"
    );
    let refused = expect(&["play", "circle", "jump"], 2);
    assert!(
        refused.contains("rejected: unknown motif(s): jump; the library has: circle"),
        "{refused}"
    );
    let mut playing = Command::new(env!("CARGO_BIN_EXE_motifctl"))
        .args(["--timeout", "10", "play", "circle", "wave", "--speed", "1"])
        .env("ROS_DOMAIN_ID", "3")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start motifctl");
    std::thread::sleep(Duration::from_secs(3));
    let _ = Command::new("kill")
        .args(["-INT", &playing.id().to_string()])
        .status();
    common::wait_bounded(&mut playing, Duration::from_secs(20)).expect("motifctl play hung");
    let out = playing.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("stopping") && stdout.contains("canceled: 0 of 2 motifs played"),
        "{stdout}"
    );

    let _ = Command::new("kill")
        .args(["-INT", &node.0.id().to_string()])
        .status();
    let status = common::wait_bounded(&mut node.0, Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "node exit {status:?}");
}
