#!/usr/bin/env bash
# Where one core's training step spends its time: `perf record` on the
# train_step bench (N = 256, B = 16, T = 200) pinned to core 0, self time by
# function, grouped into the step's parts.
#
#   bench/profile_step.sh            # writes bench/results/profile.json
#
# bench/report.py turns it into the "where the time goes" table of
# docs/benchmarks.md. Without perf (Debian: linux-perf) it says so and writes
# nothing; the report then says the run has no profile.
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
# The bench's executable, from cargo's own JSON (any CARGO_TARGET_DIR, any colour).
if ! built="$(cd "$repo" && cargo bench --bench train_step --no-run --message-format=json 2>"$results/cargo.log")"; then
    echo "profile_step: building the train_step bench failed (see $results/cargo.log)" >&2
    exit 1
fi
bin="$(printf '%s\n' "$built" | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line) if line.startswith("{") else {}
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "train_step" and m.get("executable"):
        print(m["executable"])
')"
[ -x "$bin" ] || { echo "profile_step: cargo named no train_step executable" >&2; exit 1; }

data="$(mktemp)"
out="$(mktemp)"
trap 'rm -f "$data" "$out"' EXIT
if ! perf record -q -o "$data" -- taskset -c 0 "$bin" 256 16 200 >"$out" 2>&1; then
    echo "profile_step: perf record failed (perf_event_paranoid, or the bench itself); skipping the profile:" >&2
    tail -n 5 "$out" >&2
    exit 0
fi
perf report -i "$data" --no-children --sort dso,symbol --stdio -q >"$out"
python3 "$here/profile_parts.py" "$bin" <"$out" >"$results/profile.json.part"
mv "$results/profile.json.part" "$results/profile.json"
echo "profile_step: wrote $results/profile.json" >&2
