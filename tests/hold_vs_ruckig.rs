//! `hold` is the shortest jerk-limited stop: from states the controller
//! actually reaches (mid-motif, mid-preparation, at double speed), the time
//! its published stream takes to come to rest is compared with the
//! time-optimal stop that Ruckig itself (the `ruckig` package from PyPI, the
//! C++ reference implementation, run in the test venv) computes from the
//! same state under the same limits. Ours must be within 1.25× (plus one
//! loop period of sampling).
//!
//! Prints the ratios: `cargo test --release --test hold_vs_ruckig -- --nocapture`

// Joint-indexed loops over parallel arrays read best with an index.
#![allow(clippy::needless_range_loop)]

use std::io::Write;
use std::path::Path;
use std::process::{Command as Process, Stdio};

use motif::node::Params;
use motif::{
    control::{Command, Controller, LimitMeter, MotifQueue, Sample},
    library::Library,
    robot::ArmModel,
};
use serde_json::{json, Value};

mod common;

const PERIOD: f64 = 1e-3;

#[test]
fn hold_is_within_125_percent_of_the_time_optimal_stop() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(py) = common::venv_python(
        root,
        "ruckig",
        "hold_is_within_125_percent_of_the_time_optimal_stop",
    ) else {
        return;
    };
    let lib = Library::load(&root.join("models/default")).unwrap();
    let arm = ArmModel::from_urdf_file(root.join("urdf/arm.urdf")).unwrap();
    let config = Params::default()
        .without_robot()
        .controller_config()
        .unwrap();
    let idx = |n: &str| lib.network.motif_index(n).unwrap() as u16;
    // (sequence, speed, ticks before `hold`)
    let cases: [(&[&str], f64, u64); 6] = [
        (&["reach_left"], 1.0, 1500),
        (&["circle"], 1.0, 2200),
        (&["wave"], 1.0, 2500),
        (&["lift", "square"], 1.2, 2000),
        (&["figure_eight"], 1.15, 2600),
        (&["reach_right"], 1.2, 300), // mid-preparation
    ];
    let mut states = Vec::new();
    let mut ours = Vec::new();
    let mut limits = None;
    for (seq, speed, before) in cases {
        let mut ctl = Controller::new(&lib, &arm, &config).unwrap();
        let l = *ctl.limits();
        limits = Some(l);
        let mut meter = LimitMeter::new(&l, PERIOD);
        ctl.command(Command::Speed(speed)).unwrap();
        let q: Vec<u16> = seq.iter().map(|n| idx(n)).collect();
        ctl.command(Command::Run(MotifQueue::from_slice(&q).unwrap()))
            .unwrap();
        let mut k = 0u64;
        let mut last: Option<Sample> = None;
        // Run `before` ticks, then on until the arm moves briskly.
        let brisk = |s: &Sample| s.velocities().iter().any(|v| v.abs() > 0.2);
        while k < before || !last.as_ref().is_some_and(brisk) {
            k += 1;
            let s = ctl.tick(k as f64 * PERIOD);
            meter.push(s.positions());
            last = Some(s);
            assert!(k < before + 5000, "{seq:?}: never moving briskly");
        }
        let at = last.unwrap();
        states.push(json!({
            "position": at.positions(),
            "velocity": at.velocities(),
            "acceleration": at.accelerations(),
        }));
        ctl.command(Command::Hold).unwrap();
        let mut ticks = 0u64;
        loop {
            k += 1;
            ticks += 1;
            let s = ctl.tick(k as f64 * PERIOD);
            meter.push(s.positions());
            if s.velocities().iter().all(|v| *v == 0.0) {
                break;
            }
            assert!(ticks < 5000, "{seq:?}: hold never came to rest");
        }
        assert!(
            meter.max.iter().all(|&f| f <= 1.0 + 1e-6),
            "{seq:?}: {:?}",
            meter.max
        );
        // The last moving sample was one period before the resting one.
        ours.push((ticks - 1) as f64 * PERIOD);
    }
    let l = limits.unwrap();
    let n = l.len;
    let req = json!({
        "limits": {
            "velocity": &l.velocity[..n],
            "acceleration": &l.acceleration[..n],
            "jerk": &l.jerk[..n],
        },
        "cases": states,
    });
    let mut child = Process::new(&py)
        .arg(root.join("tests/peer/ruckig_stop.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the Ruckig peer");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(req.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "ruckig peer failed");
    let reply: Value = serde_json::from_slice(&out.stdout).unwrap();
    let optimal: Vec<f64> = reply["durations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap())
        .collect();
    for (i, (ours, best)) in ours.iter().zip(&optimal).enumerate() {
        println!(
            "hold_vs_ruckig: case {i}: ours {:.1} ms, Ruckig time-optimal {:.1} ms, ratio {:.3}",
            ours * 1e3,
            best * 1e3,
            ours / best
        );
        assert!(
            *ours <= 1.25 * best + PERIOD,
            "case {i}: stop took {ours} s, time-optimal {best} s"
        );
    }
}
