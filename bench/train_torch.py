"""PyTorch (CPU) peers for the Rust train step: forward + backward + clip + Adam.

Two implementations, each timed at every thread count in --threads:
  torch-loop  the leaky rate network as a researcher writes it: a Python loop
              of x = x + alpha*(-x + tanh(x) J^T + b) under autograd. This is
              the same model as ours and is checked against numpy.
  torch-rnn   torch.nn.RNN(nonlinearity='tanh'): the closest built-in. It is a
              discrete, non-leaky RNN (h' = tanh(W_ih u + b_ih + W_hh h + b_hh)),
              so not our model, but the same sizes, data, readout, loss, clip
              and optimiser; it shows what the fused ATen recurrence costs.

Usage: python train_torch.py --n 256 --batch 16 --seq 200 --steps 50 --warmup 10 --json
"""

import sys
import time

import torch
import torch.nn.functional as F

import problem
from problem import ALPHA, CLIP, LR


def leaky_loop(p):
    """Returns (params, loss_fn) for the explicit leaky-RNN loop."""
    J = torch.tensor(p["J"], requires_grad=True)
    W = torch.tensor(p["W"], requires_grad=True)
    y0 = torch.tensor(p["y0"], requires_grad=True)
    b = torch.tensor(p["b"], requires_grad=True)
    x0 = torch.tensor(p["x0"])
    target = torch.tensor(p["target"])

    def loss_fn():
        x = x0
        states = []
        # No per-step input tensor exists here, so there is nothing to index
        # inside the loop (the x[t]-on-a-grad-tensor trap, see DESIGN §6, does
        # not arise); the readout is one batched matmul after the loop.
        for _ in range(target.shape[0]):
            x = x + ALPHA * (-x + F.linear(torch.tanh(x), J, b))
            states.append(x)
        yhat = F.linear(torch.tanh(torch.stack(states)), W, y0)  # T x B x D
        return ((yhat - target[:, None, :]) ** 2).mean()

    return [J, W, y0, b], loss_fn


def builtin_rnn(p):
    """Returns (params, loss_fn) for torch.nn.RNN with the same sizes and data."""
    n = p["J"].shape[0]
    seq, batch = p["target"].shape[0], p["x0"].shape[0]
    # Input size 1 with zero input: our network has no per-step input, the
    # constant drive is the bias. The input projection is then negligible.
    rnn = torch.nn.RNN(input_size=1, hidden_size=n, nonlinearity="tanh")
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(torch.tensor(p["J"]))
        rnn.bias_hh_l0.copy_(torch.tensor(p["b"]))
        rnn.bias_ih_l0.zero_()
    W = torch.tensor(p["W"], requires_grad=True)
    y0 = torch.tensor(p["y0"], requires_grad=True)
    u = torch.zeros(seq, batch, 1)
    h0 = torch.tensor(p["x0"])[None]  # 1 x B x N
    target = torch.tensor(p["target"])

    def loss_fn():
        hs, _ = rnn(u, h0)  # T x B x N: the states after each step
        yhat = F.linear(hs, W, y0)
        return ((yhat - target[:, None, :]) ** 2).mean()

    return list(rnn.parameters()) + [W, y0], loss_fn


def time_training(params, loss_fn, steps, warmup):
    opt = torch.optim.Adam(params, lr=LR)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def main():
    args = problem.parse_args(
        __doc__.splitlines()[0],
        lambda p: p.add_argument(
            "--threads",
            default="1,2",
            help="comma-separated torch intra-op thread counts to time (default 1,2)",
        ),
    )
    try:
        thread_counts = [int(t) for t in args.threads.split(",")]
        if any(t <= 0 for t in thread_counts):
            raise ValueError
    except ValueError:
        print(f"error: --threads must be positive integers like 1,2, got '{args.threads}'", file=sys.stderr)
        sys.exit(2)

    p = problem.make_problem(args.n, args.batch, args.seq, args.seed)
    impls = [
        ("torch-loop (leaky, python loop)", leaky_loop, problem.reference_loss_leaky, None),
        (
            "torch nn.RNN (closest built-in: discrete, not leaky)",
            builtin_rnn,
            problem.reference_loss_discrete,
            "torch.nn.RNN tanh is h'=tanh(W_hh h + b), the closest built-in; not the leaky model",
        ),
    ]
    print(f"torch {torch.__version__}, N={args.n} B={args.batch} T={args.seq}", file=sys.stderr)
    for name, build, reference, note in impls:
        # Check before timing: a fast wrong model is worth nothing.
        _, loss_fn = build(p)
        with torch.no_grad():
            loss0 = problem.check_loss(name, loss_fn().item(), reference(p))
        for threads in thread_counts:
            torch.set_num_threads(threads)
            # Fresh weights for every run so each starts from the same point.
            params, loss_fn = build(p)
            times = time_training(params, loss_fn, args.steps, args.warmup)
            extra = {"note": note} if note else {}
            problem.report(args, name, threads, times, loss0=loss0, torch=torch.__version__, **extra)


if __name__ == "__main__":
    main()
