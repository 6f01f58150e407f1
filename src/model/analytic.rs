//! The analytically tractable (linear) thalamocortical model of docs/science.md §1:
//! `τ ẋ = −x + (J0 + u vᵀ) x`, `y = wᵀx`, one rank-1 thalamic loop per motif.
//!
//! Pipeline for one motif: [`fit_modes`] turns a sampled 1-D target into a sum
//! of damped complex modes; [`control_eigenvalues`] places the matching
//! eigenvalues `λ = 1 + τ(σ ± iω)` in the spectrum of `J0 + u vᵀ`;
//! [`motif_initial_state`] gives the state from which the free dynamics replay
//! exactly the fitted sum of modes.
//!
//! **A reference model, not a product path.** Nothing the binaries run
//! reaches this module: the trained libraries are the nonlinear network of
//! [`super::network`]. It is kept, with its unit tests, as the paper's
//! tractable case against which the science (docs/science.md §1) is checked; its
//! eigen-decomposition and pseudo-inverse paths in `linalg.rs` serve it alone.

use ndarray::{Array1, Array2};
use rand::{rngs::StdRng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use super::error::{invalid, shape_err, ModelError, Result};
use super::linalg::{c64, eig, pinv_c, EigDecomp};

/// Random cortex `J0 ~ N(0, 1/N)` and shared readout `w ~ N(0, 1/N)`.
#[derive(Debug, Clone)]
pub struct LinearModel {
    pub tau: f64,
    pub j0: Array2<f64>,
    pub w: Array1<f64>,
}

impl LinearModel {
    /// Draw `J0` and `w` from `seed` (`J0` first, then `w`, row-major).
    pub fn random(n: usize, tau: f64, seed: u64) -> Result<Self> {
        if n == 0 {
            return Err(invalid("n", "must be positive"));
        }
        if !(tau > 0.0 && tau.is_finite()) {
            return Err(invalid(
                "tau",
                format!("must be positive and finite, got {tau}"),
            ));
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let s = 1.0 / (n as f64).sqrt();
        let mut draw = || -> f64 {
            let z: f64 = StandardNormal.sample(&mut rng);
            z * s
        };
        let j0 = Array2::from_shape_fn((n, n), |_| draw());
        let w = Array1::from_shape_fn(n, |_| draw());
        Ok(Self { tau, j0, w })
    }

    pub fn n(&self) -> usize {
        self.w.len()
    }

    /// Eigendecomposition `J0 = R diag(E) R⁻¹` (compute once per model, reuse
    /// for every motif).
    pub fn eig_j0(&self) -> Result<EigDecomp> {
        eig(self.j0.view())
    }
}

/// How [`fit_modes`] chooses the modes.
///
/// Frequencies are fixed on the grid `ω_k = 2πk / (p T)`, `k = 0..n_freq`
/// (`T` = target duration, `p` = `period_factor`), with one decay rate `σ`
/// shared by all modes and picked from `decay_grid` (values of `σT`, all ≤ 0)
/// by least-squares residual. Amplitudes are then linear least squares.
/// This is deliberately simple: a linear problem per grid point, no
/// non-convex search over frequencies, robust for smooth targets, and the
/// eigenvalues it asks for stay on a regular, well-separated lattice, which
/// keeps the eigenvalue-control matrix `P` as well conditioned as possible.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeFitOptions {
    /// Number of frequencies including ω = 0 (one real mode + `n_freq − 1`
    /// complex pairs, i.e. `2 n_freq − 1` controlled eigenvalues).
    pub n_freq: usize,
    /// `p` in `ω_k = 2πk/(pT)`: 1 fits periodic targets exactly, 2 suits
    /// targets whose ends differ.
    pub period_factor: f64,
    /// Candidate values of `σ T` (≤ 0).
    pub decay_grid: Vec<f64>,
}

impl Default for ModeFitOptions {
    fn default() -> Self {
        Self {
            n_freq: 5,
            period_factor: 1.0,
            decay_grid: vec![0.0, -0.25, -0.5, -1.0, -2.0, -4.0],
        }
    }
}

/// A sum of damped complex modes `ŷ(t) = 2 Re Σ_k a_k e^{(σ_k + iω_k)t}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeFit {
    pub sigma: Vec<f64>,
    pub omega: Vec<f64>,
    pub amps: Vec<c64>,
    /// Normalised squared error of the fit on the samples.
    pub nmse: f64,
}

