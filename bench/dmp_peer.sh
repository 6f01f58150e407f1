#!/usr/bin/env bash
# Our library against DMPs (movement_primitives) and "Ruckig then DMP" on the
# same demonstrations: bench/dmp_peer.sh [LIBRARY] (default models/default).
# Creates bench/.venv-dmp (pinned, ≈150 MB) the first time; writes
# bench/results/dmp_peer.json and docs/dmp_peer.md (bench/all.sh runs it and
# bench/report.py puts the table in docs/benchmarks.md).
# Not run by CI.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
lib="${1:-$root/models/default}"
venv="$here/.venv-dmp"
pins=(numpy==2.4.6 scipy==1.17.1 pytransform3d==3.17.0 movement-primitives==0.9.1 ruckig==0.19.4 pyyaml==6.0.3)
if ! [ -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import movement_primitives, ruckig, yaml, pytransform3d' 2>/dev/null; then
    echo "dmp_peer: creating $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
fi
bin="${CARGO_TARGET_DIR:-$root/target}/release/motif_train"
cargo build --release --quiet --bin motif_train --manifest-path "$root/Cargo.toml"
cargo bench --quiet --bench control_tick --manifest-path "$root/Cargo.toml" --no-run
mkdir -p "$here/results"
# Our per-step cost: the control tick's network-step ticks (1 s loop cases).
tick_us="$(cargo bench --quiet --bench control_tick --manifest-path "$root/Cargo.toml" -- 1 \
    | sed -n 's/^tick compute, network step *: p50 *\([0-9.]*\) µs.*/\1/p')"
eval_json="$(mktemp)"
trap 'rm -f "$eval_json"' EXIT
"$bin" eval --library "$lib" --json --sequences 0 > "$eval_json"
# One thread: the per-step times compare single-core work.
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$venv/bin/python" "$here/dmp_peer.py" \
    --library "$lib" --eval-json "$eval_json" --tick-us "$tick_us" \
    --json "$here/results/dmp_peer.json" --markdown "$root/docs/dmp_peer.md"
