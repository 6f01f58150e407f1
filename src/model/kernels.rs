//! Hand-tuned f32 kernels for the network's hot loops: tanh, the control
//! tick's matrix-vector product, and training's GEMMs (the recurrence's
//! per-step products and the weight gradients over all steps) and
//! elementwise steps.
//!
//! Every kernel runs the widest instruction set the CPU has (checked at run
//! time, so binaries stay portable): AVX-512, AVX2 + FMA, or plain. tanh, the
//! GEMM and the elementwise steps are one body compiled per set (the
//! GEMM's AVX-512 block is explicit intrinsics); the matvec is explicit
//! intrinsics.
//! The AVX2 and AVX-512 paths are bit-for-bit identical: each output element
//! sees the same fused multiply-adds in the same order, only more of them run
//! side by side (the tests check it), so a library trained on one CPU is the
//! same on another. The plain path differs from them by rounding (no FMA) and
//! never calls `f32::mul_add`: without the `fma` target feature that is a
//! software routine, ≈25× slower (docs/architecture.md, "Traps").

use std::sync::atomic::{AtomicU8, Ordering};

use ndarray::ArrayView2;

/// An instruction set a kernel can run on, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    Plain = 0,
    Avx2 = 1,
    Avx512 = 2,
}

// The same sets as const-generic parameters of the kernel bodies.
const PLAIN: u8 = Isa::Plain as u8;
const AVX2: u8 = Isa::Avx2 as u8;
const AVX512: u8 = Isa::Avx512 as u8;

/// The cap [`limit_isa`] sets; the widest set by default.
static LIMIT: AtomicU8 = AtomicU8::new(AVX512);

