//! Hand-tuned f32 kernels for the network's hot loops: tanh, the control
//! tick's matrix-vector product and the training recurrence's small GEMMs.
//!
//! Every kernel picks its AVX2 + FMA version when the CPU has them (checked
//! at run time, so binaries stay portable) and a plain one otherwise. tanh and
//! the GEMM are one body compiled twice; the matvec is explicit intrinsics.
//! The plain versions never call `f32::mul_add`: without the `fma` target
//! feature that is a software routine, ≈25× slower (docs/architecture.md, "Traps").

use ndarray::ArrayView2;

/// Defines a public kernel from a body generic over `const FMA: bool`.
macro_rules! multiversion {
    ($(#[$meta:meta])* pub fn $name:ident($($arg:ident: $ty:ty),*) => $body:ident) => {
        $(#[$meta])*
        pub fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn fast($($arg: $ty),*) {
                    $body::<true>($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the running CPU has the features `fast` was compiled for.
                    return unsafe { fast($($arg),*) };
                }
            }
            $body::<false>($($arg),*)
        }
    };
}

#[inline(always)]
fn fma<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Rational tanh (the odd 13/6 minimax fit XLA and Eigen use for f32): a few
/// ulp from the exact value, branch-free so loops over it vectorise, where
/// libm's `tanhf` costs ≈14 ns per call.
#[inline(always)]
fn tanh_body<const FMA: bool>(x: f32) -> f32 {
    // Beyond ±7.9 the fit is 1 to f32 precision; clamping keeps x¹³ finite.
    const CLAMP: f32 = 7.905_311;
    const A: [f32; 7] = [
        4.893_524_6e-3,
        6.372_619_3e-4,
        1.485_722_4e-5,
        5.122_297e-8,
        -8.604_672e-11,
        2.000_188e-13,
        -2.760_768_5e-16,
    ];
    const B: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
    let c = x.clamp(-CLAMP, CLAMP);
    let x2 = c * c;
    let mut p = A[6];
    for a in A[..6].iter().rev() {
        p = fma::<FMA>(x2, p, *a);
    }
    let mut q = B[3];
    for b in B[..3].iter().rev() {
        q = fma::<FMA>(x2, q, *b);
    }
    let t = c * p / q;
    // Near zero tanh(x) = x to f32 precision; the fit's relative error is larger there.
    if x.abs() < 4e-4 {
        x
    } else {
        t
    }
}

/// tanh of one value, identical to what [`tanh_into`] computes on a CPU without FMA.
pub fn tanh(x: f32) -> f32 {
    tanh_body::<false>(x)
}

fn tanh_into_body<const FMA: bool>(x: &[f32], r: &mut [f32]) {
    assert_eq!(x.len(), r.len(), "tanh_into: length mismatch");
    for (r, x) in r.iter_mut().zip(x) {
        *r = tanh_body::<FMA>(*x);
    }
}

multiversion! {
    /// `r = tanh(x)` elementwise.
    pub fn tanh_into(x: &[f32], r: &mut [f32]) => tanh_into_body
}

/// Lanes per accumulator block: two AVX2 registers.
const L: usize = 16;

/// `y = A x` with `A` row-major, `len(y)` × `len(x)`.
pub fn matvec(a: &[f32], x: &[f32], y: &mut [f32]) {
    assert_eq!(
        a.len(),
        y.len() * x.len(),
        "matvec: A is not len(y) × len(x)"
    );
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the running CPU has AVX2 and FMA; shapes are checked above.
        return unsafe { matvec_avx2(a, x, y) };
    }
    matvec_plain(a, x, y)
}

fn matvec_plain(a: &[f32], x: &[f32], y: &mut [f32]) {
    for (y, row) in y.iter_mut().zip(a.chunks_exact(x.len().max(1))) {
        *y = row.iter().zip(x).map(|(a, x)| a * x).sum();
    }
}