impl ModeFit {
    /// `ŷ(t)`.
    pub fn eval(&self, t: f64) -> f64 {
        self.sigma
            .iter()
            .zip(&self.omega)
            .zip(&self.amps)
            .map(|((s, w), a)| 2.0 * (*a * c64::new(*s * t, *w * t).exp()).re)
            .sum()
    }

    /// `ŷ` at `t = i·dt`, `i = 0..len`.
    pub fn sample(&self, dt: f64, len: usize) -> Vec<f64> {
        (0..len).map(|i| self.eval(i as f64 * dt)).collect()
    }

    /// The eigenvalues to place, `λ = 1 + τ(σ ± iω)` (one for ω = 0, a
    /// conjugate pair otherwise), and the matching per-eigenvalue amplitudes
    /// (`2 Re a` for a real mode, `a` and `ā` for a pair) so that
    /// `ŷ(t) = Σ_j amp_j e^{(λ_j − 1)t/τ}`.
    pub fn controlled_modes(&self, tau: f64) -> (Vec<c64>, Vec<c64>) {
        let mut lambdas = Vec::new();
        let mut amps = Vec::new();
        for ((s, w), a) in self.sigma.iter().zip(&self.omega).zip(&self.amps) {
            let l = c64::new(1.0 + tau * s, tau * w);
            if *w == 0.0 {
                lambdas.push(c64::new(l.re, 0.0));
                amps.push(c64::new(2.0 * a.re, 0.0));
            } else {
                lambdas.push(l);
                amps.push(*a);
                lambdas.push(l.conj());
                amps.push(a.conj());
            }
        }
        (lambdas, amps)
    }
}

/// [`super::metrics::nmse`] of a 1-D series (over the common length).
pub fn nmse(y: &[f64], target: &[f64]) -> f64 {
    let n = target.len().min(y.len());
    fn column(v: &[f64], n: usize) -> ndarray::ArrayView2<'_, f64> {
        ndarray::ArrayView2::from_shape((n, 1), &v[..n]).expect("n × 1")
    }
    super::metrics::nmse(column(y, n), column(target, n))
}

/// Fit a sampled 1-D target (`target[i]` at `t = i·dt`) as a sum of damped
/// complex modes; see [`ModeFitOptions`] for the method.
pub fn fit_modes(target: &[f64], dt: f64, opts: &ModeFitOptions) -> Result<ModeFit> {
    let len = target.len();
    let k = opts.n_freq;
    if k == 0 {
        return Err(invalid("n_freq", "must be positive"));
    }
    if len < 2 * k {
        return Err(shape_err("target", format!("≥ {} samples", 2 * k), len));
    }
    if !(dt > 0.0 && dt.is_finite()) {
        return Err(invalid(
            "dt",
            format!("must be positive and finite, got {dt}"),
        ));
    }
    if !(opts.period_factor > 0.0 && opts.period_factor.is_finite()) {
        return Err(invalid("period_factor", opts.period_factor));
    }
    if opts.decay_grid.is_empty()
        || opts
            .decay_grid
            .iter()
            .any(|s| !(*s <= 0.0 && s.is_finite()))
    {
        return Err(invalid("decay_grid", "must be non-empty, finite and ≤ 0"));
    }
    if target.iter().any(|x| !x.is_finite()) {
        return Err(invalid("target", "contains non-finite samples"));
    }
    let t_total = len as f64 * dt;
    let omega: Vec<f64> = (0..k)
        .map(|j| 2.0 * std::f64::consts::PI * j as f64 / (opts.period_factor * t_total))
        .collect();
    let ncol = 2 * k - 1;
    let mut best: Option<ModeFit> = None;
    for &st in &opts.decay_grid {
        let sigma = st / t_total;
        // Columns: e^{σt}, then e^{σt}cos ωt, −e^{σt}sin ωt per pair, so the
        // coefficients are 2 Re a_0, then (2 Re a_k, 2 Im a_k).
        let basis = Array2::from_shape_fn((len, ncol), |(i, c)| {
            let t = i as f64 * dt;
            let env = (sigma * t).exp();
            let v = if c == 0 {
                env
            } else {
                let w = omega[c.div_ceil(2)];
                if c % 2 == 1 {
                    env * (w * t).cos()
                } else {
                    -env * (w * t).sin()
                }
            };
            c64::new(v, 0.0)
        });
        let (pinv, cond) = pinv_c(basis.view())?;
        if cond > 1e10 {
            continue; // too few samples per period for this grid point
        }
        let rhs = Array1::from_iter(target.iter().map(|&y| c64::new(y, 0.0)));
        let coef = pinv.dot(&rhs);
        let mut amps = vec![c64::new(coef[0].re / 2.0, 0.0)];
        for j in 1..k {
            amps.push(c64::new(coef[2 * j - 1].re / 2.0, coef[2 * j].re / 2.0));
        }
        let mut fit = ModeFit {
            sigma: vec![sigma; k],
            omega: omega.clone(),
            amps,
            nmse: 0.0,
        };
        fit.nmse = nmse(&fit.sample(dt, len), target);
        if best.as_ref().is_none_or(|b| fit.nmse < b.nmse) {
            best = Some(fit);
        }
    }
    best.ok_or(ModelError::IllConditioned {
        what: "mode-fit least squares (every decay-grid point)",
        cond: f64::INFINITY,
    })
}

