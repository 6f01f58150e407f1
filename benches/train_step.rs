//! Training step time: forward + backward + Adam for one motif batch.
//! `cargo bench --bench train_step [-- N BATCH STEPS]` (defaults 256 16 200).

use std::time::Instant;

use motif::model::{OutputScaling, Preparation, Variant};
use motif::train::trainer::{init_motif, init_network, train, Mode, TrainOptions};
use ndarray::Array2;

fn arg(args: &[String], i: usize, default: usize, what: &str) -> usize {
    match args.get(i) {
        None => default,
        Some(s) => match s.parse::<usize>() {
            Ok(v) if v > 0 => v,
            _ => {
                eprintln!("error: {what} must be a positive integer, got '{s}'");
                std::process::exit(2);
            }
        },
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let n = arg(&args, 0, 256, "N");
    let batch = arg(&args, 1, 16, "batch");
    let steps = arg(&args, 2, 200, "sequence length");
    let prep = Preparation { j_prep: None, steps: 80 };
    let mut net = init_network(n, 2, Variant::Input, 0.01, 0.001, 1.0, prep, OutputScaling::identity(2), 1);
    net.motifs.push(init_motif(&net, "m", steps, 1));
    let target = Array2::from_shape_fn((steps, 2), |(t, d)| ((t as f32 * 0.03) + d as f32).sin());
    let opts = TrainOptions { steps: 1, batch, ..Default::default() };
    let mode = Mode::Thalamocortical { xi_sigma: 1.0, chain_fraction: 0.0 };
    let mut times = Vec::new();
    for i in 0..60 {
        let t0 = Instant::now();
        train(&mut net, &[0], &[target.view()], true, mode, &opts, |_, _| {});
        if i >= 10 {
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "train step N={n} batch={batch} steps={steps}: median {:.2} ms, p10 {:.2} ms, p90 {:.2} ms ({} runs)",
        times[times.len() / 2],
        times[times.len() / 10],
        times[times.len() * 9 / 10],
        times.len()
    );
}