/// The widest set this CPU has (AVX-512 needs AVX2 and FMA too), capped by
/// [`limit_isa`]. std caches the CPU's features, so this is a few loads.
pub fn isa() -> Isa {
    let detected = {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            match (has!("avx2") && has!("fma"), has!("avx512f")) {
                (true, true) => AVX512,
                (true, false) => AVX2,
                _ => PLAIN,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        PLAIN
    };
    match detected.min(LIMIT.load(Ordering::Relaxed)) {
        AVX512 => Isa::Avx512,
        AVX2 => Isa::Avx2,
        _ => Isa::Plain,
    }
}

/// Caps every kernel of this process at `max`, so a benchmark can time the
/// narrower paths in the same run as the widest (benches/train_step.rs).
pub fn limit_isa(max: Isa) {
    LIMIT.store(max as u8, Ordering::Relaxed);
}

/// Defines a public kernel from a body generic over `const ISA: u8`, and its
/// `_on` twin that runs a given set (capped by what the CPU has), for tests.
macro_rules! multiversion {
    ($(#[$meta:meta])* pub fn $name:ident / $on:ident($($arg:ident: $ty:ty),*) => $body:ident) => {
        $(#[$meta])*
        pub fn $name($($arg: $ty),*) {
            $on(Isa::Avx512, $($arg),*)
        }

        /// As the kernel without `_on`, on the instruction set `want` or the widest below it the CPU has.
        pub fn $on(want: Isa, $($arg: $ty),*) {
            match want.min(isa()) {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => {
                    #[target_feature(enable = "avx512f,avx2,fma")]
                    fn wide($($arg: $ty),*) {
                        $body::<AVX512>($($arg),*)
                    }
                    // SAFETY: isa() found the features `wide` was compiled for.
                    unsafe { wide($($arg),*) }
                }
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => {
                    #[target_feature(enable = "avx2,fma")]
                    fn fast($($arg: $ty),*) {
                        $body::<AVX2>($($arg),*)
                    }
                    // SAFETY: as above.
                    unsafe { fast($($arg),*) }
                }
                _ => $body::<PLAIN>($($arg),*),
            }
        }
    };
}

#[inline(always)]
fn fma<const ISA: u8>(a: f32, b: f32, c: f32) -> f32 {
    if ISA > PLAIN {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Rational tanh (the odd 13/6 minimax fit XLA and Eigen use for f32): a few
/// ulp from the exact value, branch-free so loops over it vectorise, where
/// libm's `tanhf` costs ≈14 ns per call.
#[inline(always)]
fn tanh_body<const ISA: u8>(x: f32) -> f32 {
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
        p = fma::<ISA>(x2, p, *a);
    }
    let mut q = B[3];
    for b in B[..3].iter().rev() {
        q = fma::<ISA>(x2, q, *b);
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
    tanh_body::<PLAIN>(x)
}

fn tanh_into_body<const ISA: u8>(x: &[f32], r: &mut [f32]) {
    assert_eq!(x.len(), r.len(), "tanh_into: length mismatch");
    for (r, x) in r.iter_mut().zip(x) {
        *r = tanh_body::<ISA>(*x);
    }
}

multiversion! {
    /// `r = tanh(x)` elementwise.
    pub fn tanh_into / tanh_into_on(x: &[f32], r: &mut [f32]) => tanh_into_body
}

fn euler_step_body<const ISA: u8>(x: &mut [f32], pre: &[f32], bias: Option<&[f32]>, alpha: f32) {
    assert_eq!(x.len(), pre.len(), "euler_step: length mismatch");
    match bias {
        Some(bias) => {
            assert!(
                !bias.is_empty() && x.len().is_multiple_of(bias.len()),
                "euler_step: rows not of the bias's length"
            );
            for (x, p) in x
                .chunks_exact_mut(bias.len())
                .zip(pre.chunks_exact(bias.len()))
            {
                for ((x, p), b) in x.iter_mut().zip(p).zip(bias) {
                    *x += alpha * ((p + b) - *x);
                }
            }
        }
        None => {
            for (x, p) in x.iter_mut().zip(pre) {
                *x += alpha * (p - *x);
            }
        }
    }
}

multiversion! {
    /// One Euler step of the rate equation, `x += α((pre + bias) − x)`, with
    /// `bias` (if any) added to every row. Plain multiplies and adds (Rust
    /// never contracts them into FMAs), so every path gives the same bits;
    /// the wide ones only run more lanes at once.
    pub fn euler_step / euler_step_on(x: &mut [f32], pre: &[f32], bias: Option<&[f32]>, alpha: f32) => euler_step_body
}

/// One element of back-propagation through `x_{k+1} = x_k + α(−x_k + …)`
/// with `r = tanh(x)`: `g = a (1 − r²) + (1 − α)·next` (`next` = g_{k+1},
/// none at the last step). Plain multiplies and adds (Rust never contracts
/// them into FMAs), so every path gives the same bits, as [`euler_step`].
#[inline(always)]
fn backprop(a: f32, r: f32, next: Option<f32>, alpha: f32) -> f32 {
    match next {
        Some(next) => a * (1.0 - r * r) + (1.0 - alpha) * next,
        None => a * (1.0 - r * r),
    }
}

/// Lanes per accumulator block: two AVX2 registers.
const L: usize = 16;

/// 16 floats of a row-major row, zero-padded past its end (the last panel
/// of an N that is not a multiple of 16): fixed-size, so the passes on
/// packed rows below compile to whole registers.
#[inline(always)]
fn padded(s: &[f32]) -> [f32; L] {
    match s.try_into() {
        Ok(v) => v,
        Err(_) => {
            let mut v = [0.0; L];
            v[..s.len()].copy_from_slice(s);
            v
        }
    }
}

/// Calls `f(i, p, cols)` for row i's floats `cols` of a row-major slice of
/// `rows` whole rows of N, which panel p holds in its lanes `..cols.len()`:
/// the one walk of row-major rows against panels, for the copies between
/// the two layouts (`set_rows`, `get_rows`) and for the elementwise passes
/// that read and write the packed rates and gradients in place.
#[inline(always)]
fn for_row_groups(n: usize, rows: usize, mut f: impl FnMut(usize, usize, std::ops::Range<usize>)) {
    for i in 0..rows {
        for p in 0..n.div_ceil(L) {
            f(i, p, i * n + p * L..i * n + n.min((p + 1) * L));
        }
    }
}

fn tanh_rows_body<const ISA: u8>(x: &[f32], out: &mut PackedRhs, k0: usize) {
    if !out.whole_rows("tanh_rows", k0, x.len()) {
        return;
    }
    let (k, n) = (out.k, out.n);
    for_row_groups(n, x.len() / n, |i, p, cols| {
        // The padding lanes come out as tanh(0) = 0.
        out.panels[p * k + k0 + i].0 = padded(&x[cols]).map(tanh_body::<ISA>);
    });
}

multiversion! {
    /// Rows `k0..` of `out` = tanh(x), x whole rows of N, row-major: the
    /// forward pass's rates, straight into the panels the per-step product
    /// and the weight gradients read. Same bits as [`tanh_into`].
    pub fn tanh_rows / tanh_rows_on(x: &[f32], out: &mut PackedRhs, k0: usize) => tanh_rows_body
}

fn tanh_backprop_rows_body<const ISA: u8>(
    g: &mut PackedRhs,
    k0: usize,
    a: &[f32],
    r: PackedRows,
    next: Option<usize>,
    alpha: f32,
) {
    if !g.whole_rows("tanh_backprop_rows", k0, a.len()) {
        return;
    }
    let (k, n) = (g.k, g.n);
    let rows = a.len() / n;
    assert!(
        r.m.n == n && r.k == rows,
        "tanh_backprop_rows: r is not the rows of a"
    );
    if let Some(n0) = next {
        assert!(n0 + rows <= k, "tanh_backprop_rows: next past K");
        // Overlapping rows would read g values this pass already replaced.
        assert!(
            n0 + rows <= k0 || k0 + rows <= n0,
            "tanh_backprop_rows: next overlaps the rows written"
        );
    }
    for_row_groups(n, rows, |i, p, cols| {
        let w = cols.len();
        let a = padded(&a[cols]);
        let r = r.panel(p, i, 1)[0].0;
        let mut out = match next {
            Some(n0) => {
                let next = g.panels[p * k + n0 + i].0;
                std::array::from_fn(|l| backprop(a[l], r[l], Some(next[l]), alpha))
            }
            None => std::array::from_fn(|l| backprop(a[l], r[l], None, alpha)),
        };
        out[w..].fill(0.0);
        g.panels[p * k + k0 + i].0 = out;
    });
}

multiversion! {
    /// One step of back-propagation through the rate equation
    /// (`backprop`), on packed rows: rows `k0..` of `g` from `a` (whole
    /// rows of N, row-major), the rates `r` (as many packed rows) and, if
    /// any, rows `next..` of `g` itself (g_{k+1}, apart from rows `k0..`).
    /// The backward pass keeps every g_k in the panels the weight gradient
    /// reads.
    pub fn tanh_backprop_rows / tanh_backprop_rows_on(
        g: &mut PackedRhs,
        k0: usize,
        a: &[f32],
        r: PackedRows<'_>,
        next: Option<usize>,
        alpha: f32
    ) => tanh_backprop_rows_body
}

/// `y = A x` with `A` row-major, `len(y)` × `len(x)`.
pub fn matvec(a: &[f32], x: &[f32], y: &mut [f32]) {
    matvec_on(Isa::Avx512, a, x, y)
}

/// [`matvec`] on the instruction set `want` or the widest below it the CPU has.
pub fn matvec_on(want: Isa, a: &[f32], x: &[f32], y: &mut [f32]) {
    assert_eq!(
        a.len(),
        y.len() * x.len(),
        "matvec: A is not len(y) × len(x)"
    );
    match want.min(isa()) {
        // SAFETY: isa() found the features; shapes are checked above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { matvec_avx512(a, x, y) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { matvec_avx2(a, x, y) },
        _ => matvec_plain(a, x, y),
    }
}

fn matvec_plain(a: &[f32], x: &[f32], y: &mut [f32]) {
    for (y, row) in y.iter_mut().zip(a.chunks_exact(x.len().max(1))) {
        *y = row.iter().zip(x).map(|(a, x)| a * x).sum();
    }
}

/// Sum of the 8 lanes of `v`, in the order both SIMD matvecs share.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn hsum8(v: std::arch::x86_64::__m256) -> f32 {
    use std::arch::x86_64::*;
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
}

/// `s` plus the products of a row's last `len % 16` columns with x's.
#[inline(always)]
fn dot_tail(row: &[f32], x: &[f32], s: f32) -> f32 {
    let from = x.len() / 16 * 16;
    row[from..]
        .iter()
        .zip(&x[from..])
        .fold(s, |s, (a, x)| a.mul_add(*x, s))
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
            y[i + q] = dot_tail(rows[q], x, hsum8(_mm256_add_ps(acc[2 * q], acc[2 * q + 1])));
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
        *y = dot_tail(row, x, hsum8(_mm256_add_ps(acc[0], acc[1])));
    }
}

/// The AVX2 matvec with one 16-lane register per row where AVX2 needs two
/// (lane l sums the same products in the same order, so the results are
/// identical), and eight rows per load of x to keep 8 FMAs in flight.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn matvec_avx512(a: &[f32], x: &[f32], y: &mut [f32]) {
    use std::arch::x86_64::*;
    const R: usize = 8;
    let n = x.len();
    let blocks = n / 16;
    let xp = x.as_ptr();
    // Lanes 0–7 plus lanes 8–15, as AVX2 adds its two registers.
    let hsum16 = |v: __m512| {
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
        hsum8(_mm256_add_ps(_mm512_castps512_ps256(v), hi))
    };
    let mut i = 0;
    while i + R <= y.len() {
        let rows: [&[f32]; R] = std::array::from_fn(|q| &a[(i + q) * n..(i + q + 1) * n]);
        let mut acc = [_mm512_setzero_ps(); R];
        for c in 0..blocks {
            // SAFETY: c * 16 + 16 ≤ n, the length of x and of every row.
            unsafe {
                let xv = _mm512_loadu_ps(xp.add(c * 16));
                for q in 0..R {
                    acc[q] =
                        _mm512_fmadd_ps(_mm512_loadu_ps(rows[q].as_ptr().add(c * 16)), xv, acc[q]);
                }
            }
        }
        for q in 0..R {
            y[i + q] = dot_tail(rows[q], x, hsum16(acc[q]));
        }
        i += R;
    }
    for (i, y) in y.iter_mut().enumerate().skip(i) {
        let row = &a[i * n..(i + 1) * n];
        let mut acc = _mm512_setzero_ps();
        for c in 0..blocks {
            // SAFETY: as above.
            unsafe {
                acc = _mm512_fmadd_ps(
                    _mm512_loadu_ps(row.as_ptr().add(c * 16)),
                    _mm512_loadu_ps(xp.add(c * 16)),
                    acc,
                );
            }
        }
        *y = dot_tail(row, x, hsum16(acc));
    }
}

/// One row of a panel, cache-line aligned so the AVX-512 path's 64-byte
/// loads never straddle two lines (at N ≤ 512 it measured no faster than
/// unaligned, the panels being in L2 either way; it costs nothing).
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(64))]
struct Lanes([f32; L]);

