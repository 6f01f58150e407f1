//! Control tick versus its floor, across network sizes (issue 7, item 1).
//!
//! The tick is the controller's real `tick`: one network step (leaky tanh,
//! N×N recurrence, motif drive), the D = 7 readout, output scaling and URDF
//! limits, batch 1, f32. The floor is the bare N×N matrix-vector product of
//! the same weights, by ndarray and by our hand-tuned kernel; the ratio is
//! tick p50 / best floor p50, all measured in this one run. The same tick
//! with the loop design (a rank-8 loop `U_m V_m` per motif instead of an
//! input `b_m`, docs/science.md §2) is timed beside it.
//!
//! ```sh
//! cargo bench --bench tick_scaling                          # N = 128 256 512 1024
//! cargo bench --bench tick_scaling -- 256 2048 --json t.json --plot t.png
//! ```

use std::{hint::black_box, path::Path, time::Instant};

use motif::node::Params;
use motif::{
    control::{Command, Controller, MotifQueue, Phase},
    library::Library,
    model::{kernels, Network, Preparation, Variant},
    plots,
    robot::ArmModel,
    train::{
        config::NetworkConfig,
        trainer::{init_motif, init_network},
    },
};
use ndarray::{linalg::general_mat_vec_mul, Array1};

const SAMPLES: usize = 20_000;

struct Row {
    n: usize,
    ndarray: Quant,
    kernel: Quant,
    tick: Quant,
    loop_tick: Quant,
}

/// The loop design's rank (scripts/repro_configs.sh trains the same).
const LOOP_RANK: usize = 8;

#[derive(Clone, Copy)]
struct Quant {
    p50: f64,
    p99: f64,
}

fn quant(mut ns: Vec<f64>) -> Quant {
    ns.sort_by(f64::total_cmp);
    let at = |q: f64| ns[((ns.len() - 1) as f64 * q).round() as usize] / 1e3;
    Quant {
        p50: at(0.5),
        p99: at(0.99),
    }
}

fn time_each(mut f: impl FnMut()) -> Quant {
    for _ in 0..SAMPLES / 10 {
        f();
    }
    quant(
        (0..SAMPLES)
            .map(|_| {
                let t0 = Instant::now();
                f();
                t0.elapsed().as_nanos() as f64
            })
            .collect(),
    )
}

/// The default library's joints, limits and motif names on a random network
/// of `n` units stepping every 1 ms, so every 1 kHz tick is a network step.
fn synthetic(lib: &Library, n: usize, variant: Variant) -> Library {
    let base = &lib.network;
    let cfg = NetworkConfig {
        n,
        variant,
        tau: base.tau,
        dt: 0.001,
        gain: 1.5,
    };
    let prep = Preparation {
        j_prep: None,
        steps: (8.0 * base.tau / 0.001).round() as usize,
    };
    let mut net: Network = init_network(&cfg, base.outputs(), prep, base.scaling.clone(), 7);
    for (i, m) in base.motifs.iter().enumerate() {
        net.motifs.push(init_motif(&net, &m.name, 2000, i as u64));
    }
    let mut lib = Library {
        network: net,
        ..lib.clone()
    };
    lib.manifest.variant = variant;
    lib
}

fn measure(lib: &Library, arm: &ArmModel, n: usize) -> Row {
    let loop_tick = tick(&synthetic(lib, n, Variant::Loop { rank: LOOP_RANK }), arm);
    let lib = synthetic(lib, n, Variant::Input);
    let j = &lib.network.shared.j;
    let r = Array1::from_shape_fn(n, |i| ((i as f32) * 0.37).sin() * 0.8);
    let mut y = Array1::<f32>::zeros(n);
    let ndarray = time_each(|| {
        general_mat_vec_mul(1.0, j, black_box(&r), 0.0, &mut y);
        black_box(&y);
    });
    let (js, rs) = (
        j.as_slice().expect("standard layout"),
        r.as_slice().unwrap(),
    );
    let ys = y.as_slice_mut().unwrap();
    let kernel = time_each(|| {
        kernels::matvec(js, black_box(rs), ys);
        black_box(&ys);
    });

    Row {
        n,
        ndarray,
        kernel,
        tick: tick(&lib, arm),
        loop_tick,
    }
}

