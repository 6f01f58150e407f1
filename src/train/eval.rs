//! Evaluation (docs/science.md §4): per-segment NMSE in distribution (started as
//! in training) and under zero-shot chaining (each motif started from wherever
//! the previous one ended, after the preparation for the thalamocortical mode).

use std::borrow::Cow;

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::StandardNormal;
use serde::Serialize;

use super::trainer::Propagator;
use crate::library::Mode;
use crate::model::{run_motif, run_prep, Network};
use crate::plots::evaluation::{ChainTrace, PrepTransient, Segment, SegmentKind};

/// [`crate::model::nmse`] as the evaluation reports it (f32).
pub fn nmse(y: ArrayView2<f32>, target: ArrayView2<f32>) -> f32 {
    crate::model::nmse(y, target) as f32
}

#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// In-distribution starts per motif.
    pub trials: usize,
    /// Random chained sequences (besides all ordered pairs).
    pub sequences: usize,
    pub sequence_len: usize,
    pub seed: u64,
    /// Preparation length (network steps) before each chained motif, when it
    /// should differ from the library's; in-distribution starts keep the
    /// library's, as in training.
    pub chain_prep_steps: Option<usize>,
    /// Mid-motif starts per ordered pair for [`Preemption`]; 0 leaves it out.
    pub preemption_starts: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            trials: 8,
            sequences: 50,
            sequence_len: 10,
            seed: 12345,
            chain_prep_steps: None,
            preemption_starts: 3,
        }
    }
}

/// The chaining ratio the reproduction counts as "no cost" (docs/results.md).
pub const RATIO_TARGET: f32 = 1.1;
/// Where the previous motif is cut for [`Preemption`], as fractions of its length.
pub const PREEMPT_FRACTIONS: (f32, f32) = (0.2, 0.8);
/// Preparation lengths (τ) [`PrepNeeded`] tries, shortest first.
pub const PREP_SWEEP_TAU: [f32; 12] = [
    0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 16.0,
];

/// Chaining from a state mid-way through the previous motif: what the node
/// does when a new sequence preempts the running motif.
#[derive(Debug, Clone, Serialize)]
pub struct Preemption {
    /// The range the cut points were drawn from, uniformly.
    pub fractions: (f32, f32),
    pub segments: usize,
    pub nmse: f32,
    /// `nmse` over the in-distribution NMSE.
    pub ratio: f32,
    /// Thalamocortical mode only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prep_needed: Option<PrepNeeded>,
}