/// A rank-1 loop `u vᵀ` placing chosen eigenvalues in `J0 + u vᵀ`.
#[derive(Debug, Clone)]
pub struct EigenControl {
    pub u: Array1<f64>,
    pub v: Array1<f64>,
    /// The eigenvalues that were requested.
    pub lambdas: Vec<c64>,
    /// 2-norm condition number of `P_jk = 1/(λ_j − E_k)`.
    pub cond_p: f64,
    /// `max_j |vᵀ(λ_j − J0)⁻¹u − 1|`: how exactly the secular equation holds
    /// at the requested eigenvalues (0 = exact placement).
    pub secular_residual: f64,
}

impl EigenControl {
    /// `J0 + u vᵀ`.
    pub fn matrix(&self, j0: &Array2<f64>) -> Array2<f64> {
        let uv = self
            .u
            .view()
            .insert_axis(ndarray::Axis(1))
            .dot(&self.v.view().insert_axis(ndarray::Axis(0)));
        j0 + &uv
    }
}

/// Largest `cond(P)` accepted by [`control_eigenvalues`]; beyond it the
/// placement loses more than ~4 of 16 digits and the authors saw it fail.
pub const MAX_COND_P: f64 = 1e12;

fn resolvent_u(eig_j0: &EigDecomp, rinv_u: &Array1<c64>, lambda: c64) -> Array1<c64> {
    // (λ − J0)⁻¹u = R diag(1/(λ − E)) R⁻¹u
    let scaled = Array1::from_iter(
        rinv_u
            .iter()
            .zip(&eig_j0.values)
            .map(|(x, e)| *x / (lambda - *e)),
    );
    eig_j0.vectors.dot(&scaled)
}

fn rel_imag(z: &Array1<c64>) -> f64 {
    let im: f64 = z.iter().map(|x| x.im * x.im).sum::<f64>().sqrt();
    let all: f64 = z.iter().map(|x| x.norm_sqr()).sum::<f64>().sqrt();
    im / all.max(f64::MIN_POSITIVE)
}

