//! Does limiting the stream cost the motifs their shape? The default
//! library's NMSE against its training targets, on the raw network output
//! (as `motif_train eval` measures it) and on what the controller publishes
//! (B-spline reference, gated preparations, speed caps, jerk-limited
//! tracker), in distribution (each motif prepared from rest) and chained
//! (every ordered pair, the second motif scored).
//!
//! The published NMSE must stay within 1.1× of the raw one, over whole
//! motifs and after their first `SETTLE` steps (0.1 s). The onset used to
//! break it (×5.3): the readout of a motif's initial state was free in
//! training, so the network left it with a velocity kick of up to 1.9 rad/s
//! that no limited stream can follow; the readout refit now weights the
//! onset (`train/readout.rs`). Both figures are printed.
//!
//! Prints the figures the README quotes:
//! `cargo test --release --test published_stream -- --nocapture`; with
//! `PUBLISHED_STREAM_JSON=FILE` also writes them for `motif_train report
//! --published` (scripts/reproduce.sh).

// Joint-indexed loops over parallel arrays read best with an index.
#![allow(clippy::needless_range_loop)]

use std::path::Path;

use motif::node::Params;
use motif::{
    control::{Command, Controller, LimitMeter, MotifQueue, Phase, Sample},
    library::Library,
    model::{run_motif, run_prep},
    robot::ArmModel,
};
use ndarray::Array2;

const PERIOD: f64 = 1e-3;
/// Network steps at each motif's start that the settled figure leaves out
/// (the controller's own `SETTLE_STEPS`).
const SETTLE: usize = 25;

/// NMSE of `y` against `target` (rows: time, from row `skip`), over all
/// joints; `[whole, settled]`.
fn nmse2(y: &Array2<f64>, target: &Array2<f64>) -> [f64; 2] {
    let tail = |a: &Array2<f64>| a.slice(ndarray::s![SETTLE.., ..]).to_owned();
    [nmse(y, target), nmse(&tail(y), &tail(target))]
}

fn nmse(y: &Array2<f64>, target: &Array2<f64>) -> f64 {
    motif::model::nmse(y.view(), target.view())
}

/// The published samples of the motif executed last in `names`, resampled
/// at the network steps and scored against its target (physical units).
/// The stream runs a constant latency behind the network (the spline's two
/// steps, less the label's); the best of a few sub-step lags is taken, so
/// that latency is not counted as shape error.
fn published_nmse(
    lib: &Library,
    ctl: &mut Controller,
    names: &[&str],
    meter: &mut LimitMeter,
) -> [f64; 2] {
    let idx: Vec<u16> = names
        .iter()
        .map(|n| lib.network.motif_index(n).unwrap() as u16)
        .collect();
    let last = usize::from(*idx.last().unwrap());
    ctl.command(Command::Run(MotifQueue::from_slice(&idx).unwrap()))
        .unwrap();
    let mut samples: Vec<Sample> = Vec::new();
    let mut k = 0u64;
    let t0 = ctl.snapshot().t;
    loop {
        k += 1;
        let s = ctl.tick(t0 + k as f64 * PERIOD);
        meter.push(s.positions());
        let done = s.phase == Phase::Holding;
        samples.push(s);
        if done
            && samples
                .iter()
                .any(|s| s.motif == Some(last as u16) && s.phase == Phase::Executing)
        {
            break;
        }
        assert!(k < 100_000, "{names:?} never finished");
    }
    // The last motif's executing samples, onset at its first one.
    let exec: Vec<&Sample> = samples
        .iter()
        .rev()
        .take_while(|s| s.phase != Phase::Preparing)
        .filter(|s| s.phase == Phase::Executing)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let dt = f64::from(lib.network.dt);
    let target = &lib.targets[last];
    let (steps, d) = target.dim();
    let mut phys_target = Array2::<f64>::zeros((steps, d));
    let mut y = Array2::<f64>::zeros((steps, d));
    let s = &lib.network.scaling;
    let mut best = [f64::INFINITY; 2];
    for lag_ms in -8..=8 {
        for i in 0..steps {
            // Row i of the target is the posture after i + 1 steps, i.e. at
            // motif time i·dt from the first executing sample.
            let t = exec[0].t + i as f64 * dt + f64::from(lag_ms) * PERIOD;
            let p = exec
                .iter()
                .position(|x| x.t >= t - 1e-9)
                .unwrap_or(exec.len() - 1);
            for (j, &o) in ctl_perm(lib).iter().enumerate() {
                phys_target[[i, j]] =
                    f64::from(s.offset[o]) + f64::from(s.scale[o]) * f64::from(target[[i, o]]);
                y[[i, j]] = exec[p].position[j];
            }
        }
        let e = nmse2(&y, &phys_target);
        best = [best[0].min(e[0]), best[1].min(e[1])];
    }
    best
}

/// The library's outputs are the configured joints, in order (default params).
fn ctl_perm(lib: &Library) -> Vec<usize> {
    (0..lib.manifest.outputs.len()).collect()
}

