"""The benchmark problem shared by the peer scripts (train_torch.py, train_jax.py).

It must be the same problem that `cargo bench --bench train_step` times:
a leaky-tanh rate network, x_{t+1} = x_t + alpha*(-x_t + tanh(x_t) J^T + b),
outputs yhat_{t+1} = tanh(x_{t+1}) W^T + y0 for the T states after each step,
loss = mean over (T, B, D) of (yhat - target)^2, target[t, d] = sin(0.03 t + d).

Only numpy is imported here so that both scripts build bit-identical starting
weights from one seed, and both can be checked against one reference forward.
"""

import argparse
import json
import sys

import numpy as np

ALPHA = 0.1  # dt / tau = 0.001 / 0.01, as in benches/train_step.rs
OUTPUTS = 2  # D
LR = 1e-3
CLIP = 1.0
# Relative tolerance between a framework's f32 step-0 loss and the f64 reference.
# Half of the 1e-4 we want between any two frameworks, so that two that both
# pass agree with each other to 1e-4 (f32 round-off here is ~1e-7).
LOSS_RTOL = 5e-5


def parse_args(description, extra=None):
    """The common CLI. `extra(parser)` may add script-specific options."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--n", type=int, default=256, help="units N (default 256)")
    p.add_argument("--batch", type=int, default=16, help="batch B (default 16)")
    p.add_argument("--seq", type=int, default=200, help="sequence length T (default 200)")
    p.add_argument("--steps", type=int, default=50, help="timed train steps (default 50)")
    p.add_argument("--warmup", type=int, default=10, help="untimed train steps first (default 10)")
    p.add_argument("--seed", type=int, default=0, help="numpy seed for the weights (default 0)")
    p.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    if extra:
        extra(p)
    a = p.parse_args()
    # argparse already exits 2 on non-integers; reject values that parse but make no sense.
    for name in ("n", "batch", "seq", "steps"):
        if getattr(a, name) <= 0:
            p.error(f"--{name} must be a positive integer, got {getattr(a, name)}")
    if a.warmup < 0:
        p.error(f"--warmup must be >= 0, got {a.warmup}")
    return a


def make_problem(n, batch, seq, seed=0):
    """Deterministic f32 weights, start state and target (numpy arrays)."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    return {
        "J": (rng.standard_normal((n, n)) / np.sqrt(n)).astype(f32),
        "W": (rng.standard_normal((OUTPUTS, n)) / np.sqrt(n)).astype(f32),
        "y0": np.zeros(OUTPUTS, dtype=f32),
        "b": (0.1 * rng.standard_normal(n)).astype(f32),
        # The start state: fixed for the whole benchmark, not trained.
        "x0": rng.standard_normal((batch, n)).astype(f32),
        "target": np.sin(0.03 * np.arange(seq)[:, None] + np.arange(OUTPUTS)[None, :]).astype(f32),
    }


def reference_loss_leaky(p):
    """Step-0 loss of the leaky network, in float64 so it is the yardstick."""
    J, W, y0, b = (p[k].astype(np.float64) for k in ("J", "W", "y0", "b"))
    x = p["x0"].astype(np.float64)
    target = p["target"].astype(np.float64)
    total = 0.0
    for t in range(target.shape[0]):
        x = x + ALPHA * (-x + np.tanh(x) @ J.T + b)
        total += ((np.tanh(x) @ W.T + y0 - target[t]) ** 2).sum()
    return total / (target.size * x.shape[0])


def reference_loss_discrete(p):
    """Step-0 loss of the non-leaky RNN h' = tanh(h J^T + b), readout h W^T + y0.

    This is what torch.nn.RNN computes with weight_hh = J, bias_hh = b, zero
    input; checking it shows the built-in runs the same sizes on the same data.
    """
    J, W, y0, b = (p[k].astype(np.float64) for k in ("J", "W", "y0", "b"))
    h = p["x0"].astype(np.float64)
    target = p["target"].astype(np.float64)
    total = 0.0
    for t in range(target.shape[0]):
        h = np.tanh(h @ J.T + b)
        total += ((h @ W.T + y0 - target[t]) ** 2).sum()
    return total / (target.size * h.shape[0])


def check_loss(label, got, want):
    """Print the check line; exit 1 if the framework disagrees with numpy."""
    rel = abs(got - want) / max(abs(want), 1e-12)
    ok = rel <= LOSS_RTOL
    print(
        f"check {label}: step-0 loss {got:.7f} vs numpy {want:.7f} "
        f"(rel {rel:.1e}, tol {LOSS_RTOL:.0e}) {'ok' if ok else 'FAILED'}",
        file=sys.stderr,
    )
    if not ok:
        sys.exit(1)
    return got


def summarize(times_ms):
    """Median, p10, p90 indexed like benches/train_step.rs (sorted[len*k/10])."""
    s = sorted(times_ms)
    return s[len(s) // 2], s[len(s) // 10], s[len(s) * 9 // 10]


def report(args, impl, threads, times_ms, **extra):
    med, p10, p90 = summarize(times_ms)
    row = {
        "impl": impl,
        "threads": threads,
        "n": args.n,
        "batch": args.batch,
        "seq": args.seq,
        "median_ms": round(med, 3),
        "p10_ms": round(p10, 3),
        "p90_ms": round(p90, 3),
        "runs": len(times_ms),
    }
    row.update(extra)
    if args.json:
        print(json.dumps(row), flush=True)
    else:
        print(
            f"{impl} threads={threads} N={args.n} batch={args.batch} seq={args.seq}: "
            f"median {med:.2f} ms, p10 {p10:.2f} ms, p90 {p90:.2f} ms ({len(times_ms)} runs)",
            flush=True,
        )
