//! Resource limits of libraries, demonstrations and training configs, in one
//! place. Each is checked before anything of that size is allocated or looped
//! over, so a bad number is an error naming its field instead of an
//! allocation abort, a hang, or a library nothing can run. Every limit is far
//! above what `models/`, `config/`, `scripts/` and the tests use (documented in
//! `docs/library_format.md` and `docs/demo_format.md`).

/// Units N. `J` alone is N² f32 (64 MiB at 4096) and training keeps several
/// copies of it; a control tick is N² multiply-adds and N = 1024 already uses
/// a tenth of the 1 ms tick (docs/benchmarks.md). Shipped: 16–256.
pub const MAX_N: usize = 4096;

/// Outputs D (joints) and so demo columns: no robot has more, and a demo
/// header is counted against this before its names are split and compared.
/// Shipped: 2 and 7.
pub const MAX_OUTPUTS: usize = 256;

/// Motifs per library: the command queue holds motif indices as `u16`, and
/// evaluation runs every ordered pair (K² runs). Shipped: ≤ 8.
pub const MAX_MOTIFS: usize = 1024;

/// Network steps of one motif or generated trajectory: training keeps every
/// step's state for the whole batch. 400 s at dt = 4 ms. Shipped: ≤ 900.
pub const MAX_MOTIF_STEPS: usize = 100_000;

/// Preparation length in network steps: the controller and evaluation step
/// through it before every chained motif, and the optimised kind's propagator
/// costs an N×N×N product per step. Shipped: 40–80.
pub const MAX_PREP_STEPS: usize = 100_000;

/// Preparation length in τ (`preparation.tau_multiple`, `eval --prep-tau`):
/// the leak's residual is e⁻¹⁰⁰ after 100 τ, so longer is only waiting.
/// Shipped: 8.
pub const MAX_PREP_TAU: f32 = 1000.0;

/// Network step in seconds. Below 0.1 ms the controller needs more than ten
/// network steps per 1 kHz tick; above 1 s it is not a motor network.
/// Shipped: 1–8 ms.
pub const MIN_DT: f32 = 1e-4;
pub const MAX_DT: f32 = 1.0;

/// α = dt/τ. Above 1 (dt > τ) the Euler step overshoots the leak and the
/// dynamics are not the trained ODE; below 1e-3 one τ takes over 1000 steps,
/// so a motif of tens of τ passes `MAX_MOTIF_STEPS` and the integration is far
/// finer than the accuracy needs. Shipped: 0.025–0.2.
pub const MIN_ALPHA: f32 = 1e-3;
pub const MAX_ALPHA: f32 = 1.0;

/// Optimiser steps (`training.steps`): a loss is kept per step, and a million
/// steps is days of training. Shipped: ≤ 2000.
pub const MAX_TRAIN_STEPS: usize = 1_000_000;

/// Training memory, estimated before training starts: BPTT keeps about three
/// f32 arrays of (steps + 1) × batch × N per motif. 4 GiB; shipped configs
/// need under 100 MiB.
pub const MAX_TRAINING_BYTES: u64 = 4 << 30;

/// A demonstration file is read whole; 1e6 rows of 8 shortest-form floats
/// are ≈ 100 MB.
pub const MAX_DEMO_BYTES: u64 = 128 << 20;

/// Demonstration rows: 1000 s at 1 kHz. Shipped and generated: ≤ 2000.
pub const MAX_DEMO_ROWS: usize = 1_000_000;

/// Smallest demonstration sample step, in seconds: faster than any joint
/// encoder, so a smaller step is a time column in the wrong unit.
pub const MIN_DEMO_DT: f64 = 1e-6;

/// Longest demonstration, in seconds: motifs last seconds, and this bounds the
/// length a demo resamples to (with `MAX_MOTIF_STEPS` checked after).
pub const MAX_DEMO_SECONDS: f64 = 3600.0;

/// `manifest.yaml` and training configs are read whole; a manifest with
/// `MAX_MOTIFS` motifs is ≈ 300 KB.
pub const MAX_YAML_BYTES: u64 = 16 << 20;

/// The safetensors header (tensor names, shapes, offsets) beyond the data the
/// manifest implies, bounding the weights file before it is read: ≈ 10 000
/// tensor entries, twice what `MAX_MOTIFS` motifs need.
pub const MAX_WEIGHTS_HEADER_BYTES: u64 = 1 << 20;

/// Largest magnitude of any stored weight, target, output offset or scale.
/// Trained values are O(1) (an optimised `J_prep` has entries ≈ 0.5,
/// train/prep.rs; targets have unit spread); below this bound every state, output and squared
/// error stays finite in f32 up to N = `MAX_N`, so an exponent bit flipped in
/// a library without a checksum is an error, not a NaN at run time.
pub const MAX_ABS_VALUE: f32 = 1e6;

/// Motif and output names, in bytes: a full command queue (32 names and
/// separators) of the longest names still fits the controller's default
/// 4096-byte command limit (tests/library.rs checks the arithmetic).
pub const MAX_NAME_BYTES: usize = 100;

/// `value` within `min..=max`, or an error naming `field` and the range.
pub fn check_count(field: &str, value: usize, min: usize, max: usize) -> Result<(), String> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{field} = {value} is outside the allowed {min} to {max}"
        ))
    }
}

/// τ and dt of a network; `prefix` is where they sit (`network.` in a config).
pub fn check_timing(tau: f32, dt: f32, prefix: &str) -> Result<(), String> {
    if !(dt.is_finite() && (MIN_DT..=MAX_DT).contains(&dt)) {
        return Err(format!(
            "{prefix}dt = {dt} s is outside the allowed {MIN_DT} to {MAX_DT} s"
        ));
    }
    let alpha = dt / tau;
    if !(tau.is_finite() && tau > 0.0 && (MIN_ALPHA..=MAX_ALPHA).contains(&alpha)) {
        return Err(format!(
            "{prefix}tau = {tau} s with dt = {dt} s: dt/tau must be between {MIN_ALPHA} and \
             {MAX_ALPHA} (tau from 1 to {} network steps)",
            1.0 / MIN_ALPHA
        ));
    }
    Ok(())
}

/// A preparation of `steps` network steps at step size `alpha`.
pub fn check_prep(field: &str, steps: usize, alpha: f32) -> Result<(), String> {
    check_count(field, steps, 0, MAX_PREP_STEPS)?;
    let tau = steps as f32 * alpha;
    if tau > MAX_PREP_TAU {
        return Err(format!(
            "{field} = {steps} steps is {tau} tau; at most {MAX_PREP_TAU} tau is allowed"
        ));
    }
    Ok(())
}

/// The training memory estimate for N units, a batch, and each trained
/// motif's length, against `MAX_TRAINING_BYTES`.
pub fn check_training_memory(n: usize, batch: usize, steps: &[usize]) -> Result<(), String> {
    let rows: u128 = steps.iter().map(|&t| t as u128 + 1).sum();
    let bytes = 3 * 4 * rows * batch as u128 * n as u128;
    if bytes > MAX_TRAINING_BYTES as u128 {
        return Err(format!(
            "training would need about {:.1} GiB (N = {n}, batch {batch}, {} motif steps in \
             all); the limit is {} GiB: lower network.n, training.batch or the motif lengths",
            bytes as f64 / (1u64 << 30) as f64,
            rows,
            MAX_TRAINING_BYTES >> 30
        ));
    }
    Ok(())
}
