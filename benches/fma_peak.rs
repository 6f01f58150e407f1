//! This CPU's ceilings, against which docs/benchmarks.md states every floor
//! (issue 15): the f32 FMA peak on one and on all cores; the rate of the
//! training GEMM's inner loop with its operands in L1 (broadcasts of A feeding
//! the FMAs: the most a kernel of that shape can reach); and the L1 and L2
//! read bandwidth one core sustains (the batch-1 matvec of the control tick
//! reads N² weights once per step and is bound by it, not by the FMAs).
//!
//! ```sh
//! cargo bench --bench fma_peak                 # prints the ceilings and floors
//! cargo bench --bench fma_peak -- --json peak.json
//! ```
//!
//! The peak loop keeps 12 independent 8-lane FMA chains in flight (FMA
//! latency × ports ≤ 12 on current x86 cores) with AVX2+FMA; AVX-512 is
//! reported when the CPU has it, and measured with 16-lane chains.

use std::{hint::black_box, time::Instant};

/// Flops of one training step at N = 256, B = 16, T = 200 (forward
/// recurrence, its transpose in BPTT and the weight gradient: 3 × 2·N²·B·T
/// = 1.26 GFLOP), as issue 15 counts them.
const TRAIN_STEP_FLOP_N256: f64 = 3.0 * 2.0 * 256.0 * 256.0 * 16.0 * 200.0;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    pub const CHAINS: usize = 12;

    /// `iters` rounds of CHAINS independent 8-lane FMAs: 16·CHAINS flop per round.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma_avx2(iters: u64) -> f32 {
        let mut acc = [_mm256_set1_ps(1.0); CHAINS];
        let a = _mm256_set1_ps(0.999_999);
        let b = _mm256_set1_ps(1e-7);
        for _ in 0..iters {
            for c in acc.iter_mut() {
                *c = _mm256_fmadd_ps(*c, a, b);
            }
        }
        let mut s = _mm256_setzero_ps();
        for c in acc {
            s = _mm256_add_ps(s, c);
        }
        let mut out = [0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), s);
        out.iter().sum()
    }

    /// As above with 16-lane AVX-512 FMAs: 32·CHAINS flop per round.
    /// (AVX-512 intrinsics are stable from Rust 1.89; only this bench uses
    /// them, so the library's MSRV stays.)
    #[allow(clippy::incompatible_msrv)]
    #[target_feature(enable = "avx512f")]
    pub unsafe fn fma_avx512(iters: u64) -> f32 {
        let mut acc = [_mm512_set1_ps(1.0); CHAINS];
        let a = _mm512_set1_ps(0.999_999);
        let b = _mm512_set1_ps(1e-7);
        for _ in 0..iters {
            for c in acc.iter_mut() {
                *c = _mm512_fmadd_ps(*c, a, b);
            }
        }
        let mut s = _mm512_setzero_ps();
        for c in acc {
            s = _mm512_add_ps(s, c);
        }
        _mm512_reduce_add_ps(s)
    }

    /// Rows of A and 16-lane panels of B in [`fma_avx512_broadcast`]: the
    /// training GEMM's register tile (`panel_passes` in
    /// src/model/kernels.rs), 24 accumulators.
    pub const TILE_ROWS: usize = 8;
    pub const TILE_PANELS: usize = 3;
    const TILE_K: usize = 64;

    /// The GEMM inner loop with nothing to wait for: an 8 × 48 register tile
    /// of accumulators, each step broadcasting 8 floats of A (64 bytes
    /// apart, as the GEMM reads them from panels) and loading three 16-lane
    /// rows of B, all from L1 (2 kB + 12 kB). What this reaches is the
    /// ceiling of any kernel built on broadcasts, below the bare FMA peak by
    /// what the loads cost. `iters` rounds of 64 steps.
    #[allow(clippy::incompatible_msrv)]
    #[target_feature(enable = "avx512f")]
    pub unsafe fn fma_avx512_broadcast(iters: u64) -> f32 {
        const W: usize = 16 * TILE_PANELS;
        let a = [1e-3f32; TILE_K * TILE_ROWS];
        let b = [1e-3f32; TILE_K * W];
        let (a, b) = (std::hint::black_box(&a), std::hint::black_box(&b));
        let mut acc = [[_mm512_setzero_ps(); TILE_PANELS]; TILE_ROWS];
        for _ in 0..iters {
            for kk in 0..TILE_K {
                // SAFETY: kk < TILE_K, so every row of B is in `b`.
                let bv: [__m512; TILE_PANELS] = std::array::from_fn(|q| unsafe {
                    _mm512_loadu_ps(b.as_ptr().add(kk * W + 16 * q))
                });
                for (i, row) in acc.iter_mut().enumerate() {
                    let x = _mm512_set1_ps(a[((kk / 16) * TILE_ROWS + i) * 16 + kk % 16]);
                    for (c, b) in row.iter_mut().zip(bv) {
                        *c = _mm512_fmadd_ps(x, b, *c);
                    }
                }
            }
        }
        let mut s = _mm512_setzero_ps();
        for c in acc.into_iter().flatten() {
            s = _mm512_add_ps(s, c);
        }
        _mm512_reduce_add_ps(s)
    }

    /// Flop of one round of [`fma_avx512_broadcast`].
    pub const BROADCAST_ROUND: f64 = (TILE_K * 2 * TILE_ROWS * 16 * TILE_PANELS) as f64;

    /// Sums `data` `reps` times with 8-lane loads, four accumulators.
    #[target_feature(enable = "avx2")]
    pub unsafe fn read_avx2(data: &[f32], reps: usize) -> f32 {
        let mut acc = [_mm256_setzero_ps(); 4];
        for _ in 0..reps {
            for chunk in data.chunks_exact(32) {
                let p = chunk.as_ptr();
                for (k, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_add_ps(*a, _mm256_loadu_ps(p.add(8 * k)));
                }
            }
        }
        let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut out = [0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), s);
        out.iter().sum()
    }
}

