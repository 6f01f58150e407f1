//! Training modes (docs/science.md §3): baseline random starts or thalamocortical
//! starts, shared parameters learned with the first motifs then frozen, and
//! `add` training only a new motif's own parameters.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use ndarray::{s, Array1, Array2, ArrayView2, Axis};
use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::bptt::{self, Workspace};
use super::config::NetworkConfig;
use crate::model::{geometric, Adam};
use crate::model::{Drive, Motif, Network, OutputScaling, Preparation, Shared, Variant};

// The library format owns these; re-exported for the trainer's callers.
pub use crate::library::{Mode, TrainOptions};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainReport {
    /// Mean loss over trained motifs, per step.
    pub losses: Vec<f32>,
    /// Final loss of each trained motif (mean over its last 20 steps).
    pub final_losses: Vec<f32>,
    pub clipped_fraction: f32,
    pub seconds: f64,
}

/// The preparation's effect on the residual after `steps`: `e ← P e`.
#[derive(Debug, Clone)]
pub enum Propagator {
    Scalar(f32),
    /// Stored transposed so rows of a batch multiply directly.
    MatrixT(Array2<f32>),
}

impl Propagator {
    pub fn new(net: &Network) -> Self {
        let a = net.alpha();
        match &net.prep.j_prep {
            None => Propagator::Scalar((1.0 - a).powi(net.prep.steps as i32)),
            Some(jp) => {
                let n = net.n();
                let m = Array2::<f32>::eye(n) * (1.0 - a) + jp * a;
                let mut p = Array2::<f32>::eye(n);
                for _ in 0..net.prep.steps {
                    p = m.dot(&p);
                }
                Propagator::MatrixT(p.reversed_axes())
            }
        }
    }

    /// Rows of `e` (B×N) times Pᵀ, in place.
    pub fn apply(&self, e: &mut Array2<f32>) {
        match self {
            Propagator::Scalar(s) => *e *= *s,
            Propagator::MatrixT(pt) => *e = e.dot(pt),
        }
    }

    /// Gradient with respect to `x*` of `x0 = x* + P(ξ − x*)`, summed over the batch.
    fn grad_x_init(&self, g0: &Array2<f32>) -> Array1<f32> {
        let sum = g0.sum_axis(Axis(0));
        match self {
            Propagator::Scalar(s) => sum * (1.0 - s),
            // d/dx* of rows (x* (I − Pᵀ)) gives g (I − Pᵀ)ᵀ = g − g P.
            Propagator::MatrixT(pt) => &sum - &pt.t().dot(&sum).t(),
        }
    }
}

fn randn(rng: &mut StdRng, shape: (usize, usize), scale: f32) -> Array2<f32> {
    Array2::from_shape_fn(shape, |_| scale * rng.sample::<f32, _>(StandardNormal))
}

/// A fresh network with random shared weights and no motifs.
pub fn init_network(
    cfg: &NetworkConfig,
    d: usize,
    prep: Preparation,
    scaling: OutputScaling,
    seed: u64,
) -> Network {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = cfg.n;
    let sn = (n as f32).sqrt();
    let gain = cfg.gain;
    Network {
        tau: cfg.tau,
        dt: cfg.dt,
        variant: cfg.variant,
        shared: Shared {
            j: randn(&mut rng, (n, n), gain / sn),
            w: randn(&mut rng, (d, n), 1.0 / sn),
            y0: Array1::zeros(d),
        },
        motifs: Vec::new(),
        prep,
        scaling,
    }
}