/// The shortest preparation (of [`PREP_SWEEP_TAU`]) whose chaining ratio is
/// within [`RATIO_TARGET`]; `None` when no length tried reaches it.
#[derive(Debug, Clone, Serialize)]
pub struct PrepNeeded {
    pub from_ends_tau: Option<f32>,
    pub from_mid_tau: Option<f32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MotifEval {
    pub name: String,
    pub in_distribution_nmse: f32,
    pub chaining_nmse: Option<f32>,
    /// The previous motif after which this one was worst.
    pub worst_after: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorstPair {
    pub from: String,
    pub to: String,
    pub nmse: f32,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub mode: Mode,
    pub in_distribution_nmse: f32,
    pub chaining_nmse: Option<f32>,
    pub chaining_ratio: Option<f32>,
    pub worst_pair: Option<WorstPair>,
    pub chained_segments: usize,
    /// Preparation before each chained motif, in τ (thalamocortical mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain_prep_tau: Option<f32>,
    pub per_motif: Vec<MotifEval>,
    /// Where chaining starts motifs, compared with where training did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_states: Option<EndStateStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preemption: Option<Preemption>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Separates the two reasons a chained start can be out of distribution: its
/// norm or its direction (docs/science.md §4). Norms are Euclidean, in state units.
#[derive(Debug, Clone, Serialize)]
pub struct EndStateStats {
    /// Mean ‖x‖ of each motif's end state (from in-distribution starts).
    pub end_norm: f32,
    /// Mean ‖x0‖ of training starts (baseline: ≈ σ0·√N).
    pub train_start_norm: f32,
    /// Mean NMSE over all ordered pairs when the previous motif's end state is
    /// replaced by a random direction of the same norm (through the
    /// preparation in the thalamocortical mode).
    pub norm_matched_random_nmse: f32,
}

/// Draws a start the way training did.
pub fn training_start(
    net: &Network,
    mode: Mode,
    prop: &Propagator,
    m: usize,
    rng: &mut StdRng,
) -> Array1<f32> {
    let n = net.n();
    let normal = |rng: &mut StdRng, s: f32| {
        Array1::from_shape_fn(n, |_| s * rng.sample::<f32, _>(StandardNormal))
    };
    match mode {
        Mode::Baseline { sigma0 } => normal(rng, sigma0),
        Mode::Thalamocortical { xi_sigma, .. } => {
            let x_init = &net.motifs[m].x_init;
            let mut e = (normal(rng, xi_sigma) - x_init).insert_axis(Axis(0));
            prop.apply(&mut e);
            e.remove_axis(Axis(0)) + x_init
        }
    }
}

/// Runs motif `m` chained after a state `x`: through the preparation in the
/// thalamocortical mode, directly in the baseline. Returns the motif's outputs
/// and its end state.
pub fn run_chained(
    net: &Network,
    mode: Mode,
    m: usize,
    x: &Array1<f32>,
) -> (Array2<f32>, Array1<f32>) {
    let start = match mode {
        Mode::Baseline { .. } => x.clone(),
        Mode::Thalamocortical { .. } => run_prep(net, m, x.view(), net.prep.steps).1,
    };
    run_motif(net, m, start.view(), net.motifs[m].steps)
}

pub fn evaluate(
    net: &Network,
    mode: Mode,
    targets: &[Array2<f32>],
    opts: &EvalOptions,
) -> EvalReport {
    let k = net.motifs.len();
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let prop = Propagator::new(net);
    let mut in_dist = vec![0.0f32; k];
    for (m, acc) in in_dist.iter_mut().enumerate() {
        for _ in 0..opts.trials {
            let x0 = training_start(net, mode, &prop, m, &mut rng);
            let (y, _) = run_motif(net, m, x0.view(), net.motifs[m].steps);
            *acc += nmse(y.view(), targets[m].view()) / opts.trials as f32;
        }
    }
    let id_mean = in_dist.iter().sum::<f32>() / k as f32;
    let mut per_motif: Vec<MotifEval> = net
        .motifs
        .iter()
        .zip(&in_dist)
        .map(|(m, e)| MotifEval {
            name: m.name.clone(),
            in_distribution_nmse: *e,
            chaining_nmse: None,
            worst_after: None,
        })
        .collect();
    if k < 2 {
        return EvalReport {
            mode,
            in_distribution_nmse: id_mean,
            chaining_nmse: None,
            chaining_ratio: None,
            worst_pair: None,
            chained_segments: 0,
            chain_prep_tau: None,
            per_motif,
            end_states: None,
            preemption: None,
            note: Some(
                "chaining needs at least two motifs; only in-distribution figures are reported"
                    .into(),
            ),
        };
    }

    let chain_net = match opts.chain_prep_steps {
        Some(steps) if steps != net.prep.steps => {
            let mut c = net.clone();
            c.prep.steps = steps;
            Cow::Owned(c)
        }
        _ => Cow::Borrowed(net),
    };
    let chain_prep_tau = matches!(mode, Mode::Thalamocortical { .. })
        .then(|| chain_net.prep.steps as f32 * net.alpha());

    let mut sums = vec![(0.0f64, 0usize); k];
    let mut worst_after = vec![(f32::MIN, 0usize); k];
    let mut worst_pair = (0, 0, f32::MIN);
    let mut record = |from: usize, to: usize, e: f32, sums: &mut Vec<(f64, usize)>| {
        sums[to].0 += e as f64;
        sums[to].1 += 1;
        if e > worst_after[to].0 {
            worst_after[to] = (e, from);
        }
        if e > worst_pair.2 {
            worst_pair = (from, to, e);
        }
    };
    // Each motif's end state from an in-distribution start, shared by all its pairs.
    let ends: Vec<Array1<f32>> = (0..k)
        .map(|a| {
            let x0 = training_start(net, mode, &prop, a, &mut rng);
            run_motif(net, a, x0.view(), net.motifs[a].steps).1
        })
        .collect();
    for (a, end) in ends.iter().enumerate() {
        for b in (0..k).filter(|&b| b != a) {
            let (y, _) = run_chained(&chain_net, mode, b, end);
            record(a, b, nmse(y.view(), targets[b].view()), &mut sums);
        }
    }
    for _ in 0..opts.sequences {
        let mut prev = rng.random_range(0..k);
        let x0 = training_start(net, mode, &prop, prev, &mut rng);
        let mut x = run_motif(net, prev, x0.view(), net.motifs[prev].steps).1;
        for _ in 1..opts.sequence_len {
            let next = (prev + rng.random_range(1..k)) % k;
            let (y, end) = run_chained(&chain_net, mode, next, &x);
            record(prev, next, nmse(y.view(), targets[next].view()), &mut sums);
            x = end;
            prev = next;
        }
    }
    let end_states = end_state_stats(&chain_net, mode, &prop, targets, &ends, &mut rng);
    let preemption = (opts.preemption_starts > 0).then(|| {
        let cut = Cut {
            net: &chain_net,
            mode,
            targets,
            id_mean,
        };
        cut.preemption(&prop, &ends, opts.preemption_starts, &mut rng)
    });
    let segments: usize = sums.iter().map(|s| s.1).sum();
    for (i, pm) in per_motif.iter_mut().enumerate() {
        pm.chaining_nmse = Some((sums[i].0 / sums[i].1.max(1) as f64) as f32);
        pm.worst_after = Some(net.motifs[worst_after[i].1].name.clone());
    }
    let chain_mean = per_motif
        .iter()
        .filter_map(|p| p.chaining_nmse)
        .sum::<f32>()
        / k as f32;
    EvalReport {
        mode,
        in_distribution_nmse: id_mean,
        chaining_nmse: Some(chain_mean),
        chaining_ratio: Some(chain_mean / id_mean.max(1e-12)),
        worst_pair: Some(WorstPair {
            from: net.motifs[worst_pair.0].name.clone(),
            to: net.motifs[worst_pair.1].name.clone(),
            nmse: worst_pair.2,
        }),
        chained_segments: segments,
        chain_prep_tau,
        per_motif,
        end_states: Some(end_states),
        preemption,
        note: None,
    }
}

/// What [`Preemption`] measures with.
struct Cut<'a> {
    net: &'a Network,
    mode: Mode,
    targets: &'a [Array2<f32>],
    id_mean: f32,
}

impl Cut<'_> {
    /// Mean NMSE of each `(motif, start)` chained on `net`.
    fn mean_nmse(&self, net: &Network, starts: &[(usize, Array1<f32>)]) -> f32 {
        let total: f64 = starts
            .iter()
            .map(|(b, x)| {
                let (y, _) = run_chained(net, self.mode, *b, x);
                nmse(y.view(), self.targets[*b].view()) as f64
            })
            .sum();
        (total / starts.len() as f64) as f32
    }

    /// Every ordered pair (a, b), `starts` times: a from a training start, cut
    /// at a random fraction of its length, then b chained from there.
    fn preemption(
        &self,
        prop: &Propagator,
        ends: &[Array1<f32>],
        starts: usize,
        rng: &mut StdRng,
    ) -> Preemption {
        let (net, mode) = (self.net, self.mode);
        let k = net.motifs.len();
        let pairs =
            || (0..k).flat_map(move |a| (0..k).filter(move |&b| b != a).map(move |b| (a, b)));
        let mut mids = Vec::with_capacity(k * (k - 1) * starts);
        for (a, b) in pairs() {
            for _ in 0..starts {
                let f = rng.random_range(PREEMPT_FRACTIONS.0..PREEMPT_FRACTIONS.1);
                let steps = ((f * net.motifs[a].steps as f32).round() as usize).max(1);
                let x0 = training_start(net, mode, prop, a, rng);
                mids.push((b, run_motif(net, a, x0.view(), steps).1));
            }
        }
        let nmse = self.mean_nmse(net, &mids);
        let prep_needed = matches!(mode, Mode::Thalamocortical { .. }).then(|| {
            let from_ends: Vec<(usize, Array1<f32>)> =
                pairs().map(|(a, b)| (b, ends[a].clone())).collect();
            let mut swept = net.clone();
            let mut needed = PrepNeeded {
                from_ends_tau: None,
                from_mid_tau: None,
            };
            for t in PREP_SWEEP_TAU {
                swept.prep.steps = (t / net.alpha()).round() as usize;
                let within = |starts| self.mean_nmse(&swept, starts) / self.id_mean <= RATIO_TARGET;
                if needed.from_ends_tau.is_none() && within(&from_ends) {
                    needed.from_ends_tau = Some(t);
                }
                if needed.from_mid_tau.is_none() && within(&mids) {
                    needed.from_mid_tau = Some(t);
                }
                if needed.from_ends_tau.is_some() && needed.from_mid_tau.is_some() {
                    break;
                }
            }
            needed
        });
        Preemption {
            fractions: PREEMPT_FRACTIONS,
            segments: mids.len(),
            nmse,
            ratio: nmse / self.id_mean.max(1e-12),
            prep_needed,
        }
    }
}

fn end_state_stats(
    net: &Network,
    mode: Mode,
    prop: &Propagator,
    targets: &[Array2<f32>],
    ends: &[Array1<f32>],
    rng: &mut StdRng,
) -> EndStateStats {
    let k = ends.len();
    let norm = |x: &Array1<f32>| x.dot(x).sqrt();
    let end_norm = ends.iter().map(norm).sum::<f32>() / k as f32;
    let train_start_norm = (0..k)
        .map(|m| norm(&training_start(net, mode, prop, m, rng)))
        .sum::<f32>()
        / k as f32;
    let mut total = 0.0f64;
    for (a, end) in ends.iter().enumerate() {
        for b in (0..k).filter(|&b| b != a) {
            let r = Array1::from_shape_fn(net.n(), |_| rng.sample::<f32, _>(StandardNormal));
            let x = &r * (norm(end) / norm(&r).max(1e-12));
            let (y, _) = run_chained(net, mode, b, &x);
            total += nmse(y.view(), targets[b].view()) as f64;
        }
    }
    EndStateStats {
        end_norm,
        train_start_norm,
        norm_matched_random_nmse: (total / (k * (k - 1)) as f64) as f32,
    }
}

/// Runs `sequence` from an in-distribution start of its first motif, each
/// later motif chained (through the preparation in the thalamocortical mode).
pub fn chained_trace(
    net: &Network,
    mode: Mode,
    targets: &[Array2<f32>],
    sequence: &[usize],
    seed: u64,
) -> ChainTrace {
    let mut rng = StdRng::seed_from_u64(seed);
    let prop = Propagator::new(net);
    let mut x = training_start(net, mode, &prop, sequence[0], &mut rng);
    let mut produced = Vec::new();
    let mut target = Vec::new();
    let mut segments = Vec::new();
    let mut nmses = Vec::new();
    let mut at = 0;
    for (i, &m) in sequence.iter().enumerate() {
        if i > 0 && matches!(mode, Mode::Thalamocortical { .. }) && net.prep.steps > 0 {
            let (y, end) = run_prep(net, m, x.view(), net.prep.steps);
            segments.push(Segment {
                kind: SegmentKind::Preparation,
                motif: m,
                start: at,
                end: at + y.nrows(),
            });
            at += y.nrows();
            target.push(Array2::from_elem(y.dim(), f32::NAN));
            produced.push(y);
            x = end;
        }
        let (y, end) = run_motif(net, m, x.view(), net.motifs[m].steps);
        nmses.push(nmse(y.view(), targets[m].view()));
        segments.push(Segment {
            kind: SegmentKind::Motif,
            motif: m,
            start: at,
            end: at + y.nrows(),
        });
        at += y.nrows();
        target.push(targets[m].clone());
        produced.push(y);
        x = end;
    }
    let cat = |v: &[Array2<f32>]| {
        ndarray::concatenate(Axis(0), &v.iter().map(|a| a.view()).collect::<Vec<_>>())
            .expect("equal widths")
    };
    ChainTrace {
        produced: cat(&produced),
        target: cat(&target),
        segments,
        nmse: nmses,
    }
}

/// Preparations toward `to` from the end state of every other motif (each run
/// from an in-distribution start), over `steps` steps.
pub fn prep_transients(
    net: &Network,
    mode: Mode,
    to: usize,
    steps: usize,
    seed: u64,
) -> Vec<PrepTransient> {
    let mut rng = StdRng::seed_from_u64(seed);
    let prop = Propagator::new(net);
    let target = &net.motifs[to].x_init;
    (0..net.motifs.len())
        .filter(|&a| a != to)
        .map(|a| {
            let x0 = training_start(net, mode, &prop, a, &mut rng);
            let end = run_motif(net, a, x0.view(), net.motifs[a].steps).1;
            let mut st = crate::model::State::new(net);
            st.set(end.view());
            let mut outputs = Array2::zeros((steps, net.outputs()));
            let mut residual = Vec::with_capacity(steps + 1);
            let dist = |x: &Array1<f32>| (x - target).mapv(|v| v * v).sum().sqrt();
            residual.push(dist(&st.x));
            for t in 0..steps {
                st.step_prep(net, to, net.alpha());
                st.output(net, &mut outputs.row_mut(t));
                residual.push(dist(&st.x));
            }
            PrepTransient {
                from: net.motifs[a].name.clone(),
                outputs,
                residual,
            }
        })
        .collect()
}