/// Best of `tries` timings of `f` (the machine is shared: the best run is
/// the one least disturbed), in seconds.
fn best(tries: usize, mut f: impl FnMut()) -> f64 {
    (0..tries)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// GFLOP/s of `kernel` on `threads` threads at once, each doing `iters` rounds.
fn peak(threads: usize, iters: u64, flop_per_round: f64, kernel: fn(u64) -> f32) -> f64 {
    let secs = best(5, || {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| black_box(kernel(black_box(iters))));
            }
        })
    });
    threads as f64 * iters as f64 * flop_per_round / secs / 1e9
}

/// GB/s one core reads from a buffer of `bytes` (resident in the cache
/// level of that size after the first pass).
#[cfg(target_arch = "x86_64")]
fn read_bandwidth(bytes: usize) -> f64 {
    let data = vec![1e-3f32; bytes / 4];
    let reps = (2_000_000_000 / bytes).max(1);
    // SAFETY: called only when the CPU has AVX2 (checked in main).
    let secs = best(5, || {
        black_box(unsafe { x86::read_avx2(black_box(&data), reps) });
    });
    (bytes * reps) as f64 / secs / 1e9
}

fn main() {
    #[cfg(not(target_arch = "x86_64"))]
    {
        eprintln!("fma_peak measures x86-64 vector units only");
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let json = {
            let a: Vec<String> = std::env::args().collect();
            a.iter()
                .position(|x| x == "--json")
                .and_then(|i| a.get(i + 1).cloned())
        };
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            eprintln!("this CPU has no AVX2+FMA: nothing to measure");
            return;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let iters = 50_000_000u64;
        let round = 16.0 * x86::CHAINS as f64;
        // SAFETY: AVX2 and FMA were detected above.
        let avx2 = |i| unsafe { x86::fma_avx2(i) };
        let one = peak(1, iters, round, avx2);
        let all = peak(cores, iters, round, avx2);
        let avx512 = is_x86_feature_detected!("avx512f").then(|| {
            // SAFETY: AVX-512F was detected.
            let k = |i| unsafe { x86::fma_avx512(i) };
            (
                peak(1, iters, 2.0 * round, k),
                peak(cores, iters, 2.0 * round, k),
            )
        });
        let broadcast = is_x86_feature_detected!("avx512f").then(|| {
            // SAFETY: AVX-512F was detected.
            let k = |i| unsafe { x86::fma_avx512_broadcast(i) };
            peak(1, iters / 64, x86::BROADCAST_ROUND, k)
        });
        let l1 = read_bandwidth(16 * 1024);
        let l2 = read_bandwidth(256 * 1024);
        let (best1, best_all) = avx512.unwrap_or((one, all));
        println!("f32 FMA peak, AVX2+FMA: {one:.1} GFLOP/s on 1 core, {all:.1} on {cores}");
        match avx512 {
            Some((a, b)) => {
                println!("f32 FMA peak, AVX-512: {a:.1} GFLOP/s on 1 core, {b:.1} on {cores}")
            }
            None => println!("AVX-512: not on this CPU"),
        }
        if let (Some(b), Some((a, _))) = (broadcast, avx512) {
            println!(
                "AVX-512 FMA with A broadcast from L1 ({} × {} GEMM tile): {b:.1} GFLOP/s on 1 core, \
                 {:.0} % of the peak",
                x86::TILE_ROWS,
                16 * x86::TILE_PANELS,
                100.0 * b / a
            );
        }
        println!("read bandwidth, 1 core: L1 (16 kB) {l1:.1} GB/s, L2 (256 kB) {l2:.1} GB/s");
        let train1 = TRAIN_STEP_FLOP_N256 / (best1 * 1e9) * 1e3;
        let train_all = TRAIN_STEP_FLOP_N256 / (best_all * 1e9) * 1e3;
        println!(
            "floors: training step N=256 B=16 T=200 ({:.2} GFLOP) {train1:.2} ms on 1 core, \
             {train_all:.2} ms on {cores}",
            TRAIN_STEP_FLOP_N256 / 1e9
        );
        let mut matvec = Vec::new();
        for n in [128usize, 256, 512, 1024] {
            let bytes = (n * n * 4) as f64;
            let bw = if bytes <= 32.0 * 1024.0 { l1 } else { l2 };
            let mem_us = bytes / (bw * 1e9) * 1e6;
            let fma_us = 2.0 * (n * n) as f64 / (best1 * 1e9) * 1e6;
            println!(
                "floors: batch-1 matvec N={n}: FMA {fma_us:.2} µs, reading the weights from \
                 {} {mem_us:.2} µs",
                if bytes <= 32.0 * 1024.0 {
                    "L1"
                } else {
                    "L2 (or beyond)"
                }
            );
            matvec.push(serde_json::json!({"n": n, "fma_us": fma_us, "read_us": mem_us}));
        }
        if let Some(path) = json {
            let v = serde_json::json!({
                "cores": cores,
                "fma_avx2_gflops": {"one_core": one, "all_cores": all},
                "fma_avx512_gflops": avx512.map(|(a, b)| serde_json::json!({"one_core": a, "all_cores": b})),
                "fma_avx512_broadcast_gflops": broadcast,
                "read_gbs": {"l1_16k": l1, "l2_256k": l2},
                "train_step_n256_floor_ms": {"one_core": train1, "all_cores": train_all},
                "matvec_floor": matvec,
            });
            std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap() + "\n")
                .unwrap_or_else(|e| panic!("writing {path}: {e}"));
        }
    }
}
