#!/usr/bin/env bash
# Training-step benchmark: our Rust trainer against PyTorch and JAX on the same
# problem (see problem.py), then a scaling sweep of ours alone.
#
#   bench/training.sh                      # everything, ~5-10 min on 2 cores
#   BENCH_NS="128 256" bench/training.sh   # fewer sizes
#   BENCH_PEERS=0 bench/training.sh        # ours only (no venv needed then)
#
# Writes bench/results/training.jsonl (one JSON object per implementation and
# size, with "suite": "compare" or "scaling") and prints markdown tables.
# Other load on the machine shows up directly in these numbers: run it idle.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

NS="${BENCH_NS:-128 256 512}"
BATCH="${BENCH_BATCH:-16}"
SEQ="${BENCH_SEQ:-200}"
STEPS="${BENCH_STEPS:-50}"
WARMUP="${BENCH_WARMUP:-10}"
# The Python loops take ~0.2-0.5 s a step at N=512; fewer steps there keep the
# whole run within ~15 min without changing the median much.
LARGE_N="${BENCH_LARGE_N:-512}"
STEPS_LARGE="${BENCH_STEPS_LARGE:-20}"
WARMUP_LARGE="${BENCH_WARMUP_LARGE:-5}"
PEERS="${BENCH_PEERS:-1}"
SWEEP="${BENCH_SWEEP:-1}"
TORCH_THREADS="${BENCH_TORCH_THREADS:-1,2}"

results="$here/results"
out="$results/training.jsonl"
mkdir -p "$results"
: > "$out"

# Adds "suite" to each JSON line on stdin and appends it to $out (and shows it).
# Also the 1-minute load average when the line arrives: on a shared 2-core
# machine a busy neighbour moves the numbers more than anything we vary.
tag() {
    python3 -c '
import json, os, sys
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        row = json.loads(line)
        row["suite"] = sys.argv[1]
        row["load1"] = round(os.getloadavg()[0], 2)
        print(json.dumps(row), flush=True)
' "$1" | tee -a "$out"
}

# One JSON line for our trainer at N B T; extra leading words (e.g. `taskset
# -c 0`) wrap the run. The trainer uses every CPU it may run on, so pinning to
# one core gives the single-thread figure. OURS_ISA caps the kernels'
# instruction set (plain, avx2, avx512).
ours() {
    local n="$1" b="$2" t="$3"
    shift 3
    (cd "$repo" && "$@" cargo bench --quiet --bench train_step -- --json "$n" "$b" "$t" ${OURS_ISA:+--isa=$OURS_ISA} 2>>"$results/cargo.log") |
        grep -m1 '^{'
}

# Build first so that compiling never overlaps a timed run.
echo "== building the train_step bench (release; slow the first time)" >&2
(cd "$repo" && cargo bench --bench train_step --no-run 2>&1 | tail -n 2) >&2

if [ "$PEERS" = 1 ]; then
    echo "== setting up bench/.venv (large download the first time)" >&2
    "$here/setup_venv.sh"
    # Let the install's writes reach the disk before anything is timed.
    sync
fi
py="$here/.venv/bin/python"

for n in $NS; do
    steps="$STEPS" warmup="$WARMUP"
    if [ "$n" -ge "$LARGE_N" ]; then steps="$STEPS_LARGE" warmup="$WARMUP_LARGE"; fi
    echo "== N=$n B=$BATCH T=$SEQ" >&2
    ours "$n" "$BATCH" "$SEQ" taskset -c 0 | tag compare
    ours "$n" "$BATCH" "$SEQ" | tag compare
    if [ "$PEERS" = 1 ]; then
        common=(--n "$n" --batch "$BATCH" --seq "$SEQ" --steps "$steps" --warmup "$warmup" --json)
        "$py" "$here/train_torch.py" "${common[@]}" --threads "$TORCH_THREADS" | tag compare
        # JAX ignores its thread flags here (DESIGN §6): pin with taskset for one core.
        taskset -c 0 "$py" "$here/train_jax.py" "${common[@]}" | tag compare
        "$py" "$here/train_jax.py" "${common[@]}" | tag compare
    fi
done

# The kernels' narrower path in the same run, so the AVX-512 gain is a ratio
# of two figures taken minutes apart (on a CPU without AVX-512 both are AVX2).
echo "== ours with the kernels capped at AVX2, N=256" >&2
OURS_ISA=avx2 ours 256 "$BATCH" "$SEQ" taskset -c 0 | tag isa
OURS_ISA=avx2 ours 256 "$BATCH" "$SEQ" | tag isa

if [ "$SWEEP" = 1 ]; then
    echo "== scaling sweep of ours: T at N=256, then N at T=200" >&2
    for t in 50 100 200 400; do ours 256 "$BATCH" "$t" | tag scaling; done
    for n in 64 128 256 512; do ours "$n" "$BATCH" 200 | tag scaling; done
fi

echo >&2
python3 "$here/summarize.py" "$out"
