//! Training step time: forward + backward + gradient clip + Adam for one motif
//! batch, timed step by step inside one `train` call (as real training runs).
//!
//! ```sh
//! cargo bench --bench train_step                     # N=256, batch 16, 200 steps
//! cargo bench --bench train_step -- 512 16 200       # N BATCH SEQ
//! cargo bench --bench train_step -- --json 256 16 200
//! cargo bench --bench train_step -- --isa=avx2       # cap the kernels' instruction set
//! ```

use std::time::Instant;

use motif::model::kernels::{self, Isa};
use motif::model::{OutputScaling, Preparation, Variant};
use motif::train::config::NetworkConfig;
use motif::train::trainer::{init_motif, init_network, train, Mode, TrainOptions};
use ndarray::Array2;

const WARMUP: usize = 10;
const TIMED: usize = 50;

fn arg(args: &[&String], i: usize, default: usize, what: &str) -> usize {
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
    let all: Vec<String> = std::env::args().skip(1).collect();
    let json = all.iter().any(|a| a == "--json");
    // cargo passes `--bench`; other flags are ours.
    let args: Vec<&String> = all.iter().filter(|a| !a.starts_with("--")).collect();
    // The kernels' widest path by default; a cap times a narrower one in the same run.
    for a in all.iter().filter_map(|a| a.strip_prefix("--isa=")) {
        kernels::limit_isa(match a {
            "plain" => Isa::Plain,
            "avx2" => Isa::Avx2,
            "avx512" => Isa::Avx512,
            _ => {
                eprintln!("error: --isa must be plain, avx2 or avx512, got '{a}'");
                std::process::exit(2);
            }
        });
    }
    let isa = format!("{:?}", kernels::isa()).to_lowercase();
    let n = arg(&args, 0, 256, "N");
    let batch = arg(&args, 1, 16, "batch");
    let seq = arg(&args, 2, 200, "sequence length");
    let prep = Preparation {
        j_prep: None,
        steps: 80,
    };
    let cfg = NetworkConfig {
        n,
        variant: Variant::Input,
        tau: 0.01,
        dt: 0.001,
        gain: 1.0,
    };
    let mut net = init_network(&cfg, 2, prep, OutputScaling::identity(2), 1);
    net.motifs.push(init_motif(&net, "m", seq, 1));
    let target = Array2::from_shape_fn((seq, 2), |(t, d)| ((t as f32 * 0.03) + d as f32).sin());
    let opts = TrainOptions {
        steps: WARMUP + TIMED,
        batch,
        lr: 1e-3,
        lr_final: 1e-3,
        ..Default::default()
    };
    let mode = Mode::Thalamocortical {
        xi_sigma: 1.0,
        chain_fraction: 0.0,
    };
    let mut stamps = Vec::with_capacity(opts.steps + 1);
    stamps.push(Instant::now());
    train(
        &mut net,
        &[0],
        &[target.view()],
        true,
        mode,
        &opts,
        |_, _, _| stamps.push(Instant::now()),
    );
    let mut times: Vec<f64> = stamps
        .windows(2)
        .skip(WARMUP)
        .map(|w| (w[1] - w[0]).as_secs_f64() * 1e3)
        .collect();
    times.sort_by(f64::total_cmp);
    let (p10, median, p90) = (
        times[times.len() / 10],
        times[times.len() / 2],
        times[times.len() * 9 / 10],
    );
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    if json {
        println!(
            "{{\"impl\": \"motif (rust)\", \"isa\": \"{isa}\", \"threads\": {threads}, \"n\": {n}, \"batch\": {batch}, \"seq\": {seq}, \"median_ms\": {median:.3}, \"p10_ms\": {p10:.3}, \"p90_ms\": {p90:.3}, \"runs\": {}}}",
            times.len()
        );
    } else {
        println!(
            "train step N={n} batch={batch} steps={seq}: median {median:.2} ms, p10 {p10:.2} ms, p90 {p90:.2} ms ({} runs, {threads} threads, {isa})",
            times.len()
        );
    }
}