/// The right operand of `out = A · M` (M: K × N) rearranged once into panels
/// of 16 columns, so the recurrence's per-step product streams contiguous
/// memory instead of repacking the same weights at every time step.
#[derive(Debug, Clone, Default)]
pub struct PackedRhs {
    k: usize,
    n: usize,
    /// ⌈N/16⌉ panels of K × 16, zero-padded past column N.
    panels: Vec<Lanes>,
}

impl PackedRhs {
    pub fn new(m: ArrayView2<f32>) -> Self {
        let mut p = Self::default();
        p.pack(m);
        p
    }

    /// Repacks `m` into the existing buffer (allocates only if it grows).
    /// Reads `m` along whichever axis is contiguous: rows for the rates of
    /// a weight gradient, columns for a transposed `J`.
    pub fn pack(&mut self, m: ArrayView2<f32>) {
        let (k, n) = m.dim();
        self.reset(k, n);
        if m.strides()[1] == 1 {
            for (kk, row) in m.rows().into_iter().enumerate() {
                self.set_rows(kk, row.to_slice().expect("unit column stride"));
            }
        } else {
            for (p, panel) in self.panels.chunks_exact_mut(k.max(1)).enumerate() {
                let w = L.min(n - p * L);
                for l in 0..w {
                    for (dst, v) in panel.iter_mut().zip(m.column(p * L + l)) {
                        dst.0[l] = *v;
                    }
                }
                if w < L {
                    panel.iter_mut().for_each(|v| v.0[w..].fill(0.0));
                }
            }
        }
    }

    /// Shapes the buffer for a K × N matrix (allocates only if it grows)
    /// without filling it: [`set_rows`](Self::set_rows) or a pass on packed
    /// rows ([`tanh_rows`]) then writes every lane, so there is no clearing
    /// pass.
    pub fn reset(&mut self, k: usize, n: usize) {
        self.k = k;
        self.n = n;
        self.panels.resize(n.div_ceil(L) * k, Lanes::default());
    }

    /// Writes rows `k0..` of the matrix from `rows` (whole rows of N,
    /// row-major), padding included.
    pub fn set_rows(&mut self, k0: usize, rows: &[f32]) {
        if !self.whole_rows("set_rows", k0, rows.len()) {
            return;
        }
        let (k, n) = (self.k, self.n);
        for_row_groups(n, rows.len() / n, |i, p, cols| {
            self.panels[p * k + k0 + i].0 = padded(&rows[cols]);
        });
    }

    /// Checks that `len` floats are whole rows of N from row `k0` on, all
    /// below K; false when there is nothing to copy (N = 0).
    fn whole_rows(&self, what: &str, k0: usize, len: usize) -> bool {
        if self.n == 0 {
            assert_eq!(len, 0, "{what}: rows of a 0-column matrix");
            return false;
        }
        assert_eq!(len % self.n, 0, "{what}: not whole rows of N");
        assert!(k0 + len / self.n <= self.k, "{what}: row past K");
        true
    }

    /// Reads rows `k0..` back into `rows` (whole rows of N, row-major):
    /// the inverse of [`set_rows`](Self::set_rows), for the loop design's
    /// low-rank products, which take row-major rates and gradients.
    pub fn get_rows(&self, k0: usize, rows: &mut [f32]) {
        if !self.whole_rows("get_rows", k0, rows.len()) {
            return;
        }
        let (k, n) = (self.k, self.n);
        for_row_groups(n, rows.len() / n, |i, p, cols| {
            let w = cols.len();
            rows[cols].copy_from_slice(&self.panels[p * k + k0 + i].0[..w]);
        });
    }