/// The controller's tick while it executes motifs.
fn tick(lib: &Library, arm: &ArmModel) -> Quant {
    let mut ctl = Controller::new(
        lib,
        arm,
        &Params::default()
            .without_robot()
            .controller_config()
            .unwrap(),
    )
    .expect("controller");
    let all: Vec<u16> = (0..lib.network.motifs.len() as u16).collect();
    let queue = MotifQueue::from_slice(&all).expect("queue");
    let mut ticks = Vec::with_capacity(SAMPLES);
    let mut k = 0u64;
    while ticks.len() < SAMPLES + SAMPLES / 10 {
        if ctl.phase() != Phase::Executing && ctl.phase() != Phase::Preparing {
            ctl.command(Command::Run(queue)).expect("run");
        }
        k += 1;
        let executing = ctl.phase() == Phase::Executing;
        let t0 = Instant::now();
        black_box(ctl.tick(k as f64 * 1e-3));
        let d = t0.elapsed().as_nanos() as f64;
        if executing {
            ticks.push(d);
        }
    }
    quant(ticks.split_off(SAMPLES / 10))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sizes = Vec::new();
    let (mut json, mut plot) = (None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--bench" => {}
            "--json" => json = it.next().cloned(),
            "--plot" => plot = it.next().cloned(),
            s => match s.parse::<usize>() {
                Ok(n) if n > 0 => sizes.push(n),
                _ => {
                    eprintln!("error: network sizes must be positive integers, got '{s}'");
                    std::process::exit(2);
                }
            },
        }
    }
    if sizes.is_empty() {
        sizes = vec![128, 256, 512, 1024];
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = Library::load(&root.join("models/default")).expect("models/default");
    let arm = ArmModel::from_urdf_file(root.join("urdf/arm.urdf")).expect("urdf");

    println!("control tick vs matvec floor, f32, batch 1, D = 7 ({SAMPLES} samples each, µs)");
    println!(
        "{:>6} {:>17} {:>17} {:>17} {:>11} {:>17} {:>10}",
        "N",
        "ndarray p50/p99",
        "kernel p50/p99",
        "tick p50/p99",
        "tick/floor",
        "loop tick p50/p99",
        "loop/input"
    );
    let rows: Vec<Row> = sizes.iter().map(|&n| measure(&lib, &arm, n)).collect();
    let floor = |r: &Row| r.ndarray.p50.min(r.kernel.p50);
    for r in &rows {
        let q = |q: Quant| format!("{:.2}/{:.2}", q.p50, q.p99);
        println!(
            "{:>6} {:>17} {:>17} {:>17} {:>11.2} {:>17} {:>10.2}",
            r.n,
            q(r.ndarray),
            q(r.kernel),
            q(r.tick),
            r.tick.p50 / floor(r),
            q(r.loop_tick),
            r.loop_tick.p50 / r.tick.p50
        );
    }
    if let Some(path) = json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "n": r.n,
                    "ndarray_matvec_us": {"p50": r.ndarray.p50, "p99": r.ndarray.p99},
                    "kernel_matvec_us": {"p50": r.kernel.p50, "p99": r.kernel.p99},
                    "tick_us": {"p50": r.tick.p50, "p99": r.tick.p99},
                    "tick_over_floor_p50": r.tick.p50 / floor(r),
                    "loop_tick_us": {"p50": r.loop_tick.p50, "p99": r.loop_tick.p99},
                    "loop_over_input_p50": r.loop_tick.p50 / r.tick.p50,
                })
            })
            .collect();
        std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap() + "\n")
            .unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }
    if let Some(path) = plot {
        let line = |f: &dyn Fn(&Row) -> f64| -> Vec<(f32, f32)> {
            rows.iter().map(|r| (r.n as f32, f(r) as f32)).collect()
        };
        let series = vec![
            ("control tick (ours)".to_string(), line(&|r| r.tick.p50)),
            (
                format!("control tick, loop design (rank {LOOP_RANK})"),
                line(&|r| r.loop_tick.p50),
            ),
            (
                "matvec, hand-tuned kernel".to_string(),
                line(&|r| r.kernel.p50),
            ),
            ("matvec, ndarray".to_string(), line(&|r| r.ndarray.p50)),
        ];
        plots::log_y_lines(
            Path::new(&path),
            "Control tick versus the matrix-vector floor",
            "median over 20 000 calls each, f32, batch 1, D = 7; `cargo bench --bench tick_scaling`",
            ("network size N", "time per call (µs)"),
            plots::XAxis::Log,
            &series,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
}