/// A new motif's own parameters, random and small; seeded by its name so that
/// adding motifs in another order gives each the same start.
pub fn init_motif(net: &Network, name: &str, steps: usize, seed: u64) -> Motif {
    let h = name.bytes().fold(seed ^ 0x9e37_79b9_7f4a_7c15, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    let mut rng = StdRng::seed_from_u64(h);
    let n = net.n();
    let sn = (n as f32).sqrt();
    let x_init = randn(&mut rng, (1, n), 0.5)
        .into_shape_with_order(n)
        .expect("n elements");
    let drive = match net.variant {
        Variant::Input => Drive::Input {
            b: randn(&mut rng, (1, n), 0.1)
                .into_shape_with_order(n)
                .expect("n elements"),
        },
        Variant::Loop { rank } => Drive::Loop {
            u: randn(&mut rng, (n, rank), 1.0 / sn),
            v: randn(&mut rng, (rank, n), 1.0 / sn),
        },
    };
    Motif {
        name: name.to_string(),
        steps,
        x_init,
        drive,
    }
}

fn drive_slices(d: &mut Drive) -> Vec<&mut [f32]> {
    match d {
        Drive::Input { b } => vec![b.as_slice_mut().expect("contiguous")],
        Drive::Loop { u, v } => vec![
            u.as_slice_mut().expect("contiguous"),
            v.as_slice_mut().expect("contiguous"),
        ],
    }
}

/// The trainable parameters in a fixed order: shared (if trained), then per
/// motif its initial state (thalamocortical only) and its drive.
fn param_slices<'a>(
    net: &'a mut Network,
    motifs: &[usize],
    train_shared: bool,
    train_init: bool,
) -> Vec<&'a mut [f32]> {
    let mut out = Vec::new();
    let Network {
        shared,
        motifs: all,
        ..
    } = net;
    if train_shared {
        out.push(shared.j.as_slice_mut().expect("contiguous"));
        out.push(shared.w.as_slice_mut().expect("contiguous"));
        out.push(shared.y0.as_slice_mut().expect("contiguous"));
    }
    for (i, m) in all.iter_mut().enumerate() {
        if motifs.contains(&i) {
            if train_init {
                out.push(m.x_init.as_slice_mut().expect("contiguous"));
            }
            out.extend(drive_slices(&mut m.drive));
        }
    }
    out
}

/// Batch rows per work item.
const CHUNK_ROWS: usize = 8;

/// One work item's share of a step, computed on a worker thread.
struct Piece {
    loss: f32,
    x_end: Array2<f32>,
    grads: bptt::Grads,
    g_init: Option<Array1<f32>>,
}

