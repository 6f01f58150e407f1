//! Back-propagation through time for one motif over a batch of starts.
//!
//! Forward: `x_{t+1} = x_t + α(−x_t + J r_t + drive(r_t))`, `r_t = tanh(x_t)`,
//! outputs `ŷ_k = W r_k + y0` for k = 1..=T. Loss: mean squared error over
//! batch, time and outputs. The weight gradients are single large GEMMs over
//! all time steps; the recurrence and `dL/dr = dy W` are per-step products.

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array1, Array2, ArrayView2, Axis};

use crate::model::kernels::{self, Lhs, PackedRhs};
use crate::model::{Drive, Shared};

/// Gradients of the loss for one motif.
#[derive(Debug, Clone)]
pub struct Grads {
    pub j: Array2<f32>,
    pub w: Array2<f32>,
    pub y0: Array1<f32>,
    pub drive: Drive,
    /// With respect to each start state, B×N.
    pub x0: Array2<f32>,
}

/// Forward result kept for the caller: the loss and the final states.
#[derive(Debug, Clone)]
pub struct Forward {
    pub loss: f32,
    /// B×N states after the last step.
    pub x_end: Array2<f32>,
}

/// Reusable buffers, one per worker: the large ones (T·B rows each) are
/// allocated on first use only; the B-row step buffers are per call.
#[derive(Debug, Default)]
pub struct Workspace {
    /// Rates packed as a right operand ((T+1)·B × N, time-major), written
    /// step by step: A of the per-step product and of the outputs, `tanh'`
    /// in the backward pass, and the weight gradients contract over time
    /// against rows `..T·B` (for `J`) and `B..` (for `W`) without a
    /// packing pass of their own.
    rp: PackedRhs,
    /// The same, row-major, for the loop design's low-rank products only
    /// (the input design keeps one copy: 1.6 MB less per call at N = 256).
    rs: Array2<f32>,
    hs: Array2<f32>,
    /// `g_k = dL/dx_k` for k = 0..=T (row block k, (T+1)·B × N), written in
    /// panels by the backward pass's elementwise step: A of the next
    /// backward step's product (g_{k+1}) and, rows `B..` (g_1..g_T), the
    /// transposed left operand of `gJ = α gᵀ r` and the bias gradient's sums.
    gp: PackedRhs,
    /// g_1..g_T row-major (block k − 1 is g_k, T·B × N), for the loop
    /// design's low-rank products and gradients only.
    gs: Array2<f32>,
    /// Outputs, then their errors, then `dL/dŷ` (T·B × D), and that packed
    /// for `gW = dyᵀ r`.
    y: Array2<f32>,
    dyp: PackedRhs,
    /// `Jᵀ` for the forward product `r Jᵀ`, `J` for the backward `g J`.
    jt: PackedRhs,
    j: PackedRhs,
    /// `Wᵀ` for the outputs `r Wᵀ` and `W` for `dL/dr = dy W`: with only
    /// D outputs, matrixmultiply spent more on packing than on the product
    /// (1600 × 256 × 7: 177 and 126 µs against 105 and 74 µs here).
    wt: PackedRhs,
    w: PackedRhs,
}

