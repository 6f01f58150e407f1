//! The control core driven directly with a synthetic clock: it follows the
//! library's motifs, keeps the URDF limits through transitions and
//! preemptions, does not stretch motifs after late ticks, and holds on faults.

// Joint-indexed loops over several parallel arrays read best with an index.
#![allow(clippy::needless_range_loop)]

use std::path::Path;

use motif::{
    control::{Command, Controller, MotifQueue, Params, Phase, Sample},
    library::Library,
    model::run_motif,
    robot::ArmModel,
};

fn setup(params: &Params) -> (Library, ArmModel, Controller) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = Library::load(&root.join("models/default"))
        .expect("models/default (the shipped library) must exist");
    let arm = ArmModel::from_urdf_file(root.join("urdf/arm.urdf")).unwrap();
    let ctl = Controller::new(&lib, &arm, params).unwrap();
    (lib, arm, ctl)
}

fn queue(lib: &Library, names: &[&str]) -> MotifQueue {
    let idx: Vec<u16> = names
        .iter()
        .map(|n| lib.network.motif_index(n).unwrap() as u16)
        .collect();
    MotifQueue::from_slice(&idx).unwrap()
}

/// Physical reference of motif `m` started from its own initial state: row
/// `k` is the posture after `k + 1` network steps.
fn reference(lib: &Library, m: usize) -> Vec<Vec<f64>> {
    let net = &lib.network;
    let (out, _) = run_motif(net, m, net.motifs[m].x_init.view(), net.motifs[m].steps);
    out.rows()
        .into_iter()
        .map(|r| {
            let mut y: Vec<f32> = r.to_vec();
            net.scaling.to_physical(&mut y);
            y.into_iter().map(f64::from).collect()
        })
        .collect()
}

fn check_limits(arm: &ArmModel, samples: &[Sample]) {
    let vmax = arm.velocity_limits();
    let pos = arm.position_limits();
    for w in samples.windows(2) {
        let dt = w[1].t - w[0].t;
        for j in 0..w[1].len {
            let q = w[1].position[j];
            assert!(
                q >= pos[j].0 - 1e-12 && q <= pos[j].1 + 1e-12,
                "joint {j} out of range: {q}"
            );
            if dt > 0.0 {
                let v = (q - w[0].position[j]).abs() / dt;
                assert!(
                    v <= vmax[j] * (1.0 + 1e-9),
                    "joint {j} at {v} rad/s > {} at t={}",
                    vmax[j],
                    w[1].t
                );
            }
        }
    }
}

#[test]
fn follows_the_library_motif() {
    let (lib, arm, mut ctl) = setup(&Params::default());
    let m = lib.network.motif_index("circle").unwrap();
    ctl.command(1, Command::Run(queue(&lib, &["circle"])))
        .unwrap();
    let reference = reference(&lib, m);
    let dt = f64::from(lib.network.dt);
    let mut samples = Vec::new();
    let mut max_err: f64 = 0.0;
    let mut compared = 0;
    for k in 1..8000 {
        let s = ctl.tick(k as f64 * 1e-3);
        samples.push(s);
        let snap = ctl.snapshot();
        if s.phase == Phase::Executing {
            // Posture at motif time τ is between network steps ⌊τ/dt⌋ and +1.
            let tau = s.t - snap.phase_started;
            let x = tau / dt - 1.0;
            if x >= 0.0 && (x.ceil() as usize) < reference.len() {
                let (i, f) = (x.floor() as usize, x - x.floor());
                for j in 0..s.len {
                    let y = reference[i][j]
                        + f * (reference[(i + 1).min(reference.len() - 1)][j] - reference[i][j]);
                    max_err = max_err.max((s.position[j] - y).abs());
                }
                compared += 1;
            }
        }
        if s.phase == Phase::Holding {
            break;
        }
    }
    assert!(compared > 2500, "only {compared} executing samples");
    assert!(
        max_err < 0.01,
        "max deviation from the library's own run: {max_err} rad"
    );
    assert_eq!(ctl.phase(), Phase::Holding);
    check_limits(&arm, &samples);
}

#[test]
fn preemptions_and_speed_keep_velocity_limits() {
    let (lib, arm, mut ctl) = setup(&Params::default());
    let script: [(u64, Command); 7] = [
        (1, Command::Run(queue(&lib, &["reach_left", "circle"]))),
        (150, Command::Run(queue(&lib, &["reach_right"]))), // mid-preparation
        (1300, Command::Speed(2.0)),
        (1500, Command::Run(queue(&lib, &["lift", "square"]))), // mid-motif at double speed
        (2600, Command::Run(queue(&lib, &["wave"]))),
        (3000, Command::Speed(0.5)),
        (3500, Command::Append(queue(&lib, &["square"]))),
    ];
    let mut samples = Vec::new();
    let mut si = 0;
    for k in 1..9000u64 {
        if si < script.len() && script[si].0 == k {
            ctl.command(k, script[si].1).unwrap();
            si += 1;
        }
        samples.push(ctl.tick(k as f64 * 1e-3));
    }
    check_limits(&arm, &samples);
    assert!(samples.iter().any(|s| s.phase == Phase::Executing));
}

