//! The trainable rate network (docs/science.md §3): shared recurrence `J`, readout
//! `W`, `y0`, and per-motif parameters kept apart so that adding a motif never
//! touches an earlier one.

use ndarray::{Array1, Array2, ArrayView1, ArrayViewMut1};
use serde::{Deserialize, Serialize};

use super::{kernels, ModelError};

/// How a motif's own parameters enter the shared network.
/// Read strictly (in manifests and configs): an unknown field would be a
/// setting this build silently ignores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Variant {
    /// A constant motif input `b_m`.
    Input,
    /// A low-rank loop `U_m V_m` added to `J` while the motif runs.
    Loop { rank: usize },
}

/// Parameters every motif shares; frozen once the first motifs are trained.
#[derive(Debug, Clone, PartialEq)]
pub struct Shared {
    /// Recurrent weights, N×N.
    pub j: Array2<f32>,
    /// Readout, D×N.
    pub w: Array2<f32>,
    /// Readout bias, D.
    pub y0: Array1<f32>,
}

/// A motif's segregated drive.
#[derive(Debug, Clone, PartialEq)]
pub enum Drive {
    Input {
        b: Array1<f32>,
    },
    /// `u`: N×r (thalamus → cortex), `v`: r×N (cortex → thalamus).
    Loop {
        u: Array2<f32>,
        v: Array2<f32>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Motif {
    pub name: String,
    /// Length of the motif in network steps.
    pub steps: usize,
    /// The state the preparation drives to before the motif starts.
    pub x_init: Array1<f32>,
    pub drive: Drive,
}

/// The transition module: `τ ẋ = −x + J_prep x + c_m` with `c_m = (I − J_prep) x*_m`,
/// so the residual `e = x − x*_m` obeys `e ← e + α (J_prep − I) e` whatever came before.
#[derive(Debug, Clone, PartialEq)]
pub struct Preparation {
    /// `None` is the pure leak (`J_prep = 0`).
    pub j_prep: Option<Array2<f32>>,
    /// Preparation length in network steps.
    pub steps: usize,
}

/// Maps network outputs (trained at unit scale) to physical units: `y = offset + scale ⊙ ŷ`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputScaling {
    pub offset: Vec<f32>,
    pub scale: Vec<f32>,
}

impl OutputScaling {
    pub fn identity(d: usize) -> Self {
        Self {
            offset: vec![0.0; d],
            scale: vec![1.0; d],
        }
    }

    pub fn to_physical(&self, y: &mut [f32]) {
        for ((y, o), s) in y.iter_mut().zip(&self.offset).zip(&self.scale) {
            *y = o + s * *y;
        }
    }

    pub fn to_network(&self, y: &mut [f32]) {
        for ((y, o), s) in y.iter_mut().zip(&self.offset).zip(&self.scale) {
            *y = (*y - o) / s;
        }
    }
}

/// A whole motif library in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Time constant τ in seconds.
    pub tau: f32,
    /// Integration step in seconds.
    pub dt: f32,
    pub variant: Variant,
    pub shared: Shared,
    pub motifs: Vec<Motif>,
    pub prep: Preparation,
    pub scaling: OutputScaling,
}

impl Network {
    pub fn n(&self) -> usize {
        self.shared.j.nrows()
    }

    pub fn outputs(&self) -> usize {
        self.shared.w.nrows()
    }

    /// `α = dt / τ`.
    pub fn alpha(&self) -> f32 {
        self.dt / self.tau
    }

    /// Seconds motif `m` lasts at speed 1: its steps × dt.
    pub fn motif_duration(&self, m: usize) -> f64 {
        self.motifs[m].steps as f64 * f64::from(self.dt)
    }

    pub fn motif_index(&self, name: &str) -> Option<usize> {
        self.motifs.iter().position(|m| m.name == name)
    }

