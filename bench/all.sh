#!/usr/bin/env bash
# Every figure in docs/benchmarks.md, in one run on this machine:
#
#   bench/all.sh            # ≈ 15–20 min; run it on an otherwise idle machine
#
# 0. this CPU's ceilings: FMA peak, L1/L2 read rate    (benches/fma_peak.rs)
# 1. control tick vs the matvec floor, N = 128…1024   (benches/tick_scaling.rs)
# 2. the 1 kHz loop, idle and loaded, sleep vs spin    (benches/control_tick.rs)
# 3. training step vs PyTorch and JAX                  (bench/training.sh)
#    and where one core's step spends its time        (bench/profile_step.sh)
# 4. the wire and the node's footprint                 (bench/wire.sh)
# 5. the default library against DMPs                  (bench/dmp_peer.sh)
# then bench/report.py writes docs/benchmarks.md, docs/plots/tick_vs_n.png and
# copies the raw results to docs/bench/.
# BENCH_LOOP_SECS (default 60) sets the loop's seconds per case.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
results="$here/results"
loop_secs="${BENCH_LOOP_SECS:-60}"
mkdir -p "$results" "$repo/docs/plots"
cd "$repo"

echo "== building (release)" >&2
cargo build --release --bins 2>&1 | tail -n 1 >&2
cargo bench --no-run --bench fma_peak --bench tick_scaling --bench control_tick --bench train_step 2>&1 | tail -n 1 >&2

python3 - "$results/machine.json" <<'PY'
import json, os, platform, subprocess, sys, time
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
json.dump({"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(), "rustc": rustc,
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "load1_at_start": round(os.getloadavg()[0], 2)}, open(sys.argv[1], "w"), indent=1)
PY

# The peers' venv first: its install (≈3 GB the first time) and the kernel's
# writing it back to disk slowed the timed runs that followed it by up to 20 %.
echo "== setting up bench/.venv" >&2
"$here/setup_venv.sh"
sync

echo "== 0. this CPU's ceilings" >&2
cargo bench --quiet --bench fma_peak -- --json "$results/peak.json"
echo "== 1. control tick vs matvec floor" >&2
cargo bench --quiet --bench tick_scaling -- --json "$results/tick.json" \
    --plot "$repo/docs/plots/tick_vs_n.png"
echo "== 2. fixed-rate loop, $loop_secs s per case" >&2
cargo bench --quiet --bench control_tick -- "$loop_secs" --json "$results/loop.json"
echo "== 3. training vs PyTorch and JAX" >&2
"$here/training.sh"
"$here/profile_step.sh"
echo "== 4. wire and footprint" >&2
"$here/wire.sh" --out "$results/wire.json"
echo "== 5. against DMPs" >&2
"$here/dmp_peer.sh"

python3 "$here/report.py" "$results" "$repo/docs"
echo "wrote docs/benchmarks.md" >&2