/// Explicit intrinsics: LLVM's vectoriser did not keep four rows' sums in
/// registers here (it spilled them), which cost 3× against ndarray.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn matvec_avx2(a: &[f32], x: &[f32], y: &mut [f32]) {
    use std::arch::x86_64::*;
    let n = x.len();
    let blocks = n / 16;
    let xp = x.as_ptr();
    // Sum of the 8 lanes of `v`.
    let hsum = |v: __m256| {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
    };
    let tail = |row: &[f32], s: f32| {
        row[blocks * 16..]
            .iter()
            .zip(&x[blocks * 16..])
            .fold(s, |s, (a, x)| a.mul_add(*x, s))
    };
    // Four rows share each load of x; 8 independent sums hide FMA latency.
    let mut i = 0;
    while i + 4 <= y.len() {
        let rows: [&[f32]; 4] = std::array::from_fn(|q| &a[(i + q) * n..(i + q + 1) * n]);
        let mut acc = [_mm256_setzero_ps(); 8];
        for c in 0..blocks {
            // SAFETY: c * 16 + 16 ≤ n, the length of x and of every row.
            unsafe {
                let x0 = _mm256_loadu_ps(xp.add(c * 16));
                let x1 = _mm256_loadu_ps(xp.add(c * 16 + 8));
                for q in 0..4 {
                    let r = rows[q].as_ptr().add(c * 16);
                    acc[2 * q] = _mm256_fmadd_ps(_mm256_loadu_ps(r), x0, acc[2 * q]);
                    acc[2 * q + 1] = _mm256_fmadd_ps(_mm256_loadu_ps(r.add(8)), x1, acc[2 * q + 1]);
                }
            }
        }
        for q in 0..4 {
            y[i + q] = tail(rows[q], hsum(_mm256_add_ps(acc[2 * q], acc[2 * q + 1])));
        }
        i += 4;
    }
    for (i, y) in y.iter_mut().enumerate().skip(i) {
        let row = &a[i * n..(i + 1) * n];
        let mut acc = [_mm256_setzero_ps(); 2];
        for c in 0..blocks {
            // SAFETY: as above.
            unsafe {
                let r = row.as_ptr().add(c * 16);
                acc[0] =
                    _mm256_fmadd_ps(_mm256_loadu_ps(r), _mm256_loadu_ps(xp.add(c * 16)), acc[0]);
                acc[1] = _mm256_fmadd_ps(
                    _mm256_loadu_ps(r.add(8)),
                    _mm256_loadu_ps(xp.add(c * 16 + 8)),
                    acc[1],
                );
            }
        }
        *y = tail(row, hsum(_mm256_add_ps(acc[0], acc[1])));
    }
}

/// The right operand of `out = A · M` (M: K × N) rearranged once into panels
/// of 16 columns, so the recurrence's per-step product streams contiguous
/// memory instead of repacking the same weights at every time step.
#[derive(Debug, Clone, Default)]
pub struct PackedRhs {
    k: usize,
    n: usize,
    /// ⌈N/16⌉ panels of K × 16, zero-padded past column N.
    panels: Vec<f32>,
}

impl PackedRhs {
    pub fn new(m: ArrayView2<f32>) -> Self {
        let mut p = Self::default();
        p.pack(m);
        p
    }

    /// Repacks `m` into the existing buffer (allocates only if it grows).
    pub fn pack(&mut self, m: ArrayView2<f32>) {
        let (k, n) = m.dim();
        self.k = k;
        self.n = n;
        self.panels.clear();
        self.panels.resize(n.div_ceil(L) * k * L, 0.0);
        for (p, panel) in self.panels.chunks_exact_mut(k * L).enumerate() {
            for (kk, dst) in panel.chunks_exact_mut(L).enumerate() {
                for (l, d) in dst.iter_mut().enumerate() {
                    if let Some(v) = m.get((kk, p * L + l)) {
                        *d = *v;
                    }
                }
            }
        }
    }

    pub fn dim(&self) -> (usize, usize) {
        (self.k, self.n)
    }
}

/// Rows of A per register tile: 4 × 16 accumulators fill 8 of AVX2's 16 registers.
const MR: usize = 4;

fn gemm_body<const FMA: bool>(
    a: &[f32],
    m: &PackedRhs,
    alpha: f32,
    accumulate: bool,
    out: &mut [f32],
) {
    let (k, n) = (m.k, m.n);
    let rows = a.len().checked_div(k).unwrap_or(out.len() / n.max(1));
    assert_eq!(a.len(), rows * k, "gemm: A is not rows × K");
    assert_eq!(out.len(), rows * n, "gemm: out is not rows × N");
    let mut r0 = 0;
    while r0 < rows {
        let a = &a[r0 * k..];
        let out = &mut out[r0 * n..];
        r0 += match rows - r0 {
            1 => row_tile::<FMA, 1>(a, m, alpha, accumulate, out),
            2 => row_tile::<FMA, 2>(a, m, alpha, accumulate, out),
            3 => row_tile::<FMA, 3>(a, m, alpha, accumulate, out),
            _ => row_tile::<FMA, MR>(a, m, alpha, accumulate, out),
        };
    }
}