/// Loss and gradients for motif trials starting at `x0` (B×N) against `target` (T×D).
pub fn loss_and_grads(
    shared: &Shared,
    drive: &Drive,
    alpha: f32,
    x0: ArrayView2<f32>,
    target: ArrayView2<f32>,
    ws: &mut Workspace,
) -> (Forward, Grads) {
    let (b, n) = x0.dim();
    let (t_len, d) = target.dim();
    let tb = t_len * b;
    let rank = match drive {
        Drive::Loop { u, .. } => u.ncols(),
        Drive::Input { .. } => 0,
    };
    let low_rank = matches!(drive, Drive::Loop { .. });
    ws.rp.reset((t_len + 1) * b, n);
    resize(&mut ws.rs, (if low_rank { (t_len + 1) * b } else { 0 }, n));
    resize(&mut ws.hs, (tb, rank));
    ws.gp.reset(tb + b, n);
    resize(&mut ws.gs, (if low_rank { tb } else { 0 }, n));
    resize(&mut ws.y, (tb, d));
    ws.jt.pack(shared.j.t());
    ws.j.pack(shared.j.view());
    ws.wt.pack(shared.w.t());
    ws.w.pack(shared.w.view());

    // Forward.
    let mut x = x0.as_standard_layout().into_owned();
    let mut pre = Array2::<f32>::zeros((b, n));
    let bias = match drive {
        Drive::Input { b } => Some(b.as_slice().expect("contiguous")),
        Drive::Loop { .. } => None,
    };
    for t in 0..=t_len {
        kernels::tanh_rows(x.as_slice().expect("contiguous"), &mut ws.rp, t * b);
        if low_rank {
            ws.rp.get_rows(t * b, time_rows(&mut ws.rs, t, b * n));
        }
        if t == t_len {
            break;
        }
        let pre_s = pre.as_slice_mut().expect("contiguous");
        let r_t = Lhs::Packed(ws.rp.rows(t * b..(t + 1) * b));
        kernels::gemm(r_t, ws.jt.all(), 1.0, false, pre_s);
        if let Drive::Loop { u, v } = drive {
            let mut h = ws.hs.slice_mut(s![t * b..(t + 1) * b, ..]);
            let r_t = ws.rs.slice(s![t * b..(t + 1) * b, ..]);
            general_mat_mul(1.0, &r_t, &v.t(), 0.0, &mut h);
            general_mat_mul(1.0, &h, &u.t(), 1.0, &mut pre);
        }
        let xs = x.as_slice_mut().expect("contiguous");
        kernels::euler_step(xs, pre.as_slice().expect("contiguous"), bias, alpha);
    }
    let y = ws.y.as_slice_mut().expect("contiguous");
    let r_out = Lhs::Packed(ws.rp.rows(b..b + tb));
    kernels::gemm(r_out, ws.wt.all(), 1.0, false, y);
    // Rows are time-major: row t*B + i is trial i at output step t+1.
    let y0 = shared.y0.as_slice().expect("contiguous");
    for (t, block) in y.chunks_exact_mut(b * d).enumerate() {
        let target = target.row(t);
        for row in block.chunks_exact_mut(d) {
            for ((e, y0), want) in row.iter_mut().zip(y0).zip(target) {
                *e = (*e + y0) - want;
            }
        }
    }
    let count = (tb * d) as f32;
    let loss = y.iter().map(|e| e * e).sum::<f32>() / count;
    y.iter_mut().for_each(|e| *e *= 2.0 / count);
    ws.dyp.pack(ws.y.view());

    // Backward: g_k = dL/dx_k from k = T down to 0, packed as block k of
    // `gp`; for k ≥ 1 row-major too (block k − 1 of `gs`) in the loop design.
    let mut gw = Array2::<f32>::zeros((d, n));
    kernels::gemm(
        Lhs::Transposed(ws.dyp.all()),
        ws.rp.rows(b..b + tb),
        1.0,
        false,
        gw.as_slice_mut().expect("contiguous"),
    );
    let gy0 = ws.y.sum_axis(Axis(0));
    let dy = ws.y.as_slice().expect("contiguous");
    let mut a = Array2::<f32>::zeros((b, n));
    let mut dh = Array2::<f32>::zeros((b, rank));
    for k in (0..=t_len).rev() {
        // a = dL/dr_k from the output (k ≥ 1) and from x_{k+1} (k < T).
        let a_s = a.as_slice_mut().expect("contiguous");
        if k >= 1 {
            kernels::gemm(
                Lhs::Rows(&dy[(k - 1) * b * d..k * b * d]),
                ws.w.all(),
                1.0,
                false,
                a_s,
            );
        } else {
            a_s.fill(0.0);
        }
        if k < t_len {
            let next = Lhs::Packed(ws.gp.rows((k + 1) * b..(k + 2) * b));
            kernels::gemm(next, ws.j.all(), alpha, true, a_s);
            if let Drive::Loop { u, v } = drive {
                let g_next = ws.gs.slice(s![k * b..(k + 1) * b, ..]);
                general_mat_mul(alpha, &g_next, u, 0.0, &mut dh);
                general_mat_mul(1.0, &dh, v, 1.0, &mut a);
            }
        }
        // g_k = a ⊙ tanh'(x_k) + (1 − α) g_{k+1}.
        kernels::tanh_backprop_rows(
            &mut ws.gp,
            k * b,
            a.as_slice().expect("contiguous"),
            ws.rp.rows(k * b..(k + 1) * b),
            (k < t_len).then_some((k + 1) * b),
            alpha,
        );
        if low_rank && k >= 1 {
            ws.gp.get_rows(k * b, time_rows(&mut ws.gs, k - 1, b * n));
        }
    }
    let mut g0 = Array2::<f32>::zeros((b, n));
    ws.gp.get_rows(0, g0.as_slice_mut().expect("contiguous"));

    let mut gj = Array2::<f32>::zeros((n, n));
    let gj_s = gj.as_slice_mut().expect("contiguous");
    kernels::gemm(
        Lhs::Transposed(ws.gp.rows(b..b + tb)),
        ws.rp.rows(0..tb),
        alpha,
        false,
        gj_s,
    );
    let gdrive = match drive {
        Drive::Input { .. } => Drive::Input {
            b: Array1::from_vec(ws.gp.rows(b..b + tb).column_sums()) * alpha,
        },
        Drive::Loop { u, .. } => {
            let r_in = ws.rs.slice(s![..tb, ..]);
            let mut gu = Array2::<f32>::zeros((n, rank));
            general_mat_mul(alpha, &ws.gs.t(), &ws.hs, 0.0, &mut gu);
            let mut dhs = Array2::<f32>::zeros((tb, rank));
            general_mat_mul(alpha, &ws.gs, u, 0.0, &mut dhs);
            let mut gv = Array2::<f32>::zeros((rank, n));
            general_mat_mul(1.0, &dhs.t(), &r_in, 0.0, &mut gv);
            Drive::Loop { u: gu, v: gv }
        }
    };
    (
        Forward { loss, x_end: x },
        Grads {
            j: gj,
            w: gw,
            y0: gy0,
            drive: gdrive,
            x0: g0,
        },
    )
}