    /// Checks every shape against N, D and the variant, and that every value is finite.
    pub fn validate(&self) -> Result<(), ModelError> {
        let n = self.n();
        let d = self.outputs();
        let shape = |what: String, got: &[usize], want: &[usize]| {
            if got == want {
                Ok(())
            } else {
                Err(ModelError::TensorShape {
                    what,
                    got: got.to_vec(),
                    want: want.to_vec(),
                })
            }
        };
        if n == 0 || d == 0 {
            return Err(ModelError::Invalid(
                "network has no units or no outputs".into(),
            ));
        }
        if !(self.tau > 0.0 && self.dt > 0.0 && self.tau.is_finite() && self.dt.is_finite()) {
            return Err(ModelError::Invalid(format!(
                "tau ({}) and dt ({}) must be positive and finite",
                self.tau, self.dt
            )));
        }
        shape("J".into(), self.shared.j.shape(), &[n, n])?;
        shape("W".into(), self.shared.w.shape(), &[d, n])?;
        shape("y0".into(), self.shared.y0.shape(), &[d])?;
        check_finite("J".into(), self.shared.j.iter())?;
        check_finite("W".into(), self.shared.w.iter())?;
        check_finite("y0".into(), self.shared.y0.iter())?;
        if self.scaling.offset.len() != d || self.scaling.scale.len() != d {
            return Err(ModelError::TensorShape {
                what: "output scaling".into(),
                got: vec![self.scaling.offset.len(), self.scaling.scale.len()],
                want: vec![d, d],
            });
        }
        check_finite(
            "output scaling".into(),
            self.scaling.offset.iter().chain(&self.scaling.scale),
        )?;
        if self.scaling.scale.contains(&0.0) {
            return Err(ModelError::Invalid("output scale of zero".into()));
        }
        if let Some(p) = &self.prep.j_prep {
            shape("J_prep".into(), p.shape(), &[n, n])?;
            check_finite("J_prep".into(), p.iter())?;
        }
        let mut names = std::collections::HashSet::new();
        for m in &self.motifs {
            if !names.insert(m.name.as_str()) {
                return Err(ModelError::DuplicateMotif(m.name.clone()));
            }
            if m.steps == 0 {
                return Err(ModelError::Invalid(format!(
                    "motif '{}' has zero steps",
                    m.name
                )));
            }
            shape(format!("{}.x_init", m.name), m.x_init.shape(), &[n])?;
            check_finite(format!("{}.x_init", m.name), m.x_init.iter())?;
            match (&m.drive, self.variant) {
                (Drive::Input { b }, Variant::Input) => {
                    shape(format!("{}.b", m.name), b.shape(), &[n])?;
                    check_finite(format!("{}.b", m.name), b.iter())?;
                }
                (Drive::Loop { u, v }, Variant::Loop { rank }) => {
                    shape(format!("{}.U", m.name), u.shape(), &[n, rank])?;
                    shape(format!("{}.V", m.name), v.shape(), &[rank, n])?;
                    check_finite(format!("{}.U", m.name), u.iter().chain(v.iter()))?;
                }
                _ => {
                    return Err(ModelError::Invalid(format!(
                        "motif '{}' does not match the library variant {:?}",
                        m.name, self.variant
                    )))
                }
            }
        }
        Ok(())
    }
}

/// The discrete preparation step `e ← ((1−α)I + αJ_prep) e` must shrink
/// residuals, or the preparation would blow up the state it is meant to
/// settle. Checked where `J_prep` is made (train/prep.rs) and when a library
/// is loaded, as its entries alone do not show it. A contraction at α is one
/// at every smaller step too (a slowed-down preparation). Costs 400 N².
pub fn check_prep_contraction(jp: &Array2<f32>, alpha: f32) -> Result<(), ModelError> {
    let n = jp.nrows();
    let m = Array2::<f32>::eye(n) * (1.0 - alpha) + jp * alpha;
    // Power iteration from a generic vector: the growth per step approaches the
    // spectral radius; 400 steps is far longer than any preparation.
    let mut v = Array1::from_shape_fn(n, |i| 1.0 + (i as f32 * 0.618).fract());
    let v0 = v.dot(&v).sqrt();
    for _ in 0..400 {
        v = m.dot(&v);
    }
    let growth = v.dot(&v).sqrt() / v0;
    if growth.is_finite() && growth < 1.0 {
        Ok(())
    } else {
        Err(ModelError::Invalid(format!(
            "J_prep: the discrete preparation step at alpha = {alpha} does not contract (norm ×{growth:e} over 400 steps)"
        )))
    }
}