    pub fn dim(&self) -> (usize, usize) {
        (self.k, self.n)
    }
}

/// Rows `k0..k0 + k` of a [`PackedRhs`], as an operand of [`gemm`].
#[derive(Clone, Copy, Debug)]
pub struct PackedRows<'a> {
    m: &'a PackedRhs,
    k0: usize,
    k: usize,
}

impl PackedRows<'_> {
    /// Panel `p`'s rows `from..from + len` of this range.
    #[inline(always)]
    fn panel(&self, p: usize, from: usize, len: usize) -> &[Lanes] {
        let start = p * self.m.k + self.k0 + from;
        &self.m.panels[start..start + len]
    }

    /// The sum of each column over these rows, in row order.
    pub fn column_sums(&self) -> Vec<f32> {
        let mut sums = vec![0.0; self.m.n];
        for (p, dst) in sums.chunks_mut(L).enumerate() {
            let mut acc = [0.0f32; L];
            for row in self.panel(p, 0, self.k) {
                for (a, v) in acc.iter_mut().zip(&row.0) {
                    *a += v;
                }
            }
            dst.copy_from_slice(&acc[..dst.len()]);
        }
        sums
    }

    /// Everything from panel `p`'s row `from` of this range to the end of
    /// the matrix: what a tile reading A's rows across panels may touch.
    fn rest_from(&self, p: usize, from: usize) -> &[Lanes] {
        &self.m.panels[p * self.m.k + self.k0 + from..]
    }
}

/// The left operand of [`gemm`], rows × K.
#[derive(Clone, Copy, Debug)]
pub enum Lhs<'a> {
    /// Row-major, K floats per row.
    Rows(&'a [f32]),
    /// The transpose of K packed rows (K × rows): a weight gradient's `gᵀ`,
    /// whose contraction runs over time. Each step of `kk` is one 64-byte
    /// panel row, so the kernel streams it (a row-major `g` read down its
    /// columns, 1 KB apart, fell into four L1 sets and thrashed them).
    Transposed(PackedRows<'a>),
    /// Rows of a packed matrix (K its N), read in their panels: a step's
    /// rates or gradients, already packed for the weight gradients. The
    /// AVX-512 block then reads all its rows of A from one pointer (rows
    /// 64 bytes apart), where row-major A costs one register per row
    /// (docs/architecture.md, "A GEMM tile's registers").
    Packed(PackedRows<'a>),
}

impl Lhs<'_> {
    /// Rows `r0..r0 + M` of the chunk, interleaved: `ap[kk][i]` is element
    /// (r0 + i, chunk.from + kk) of A (K columns).
    #[inline(always)]
    fn interleave<const M: usize>(&self, k: usize, r0: usize, chunk: Chunk, ap: &mut [[f32; M]]) {
        match self {
            Lhs::Rows(a) => {
                for (kk, dst) in ap.iter_mut().enumerate() {
                    for (i, d) in dst.iter_mut().enumerate() {
                        *d = a[(r0 + i) * k + chunk.from + kk];
                    }
                }
            }
            Lhs::Transposed(p) => {
                for (kk, dst) in ap.iter_mut().enumerate() {
                    for (i, d) in dst.iter_mut().enumerate() {
                        *d = p.panel((r0 + i) / L, chunk.from + kk, 1)[0].0[(r0 + i) % L];
                    }
                }
            }
            Lhs::Packed(p) => {
                // A panel row at a time: 16 elements of a row per lookup.
                for (g, dst) in ap.chunks_mut(L).enumerate() {
                    for i in 0..M {
                        let lanes = &p.panel(chunk.from / L + g, r0 + i, 1)[0].0;
                        for (d, v) in dst.iter_mut().zip(lanes) {
                            d[i] = *v;
                        }
                    }
                }
            }
        }
    }
}

impl PackedRhs {
    /// Rows `range` of the matrix, as a GEMM operand.
    pub fn rows(&self, range: std::ops::Range<usize>) -> PackedRows<'_> {
        assert!(
            range.start <= range.end && range.end <= self.k,
            "rows {range:?} of a {}-row packed matrix",
            self.k
        );
        PackedRows {
            m: self,
            k0: range.start,
            k: range.len(),
        }
    }

    /// The whole matrix, as a GEMM operand.
    pub fn all(&self) -> PackedRows<'_> {
        self.rows(0..self.k)
    }
}

fn gemm_body<const ISA: u8>(a: Lhs, m: PackedRows, alpha: f32, accumulate: bool, out: &mut [f32]) {
    let (k, n) = (m.k, m.m.n);
    let rows = match a {
        Lhs::Rows(a) => {
            let rows = a.len().checked_div(k).unwrap_or(out.len() / n.max(1));
            assert_eq!(a.len(), rows * k, "gemm: A is not rows × K");
            rows
        }
        Lhs::Transposed(t) => {
            assert_eq!(t.k, k, "gemm: Aᵀ and M have different K");
            t.m.n
        }
        Lhs::Packed(p) => {
            assert_eq!(p.m.n, k, "gemm: packed A and M have different K");
            p.k
        }
    };
    assert_eq!(out.len(), rows * n, "gemm: out is not rows × N");
    // Rows of A per register tile: 4 × 16 accumulators fill 8 of AVX2's 16
    // registers; AVX-512 has 32 and runs 8 rows over up to three panels
    // (24 accumulators) where one pointer serves all 8 rows of A, two where
    // each needs its own (row-major A; see `row_tile_avx512`). Tiles of 8,
    // then 4, then 1–3 rows never straddle two of a transposed A's panels.
    // K chunks are the outer loop so that a chunk of M stays in L2 for
    // every row tile (a weight gradient's M, 1600 × 256, does not fit beside
    // its A). Neither the tiling nor the loop order changes any output
    // element's arithmetic.
    let wide = ISA == AVX512;
    let mut done = 0;
    while done < k {
        let chunk = Chunk {
            from: done,
            len: (k - done).min(K_CHUNK),
            add: accumulate || done > 0,
        };
        let mut r0 = 0;
        while r0 < rows {
            let out = &mut out[r0 * n..];
            r0 += match rows - r0 {
                1 => row_tile::<ISA, 1>(a, r0, m, chunk, alpha, out),
                2 => row_tile::<ISA, 2>(a, r0, m, chunk, alpha, out),
                3 => row_tile::<ISA, 3>(a, r0, m, chunk, alpha, out),
                r if wide && r >= 8 => row_tile::<ISA, 8>(a, r0, m, chunk, alpha, out),
                _ => row_tile::<ISA, 4>(a, r0, m, chunk, alpha, out),
            };
        }
        done += chunk.len;
    }
    if k == 0 && !accumulate {
        out.fill(0.0);
    }
}