/// Place the eigenvalues `lambdas` (a conjugate-symmetric set) in the spectrum
/// of `J0 + u vᵀ`, with `u ~ N(0, 1/N)` drawn from `seed`.
///
/// Secular equation: the eigenvalues of `J0 + u vᵀ` solve
/// `Σ_k d_k/(λ − E_k) = 1`, `d_k = (R⁻¹u)_k (vᵀR)_k`; `d = pinv(P)·1` is the
/// minimum-norm choice, and it inherits the conjugate symmetry of the
/// request, so `v` is real up to rounding (checked, [`ModelError::NotReal`]
/// otherwise). The other `N − K` eigenvalues move only slightly from `E`.
pub fn control_eigenvalues(
    j0: &Array2<f64>,
    eig_j0: &EigDecomp,
    lambdas: &[c64],
    seed: u64,
) -> Result<EigenControl> {
    let n = j0.nrows();
    if j0.ncols() != n || eig_j0.values.len() != n {
        return Err(shape_err(
            "J0 / its eigendecomposition",
            format!("{n}x{n}"),
            format!("{:?}", j0.dim()),
        ));
    }
    if lambdas.is_empty() || lambdas.len() >= n {
        return Err(invalid(
            "lambdas",
            format!("need 1..{n} eigenvalues, got {}", lambdas.len()),
        ));
    }
    if lambdas
        .iter()
        .any(|l| !l.re.is_finite() || !l.im.is_finite())
    {
        return Err(invalid("lambdas", "non-finite"));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let s = 1.0 / (n as f64).sqrt();
    let u = Array1::from_shape_fn(n, |_| {
        let z: f64 = StandardNormal.sample(&mut rng);
        z * s
    });
    let uc = u.mapv(|x| c64::new(x, 0.0));
    let rinv_u = eig_j0.inv_vectors.dot(&uc);
    let p = Array2::from_shape_fn((lambdas.len(), n), |(j, k)| {
        c64::new(1.0, 0.0) / (lambdas[j] - eig_j0.values[k])
    });
    let (pinv, cond_p) = pinv_c(p.view())?;
    if cond_p.is_nan() || cond_p > MAX_COND_P {
        return Err(ModelError::IllConditioned {
            what: "eigenvalue-control matrix P",
            cond: cond_p,
        });
    }
    let d = pinv.dot(&Array1::from_elem(lambdas.len(), c64::new(1.0, 0.0)));
    // A component of R⁻¹u near zero would need an unbounded v.
    let ratio = Array1::from_iter(d.iter().zip(&rinv_u).map(|(dk, ru)| *dk / *ru));
    if ratio.iter().any(|z| !z.re.is_finite() || !z.im.is_finite()) {
        return Err(ModelError::IllConditioned {
            what: "eigenvalue control (R⁻¹u has a zero component)",
            cond: f64::INFINITY,
        });
    }
    let vc = eig_j0.inv_vectors.t().dot(&ratio);
    let ri = rel_imag(&vc);
    if ri > 1e-8 {
        return Err(ModelError::NotReal {
            what: "loop vector v (is the eigenvalue set conjugate-symmetric?)",
            rel_imag: ri,
        });
    }
    let v = vc.mapv(|z| z.re);
    let secular_residual = lambdas
        .iter()
        .map(|&l| {
            let r = resolvent_u(eig_j0, &rinv_u, l);
            (r.iter().zip(&v).map(|(a, b)| *a * *b).sum::<c64>() - 1.0).norm()
        })
        .fold(0.0, f64::max);
    Ok(EigenControl {
        u,
        v,
        lambdas: lambdas.to_vec(),
        cond_p,
        secular_residual,
    })
}

/// Closed-form motif initial state `x* = R_m diag(1/(wᵀR_m)) amps`, with `R_m`
/// the eigenvectors of `J0 + u vᵀ` for the controlled eigenvalues.
///
/// Those eigenvectors are taken in closed form, `r_j = (λ_j − J0)⁻¹u`
/// (eigenvectors of the rank-1 update), instead of from a second N×N
/// eigendecomposition: exact for placed eigenvalues and cheaper; their
/// scaling cancels in `r_j / (wᵀr_j)`. From `x*` the readout of
/// `τẋ = −x + (J0 + u vᵀ)x` is `Σ_j amps_j e^{(λ_j − 1)t/τ}`.
pub fn motif_initial_state(
    eig_j0: &EigDecomp,
    control: &EigenControl,
    w: &Array1<f64>,
    amps: &[c64],
) -> Result<Array1<f64>> {
    let n = w.len();
    if eig_j0.values.len() != n || control.u.len() != n {
        return Err(shape_err("readout w", eig_j0.values.len(), n));
    }
    if amps.len() != control.lambdas.len() {
        return Err(shape_err("amplitudes", control.lambdas.len(), amps.len()));
    }
    let uc = control.u.mapv(|x| c64::new(x, 0.0));
    let rinv_u = eig_j0.inv_vectors.dot(&uc);
    let mut x = Array1::<c64>::zeros(n);
    for (&l, &a) in control.lambdas.iter().zip(amps) {
        let r = resolvent_u(eig_j0, &rinv_u, l);
        let wr: c64 = r.iter().zip(w).map(|(a, b)| *a * *b).sum();
        let rn = r.iter().map(|z| z.norm_sqr()).sum::<f64>().sqrt();
        let wn = w.iter().map(|z| z * z).sum::<f64>().sqrt();
        if wr.norm() < 1e-12 * rn * wn {
            return Err(ModelError::IllConditioned {
                what: "motif initial state (a controlled mode is invisible to the readout)",
                cond: rn * wn / wr.norm().max(f64::MIN_POSITIVE),
            });
        }
        x.scaled_add(a / wr, &r);
    }
    let ri = rel_imag(&x);
    if ri > 1e-8 {
        return Err(ModelError::NotReal {
            what: "motif initial state (amplitudes not conjugate-paired?)",
            rel_imag: ri,
        });
    }
    Ok(x.mapv(|z| z.re))
}

/// Readout `y = wᵀx` of `τẋ = −x + J x` from `x0`, sampled at `t = i·dt`,
/// `i = 0..len`, integrated with classical RK4 (`dt` ≲ 0.1τ keeps the error
/// far below the fit error; the plain Euler step of the trainable network
/// would distort the modes).
pub fn simulate_readout(
    j: &Array2<f64>,
    x0: &Array1<f64>,
    w: &Array1<f64>,
    tau: f64,
    dt: f64,
    len: usize,
) -> Result<Vec<f64>> {
    let n = x0.len();
    if j.dim() != (n, n) || w.len() != n {
        return Err(shape_err(
            "simulate_readout",
            format!("J {n}x{n}, w {n}"),
            format!("J {:?}, w {}", j.dim(), w.len()),
        ));
    }
    if !(tau > 0.0 && dt > 0.0 && tau.is_finite() && dt.is_finite()) {
        return Err(invalid("tau/dt", "must be positive and finite"));
    }
    let f = |x: &Array1<f64>| (j.dot(x) - x) / tau;
    let mut x = x0.clone();
    let mut y = Vec::with_capacity(len);
    for _ in 0..len {
        y.push(w.dot(&x));
        let k1 = f(&x);
        let k2 = f(&(&x + &(&k1 * (dt / 2.0))));
        let k3 = f(&(&x + &(&k2 * (dt / 2.0))));
        let k4 = f(&(&x + &(&k3 * dt)));
        x = x + (k1 + k2 * 2.0 + k3 * 2.0 + k4) * (dt / 6.0);
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::linalg::eigenvalues;
    use std::f64::consts::PI;

    fn check_placement(model: &LinearModel, e: &EigDecomp, lambdas: &[c64]) -> EigenControl {
        let c = control_eigenvalues(&model.j0, e, lambdas, 7).unwrap();
        let spec = eigenvalues(c.matrix(&model.j0).view()).unwrap();
        let mut worst = 0.0f64;
        for l in lambdas {
            let d = spec
                .iter()
                .map(|s| (*s - *l).norm())
                .fold(f64::INFINITY, f64::min);
            worst = worst.max(d / l.norm());
        }
        eprintln!(
            "K={} cond(P)={:.3e} worst rel err {worst:.2e} secular residual {:.2e}",
            lambdas.len(),
            c.cond_p,
            c.secular_residual
        );
        assert!(worst < 1e-6, "worst relative eigenvalue error {worst}");
        c
    }

    #[test]
    fn desired_eigenvalues_appear_in_spectrum() {
        let tau = 1.0;
        let model = LinearModel::random(200, tau, 11).unwrap();
        let e = model.eig_j0().unwrap();
        // 5 conjugate pairs (10 eigenvalues).
        let mut l5 = Vec::new();
        for k in 1..=5 {
            let g = c64::new(-0.02 * k as f64, 2.0 * PI * k as f64 / 90.0);
            let l = c64::new(1.0, 0.0) + g * tau;
            l5.push(l);
            l5.push(l.conj());
        }
        check_placement(&model, &e, &l5);
        // 4 pairs + 2 real.
        let mut l6 = l5[..8].to_vec();
        l6.push(c64::new(1.0, 0.0));
        l6.push(c64::new(0.95, 0.0));
        check_placement(&model, &e, &l6);
        // A non-conjugate-symmetric request cannot give a real loop.
        let bad = [c64::new(1.0, 0.1)];
        assert!(matches!(
            control_eigenvalues(&model.j0, &e, &bad, 1),
            Err(ModelError::NotReal { .. })
        ));
    }

    fn run_motif(target: &[f64], dt: f64, opts: &ModeFitOptions) -> (ModeFit, f64) {
        let tau = 1.0;
        let model = LinearModel::random(200, tau, 5).unwrap();
        let e = model.eig_j0().unwrap();
        let fit = fit_modes(target, dt, opts).unwrap();
        let (lambdas, amps) = fit.controlled_modes(tau);
        let c = check_placement(&model, &e, &lambdas);
        let x0 = motif_initial_state(&e, &c, &model.w, &amps).unwrap();
        let y =
            simulate_readout(&c.matrix(&model.j0), &x0, &model.w, tau, dt, target.len()).unwrap();
        let yhat = fit.sample(dt, target.len());
        let err = nmse(&y, &yhat);
        eprintln!(
            "fit nmse {:.3e}, simulated vs fitted nmse {err:.3e}, sigma {:.4}",
            fit.nmse, fit.sigma[0]
        );
        (fit, err)
    }

    #[test]
    fn motif_from_closed_form_state_replays_fit() {
        let dt = 0.1;
        let len = 900; // 90 τ
        let tt = len as f64 * dt;
        // On the frequency grid: recovered exactly.
        let exact: Vec<f64> = (0..len)
            .map(|i| {
                let t = i as f64 * dt;
                let p = 2.0 * PI * t / tt;
                0.3 + p.sin() * (1.0 + 0.3 * (2.0 * p).cos()) + 0.5 * (3.0 * p).sin()
            })
            .collect();
        let (fit, err) = run_motif(&exact, dt, &ModeFitOptions::default());
        assert!(fit.nmse < 1e-10, "{}", fit.nmse);
        assert!(err < 1e-3, "{err}");

        // Smooth, off-grid, starts and ends at 0 (hand-trajectory-like).
        let smooth: Vec<f64> = (0..len)
            .map(|i| {
                let t = i as f64 * dt / tt;
                2.5 * (PI * t).sin().powi(2) * (3.3 * PI * t).cos()
            })
            .collect();
        let opts = ModeFitOptions {
            n_freq: 6,
            ..ModeFitOptions::default()
        };
        let (fit, err) = run_motif(&smooth, dt, &opts);
        assert!(fit.nmse < 0.05, "{}", fit.nmse);
        assert!(err < 1e-3, "{err}");
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(LinearModel::random(0, 1.0, 1).is_err());
        assert!(LinearModel::random(5, -1.0, 1).is_err());
        assert!(fit_modes(&[1.0, 2.0], 0.1, &ModeFitOptions::default()).is_err());
        assert!(fit_modes(&[f64::NAN; 100], 0.1, &ModeFitOptions::default()).is_err());
        let m = LinearModel::random(10, 1.0, 1).unwrap();
        let e = m.eig_j0().unwrap();
        assert!(control_eigenvalues(&m.j0, &e, &[], 1).is_err());
        let c = control_eigenvalues(&m.j0, &e, &[c64::new(1.2, 0.0)], 1).unwrap();
        assert!(motif_initial_state(&e, &c, &m.w, &[]).is_err());
        assert!(simulate_readout(&m.j0, &Array1::zeros(3), &m.w, 1.0, 0.1, 5).is_err());
    }
}
