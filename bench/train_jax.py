"""JAX (CPU, XLA) peer for the Rust train step: forward + backward + clip + Adam.

The leaky rate network as lax.scan under jit, value_and_grad, and
optax.chain(clip_by_global_norm(1.0), adam(1e-3)): the idiomatic JAX version
of our model. Compile time is measured separately and excluded from the step
times. JAX's thread flags had no effect on this machine (DESIGN §6), so the
core count is set from outside: run it under `taskset -c 0` for one core. The
"threads" field reports the cores this process may run on.

Usage: taskset -c 0 python train_jax.py --n 256 --batch 16 --seq 200 --steps 50 --warmup 10 --json
"""

import os
import sys
import time

import jax
import jax.numpy as jnp
import optax

import problem
from problem import ALPHA, CLIP, LR


def loss_fn(params, x0, target):
    J, W, y0, b = params["J"], params["W"], params["y0"], params["b"]

    def step(x, _):
        x = x + ALPHA * (-x + jnp.tanh(x) @ J.T + b)
        return x, x

    _, states = jax.lax.scan(step, x0, None, length=target.shape[0])  # T x B x N
    yhat = jnp.tanh(states) @ W.T + y0
    return jnp.mean((yhat - target[:, None, :]) ** 2)


def main():
    args = problem.parse_args(__doc__.splitlines()[0])
    p = problem.make_problem(args.n, args.batch, args.seq, args.seed)
    cores = len(os.sched_getaffinity(0))
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {cores} core(s), "
          f"N={args.n} B={args.batch} T={args.seq}", file=sys.stderr)

    params = {k: jnp.asarray(p[k]) for k in ("J", "W", "y0", "b")}
    # x0 and target are arguments, not closure constants, so XLA cannot fold
    # the first steps of the recurrence at compile time.
    x0 = jnp.asarray(p["x0"])
    target = jnp.asarray(p["target"])

    loss0 = problem.check_loss("jax lax.scan (leaky)", float(jax.jit(loss_fn)(params, x0, target)),
                               problem.reference_loss_leaky(p))

    opt = optax.chain(optax.clip_by_global_norm(CLIP), optax.adam(LR))

    def train_step(params, opt_state, x0, target):
        loss, grads = jax.value_and_grad(loss_fn)(params, x0, target)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    opt_state = opt.init(params)
    t0 = time.perf_counter()
    step = jax.jit(train_step).lower(params, opt_state, x0, target).compile()
    compile_s = time.perf_counter() - t0

    for _ in range(args.warmup):
        params, opt_state, loss = step(params, opt_state, x0, target)
    jax.block_until_ready(params)
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        params, opt_state, loss = step(params, opt_state, x0, target)
        # Dispatch is asynchronous: wait for the results or we time nothing.
        jax.block_until_ready((params, opt_state, loss))
        times.append((time.perf_counter() - t0) * 1e3)

    impl = "jax lax.scan jit (pinned 1 core)" if cores == 1 else f"jax lax.scan jit ({cores} cores)"
    problem.report(args, impl, cores, times, compile_s=round(compile_s, 2), loss0=loss0, jax=jax.__version__)
    if not args.json:
        print(f"compile {compile_s:.2f} s (excluded)")


if __name__ == "__main__":
    main()