#[test]
fn late_ticks_do_not_stretch_a_motif() {
    let run = |gap_every: u64| {
        let (lib, _, mut ctl) = setup(&Params::default());
        ctl.command(1, Command::Run(queue(&lib, &["wave"])))
            .unwrap();
        let mut t = 0.0;
        let mut k = 0u64;
        while ctl.phase() != Phase::Holding && t < 20.0 {
            k += 1;
            // Every `gap_every` ticks the loop wakes 23 ms late.
            t += if gap_every > 0 && k.is_multiple_of(gap_every) {
                0.023
            } else {
                0.001
            };
            ctl.tick(t);
        }
        t
    };
    let smooth = run(0);
    let jittery = run(50);
    assert!(
        (smooth - jittery).abs() < 0.03,
        "motif ended at {smooth} s vs {jittery} s with late ticks"
    );
}

#[test]
fn stop_decelerates_then_holds_and_hold_freezes() {
    let params = Params {
        stop_time: 0.4,
        ..Params::default()
    };
    let (lib, arm, mut ctl) = setup(&params);
    ctl.command(1, Command::Run(queue(&lib, &["circle"])))
        .unwrap();
    let mut samples = Vec::new();
    let mut k = 0u64;
    let mut tick = |ctl: &mut Controller, n: u64, out: &mut Vec<Sample>| {
        for _ in 0..n {
            k += 1;
            out.push(ctl.tick(k as f64 * 1e-3));
        }
    };
    tick(&mut ctl, 1500, &mut samples);
    assert_eq!(ctl.phase(), Phase::Executing);
    ctl.command(2, Command::Stop).unwrap();
    tick(&mut ctl, 10, &mut samples);
    assert_eq!(ctl.phase(), Phase::Stopping);
    tick(&mut ctl, 450, &mut samples);
    assert_eq!(ctl.phase(), Phase::Holding);
    let held = samples.last().unwrap().position;
    tick(&mut ctl, 100, &mut samples);
    assert_eq!(samples.last().unwrap().position, held);
    // Velocity decays through the ramp: the last moving ticks are slow.
    let speed = |s: &Sample| s.velocities().iter().map(|v| v.abs()).fold(0.0, f64::max);
    let n = samples.len();
    assert!(
        speed(&samples[n - 110]) < 0.05,
        "still moving fast at the end of the stop ramp"
    );
    check_limits(&arm, &samples);

    ctl.command(3, Command::Run(queue(&lib, &["wave"])))
        .unwrap();
    tick(&mut ctl, 300, &mut samples);
    ctl.command(4, Command::Hold).unwrap();
    tick(&mut ctl, 1, &mut samples);
    let frozen = samples.last().unwrap().position;
    tick(&mut ctl, 50, &mut samples);
    assert_eq!(samples.last().unwrap().position, frozen);
    assert_eq!(ctl.phase(), Phase::Holding);
    check_limits(&arm, &samples);
}

#[test]
fn non_finite_output_holds_last_safe_posture() {
    let (lib, _, mut ctl) = setup(&Params::default());
    ctl.command(1, Command::Run(queue(&lib, &["circle"])))
        .unwrap();
    let mut last = ctl.tick(0.001);
    for k in 2..400 {
        last = ctl.tick(k as f64 * 1e-3);
    }
    ctl.inject_nan_for_test();
    for k in 400..500 {
        let s = ctl.tick(k as f64 * 1e-3);
        assert!(s.positions().iter().all(|q| q.is_finite()));
        // At most one interpolated tick toward the last finite network output.
        if k > 405 {
            assert_eq!(s.phase, Phase::Holding);
        }
        last = s;
    }
    let snap = ctl.snapshot();
    assert!(snap.fault.is_some() && snap.faults >= 1);
    // A new command recovers from rest state.
    ctl.command(2, Command::Run(queue(&lib, &["wave"])))
        .unwrap();
    for k in 500..1500 {
        let s = ctl.tick(k as f64 * 1e-3);
        assert!(s.positions().iter().all(|q| q.is_finite()));
        last = s;
    }
    assert_ne!(last.phase, Phase::Holding);
}

#[test]
fn joint_order_is_configurable_and_checked() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = Library::load(&root.join("models/default")).unwrap();
    let arm = ArmModel::from_urdf_file(root.join("urdf/arm.urdf")).unwrap();
    let mut names = lib.manifest.outputs.clone();
    names.reverse();
    let params = Params {
        joint_names: names.clone(),
        ..Params::default()
    };
    let ctl = Controller::new(&lib, &arm, &params).unwrap();
    let plain = Controller::new(&lib, &arm, &Params::default()).unwrap();
    let n = names.len();
    for j in 0..n {
        assert_eq!(ctl.rest_posture()[j], plain.rest_posture()[n - 1 - j]);
    }
    names[0] = "elbow".into();
    let bad = Params {
        joint_names: names,
        ..Params::default()
    };
    let e = Controller::new(&lib, &arm, &bad).err().unwrap();
    assert!(e.to_string().contains("elbow"), "{e}");
}