fn physical(lib: &Library, y: &Array2<f32>) -> Array2<f64> {
    let s = &lib.network.scaling;
    Array2::from_shape_fn(y.dim(), |(i, j)| {
        f64::from(s.offset[j]) + f64::from(s.scale[j]) * f64::from(y[[i, j]])
    })
}

/// The raw network as the library defines it: motif `b` from its initial
/// state, or after motif `a` (from its own) and the library's preparation.
fn raw_nmse(lib: &Library, a: Option<usize>, b: usize) -> [f64; 2] {
    let net = &lib.network;
    let mut x0 = net.motifs[b].x_init.clone();
    if let Some(a) = a {
        let (_, end) = run_motif(net, a, net.motifs[a].x_init.view(), net.motifs[a].steps);
        x0 = run_prep(net, b, end.view(), net.prep.steps).1;
    }
    let (y, _) = run_motif(net, b, x0.view(), net.motifs[b].steps);
    nmse2(&physical(lib, &y), &physical(lib, &lib.targets[b]))
}

#[test]
fn published_stream_keeps_the_motifs_shape() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = Library::load(&root.join("models/default")).unwrap();
    let arm = ArmModel::from_urdf_file(root.join("urdf/arm.urdf")).unwrap();
    let config = Params::default()
        .without_robot()
        .controller_config()
        .unwrap();
    let names: Vec<&str> = lib.network.motifs.iter().map(|m| m.name.as_str()).collect();

    let mut peak = [0.0f64; 3];
    let mut run = |seq: &[&str]| {
        let mut ctl = Controller::new(&lib, &arm, &config).unwrap();
        let mut meter = LimitMeter::new(ctl.limits(), PERIOD);
        let e = published_nmse(&lib, &mut ctl, seq, &mut meter);
        for k in 0..3 {
            peak[k] = peak[k].max(meter.max[k]);
        }
        e
    };
    let (mut in_dist, mut raw_in) = (Vec::new(), Vec::new());
    for (i, n) in names.iter().enumerate() {
        in_dist.push(run(&[n]));
        raw_in.push(raw_nmse(&lib, None, i));
        println!(
            "  {n}: raw {:.3e} published {:.3e}",
            raw_in[i][0], in_dist[i][0]
        );
    }
    let (mut chained, mut raw_chain) = (Vec::new(), Vec::new());
    for (i, a) in names.iter().enumerate() {
        for (j, b) in names.iter().enumerate() {
            if a != b {
                chained.push(run(&[a, b]));
                raw_chain.push(raw_nmse(&lib, Some(i), j));
            }
        }
    }
    let mean = |v: &[[f64; 2]], k: usize| v.iter().map(|e| e[k]).sum::<f64>() / v.len() as f64;
    let mut figures = serde_json::Map::new();
    for (k, what) in [(0, "whole motifs"), (1, "after the first 0.1 s")] {
        let (pub_in, pub_chain) = (mean(&in_dist, k), mean(&chained, k));
        let (raw_in, raw_chain) = (mean(&raw_in, k), mean(&raw_chain, k));
        figures.insert(
            what.into(),
            serde_json::json!({
                "in_distribution": { "raw": raw_in, "published": pub_in },
                "chained_pairs": { "raw": raw_chain, "published": pub_chain },
            }),
        );
        println!(
            "published_stream ({what}): in-distribution NMSE raw {raw_in:.3e} published {pub_in:.3e} (×{:.2}); \
             chained pairs raw {raw_chain:.3e} published {pub_chain:.3e} (×{:.2})",
            pub_in / raw_in,
            pub_chain / raw_chain,
        );
        if k == 0 {
            // Issue 18's accuracy target holds on what the node publishes.
            assert!(
                pub_in <= 1e-4 && pub_chain <= 1e-4,
                "published NMSE: in-distribution {pub_in}, chained {pub_chain}"
            );
        }
        // Issue 12: limiting the stream keeps the shape, whole motifs included.
        {
            assert!(
                pub_in <= 1.1 * raw_in,
                "in-distribution: published {pub_in} vs raw {raw_in}"
            );
            assert!(
                pub_chain <= 1.1 * raw_chain,
                "chained: published {pub_chain} vs raw {raw_chain}"
            );
        }
    }
    println!(
        "published_stream: peak share of the limits: velocity {:.3}, acceleration {:.3}, jerk {:.3}",
        peak[0], peak[1], peak[2]
    );
    assert!(peak.iter().all(|&f| f <= 1.0 + 1e-6), "{peak:?}");
    // For `motif_train report --published` (scripts/reproduce.sh).
    if let Some(path) = std::env::var_os("PUBLISHED_STREAM_JSON") {
        figures.insert(
            "peak_share_of_limits".into(),
            serde_json::json!({ "velocity": peak[0], "acceleration": peak[1], "jerk": peak[2] }),
        );
        let text = serde_json::to_string_pretty(&figures).unwrap();
        std::fs::write(&path, text + "\n").unwrap();
    }
}
