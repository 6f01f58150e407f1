"""Groups `perf report --no-children --sort dso,symbol --stdio -q` lines
(stdin) into the parts of a training step; prints JSON (bench/profile_step.sh).

Each line reads `  12.34%  dso  [.] symbol`; `[k]` marks kernel code."""

import json
import re
import sys
import time

# First match wins; a symbol that matches none counts as "the rest".
PARTS = [
    ("the GEMMs: per-step products, outputs, weight gradients",
     r"kernels::(gemm_on|gemm_body|block_avx512|row_tile|panel_passes|micro|store_block|Lhs.*interleave)"),
    ("backward tanh′ step (reads r and g_{k+1}, writes g_k, all in panels)", r"kernels::tanh_backprop"),
    ("forward tanh, into the panels", r"kernels::tanh_(rows|into)"),
    ("packing the weights and the output errors (once per call)", r"PackedRhs::(pack|set_rows)"),
    ("Euler step", r"kernels::euler_step"),
    ("bias gradient's column sums", r"column_sums"),
    ("the kernel: page faults, thread start-up, scheduling", r"^\[k\]"),
]
LINE = re.compile(r"^\s*([0-9.]+)%\s+(\S+)\s+(\[.\]\s+.*?)\s*(-\s+-\s*)?$")


def main():
    shares = {name: 0.0 for name, _ in PARTS}
    rest = 0.0
    lines = 0
    for line in sys.stdin:
        m = LINE.match(line)
        if not m:
            continue
        lines += 1
        pct, sym = float(m.group(1)), m.group(3)
        for name, pat in PARTS:
            if re.search(pat, sym):
                shares[name] += pct
                break
        else:
            rest += pct
    parts = [{"part": name, "percent": round(shares[name], 2)} for name, _ in PARTS]
    parts.append({"part": "the rest (Adam, clipping, the loss, allocation, …)", "percent": round(rest, 2)})
    if lines == 0:
        sys.exit("profile_parts: no line of perf report's output parsed")
    json.dump({
        "command": "taskset -c 0 " + sys.argv[1] + " 256 16 200 under perf record",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "parts": parts,
    }, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