/// One K chunk of a GEMM: columns `from..from + len` of A, summed into one
/// accumulator that is then added to the output (`add`) or replaces it.
#[derive(Clone, Copy)]
struct Chunk {
    from: usize,
    len: usize,
    add: bool,
}

/// One chunk's share of rows `r0..r0 + M` of the output (`out` starts at
/// row r0), all columns; returns M.
#[inline(always)]
fn row_tile<const ISA: u8, const M: usize>(
    a: Lhs,
    r0: usize,
    m: PackedRows,
    chunk: Chunk,
    alpha: f32,
    out: &mut [f32],
) -> usize {
    let (k, n) = (m.k, m.m.n);
    #[cfg(target_arch = "x86_64")]
    if ISA == AVX512 {
        // SAFETY: ISA == AVX512 is only compiled into `gemm_on`'s `wide`,
        // which runs only where isa() found AVX-512.
        unsafe { row_tile_avx512::<M>(a, r0, m, chunk, alpha, out) };
        return M;
    }
    // Interleave the M rows of A so the inner loop reads one small array per k.
    let mut ap = [[0.0f32; M]; K_CHUNK];
    let ap = &mut ap[..chunk.len];
    a.interleave(k, r0, chunk, ap);
    for p in 0..n.div_ceil(L) {
        let panel = m.panel(p, chunk.from, chunk.len);
        let c0 = p * L;
        let w = L.min(n - c0);
        let acc = micro::<ISA, M>(ap, panel);
        for (i, acc) in acc.iter().enumerate() {
            let dst = &mut out[i * n + c0..i * n + c0 + w];
            for (d, v) in dst.iter_mut().zip(acc) {
                *d = if chunk.add {
                    fma::<ISA>(alpha, *v, *d)
                } else {
                    alpha * v
                };
            }
        }
    }
    M
}

/// How many panel rows ahead an AVX-512 block prefetches: each row tile
/// streams a K chunk of `M` from L2, and the hint kept the train step 2 % faster
/// (any distance from 4 to 32 did the same).
const PF: usize = 8;

/// Columns of A (the K dimension) summed into one accumulator before it is
/// added to the output: every path sums in these chunks, so they agree bit
/// for bit.
const K_CHUNK: usize = 512;

/// Chunks start on a panel row of a packed A (`Lhs::Packed`).
const _: () = assert!(K_CHUNK.is_multiple_of(L));

/// How an AVX-512 block finds element (i, kk) of its rows of A in the
/// chunk, with kk = 16·g + l split so that a panel layout needs no division.
trait TileRows: Copy {
    /// # Safety
    /// i is below the block's rows, l below 16 and 16·g + l below the
    /// chunk's length.
    unsafe fn get(&self, i: usize, g: usize, l: usize) -> f32;
}

/// Row-major A: each row's first element of the chunk.
#[derive(Clone, Copy)]
struct RowPtrs<const M: usize>([*const f32; M]);

impl<const M: usize> TileRows for RowPtrs<M> {
    #[inline(always)]
    unsafe fn get(&self, i: usize, g: usize, l: usize) -> f32 {
        // SAFETY: the caller's contract; `row_tile_avx512` built the
        // pointers from borrows of the rest of each row.
        unsafe { *self.0.get_unchecked(i).add(g * L + l) }
    }
}

/// A in panels: element (i, 16·g + l) at `at + g·group + l·STEP + i·ROW`,
/// one pointer for every row of the block, so the loop holds no more
/// general registers than the panels' (one per row spilled them, and the
/// spills spread to the accumulators: 12 × 2 ran at half speed).
#[derive(Clone, Copy)]
struct Lined<const ROW: usize, const STEP: usize> {
    at: *const f32,
    group: usize,
}

impl<const ROW: usize, const STEP: usize> TileRows for Lined<ROW, STEP> {
    #[inline(always)]
    unsafe fn get(&self, i: usize, g: usize, l: usize) -> f32 {
        // SAFETY: the caller's contract; `row_tile_avx512` derived `at`
        // from a borrow of every panel row the chunk reads.
        unsafe { *self.at.add(g * self.group + l * STEP + i * ROW) }
    }
}

/// [`row_tile`] with AVX-512: several panels per pass (see
/// [`block_avx512`]), and the broadcasts read A where it is (no interleaved
/// copy). Same FMAs per element, same order, same K chunks as the other
/// paths.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn row_tile_avx512<const M: usize>(
    a: Lhs,
    r0: usize,
    m: PackedRows,
    chunk: Chunk,
    alpha: f32,
    out: &mut [f32],
) {
    let k = m.k;
    // SAFETY (all three): AVX-512 is on (this function's contract); each
    // form's pointers cover the chunk's elements of the M rows, and the
    // block's outputs lie in `out` (checked by gemm_body).
    match a {
        Lhs::Rows(a) => {
            let at: [*const f32; M] = std::array::from_fn(|i| {
                let row = (r0 + i) * k;
                a[row + chunk.from..row + k].as_ptr()
            });
            unsafe { panel_passes::<_, M, 2>(RowPtrs(at), m, chunk, alpha, out) }
        }
        Lhs::Transposed(t) => {
            // The rows are lanes of one panel (gemm_body's tiles never
            // straddle two); checked, as the reads below rely on it.
            assert!(r0 % L + M <= L, "transposed tile straddles two panels");
            let rest = t.panel(r0 / L, chunk.from, t.k - chunk.from);
            let at = rest.as_ptr().cast::<f32>().wrapping_add(r0 % L);
            let rows = Lined::<1, L> { at, group: L * L };
            unsafe { panel_passes::<_, M, 3>(rows, m, chunk, alpha, out) }
        }
        Lhs::Packed(p) => {
            let rest = p.rest_from(chunk.from / L, r0);
            let rows = Lined::<L, 1> {
                at: rest.as_ptr().cast(),
                group: p.m.k * L,
            };
            unsafe { panel_passes::<_, M, 3>(rows, m, chunk, alpha, out) }
        }
    }
}

