#!/usr/bin/env bash
# Where one core's training step spends its time: `perf record` on the
# train_step bench (N = 256, B = 16, T = 200) pinned to core 0, self time by
# function, grouped into the step's parts.
#
#   bench/profile_step.sh            # writes bench/results/profile.json
#
# bench/report.py turns it into the "where the time goes" table of
# docs/benchmarks.md. Without perf (Debian: linux-perf) it says so and writes
# nothing; the report then leaves the table out.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
results="$here/results"
mkdir -p "$results"
rm -f "$results/profile.json"

if ! command -v perf >/dev/null; then
    echo "profile_step: no perf on this machine; skipping the profile" >&2
    exit 0
fi
bin="$(cd "$repo" && cargo bench --bench train_step --no-run 2>&1 |
    sed -n 's/.*Executable .*(\(.*\))$/\1/p' | head -n 1)"
[ -x "$repo/$bin" ] || { echo "profile_step: no train_step bench binary" >&2; exit 1; }

data="$(mktemp)"
trap 'rm -f "$data"' EXIT
if ! perf record -q -o "$data" -- taskset -c 0 "$repo/$bin" 256 16 200 >/dev/null 2>&1; then
    echo "profile_step: perf record failed (perf_event_paranoid?); skipping the profile" >&2
    exit 0
fi
perf report -i "$data" --no-children --sort dso,symbol --stdio -q 2>/dev/null |
    python3 "$here/profile_parts.py" "$bin" >"$results/profile.json"
echo "profile_step: wrote $results/profile.json" >&2