fn check_finite<'a>(what: String, mut v: impl Iterator<Item = &'a f32>) -> Result<(), ModelError> {
    if v.all(|x| x.is_finite()) {
        Ok(())
    } else {
        Err(ModelError::NonFinite(what))
    }
}

/// The dynamics a network is running, for crossfades between them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dynamics {
    /// The state stays where it is (at rest or holding).
    Still,
    Motif(usize),
    /// Preparing toward a motif with this step size.
    Prep(usize, f32),
}

/// Per-run buffers so that stepping allocates nothing.
#[derive(Debug, Clone)]
pub struct State {
    pub x: Array1<f32>,
    r: Array1<f32>,
    scratch: Array1<f32>,
    low_rank: Array1<f32>,
    /// The outgoing motif's increment while a preparation fades in.
    inc: Array1<f32>,
}

impl State {
    pub fn new(net: &Network) -> Self {
        let n = net.n();
        let rank = match net.variant {
            Variant::Loop { rank } => rank,
            Variant::Input => 0,
        };
        Self {
            x: Array1::zeros(n),
            r: Array1::zeros(n),
            scratch: Array1::zeros(n),
            low_rank: Array1::zeros(rank),
            inc: Array1::zeros(n),
        }
    }

    pub fn set(&mut self, x: ArrayView1<f32>) {
        self.x.assign(&x);
    }

    /// `‖x − target‖ / ‖target‖`, allocation-free (a zero target gives the
    /// absolute distance).
    pub fn distance_to(&self, target: &Array1<f32>) -> f32 {
        let (d, t) = self
            .x
            .iter()
            .zip(target)
            .fold((0.0f32, 0.0f32), |(d, t), (x, y)| {
                (d + (x - y) * (x - y), t + y * y)
            });
        if t > 0.0 {
            (d / t).sqrt()
        } else {
            d.sqrt()
        }
    }

    /// One Euler step of motif `m`: `x ← x + α(−x + J r + drive_m)`, `r = tanh(x)`.
    pub fn step_motif(&mut self, net: &Network, m: usize) {
        let alpha = net.alpha();
        let motif = &net.motifs[m];
        tanh_into(&self.x, &mut self.r);
        mat_vec(&net.shared.j, &self.r, self.scratch.view_mut());
        match &motif.drive {
            Drive::Input { b } => self.scratch += b,
            Drive::Loop { u, v } => {
                mat_vec(v, &self.r, self.low_rank.view_mut());
                ndarray::linalg::general_mat_vec_mul(
                    1.0,
                    u,
                    &self.low_rank,
                    1.0,
                    &mut self.scratch,
                );
            }
        }
        ndarray::Zip::from(&mut self.x)
            .and(&self.scratch)
            .for_each(|x, s| *x += alpha * (s - *x));
        flush_denormals(self.x.view_mut());
    }