/// Trains `motifs` (indices into `net.motifs`, each with its target in network
/// units, steps × D) and, if `train_shared`, the shared weights too. Every
/// other motif's parameters are left exactly as they were.
pub fn train(
    net: &mut Network,
    motifs: &[usize],
    targets: &[ArrayView2<f32>],
    train_shared: bool,
    mode: Mode,
    opts: &TrainOptions,
    mut progress: impl FnMut(usize, f32, &Network),
) -> TrainReport {
    assert_eq!(motifs.len(), targets.len());
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let n = net.n();
    let k = motifs.len();
    let alpha = net.alpha();
    let prop = Propagator::new(net);
    let train_init = matches!(mode, Mode::Thalamocortical { .. });
    let sizes: Vec<usize> = param_slices(net, motifs, train_shared, train_init)
        .iter()
        .map(|s| s.len())
        .collect();
    let mut adam = Adam::new(&sizes);
    // Work items are (motif, batch chunk): a lone motif still fills both
    // cores, and the fixed chunking keeps results independent of the core count.
    let items: Vec<(usize, std::ops::Range<usize>)> = (0..k)
        .flat_map(|i| {
            (0..opts.batch)
                .step_by(CHUNK_ROWS)
                .map(move |r| (i, r..(r + CHUNK_ROWS).min(opts.batch)))
        })
        .collect();
    let mut workspaces: Vec<Workspace> = items.iter().map(|_| Workspace::default()).collect();
    // Once, not per step: on Linux it reads the cgroup's CPU quota files.
    let workers = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .min(items.len());
    let mut ends: Vec<Option<Array2<f32>>> = vec![None; k];
    let mut losses = Vec::with_capacity(opts.steps);
    let mut recent = vec![Vec::new(); k];
    let mut clipped = 0usize;

    for step in 0..opts.steps {
        let starts: Vec<Array2<f32>> = (0..k)
            .map(|i| match mode {
                Mode::Baseline { sigma0 } => randn(&mut rng, (opts.batch, n), sigma0),
                Mode::Thalamocortical {
                    xi_sigma,
                    chain_fraction,
                } => {
                    let mut xi = randn(&mut rng, (opts.batch, n), xi_sigma);
                    // Residuals that look like chaining: other motifs' end states.
                    let others: Vec<&Array2<f32>> = (0..k)
                        .filter(|&j| j != i)
                        .filter_map(|j| ends[j].as_ref())
                        .collect();
                    if !others.is_empty() {
                        for mut row in xi.rows_mut() {
                            if rng.random::<f32>() < chain_fraction {
                                let src = others[rng.random_range(0..others.len())];
                                row.assign(&src.row(rng.random_range(0..src.nrows())));
                            }
                        }
                    }
                    let x_init = &net.motifs[motifs[i]].x_init;
                    let mut e = xi - x_init;
                    prop.apply(&mut e);
                    e + x_init
                }
            })
            .collect();

        let net_ref: &Network = net;
        let next = AtomicUsize::new(0);
        let slots: Vec<Mutex<&mut Workspace>> = workspaces.iter_mut().map(Mutex::new).collect();
        let mut pieces: Vec<(usize, Piece)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    let (items, slots, next, starts, prop) =
                        (&items, &slots, &next, &starts, &prop);
                    scope.spawn(move || {
                        let mut done = Vec::new();
                        loop {
                            let idx = next.fetch_add(1, Ordering::Relaxed);
                            let Some((i, rows)) = items.get(idx) else {
                                break done;
                            };
                            let motif = &net_ref.motifs[motifs[*i]];
                            let mut ws = slots[idx].lock().expect("workspace lock");
                            let (fwd, grads) = bptt::loss_and_grads(
                                &net_ref.shared,
                                &motif.drive,
                                alpha,
                                starts[*i].slice(s![rows.clone(), ..]),
                                targets[*i],
                                &mut ws,
                            );
                            let g_init = train_init.then(|| prop.grad_x_init(&grads.x0));
                            let piece = Piece {
                                loss: fwd.loss,
                                x_end: fwd.x_end,
                                grads,
                                g_init,
                            };
                            done.push((idx, piece));
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("training worker panicked"))
                .collect()
        });
        pieces.sort_by_key(|p| p.0);

        // Loss is the mean over motifs and each motif's batch, so a chunk's
        // gradients weigh 1/K times its share of the batch.
        let mut loss = 0.0;
        let mut gj = Array2::<f32>::zeros((0, 0));
        let mut gw = Array2::<f32>::zeros((0, 0));
        let mut gy0 = Array1::<f32>::zeros(0);
        let mut per_motif: Vec<(usize, Option<Array1<f32>>, Drive)> = Vec::with_capacity(k);
        let mut motif_loss = vec![0.0f32; k];
        let mut motif_ends: Vec<Vec<Array2<f32>>> = vec![Vec::new(); k];
        for (idx, p) in pieces {
            let (i, rows) = &items[idx];
            let scale = rows.len() as f32 / (k * opts.batch) as f32;
            loss += p.loss * scale;
            motif_loss[*i] += p.loss * rows.len() as f32 / opts.batch as f32;
            motif_ends[*i].push(p.x_end);
            if train_shared {
                if idx == 0 {
                    gj = p.grads.j * scale;
                    gw = p.grads.w * scale;
                    gy0 = p.grads.y0 * scale;
                } else {
                    gj.scaled_add(scale, &p.grads.j);
                    gw.scaled_add(scale, &p.grads.w);
                    gy0.scaled_add(scale, &p.grads.y0);
                }
            }
            let mut drive = p.grads.drive;
            for s in drive_slices(&mut drive) {
                s.iter_mut().for_each(|x| *x *= scale);
            }
            let g_init = p.g_init.map(|g| g * scale);
            match per_motif.last_mut() {
                Some((m, acc_init, acc_drive)) if *m == motifs[*i] => {
                    if let (Some(acc), Some(g)) = (acc_init.as_mut(), g_init) {
                        *acc += &g;
                    }
                    for (acc, g) in drive_slices(acc_drive)
                        .into_iter()
                        .zip(drive_slices(&mut drive))
                    {
                        acc.iter_mut().zip(g.iter()).for_each(|(a, g)| *a += g);
                    }
                }
                _ => per_motif.push((motifs[*i], g_init, drive)),
            }
        }
        for (i, (l, e)) in motif_loss.into_iter().zip(motif_ends).enumerate() {
            recent[i].push(l);
            if recent[i].len() > 20 {
                recent[i].remove(0);
            }
            let views: Vec<_> = e.iter().map(|a| a.view()).collect();
            ends[i] = Some(ndarray::concatenate(Axis(0), &views).expect("same width"));
        }
        // Same order as `param_slices`: motifs in library order.
        per_motif.sort_by_key(|p| p.0);
        let mut grads: Vec<&mut [f32]> = Vec::new();
        if train_shared {
            grads.push(gj.as_slice_mut().expect("contiguous"));
            grads.push(gw.as_slice_mut().expect("contiguous"));
            grads.push(gy0.as_slice_mut().expect("contiguous"));
        }
        for (_, g_init, drive) in per_motif.iter_mut() {
            if let Some(g) = g_init {
                grads.push(g.as_slice_mut().expect("contiguous"));
            }
            grads.extend(drive_slices(drive));
        }
        if Adam::clip(&mut grads, opts.clip) {
            clipped += 1;
        }
        let lr = geometric(opts.lr, opts.lr_final, step, opts.steps);
        let mut params = param_slices(net, motifs, train_shared, train_init);
        adam.step(&mut params, &grads, lr);
        losses.push(loss);
        progress(step, loss, net);
    }

    TrainReport {
        losses,
        final_losses: recent
            .iter()
            .map(|r| r.iter().sum::<f32>() / r.len().max(1) as f32)
            .collect(),
        clipped_fraction: clipped as f32 / opts.steps.max(1) as f32,
        seconds: started.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A two-output test target: a sin²-windowed oscillation, at rest at both ends.
    pub(crate) fn target(steps: usize, phase: f32) -> Array2<f32> {
        Array2::from_shape_fn((steps, 2), |(t, d)| {
            let s = t as f32 / steps as f32;
            let w = (std::f32::consts::PI * s).sin().powi(2);
            w * (2.0 * std::f32::consts::PI * (2.0 * s + phase + 0.25 * d as f32)).sin()
        })
    }

    #[test]
    fn thalamocortical_training_fits_two_motifs() {
        let prep = Preparation {
            j_prep: None,
            steps: 80,
        };
        let cfg = NetworkConfig {
            n: 64,
            variant: Variant::Input,
            tau: 0.01,
            dt: 0.001,
            gain: 1.0,
        };
        let mut net = init_network(&cfg, 2, prep, OutputScaling::identity(2), 3);
        for (i, name) in ["a", "b"].iter().enumerate() {
            let m = init_motif(&net, name, 200, i as u64);
            net.motifs.push(m);
        }
        let targets = [target(200, 0.0), target(200, 0.4)];
        let views: Vec<_> = targets.iter().map(|t| t.view()).collect();
        let opts = TrainOptions {
            steps: 400,
            batch: 8,
            lr: 3e-3,
            lr_final: 3e-4,
            ..Default::default()
        };
        let mode = Mode::Thalamocortical {
            xi_sigma: 1.0,
            chain_fraction: 0.5,
        };
        let report = train(&mut net, &[0, 1], &views, true, mode, &opts, |_, _, _| {});
        let first = report.losses[..10].iter().sum::<f32>() / 10.0;
        eprintln!(
            "loss {first} -> {:?} in {:.1}s",
            report.final_losses, report.seconds
        );
        assert!(
            report.final_losses.iter().all(|l| *l < 0.05 * first),
            "{:?}",
            report.final_losses
        );
    }
}
