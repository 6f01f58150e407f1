"""Markdown tables from bench/results/training.jsonl (written by training.sh).

Comparison table: one row per (N, impl, threads), median ms, and the ratio
peer median / our median at the same N, B, T and thread count (> 1 means
ours is faster).
Scaling table: our median per T at fixed N and per N at fixed T.
Standard library only, so it runs with any python3.
"""

import json
import sys

OURS = "motif (rust)"


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def comparison(rows):
    rows = [r for r in rows if r.get("suite") == "compare"]
    # Peers are compared with ours at the same thread count.
    ours = {(r["n"], r["batch"], r["seq"], r["threads"]): r["median_ms"] for r in rows if r["impl"] == OURS}
    print("| N | B | T | impl | threads | median ms | p10–p90 ms | ratio vs ours, same threads |")
    print("|---:|---:|---:|---|---:|---:|---:|---:|")
    # Ours first within each N, then peers in the order they ran.
    rows = sorted(rows, key=lambda r: (r["n"], r["batch"], r["seq"], r["impl"] != OURS))
    for r in rows:
        base = ours.get((r["n"], r["batch"], r["seq"], r["threads"]))
        ratio = f"{r['median_ms'] / base:.2f}" if base else "–"
        print(
            f"| {r['n']} | {r['batch']} | {r['seq']} | {r['impl']} | {r['threads']} "
            f"| {r['median_ms']:.2f} | {r['p10_ms']:.2f}–{r['p90_ms']:.2f} | {ratio} |"
        )
    notes = {r["impl"]: r["note"] for r in rows if r.get("note")}
    for impl, note in notes.items():
        print(f"\nNote ({impl}): {note}")
    compiles = [r for r in rows if "compile_s" in r]
    if compiles:
        print("\nJAX compile time (excluded from the step times): " + ", ".join(
            f"N={r['n']} {r['impl']}: {r['compile_s']:.1f} s" for r in compiles))


def cross_check(rows):
    """The leaky peers (torch loop, JAX) must start from the same loss: same
    numpy weights, same model. Returns False if any pair differs by > 1e-4."""
    ok = True
    by_size = {}
    for r in rows:
        if r.get("suite") == "compare" and "loss0" in r and "nn.RNN" not in r["impl"]:
            by_size.setdefault((r["n"], r["batch"], r["seq"]), {})[r["impl"]] = r["loss0"]
    for size, losses in sorted(by_size.items()):
        lo, hi = min(losses.values()), max(losses.values())
        rel = (hi - lo) / abs(lo)
        good = rel <= 1e-4
        ok &= good
        print(f"\nStep-0 loss, leaky peers at N={size[0]}: {lo:.7f}..{hi:.7f} "
              f"(rel spread {rel:.1e}, {len(losses)} impls) {'agree' if good else 'DISAGREE'}")
    return ok


def scaling(rows):
    rows = [r for r in rows if r.get("suite") == "scaling"]
    if not rows:
        return
    print("\nScaling of ours (median ms per train step; per step of T in the last column):\n")
    print("| N | B | T | median ms | p10–p90 ms | µs per time step |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['n']} | {r['batch']} | {r['seq']} | {r['median_ms']:.2f} "
            f"| {r['p10_ms']:.2f}–{r['p90_ms']:.2f} | {1e3 * r['median_ms'] / r['seq']:.1f} |"
        )


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "bench/results/training.jsonl"
    rows = load(path)
    print("Train step = forward + backward + global-norm clip 1.0 + Adam, f32, D = 2.")
    print("ratio = impl median / ours at the same N, B, T (> 1: ours is faster).\n")
    comparison(rows)
    ok = cross_check(rows)
    scaling(rows)
    if not ok:
        sys.exit("summarize: the leaky peers disagree on the step-0 loss")


if __name__ == "__main__":
    main()