    /// A preparation toward `m` gated in with weight `g ∈ [0, 1]`: the state
    /// moves by `g` times the preparatory step plus `1 − g` times the step of
    /// the dynamics it replaces (`from`), so a switch of dynamics is a
    /// crossfade, not a step in the output's velocity.
    pub fn step_blend(&mut self, net: &Network, from: Dynamics, m: usize, alpha: f32, g: f32) {
        if g >= 1.0 || from == Dynamics::Still {
            // Blending with "stay still" only scales the preparatory step.
            return self.step_prep(net, m, alpha * g.min(1.0));
        }
        self.inc.assign(&self.x);
        match from {
            Dynamics::Motif(p) => self.step_motif(net, p),
            Dynamics::Prep(p, a) => self.step_prep(net, p, a),
            Dynamics::Still => {}
        }
        // inc ← the outgoing step's Δx, and x back where it was.
        ndarray::Zip::from(&mut self.inc)
            .and(&mut self.x)
            .for_each(|i, x| {
                let d = *x - *i;
                *x = *i;
                *i = d;
            });
        self.step_prep(net, m, alpha * g);
        ndarray::Zip::from(&mut self.x)
            .and(&self.inc)
            .for_each(|x, d| *x += (1.0 - g) * d);
        flush_denormals(self.x.view_mut());
    }

    /// One step of the preparatory dynamics toward motif `m`'s initial state,
    /// with step `alpha` (smaller than the network's α when stretched in time).
    pub fn step_prep(&mut self, net: &Network, m: usize, alpha: f32) {
        let target = &net.motifs[m].x_init;
        ndarray::Zip::from(&mut self.scratch)
            .and(&self.x)
            .and(target)
            .for_each(|e, x, t| *e = x - t);
        match &net.prep.j_prep {
            None => self.x.zip_mut_with(&self.scratch, |x, e| *x -= alpha * e),
            Some(jp) => {
                mat_vec(jp, &self.scratch, self.r.view_mut());
                ndarray::Zip::from(&mut self.x)
                    .and(&self.scratch)
                    .and(&self.r)
                    .for_each(|x, e, je| *x += alpha * (je - e));
            }
        }
        flush_denormals(self.x.view_mut());
    }

    /// Network-scale output `ŷ = W tanh(x) + y0` into `y` (length D).
    pub fn output(&mut self, net: &Network, y: &mut ArrayViewMut1<f32>) {
        tanh_into(&self.x, &mut self.r);
        mat_vec(&net.shared.w, &self.r, y.view_mut());
        *y += &net.shared.y0;
    }
}

fn tanh_into(x: &Array1<f32>, r: &mut Array1<f32>) {
    match (x.as_slice(), r.as_slice_mut()) {
        (Some(x), Some(r)) => kernels::tanh_into(x, r),
        _ => r.zip_mut_with(x, |r, x| *r = kernels::tanh(*x)),
    }
}

/// `y = A x`, through the hand-tuned kernel whenever the memory is contiguous
/// (always, for networks built or loaded by this crate).
fn mat_vec(a: &Array2<f32>, x: &Array1<f32>, mut y: ArrayViewMut1<f32>) {
    match (a.as_slice(), x.as_slice(), y.as_slice_mut()) {
        (Some(a), Some(x), Some(y)) => kernels::matvec(a, x, y),
        _ => ndarray::linalg::general_mat_vec_mul(1.0, a, x, 0.0, &mut y),
    }
}

/// Activity decaying toward zero can reach denormal floats, which made a step
/// 100× slower on this hardware (docs/architecture.md, "Traps"); such values carry no signal.
fn flush_denormals(mut x: ArrayViewMut1<f32>) {
    x.mapv_inplace(|v| if v.abs() < f32::MIN_POSITIVE { 0.0 } else { v });
}

/// Runs one motif from `x0` and returns its outputs (steps × D, network scale)
/// and the final state. Convenience for evaluation and tests, not the control loop.
pub fn run_motif(
    net: &Network,
    m: usize,
    x0: ArrayView1<f32>,
    steps: usize,
) -> (Array2<f32>, Array1<f32>) {
    run(net, x0, steps, |st| st.step_motif(net, m))
}

/// Runs the preparation toward motif `m` from `x0` for `steps` steps and returns
/// the outputs during the transition and the state at motif onset.
pub fn run_prep(
    net: &Network,
    m: usize,
    x0: ArrayView1<f32>,
    steps: usize,
) -> (Array2<f32>, Array1<f32>) {
    run(net, x0, steps, |st| st.step_prep(net, m, net.alpha()))
}

