//! The shipped default library loads, drives the URDF's joints, and meets the
//! accuracy targets of movement-primitive fidelity (issue 18): in-distribution
//! NMSE ≤ 1e-4 on the raw network (tests/published_stream.rs: on what the node
//! publishes), chaining ratio ≤ 1.1; and its generators are C2 and within the
//! Panda's four limits.

use std::path::Path;

use motif::library::Library;
use motif::model::State;
use motif::robot::{ArmModel, JointLimitsFile, ResolvedLimits};
use motif::train::eval::{evaluate, EvalOptions};
use motif::train::generators::{arm_motif_joints, arm_motif_names};
use ndarray::Array1;

#[test]
fn default_library_matches_the_arm_and_chains_zero_shot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = Library::load(&root.join("models/default")).expect("default library loads");
    let arm = ArmModel::from_urdf_file(root.join("urdf/arm.urdf")).unwrap();
    arm.check_joint_names(&lib.manifest.outputs)
        .expect("library drives the URDF's joints");
    assert!(lib.network.motifs.len() >= 9);

    let report = evaluate(
        &lib.network,
        lib.manifest.mode,
        &lib.targets,
        &EvalOptions::default(),
    );
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert!(
        report.in_distribution_nmse <= 1e-4,
        "in-distribution NMSE {}",
        report.in_distribution_nmse
    );
    let ratio = report.chaining_ratio.unwrap();
    assert!(ratio <= 1.1, "chaining ratio {ratio}");
}

/// Each motif leaves its initial state smoothly (the readout refit weights
/// the onset, `train/readout.rs`): over its first 10 network steps, no joint
/// moves faster than 0.1 rad/s, while the demonstrations start from rest.
/// Without the onset rows the network jumped to the demonstration within two
/// steps, at up to 1.9 rad/s.
#[test]
fn default_library_leaves_each_initial_state_without_a_kick() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = Library::load(&root.join("models/default")).unwrap();
    let net = &lib.network;
    let s = &net.scaling;
    let dt = f64::from(net.dt);
    let physical = |y: &[f32]| -> Vec<f64> {
        y.iter()
            .enumerate()
            .map(|(j, v)| f64::from(s.offset[j]) + f64::from(s.scale[j]) * f64::from(*v))
            .collect()
    };
    let mut worst = 0.0f64;
    for (m, motif) in net.motifs.iter().enumerate() {
        let mut st = State::new(net);
        st.set(motif.x_init.view());
        let mut y = Array1::<f32>::zeros(net.outputs());
        st.output(net, &mut y.view_mut());
        let mut prev = physical(y.as_slice().unwrap());
        let mut peak = 0.0f64;
        for _ in 0..10 {
            st.step_motif(net, m);
            st.output(net, &mut y.view_mut());
            let q = physical(y.as_slice().unwrap());
            for (a, b) in q.iter().zip(&prev) {
                peak = peak.max((a - b).abs() / dt);
            }
            prev = q;
        }
        println!("{}: onset velocity ≤ {peak:.3} rad/s", motif.name);
        worst = worst.max(peak);
    }
    assert!(worst <= 0.1, "onset velocity {worst} rad/s");
}

/// Largest |finite difference| of order 1–3 of each joint path, as fractions
/// of the velocity, acceleration and jerk limits.
fn peak_fractions(q: &[[f64; 7]], dt: f64, limits: &[ResolvedLimits]) -> [f64; 3] {
    let mut peak = [0.0f64; 3];
    for (j, l) in limits.iter().enumerate() {
        for w in q.windows(4) {
            let (a, b, c, d) = (w[0][j], w[1][j], w[2][j], w[3][j]);
            let v = (b - a) / dt;
            let acc = (c - 2.0 * b + a) / (dt * dt);
            let jerk = (d - 3.0 * c + 3.0 * b - a) / (dt * dt * dt);
            peak[0] = peak[0].max(v.abs() / l.velocity);
            peak[1] = peak[1].max(acc.abs() / l.acceleration);
            peak[2] = peak[2].max(jerk.abs() / l.jerk);
        }
    }
    peak
}

/// Every generated motif is within the Panda's position, velocity,
/// acceleration and jerk limits at speed 1, judged at the 1 kHz loop period
/// as a driver does, and C2: halving the sampling period leaves its
/// finite-difference jerk bounded (a kink doubles it; the IK solved sample by
/// sample used to leave kinks of 1.1–3.3× the jerk limit at 1 ms). The 1 % of
/// the limit added is the IK tolerance's own noise at 0.5 ms.
#[test]
fn generated_motifs_are_c2_and_within_the_four_limits() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let arm = ArmModel::from_urdf_file(root.join("urdf/arm.urdf")).unwrap();
    let file = JointLimitsFile::load(&root.join("config/joint_limits.yaml")).unwrap();
    let limits: Vec<ResolvedLimits> = arm
        .joints()
        .iter()
        .map(|spec| file.resolve(&spec.name, spec).unwrap())
        .collect();
    for name in arm_motif_names() {
        let q1 = arm_motif_joints(name, &arm, 1e-3).unwrap();
        let q2 = arm_motif_joints(name, &arm, 5e-4).unwrap();
        for (t, row) in q1.iter().enumerate() {
            for (j, l) in limits.iter().enumerate() {
                assert!(
                    (l.lower..=l.upper).contains(&row[j]),
                    "{name} joint {j} sample {t}: {} outside [{}, {}]",
                    row[j],
                    l.lower,
                    l.upper
                );
            }
        }
        let at_1ms = peak_fractions(&q1, 1e-3, &limits);
        let at_half = peak_fractions(&q2, 5e-4, &limits);
        eprintln!("{name}: 1 ms {at_1ms:.4?}, 0.5 ms {at_half:.4?} of v/a/j limits");
        assert!(
            at_1ms.iter().all(|f| *f <= 1.0),
            "{name} exceeds a limit: {at_1ms:?} of v/a/j limits"
        );
        assert!(
            at_half[2] <= 1.5 * at_1ms[2] + 0.01,
            "{name} is not C2: jerk {:.4} of the limit at 1 ms, {:.4} at 0.5 ms",
            at_1ms[2],
            at_half[2]
        );
    }
}
