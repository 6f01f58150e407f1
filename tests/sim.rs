//! The simulated arm: holding, tracking, limits, and URDFs it must refuse.

use motif::robot::{SimArm, SimConfig, SimError, PANDA_READY};

fn urdf_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("urdf/arm.urdf")
}

fn run(sim: &mut SimArm, seconds: f64) {
    let steps = (seconds / sim.dt()).round() as usize;
    for _ in 0..steps {
        sim.step();
    }
}

fn max_err(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn holds_ready_pose_under_gravity() {
    let mut sim = SimArm::from_urdf(urdf_path()).unwrap();
    assert_eq!(sim.dof(), 7);
    assert_eq!(sim.joint_positions().len(), 7);
    assert!(max_err(sim.joint_positions(), &PANDA_READY) < 1e-5);
    run(&mut sim, 1.0);
    let e = max_err(sim.joint_positions(), &PANDA_READY);
    assert!(
        e < 0.01,
        "ready pose drifted by {e} rad: {:?}",
        sim.joint_positions()
    );
    assert!(sim.joint_velocities().iter().all(|v| v.abs() < 0.05));
    // Gravity really acts: the shoulder and elbow carry load.
    let eff = sim.joint_efforts();
    assert!(eff[1].abs() > 1.0 && eff[3].abs() > 1.0, "efforts {eff:?}");
    for (e, j) in eff.iter().zip(sim.arm().joints()) {
        assert!(e.abs() <= j.effort + 1e-9);
    }
}

#[test]
fn holds_without_gravity_compensation_only_loosely() {
    // Without feed-forward, the PD alone must carry gravity: the arm sags but
    // stays put, which shows gravity is simulated and not merely switched off.
    let arm = motif::robot::ArmModel::from_urdf_file(urdf_path()).unwrap();
    let cfg = SimConfig {
        gravity_compensation: false,
        ..SimConfig::default()
    };
    let mut sim = SimArm::new(arm, cfg).unwrap();
    run(&mut sim, 1.0);
    let e = max_err(sim.joint_positions(), &PANDA_READY);
    assert!(e > 1e-3 && e < 0.2, "sag {e}: {:?}", sim.joint_positions());
    // And the feed-forward has the right sign: it removes most of the sag.
    let mut comp = SimArm::from_urdf(urdf_path()).unwrap();
    run(&mut comp, 1.0);
    let e_comp = max_err(comp.joint_positions(), &PANDA_READY);
    assert!(e_comp < e / 5.0, "with compensation {e_comp}, without {e}");
}

#[test]
fn tracks_step_and_ramp() {
    let mut sim = SimArm::from_urdf(urdf_path()).unwrap();
    // Step of 0.3 rad on every joint (all stay inside the Panda limits).
    let target: Vec<f64> = PANDA_READY.iter().map(|q| q + 0.3).collect();
    sim.set_command(&target).unwrap();
    run(&mut sim, 2.0);
    let e = max_err(sim.joint_positions(), &target);
    assert!(
        e < 0.01,
        "step not tracked: err {e}, {:?}",
        sim.joint_positions()
    );

    // Ramp back at 0.3 rad/s over 1 s, then settle.
    let start = target.clone();
    let steps = (1.0 / sim.dt()) as usize;
    let mut worst_lag: f64 = 0.0;
    for k in 1..=steps {
        let s = k as f64 / steps as f64;
        let cmd: Vec<f64> = start
            .iter()
            .zip(&PANDA_READY)
            .map(|(a, b)| a + (b - a) * s)
            .collect();
        sim.set_command(&cmd).unwrap();
        sim.step();
        if k > steps / 2 {
            worst_lag = worst_lag.max(max_err(sim.joint_positions(), &cmd));
        }
    }
    assert!(worst_lag < 0.05, "ramp lag {worst_lag}");
    run(&mut sim, 0.5);
    let e = max_err(sim.joint_positions(), &PANDA_READY);
    assert!(e < 0.01, "ramp end not reached: {e}");
}

#[test]
fn stays_within_limits_when_commanded_beyond() {
    let mut sim = SimArm::from_urdf(urdf_path()).unwrap();
    let joints = sim.arm().joints().to_vec();
    let beyond: Vec<f64> = joints.iter().map(|j| j.upper + 1.0).collect();
    sim.set_command(&beyond).unwrap();
    for _ in 0..3000 {
        sim.step();
        for (q, j) in sim.joint_positions().iter().zip(&joints) {
            assert!(
                *q >= j.lower - 0.01 && *q <= j.upper + 0.01,
                "{} at {q} outside [{}, {}]",
                j.name,
                j.lower,
                j.upper
            );
        }
    }
    let below: Vec<f64> = joints.iter().map(|j| j.lower - 1.0).collect();
    sim.set_command(&below).unwrap();
    for _ in 0..3000 {
        sim.step();
        for (q, j) in sim.joint_positions().iter().zip(&joints) {
            assert!(
                *q >= j.lower - 0.01 && *q <= j.upper + 0.01,
                "{} at {q}",
                j.name
            );
        }
    }
}

#[test]
fn bad_commands_are_rejected_and_old_one_kept() {
    let mut sim = SimArm::from_urdf(urdf_path()).unwrap();
    let before = sim.command().to_vec();
    assert!(matches!(
        sim.set_command(&[0.0; 6]),
        Err(SimError::CommandLength {
            expected: 7,
            got: 6
        })
    ));
    let mut bad = PANDA_READY.to_vec();
    bad[3] = f64::NAN;
    match sim.set_command(&bad) {
        Err(SimError::NonFiniteCommand { index, joint, .. }) => {
            assert_eq!(index, 3);
            assert_eq!(joint, "panda_joint4");
        }
        other => panic!("expected NonFiniteCommand, got {other:?}"),
    }
    bad[3] = f64::INFINITY;
    assert!(sim.set_command(&bad).is_err());
    assert_eq!(sim.command(), before.as_slice());
}

const LINK: &str = r#"<link name="NAME"><inertial><origin xyz="0 0 0.1"/><mass value="1"/>
  <inertia ixx="0.01" ixy="0" ixz="0" iyy="0.01" iyz="0" izz="0.01"/></inertial></link>"#;

fn link(name: &str) -> String {
    LINK.replace("NAME", name)
}

fn joint(name: &str, kind: &str, parent: &str, child: &str) -> String {
    format!(
        r#"<joint name="{name}" type="{kind}"><parent link="{parent}"/><child link="{child}"/>
  <origin xyz="0 0 0.2"/><axis xyz="0 1 0"/>
  <limit lower="-1" upper="1" effort="50" velocity="2"/></joint>"#
    )
}

fn robot(body: &str) -> String {
    format!(r#"<?xml version="1.0"?><robot name="t">{body}</robot>"#)
}

#[test]
fn two_link_test_arm_simulates() {
    let text = robot(&format!(
        "{}{}{}{}{}",
        link("base"),
        link("a"),
        link("b"),
        joint("j1", "revolute", "base", "a"),
        joint("j2", "prismatic", "a", "b")
    ));
    let mut sim = SimArm::from_urdf_str(&text, "two_link").unwrap();
    assert_eq!(sim.dof(), 2);
    // Mid-range start for a non-Panda arm.
    assert!(max_err(sim.joint_positions(), &[0.0, 0.0]) < 1e-6);
    sim.set_command(&[0.5, 0.2]).unwrap();
    run(&mut sim, 2.0);
    let e = max_err(sim.joint_positions(), &[0.5, 0.2]);
    assert!(e < 0.01, "{:?}", sim.joint_positions());
}

#[test]
fn missing_inertial_on_moving_link_is_named() {
    let text = robot(&format!(
        "{}<link name=\"ghost\"/>{}",
        link("base"),
        joint("j1", "revolute", "base", "ghost")
    ));
    match SimArm::from_urdf_str(&text, "ghost.urdf") {
        Err(e @ SimError::MissingInertial { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("ghost") && msg.contains("j1"), "{msg}");
        }
        other => panic!("expected MissingInertial, got {other:?}"),
    }
}

#[test]
fn massless_link_carried_by_fixed_child_is_fine() {
    // An empty frame link whose welded child has mass moves as one body.
    let text = robot(&format!(
        "{}<link name=\"frame\"/>{}{}{}",
        link("base"),
        link("tool"),
        joint("j1", "revolute", "base", "frame"),
        joint("weld", "fixed", "frame", "tool")
    ));
    let sim = SimArm::from_urdf_str(&text, "welded").unwrap();
    assert_eq!(sim.dof(), 1);
}

#[test]
fn unsupported_joint_types_are_named() {
    for kind in ["floating", "planar", "continuous"] {
        let text = robot(&format!(
            "{}{}{}",
            link("base"),
            link("a"),
            joint("odd", kind, "base", "a")
        ));
        let err = SimArm::from_urdf_str(&text, "odd.urdf").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`odd`"), "{kind}: {msg}");
        assert!(matches!(err, SimError::Arm(_)), "{kind}: {err:?}");
    }
}

#[test]
fn broken_inertial_and_mimic_are_named() {
    let bad = robot(&format!(
        "{}{}{}",
        link("base"),
        LINK.replace("NAME", "neg")
            .replace("value=\"1\"", "value=\"-2\""),
        joint("j1", "revolute", "base", "neg")
    ));
    match SimArm::from_urdf_str(&bad, "neg.urdf") {
        Err(SimError::InvalidInertial { link, .. }) => assert_eq!(link, "neg"),
        other => panic!("expected InvalidInertial, got {other:?}"),
    }
    let mimic = robot(&format!(
        "{}{}{}{}{}",
        link("base"),
        link("a"),
        link("b"),
        joint("j1", "revolute", "base", "a"),
        joint("j2", "revolute", "a", "b").replace("</joint>", "<mimic joint=\"j1\"/></joint>")
    ));
    match SimArm::from_urdf_str(&mimic, "mimic.urdf") {
        Err(SimError::MimicJoint { joint, leader, .. }) => {
            assert_eq!((joint.as_str(), leader.as_str()), ("j2", "j1"));
        }
        other => panic!("expected MimicJoint, got {other:?}"),
    }
}

#[test]
fn missing_file_and_bad_config_are_errors() {
    assert!(matches!(
        SimArm::from_urdf("/nonexistent/arm.urdf"),
        Err(SimError::Arm(_))
    ));
    let arm = motif::robot::ArmModel::from_urdf_file(urdf_path()).unwrap();
    for cfg in [
        SimConfig {
            rate_hz: 0.0,
            ..SimConfig::default()
        },
        SimConfig {
            kp: Some(vec![1.0; 3]),
            ..SimConfig::default()
        },
        SimConfig {
            initial_positions: Some(vec![10.0; 7]),
            ..SimConfig::default()
        },
    ] {
        assert!(matches!(
            SimArm::new(arm.clone(), cfg),
            Err(SimError::Config(_))
        ));
    }
}

#[test]
fn speeds_stay_within_velocity_limits() {
    let mut sim = SimArm::from_urdf(urdf_path()).unwrap();
    let joints = sim.arm().joints().to_vec();
    let far: Vec<f64> = joints.iter().map(|j| j.lower).collect();
    sim.set_command(&far).unwrap();
    for _ in 0..2000 {
        sim.step();
        for (v, j) in sim.joint_velocities().iter().zip(&joints) {
            assert!(v.abs() <= j.velocity * 1.001, "{} at {v} rad/s", j.name);
        }
    }
}