/// Every panel of M against the tile's rows, up to `MAX` panels a pass
/// (24 accumulators at most); with `MAX` = 3 never a single panel after
/// wider passes (16 panels: 3, 3, 3, 3, 2, 2).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn panel_passes<A: TileRows, const M: usize, const MAX: usize>(
    rows: A,
    m: PackedRows,
    chunk: Chunk,
    alpha: f32,
    out: &mut [f32],
) {
    let n = m.m.n;
    let count = n.div_ceil(L);
    let mut p = 0;
    while p < count {
        let take = match count - p {
            4 if MAX == 3 => 2,
            r => r.min(MAX),
        };
        let w_last = L.min(n - (p + take - 1) * L);
        let out = &mut out[p * L..];
        // SAFETY: the caller's contract.
        unsafe {
            match take {
                3 => block_avx512::<A, M, 3>(rows, m, p, chunk, alpha, out, n, w_last),
                2 => block_avx512::<A, M, 2>(rows, m, p, chunk, alpha, out, n, w_last),
                _ => block_avx512::<A, M, 1>(rows, m, p, chunk, alpha, out, n, w_last),
            }
        }
        p += take;
    }
}

#[inline(always)]
fn micro<const ISA: u8, const M: usize>(ap: &[[f32; M]], panel: &[Lanes]) -> [[f32; L]; M] {
    let mut acc = [[0.0f32; L]; M];
    for (av, pv) in ap.iter().zip(panel) {
        for (acc, a) in acc.iter_mut().zip(av) {
            for (acc, p) in acc.iter_mut().zip(&pv.0) {
                *acc = fma::<ISA>(*a, *p, *acc);
            }
        }
    }
    acc
}

/// One M × 16·P block of the output, panels `p0..p0 + P`: [`micro`] and
/// the update of `out` after it, with one 16-lane register per row of A and
/// panel, so P accumulators share each row's broadcast (M + P loads for
/// M·P FMAs). Explicit: compiled with AVX-512 on, the generic [`micro`] ran
/// at a fifteenth of its AVX2 speed (16 × 256 × 256: 5.5 against 83
/// GFLOP/s). `out` starts at the block's first column; rows are `n` apart;
/// every panel but the last is 16 wide, the last `w_last` ≤ 16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn block_avx512<A: TileRows, const M: usize, const P: usize>(
    rows: A,
    m: PackedRows,
    p0: usize,
    chunk: Chunk,
    alpha: f32,
    out: &mut [f32],
    n: usize,
    w_last: usize,
) {
    use std::arch::x86_64::*;
    let panels: [&[Lanes]; P] = std::array::from_fn(|q| m.panel(p0 + q, chunk.from, chunk.len));
    let mut acc = [[_mm512_setzero_ps(); P]; M];
    for g in 0..chunk.len.div_ceil(L) {
        for l in 0..L.min(chunk.len - g * L) {
            let kk = g * L + l;
            let b: [__m512; P] = std::array::from_fn(|q| {
                // SAFETY: kk < chunk.len, each panel's length; a panel row is 16
                // floats on a 64-byte boundary.
                let v = unsafe { panels[q].get_unchecked(kk) }.0.as_ptr();
                // Prefetch a few rows ahead (a hint; wrapping_add never dereferences).
                _mm_prefetch::<_MM_HINT_T0>(v.wrapping_add(PF * L).cast());
                unsafe { _mm512_load_ps(v) }
            });
            for (i, acc) in acc.iter_mut().enumerate() {
                // SAFETY: i < M and kk < chunk.len (row_tile_avx512's pointers).
                let a = _mm512_set1_ps(unsafe { rows.get(i, g, l) });
                for (acc, b) in acc.iter_mut().zip(b) {
                    *acc = _mm512_fmadd_ps(a, b, *acc);
                }
            }
        }
    }
    let mask: __mmask16 = if w_last == L { !0 } else { (1 << w_last) - 1 };
    for (i, acc) in acc.into_iter().enumerate() {
        for (q, acc) in acc.into_iter().enumerate() {
            let mask = if q + 1 == P { mask } else { !0 };
            // SAFETY: as in `store_block`; panel q's floats of row i start
            // at i·n + 16q in `out`.
            unsafe { store_block(&mut out[i * n + q * L..], acc, alpha, chunk.add, mask) };
        }
    }
}

/// `out[..w] = α·acc (+ out[..w] if add)` for the lanes in `mask`; the
/// masked-off lanes are neither read nor written, so `out` needs only the
/// masked floats.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn store_block(
    out: &mut [f32],
    acc: std::arch::x86_64::__m512,
    alpha: f32,
    add: bool,
    mask: std::arch::x86_64::__mmask16,
) {
    use std::arch::x86_64::*;
    let dst = out.as_mut_ptr();
    let alpha = _mm512_set1_ps(alpha);
    // SAFETY: the caller's `out` holds every lane the mask selects.
    unsafe {
        let v = if add {
            _mm512_fmadd_ps(alpha, acc, _mm512_maskz_loadu_ps(mask, dst))
        } else {
            _mm512_mul_ps(alpha, acc)
        };
        _mm512_mask_storeu_ps(dst, mask, v);
    }
}