/// The first M rows of the output, all columns; returns M.
#[inline(always)]
fn row_tile<const FMA: bool, const M: usize>(
    a: &[f32],
    m: &PackedRhs,
    alpha: f32,
    accumulate: bool,
    out: &mut [f32],
) -> usize {
    let (k, n) = (m.k, m.n);
    // Interleave the M rows of A so the inner loop reads one small array per k.
    let mut ap = [[0.0f32; M]; 512];
    let mut done = 0;
    while done < k {
        let kc = (k - done).min(ap.len());
        for (kk, dst) in ap[..kc].iter_mut().enumerate() {
            for (i, d) in dst.iter_mut().enumerate() {
                *d = a[i * k + done + kk];
            }
        }
        let first = done == 0;
        for (p, panel) in m.panels.chunks_exact(k * L).enumerate() {
            let panel = &panel.as_chunks::<L>().0[done..done + kc];
            let acc = micro::<FMA, M>(&ap[..kc], panel);
            let c0 = p * L;
            let w = L.min(n - c0);
            for (i, acc) in acc.iter().enumerate() {
                let dst = &mut out[i * n + c0..i * n + c0 + w];
                for (d, v) in dst.iter_mut().zip(acc) {
                    *d = if accumulate || !first {
                        fma::<FMA>(alpha, *v, *d)
                    } else {
                        alpha * v
                    };
                }
            }
        }
        done += kc;
    }
    if k == 0 && !accumulate {
        out[..M * n].fill(0.0);
    }
    M
}

#[inline(always)]
fn micro<const FMA: bool, const M: usize>(ap: &[[f32; M]], panel: &[[f32; L]]) -> [[f32; L]; M] {
    let mut acc = [[0.0f32; L]; M];
    for (av, pv) in ap.iter().zip(panel) {
        for i in 0..M {
            for l in 0..L {
                acc[i][l] = fma::<FMA>(av[i], pv[l], acc[i][l]);
            }
        }
    }
    acc
}

multiversion! {
    /// `out = α A·M (+ out if accumulate)`; `A` rows × K and `out` rows × N, both row-major.
    pub fn gemm(a: &[f32], m: &PackedRhs, alpha: f32, accumulate: bool, out: &mut [f32]) => gemm_body
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    #[test]
    fn tanh_is_within_a_few_ulp_everywhere() {
        let mut worst = 0.0f64;
        let mut x = -12.0f32;
        while x < 12.0 {
            let exact = f64::from(x).tanh();
            let (mut r, mut plain) = ([0.0f32], [0.0f32]);
            tanh_into(&[x], &mut r);
            tanh_into_body::<false>(&[x], &mut plain);
            for got in [r[0], plain[0], tanh(x)] {
                let err = (f64::from(got) - exact).abs() / exact.abs().max(1e-30);
                worst = worst.max(err);
            }
            x += 1.3e-4;
        }
        assert!(worst < 1e-6, "worst relative error {worst}");
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(1e-30), 1e-30);
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert_eq!(tanh(-100.0), -1.0);
        assert!(tanh(f32::NAN).is_nan());
    }

    fn randn(rng: &mut StdRng, r: usize, c: usize) -> Array2<f32> {
        Array2::from_shape_fn((r, c), |_| rng.random_range(-1.0..1.0))
    }

    #[test]
    fn matvec_matches_ndarray_for_ragged_sizes() {
        let mut rng = StdRng::seed_from_u64(1);
        for (rows, cols) in [(1, 1), (3, 5), (7, 16), (9, 33), (64, 64), (130, 257)] {
            let a = randn(&mut rng, rows, cols);
            let x = randn(&mut rng, 1, cols)
                .into_shape_with_order(cols)
                .unwrap();
            let mut y = vec![f32::NAN; rows];
            matvec(a.as_slice().unwrap(), x.as_slice().unwrap(), &mut y);
            let want = a.dot(&x);
            for (g, w) in y.iter().zip(&want) {
                assert!(
                    (g - w).abs() < 1e-4 * cols as f32,
                    "{rows}×{cols}: {g} vs {w}"
                );
            }
        }
    }

    #[test]
    fn packed_gemm_matches_ndarray_for_ragged_sizes() {
        let mut rng = StdRng::seed_from_u64(2);
        for (rows, k, n) in [
            (1, 1, 1),
            (5, 3, 17),
            (8, 16, 16),
            (16, 64, 40),
            (7, 130, 33),
        ] {
            let a = randn(&mut rng, rows, k);
            let m = randn(&mut rng, n, k);
            // Packing a transposed view is how the forward pass uses J.
            let packed = PackedRhs::new(m.t());
            let base = randn(&mut rng, rows, n);
            for (accumulate, kernel) in [
                (false, gemm as fn(&[f32], &PackedRhs, f32, bool, &mut [f32])),
                (true, gemm),
                (false, gemm_body::<false>),
                (true, gemm_body::<false>),
            ] {
                let mut out = base.clone();
                kernel(
                    a.as_slice().unwrap(),
                    &packed,
                    0.5,
                    accumulate,
                    out.as_slice_mut().unwrap(),
                );
                let mut want = a.dot(&m.t()) * 0.5;
                if accumulate {
                    want += &base;
                }
                for (g, w) in out.iter().zip(&want) {
                    assert!(
                        (g - w).abs() < 1e-4 * k as f32,
                        "{rows}×{k}×{n}: {g} vs {w}"
                    );
                }
            }
        }
    }
}
