//! The `sim_arm` node end to end over DDS, on a private loopback: it publishes
//! `/joint_states`, follows `/forward_position_controller/commands`, drops bad
//! commands with a warning, and exits cleanly on SIGTERM.
//!
//! Re-executes itself under `unshare -n` (as tests/ros_interop.rs does) so no
//! DDS traffic leaves a fresh network namespace.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use motif::robot::PANDA_READY;
use motif::ros::msgs::{Float64MultiArray, JointState};
use motif::ros::{NodeSpec, QosSpec, TransportBuilder};

const TEST_NAME: &str = "sim_arm_node_over_dds";

#[test]
fn sim_arm_node_over_dds() {
    if !common::in_private_netns(TEST_NAME, Duration::from_secs(120)) {
        return;
    }

    let urdf = concat!(env!("CARGO_MANIFEST_DIR"), "/urdf/arm.urdf");
    let mut node = Command::new(env!("CARGO_BIN_EXE_sim_arm"))
        .args(["--urdf", urdf, "--publish-rate", "100"])
        .env("ROS_DOMAIN_ID", "0")
        .env("RUST_LOG", "error,sim_arm=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sim_arm");
    let mut stderr = node.stderr.take().expect("stderr");
    let log = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    let mut builder = TransportBuilder::new(NodeSpec::new("sim_arm_test").with_domain_id(0));
    let cmd_tx = builder
        .publish::<Float64MultiArray>("/forward_position_controller/commands", QosSpec::DEFAULT, 8)
        .unwrap();
    let js_rx = builder
        .subscribe::<JointState>("/joint_states", QosSpec::DEFAULT, 256)
        .unwrap();
    let transport = builder.spawn().expect("start transport");

    let mut target = PANDA_READY.to_vec();
    target[0] = 0.3;
    let mut last: Option<JointState> = None;
    let mut received = 0usize;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut tracked = false;
    while Instant::now() < deadline && !tracked {
        // Bad ones first, every round: they must be dropped, not applied.
        let _ = cmd_tx.try_send(Float64MultiArray::from_slice(&[0.0; 3]));
        let mut nan = target.clone();
        nan[2] = f64::NAN;
        let _ = cmd_tx.try_send(Float64MultiArray::from_slice(&nan));
        let _ = cmd_tx.try_send(Float64MultiArray::from_slice(&target));
        while let Ok(js) = js_rx.try_recv() {
            received += 1;
            last = Some(js);
        }
        if let Some(js) = &last {
            tracked = js
                .position
                .iter()
                .zip(&target)
                .all(|(q, t)| (q - t).abs() < 0.02);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let js = last.expect("no /joint_states received from sim_arm");
    assert!(tracked, "sim_arm did not reach the command: {js:?}");
    assert_eq!(js.name.len(), 7);
    assert_eq!(js.name[0], "panda_joint1");
    assert_eq!(js.velocity.len(), 7);
    assert_eq!(js.effort.len(), 7);
    assert!(js.header.stamp.sec > 0);
    assert!(received >= 10);

    let pid = node.id().to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(kill.success());
    let status =
        common::wait_bounded(&mut node, Duration::from_secs(15)).expect("no exit on SIGTERM");
    let log = log.join().unwrap_or_default();
    transport.shutdown().expect("clean transport shutdown");
    eprintln!("sim_arm log:\n{log}");
    assert!(status.success(), "sim_arm exit {status}");
    assert!(
        log.contains("dropping command"),
        "no warning for bad commands"
    );
    assert!(log.contains("sim_arm stopped"), "no clean-shutdown report");
}