/// The B rows of time step `t` in a time-major workspace, as one slice.
fn time_rows(a: &mut Array2<f32>, t: usize, len: usize) -> &mut [f32] {
    let m = a.as_slice_mut().expect("workspace is contiguous");
    &mut m[t * len..(t + 1) * len]
}

fn resize(a: &mut Array2<f32>, shape: (usize, usize)) {
    if a.dim() != shape {
        *a = Array2::zeros(shape);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};
    use rand_distr::StandardNormal;

    fn randn(rng: &mut StdRng, shape: (usize, usize), scale: f32) -> Array2<f32> {
        Array2::from_shape_fn(shape, |_| scale * rng.sample::<f32, _>(StandardNormal))
    }

    fn loss(shared: &Shared, drive: &Drive, x0: &Array2<f32>, target: &Array2<f32>) -> f64 {
        let mut ws = Workspace::default();
        loss_and_grads(shared, drive, 0.2, x0.view(), target.view(), &mut ws)
            .0
            .loss as f64
    }

    /// Central finite differences on a sample of coordinates of every parameter.
    fn check(drive: Drive) {
        let mut rng = StdRng::seed_from_u64(7);
        let (n, d, b, t) = (6, 2, 3, 12);
        let mut shared = Shared {
            j: randn(&mut rng, (n, n), 1.2 / (n as f32).sqrt()),
            w: randn(&mut rng, (d, n), 1.0),
            y0: Array1::from_vec(vec![0.1, -0.2]),
        };
        let mut x0 = randn(&mut rng, (b, n), 0.8);
        let target = randn(&mut rng, (t, d), 1.0);
        let mut ws = Workspace::default();
        let (_, g) = loss_and_grads(&shared, &drive, 0.2, x0.view(), target.view(), &mut ws);

        let eps = 1e-2_f32;
        let mut worst = 0.0_f64;
        let mut compare = |analytic: f32, plus: f64, minus: f64| {
            let fd = (plus - minus) / (2.0 * eps as f64);
            let rel = (analytic as f64 - fd).abs() / (fd.abs().max(1e-3));
            worst = worst.max(rel);
        };
        macro_rules! probe {
            ($param:expr, $grad:expr) => {
                for i in 0..$param.len() {
                    let old = $param.as_slice_mut().unwrap()[i];
                    $param.as_slice_mut().unwrap()[i] = old + eps;
                    let p = loss(&shared, &drive, &x0, &target);
                    $param.as_slice_mut().unwrap()[i] = old - eps;
                    let m = loss(&shared, &drive, &x0, &target);
                    $param.as_slice_mut().unwrap()[i] = old;
                    compare($grad.as_slice().unwrap()[i], p, m);
                }
            };
        }
        probe!(shared.j, g.j);
        probe!(shared.w, g.w);
        probe!(shared.y0, g.y0);
        probe!(x0, g.x0);
        let gdrive: Vec<f32> = drive_values(&g.drive);
        for (i, an) in gdrive.iter().enumerate() {
            let perturbed = |delta: f32| {
                let mut d2 = drive.clone();
                *drive_values_mut(&mut d2)[i] += delta;
                loss(&shared, &d2, &x0, &target)
            };
            compare(*an, perturbed(eps), perturbed(-eps));
        }
        assert!(worst < 2e-2, "worst relative gradient error {worst}");
    }

    fn drive_values(d: &Drive) -> Vec<f32> {
        match d {
            Drive::Input { b } => b.to_vec(),
            Drive::Loop { u, v } => u.iter().chain(v.iter()).copied().collect(),
        }
    }

    fn drive_values_mut(d: &mut Drive) -> Vec<&mut f32> {
        match d {
            Drive::Input { b } => b.iter_mut().collect(),
            Drive::Loop { u, v } => u.iter_mut().chain(v.iter_mut()).collect(),
        }
    }

    /// The same loss and gradients written plainly with ndarray, one time
    /// step at a time (f32 tanh, no packing, no fused passes).
    fn reference(
        shared: &Shared,
        drive: &Drive,
        alpha: f32,
        x0: &Array2<f32>,
        target: &Array2<f32>,
    ) -> (f32, Grads) {
        let (t_len, d) = target.dim();
        let b = x0.nrows();
        let mut xs = vec![x0.clone()];
        let mut rs = Vec::new();
        let mut hs = Vec::new();
        for t in 0..t_len {
            let r = xs[t].mapv(f32::tanh);
            let mut pre = r.dot(&shared.j.t());
            match drive {
                Drive::Input { b } => pre += b,
                Drive::Loop { u, v } => {
                    let h = r.dot(&v.t());
                    pre += &h.dot(&u.t());
                    hs.push(h);
                }
            }
            let x = &xs[t] + &((pre - &xs[t]) * alpha);
            rs.push(r);
            xs.push(x);
        }
        rs.push(xs[t_len].mapv(f32::tanh));
        let count = (t_len * b * d) as f32;
        let mut loss = 0.0;
        let dys: Vec<Array2<f32>> = (1..=t_len)
            .map(|k| {
                let e = rs[k].dot(&shared.w.t()) + &shared.y0 - target.row(k - 1);
                loss += e.iter().map(|e| e * e).sum::<f32>() / count;
                e * (2.0 / count)
            })
            .collect();
        let mut g = Array2::<f32>::zeros(x0.dim());
        let mut grads = Grads {
            j: Array2::zeros(shared.j.dim()),
            w: Array2::zeros(shared.w.dim()),
            y0: Array1::zeros(d),
            drive: match drive {
                Drive::Input { b } => Drive::Input {
                    b: Array1::zeros(b.len()),
                },
                Drive::Loop { u, v } => Drive::Loop {
                    u: Array2::zeros(u.dim()),
                    v: Array2::zeros(v.dim()),
                },
            },
            x0: Array2::zeros(x0.dim()),
        };
        for k in (0..=t_len).rev() {
            let mut a = Array2::<f32>::zeros(x0.dim());
            if k >= 1 {
                let dy = &dys[k - 1];
                a += &dy.dot(&shared.w);
                grads.w += &dy.t().dot(&rs[k]);
                grads.y0 += &dy.sum_axis(Axis(0));
            }
            if k < t_len {
                a += &(g.dot(&shared.j) * alpha);
                if let Drive::Loop { u, v } = drive {
                    a += &(g.dot(u).dot(v) * alpha);
                }
            }
            let next = if k < t_len { &g * (1.0 - alpha) } else { g };
            g = a * &rs[k].mapv(|r| 1.0 - r * r) + next;
            if k >= 1 {
                grads.j += &(g.t().dot(&rs[k - 1]) * alpha);
                match (&mut grads.drive, drive) {
                    (Drive::Input { b }, _) => *b += &(g.sum_axis(Axis(0)) * alpha),
                    (Drive::Loop { u: gu, v: gv }, Drive::Loop { u, .. }) => {
                        *gu += &(g.t().dot(&hs[k - 1]) * alpha);
                        *gv += &((g.dot(u) * alpha).t().dot(&rs[k - 1]));
                    }
                    _ => unreachable!(),
                }
            }
        }
        grads.x0 = g;
        (loss, grads)
    }

    /// At sizes that reach every path of the kernels (three panels, the last
    /// ragged, K chunks past 512, 8-row tiles and their tails: 13 batch rows
    /// are 8 + 4 + 1) the packed, fused pass agrees with the plain one.
    #[test]
    fn gradients_match_a_plain_reference_at_size() {
        let mut rng = StdRng::seed_from_u64(11);
        let (n, d, b, t) = (40, 3, 13, 50);
        let shared = Shared {
            j: randn(&mut rng, (n, n), 1.2 / (n as f32).sqrt()),
            w: randn(&mut rng, (d, n), 1.0),
            y0: Array1::from_vec(vec![0.1, -0.2, 0.3]),
        };
        let x0 = randn(&mut rng, (b, n), 0.8);
        let target = randn(&mut rng, (t, d), 1.0);
        let drives = [
            Drive::Input {
                b: randn(&mut rng, (1, n), 0.5).row(0).to_owned(),
            },
            Drive::Loop {
                u: randn(&mut rng, (n, 2), 0.5),
                v: randn(&mut rng, (2, n), 0.5),
            },
        ];
        let close = |what: &str, got: &[f32], want: &[f32]| {
            let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
            let worst = got
                .iter()
                .zip(want)
                .fold(0.0f32, |m, (g, w)| m.max((g - w).abs()));
            assert!(
                worst <= 1e-3 * scale,
                "{what}: off by {worst} at scale {scale}"
            );
        };
        let mut ws = Workspace::default();
        for drive in drives {
            let (fwd, g) = loss_and_grads(&shared, &drive, 0.2, x0.view(), target.view(), &mut ws);
            let (loss, want) = reference(&shared, &drive, 0.2, &x0, &target);
            close("loss", &[fwd.loss], &[loss]);
            close("J", g.j.as_slice().unwrap(), want.j.as_slice().unwrap());
            close("W", g.w.as_slice().unwrap(), want.w.as_slice().unwrap());
            close("y0", g.y0.as_slice().unwrap(), want.y0.as_slice().unwrap());
            close("x0", g.x0.as_slice().unwrap(), want.x0.as_slice().unwrap());
            close("drive", &drive_values(&g.drive), &drive_values(&want.drive));
        }
    }

    #[test]
    fn input_variant_gradients_match_finite_differences() {
        let mut rng = StdRng::seed_from_u64(3);
        check(Drive::Input {
            b: randn(&mut rng, (1, 6), 0.5)
                .into_shape_with_order(6)
                .unwrap(),
        });
    }

    #[test]
    fn loop_variant_gradients_match_finite_differences() {
        let mut rng = StdRng::seed_from_u64(4);
        check(Drive::Loop {
            u: randn(&mut rng, (6, 2), 0.5),
            v: randn(&mut rng, (2, 6), 0.5),
        });
    }
}