fn run(
    net: &Network,
    x0: ArrayView1<f32>,
    steps: usize,
    mut step: impl FnMut(&mut State),
) -> (Array2<f32>, Array1<f32>) {
    let mut st = State::new(net);
    st.set(x0);
    let mut out = Array2::zeros((steps, net.outputs()));
    for t in 0..steps {
        step(&mut st);
        st.output(net, &mut out.row_mut(t));
    }
    (out, st.x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::bptt::{loss_and_grads, Workspace};
    use crate::train::config::NetworkConfig;
    use crate::train::trainer::{init_motif, init_network};
    use ndarray::Axis;

    fn net(variant: Variant, j_prep: Option<Array2<f32>>) -> Network {
        let prep = Preparation { j_prep, steps: 60 };
        let cfg = NetworkConfig {
            n: 20,
            variant,
            tau: 0.01,
            dt: 0.001,
            gain: 1.3,
        };
        let mut net = init_network(&cfg, 3, prep, OutputScaling::identity(3), 2);
        net.motifs.push(init_motif(&net, "a", 40, 1));
        net.motifs.push(init_motif(&net, "b", 30, 1));
        net
    }

    /// The controller's single-sample step and the trainer's batched forward
    /// pass must be the same dynamics, or a library would not run as trained.
    #[test]
    fn stepping_matches_the_training_forward_pass() {
        for variant in [Variant::Input, Variant::Loop { rank: 2 }] {
            let net = net(variant, None);
            let x0 = net.motifs[0].x_init.clone();
            let (y, _) = run_motif(&net, 0, x0.view(), 40);
            let target = Array2::<f32>::zeros((40, 3));
            let (fwd, _) = loss_and_grads(
                &net.shared,
                &net.motifs[0].drive,
                net.alpha(),
                x0.view().insert_axis(Axis(0)),
                target.view(),
                &mut Workspace::default(),
            );
            let mse = y.iter().map(|v| v * v).sum::<f32>() / y.len() as f32;
            assert!(
                (mse - fwd.loss).abs() <= 1e-5 * mse.max(1e-6),
                "{variant:?}: {mse} vs {}",
                fwd.loss
            );
        }
    }

    #[test]
    fn preparation_converges_to_the_motif_start_from_anywhere() {
        let n = 20;
        // A contracting J_prep as well as the pure leak.
        let jp = Array2::from_shape_fn((n, n), |(i, j)| {
            if i == j {
                -0.5
            } else {
                0.02 * ((i * 7 + j * 3) % 5) as f32 - 0.04
            }
        });
        for j_prep in [None, Some(jp)] {
            let net = net(Variant::Input, j_prep);
            for start in [
                Array1::from_elem(n, 3.0f32),
                Array1::from_shape_fn(n, |i| (i as f32).sin()),
            ] {
                let e0 = (&start - &net.motifs[1].x_init)
                    .mapv(|v| v * v)
                    .sum()
                    .sqrt();
                let (_, x) = run_prep(&net, 1, start.view(), 200);
                let e = (&x - &net.motifs[1].x_init).mapv(|v| v * v).sum().sqrt();
                assert!(e < 1e-4 * e0, "residual {e} from {e0}");
            }
        }
    }

    #[test]
    fn validation_names_the_bad_tensor() {
        let mut n = net(Variant::Input, None);
        n.motifs[1].x_init[3] = f32::INFINITY;
        assert_eq!(n.validate(), Err(ModelError::NonFinite("b.x_init".into())));
        let mut n = net(Variant::Input, None);
        n.motifs[1].name = "a".into();
        assert_eq!(n.validate(), Err(ModelError::DuplicateMotif("a".into())));
        let mut n = net(Variant::Loop { rank: 2 }, None);
        n.variant = Variant::Loop { rank: 3 };
        assert!(matches!(n.validate(), Err(ModelError::TensorShape { .. })));
    }
}