multiversion! {
    /// `out = α A·M (+ out if accumulate)`: A rows × K, M's rows K × N, and
    /// `out` rows × N, row-major.
    pub fn gemm / gemm_on(a: Lhs<'_>, m: PackedRows<'_>, alpha: f32, accumulate: bool, out: &mut [f32]) => gemm_body
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
            let mut r = [[0.0f32]; 3];
            for (path, r) in [Isa::Plain, Isa::Avx2, Isa::Avx512].into_iter().zip(&mut r) {
                tanh_into_on(path, &[x], r);
            }
            for got in [r[0][0], r[1][0], r[2][0], tanh(x)] {
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

    /// Every lane of every panel, padding included, as bits.
    fn panel_bits(p: &PackedRhs) -> Vec<u32> {
        p.panels
            .iter()
            .flat_map(|v| v.0)
            .map(f32::to_bits)
            .collect()
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
            let want = a.dot(&x);
            for path in [Isa::Plain, Isa::Avx2, Isa::Avx512] {
                let mut y = vec![f32::NAN; rows];
                matvec_on(path, a.as_slice().unwrap(), x.as_slice().unwrap(), &mut y);
                for (g, w) in y.iter().zip(&want) {
                    assert!(
                        (g - w).abs() < 1e-4 * cols as f32,
                        "{path:?} {rows}×{cols}: {g} vs {w}"
                    );
                }
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
            (13, 600, 20),
            (4, 0, 9),
        ] {
            let a = randn(&mut rng, rows, k);
            // K rows of a taller matrix, as a weight gradient reads a time
            // range of the packed rates; packing a transposed view is how
            // the forward pass uses J.
            let skip = rows % 3;
            let tall = randn(&mut rng, n, k + 2 * skip);
            let m = tall.slice(ndarray::s![.., skip..skip + k]);
            let packed = PackedRhs::new(tall.t());
            let at = PackedRhs::new(a.t());
            // A's rows as rows skip.. of a packed matrix, as a step's rates.
            let above = randn(&mut rng, skip, k);
            let ap = PackedRhs::new(ndarray::concatenate![ndarray::Axis(0), above, a].view());
            let base = randn(&mut rng, rows, n);
            for (accumulate, path) in [false, true]
                .into_iter()
                .flat_map(|acc| [Isa::Plain, Isa::Avx2, Isa::Avx512].map(|p| (acc, p)))
            {
                let mut want = a.dot(&m.t()) * 0.5;
                if accumulate {
                    want += &base;
                }
                // A row-major, as the transpose of packed K × rows, and packed.
                let lhs = [
                    Lhs::Rows(a.as_slice().unwrap()),
                    Lhs::Transposed(at.all()),
                    Lhs::Packed(ap.rows(skip..skip + rows)),
                ];
                for (lhs, form) in lhs.into_iter().zip(["rows", "transposed", "packed"]) {
                    let mut out = base.clone();
                    let m = packed.rows(skip..skip + k);
                    gemm_on(path, lhs, m, 0.5, accumulate, out.as_slice_mut().unwrap());
                    for (g, w) in out.iter().zip(&want) {
                        assert!(
                            (g - w).abs() <= 1e-4 * k as f32,
                            "{path:?} {form} {rows}×{k}×{n}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }

    /// Both read orders give the same panels, and a reused buffer holds
    /// only the latest matrix (its padding too), whatever came before.
    #[test]
    fn repacking_rows_or_columns_gives_fresh_panels() {
        let mut rng = StdRng::seed_from_u64(4);
        let mut reused = PackedRhs::default();
        for (k, n) in [(40, 50), (7, 3), (64, 33), (1, 1), (9, 16)] {
            let m = randn(&mut rng, k, n);
            let transposed = m.t().as_standard_layout().into_owned();
            reused.pack(m.view());
            let by_columns = PackedRhs::new(transposed.t());
            assert_eq!(reused.dim(), (k, n));
            // Row by row from the bottom, one step at a time.
            let mut by_steps = PackedRhs::default();
            by_steps.reset(k, n);
            for kk in (0..k).rev() {
                by_steps.set_rows(kk, m.row(kk).as_slice().unwrap());
            }
            assert_eq!(panel_bits(&reused), panel_bits(&by_columns), "{k}×{n}");
            assert_eq!(panel_bits(&reused), panel_bits(&by_steps), "{k}×{n}");
            // Read back, two rows at a time where they fit.
            for kk in (0..k).step_by(2) {
                let two = (k - kk).min(2);
                let mut back = vec![f32::NAN; two * n];
                reused.get_rows(kk, &mut back);
                let want = m.slice(ndarray::s![kk..kk + two, ..]);
                assert_eq!(
                    back,
                    want.iter().copied().collect::<Vec<_>>(),
                    "get_rows {kk} of {k}×{n}"
                );
            }
            let sums = m.sum_axis(ndarray::Axis(0));
            for (got, want) in reused.all().column_sums().iter().zip(&sums) {
                assert!(
                    (got - want).abs() < 1e-4 * k as f32,
                    "{k}×{n}: {got} vs {want}"
                );
            }
            let padding = reused.panels[(n.div_ceil(L) - 1) * k..]
                .iter()
                .flat_map(|v| v.0[(n - 1) % L + 1..].to_vec())
                .collect::<Vec<_>>();
            assert!(padding.iter().all(|v| *v == 0.0), "{k}×{n}");
        }
    }

    /// The AVX-512 kernels give exactly the AVX2 kernels' bits (the module
    /// doc's promise), on sizes that exercise every tile and tail.
    #[test]
    fn avx512_paths_are_bit_identical_to_avx2() {
        if isa() < Isa::Avx512 {
            eprintln!("this CPU has no AVX-512: both paths below run AVX2");
        }
        let mut rng = StdRng::seed_from_u64(3);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for (rows, k, n) in [
            (1, 1, 1),
            (5, 17, 33),
            (8, 64, 64),
            (13, 130, 257),
            (16, 256, 256),
            // K past one chunk (K_CHUNK), an odd number of panels.
            (9, 1100, 47),
            // 8-row tiles and their tails, as in a weight gradient; a
            // masked second panel of a pair.
            (29, 700, 48),
            (11, 70, 29),
            // 8-row tiles over three panels then two, K ending mid-group.
            (24, 520, 80),
        ] {
            let a = randn(&mut rng, rows, k);
            let m = randn(&mut rng, k, n);
            let packed = PackedRhs::new(m.view());
            let base = randn(&mut rng, rows, n);
            // All of M's rows, and rows 1.. (a time range of the rates).
            for (accumulate, from) in [(false, 0), (true, 0), (false, 1), (true, 1)] {
                if from >= k {
                    continue;
                }
                let at = PackedRhs::new(a.t());
                let a = a.slice(ndarray::s![.., from..]).to_owned();
                // Below one other row, as a step's rates below the last step's.
                let ap =
                    PackedRhs::new(ndarray::concatenate![ndarray::Axis(0), &a * 3.0, a].view());
                let lhs = [
                    Lhs::Rows(a.as_slice().unwrap()),
                    Lhs::Transposed(at.rows(from..k)),
                    Lhs::Packed(ap.rows(rows..2 * rows)),
                ];
                for (lhs, form) in lhs.into_iter().zip(["rows", "transposed", "packed"]) {
                    let [mut x2, mut x5] = [base.clone(), base.clone()];
                    for (path, out) in [(Isa::Avx2, &mut x2), (Isa::Avx512, &mut x5)] {
                        let out = out.as_slice_mut().unwrap();
                        gemm_on(path, lhs, packed.rows(from..k), 0.7, accumulate, out);
                    }
                    assert_eq!(
                        bits(x2.as_slice().unwrap()),
                        bits(x5.as_slice().unwrap()),
                        "gemm ({form}) {rows}×{k}×{n} from row {from}"
                    );
                }
            }
            let mt = m.t().as_standard_layout().into_owned();
            let x = &a.as_slice().unwrap()[..k];
            let (mut y2, mut y5) = (vec![0.0; n], vec![0.0; n]);
            matvec_on(Isa::Avx2, mt.as_slice().unwrap(), x, &mut y2);
            matvec_on(Isa::Avx512, mt.as_slice().unwrap(), x, &mut y5);
            assert_eq!(bits(&y2), bits(&y5), "matvec {n}×{k}");
            let xs: Vec<f32> = base.iter().map(|v| v * 9.0).collect();
            let (mut t2, mut t5) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
            tanh_into_on(Isa::Avx2, &xs, &mut t2);
            tanh_into_on(Isa::Avx512, &xs, &mut t5);
            assert_eq!(bits(&t2), bits(&t5), "tanh");
            // The elementwise steps use no FMA: every path, plain too, agrees.
            let bias = &xs[..n];
            let each = |f: &dyn Fn(Isa, &mut [f32])| {
                [Isa::Plain, Isa::Avx2, Isa::Avx512].map(|path| {
                    let mut v = xs.iter().map(|x| x * 0.3).collect::<Vec<_>>();
                    f(path, &mut v);
                    bits(&v)
                })
            };
            for with_bias in [false, true] {
                let b = with_bias.then_some(bias);
                let [p, x2, x5] = each(&|path, x| euler_step_on(path, x, &t2, b, 0.2));
                assert!(p == x2 && x2 == x5, "euler_step, bias {with_bias}");
            }
        }
    }

    /// The elementwise passes on packed rows give, lane for lane, what the
    /// row-major tanh and the scalar back-propagation step give, written
    /// with `set_rows` (padding zeroed over planted stale lanes), on every
    /// path, with g_{k+1} read from before, after (as the backward pass
    /// lays it out) or nowhere.
    #[test]
    fn packed_row_passes_match_row_major_ones() {
        let mut rng = StdRng::seed_from_u64(5);
        for (k, n, rows) in [(12, 40, 3), (6, 16, 2), (9, 3, 3), (4, 33usize, 1usize)] {
            // The last panel's padding holds NaN, as a reused buffer's may.
            let stale = |m: &Array2<f32>| {
                let mut p = PackedRhs::new(m.view());
                let last = (n.div_ceil(L) - 1) * k;
                for v in &mut p.panels[last..] {
                    v.0[(n - 1) % L + 1..].fill(f32::NAN);
                }
                p
            };
            let x = randn(&mut rng, rows, n) * 3.0;
            let a = randn(&mut rng, rows, n);
            let base = randn(&mut rng, k, n);
            let r = PackedRhs::new(randn(&mut rng, k, n).mapv(f32::tanh).view());
            let (x, a) = (x.as_slice().unwrap(), a.as_slice().unwrap());
            let (k0, at) = (k - 2 * rows, 1);
            for path in [Isa::Plain, Isa::Avx2, Isa::Avx512] {
                let mut got = stale(&base);
                tanh_rows_on(path, x, &mut got, k0);
                let mut want = stale(&base);
                let mut t = vec![0.0; x.len()];
                tanh_into_on(path, x, &mut t);
                want.set_rows(k0, &t);
                assert_eq!(
                    panel_bits(&got),
                    panel_bits(&want),
                    "tanh_rows {k}×{n} {path:?}"
                );
                for next in [None, Some(0), Some(k0 + rows)] {
                    let mut got = stale(&base);
                    let r_rows = r.rows(at..at + rows);
                    tanh_backprop_rows_on(path, &mut got, k0, a, r_rows, next, 0.2);
                    let mut want = stale(&base);
                    let mut rr = vec![0.0; a.len()];
                    r.get_rows(at, &mut rr);
                    let mut nx = vec![0.0; a.len()];
                    if let Some(n0) = next {
                        want.get_rows(n0, &mut nx);
                    }
                    let g: Vec<f32> = (0..a.len())
                        .map(|e| backprop(a[e], rr[e], next.map(|_| nx[e]), 0.2))
                        .collect();
                    want.set_rows(k0, &g);
                    assert_eq!(
                        panel_bits(&got),
                        panel_bits(&want),
                        "tanh_backprop_rows {k}×{n} {path:?} {next:?}"
                    );
                }
            }
            // A range's column sums, as the bias gradient takes them.
            let sums = base
                .slice(ndarray::s![1..k - 1, ..])
                .sum_axis(ndarray::Axis(0));
            let got = PackedRhs::new(base.view()).rows(1..k - 1).column_sums();
            for (got, want) in got.iter().zip(&sums) {
                assert!(
                    (got - want).abs() < 1e-4 * k as f32,
                    "{k}×{n}: {got} vs {want}"
                );
            }
        }
    }
}
