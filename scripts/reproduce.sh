#!/usr/bin/env bash
# Regenerates every number and picture in docs/results.md:
#   scripts/reproduce.sh            # train + evaluate what is missing, then report
#   scripts/reproduce.sh train      # only train + evaluate what is missing
#   scripts/reproduce.sh report     # only the report, from the results so far
# The configs are config/repro/*.yaml (written by scripts/repro_configs.sh).
# Libraries go to $RUNS (default runs/repro, not committed: ≈0.1–4 MB each);
# each run's evaluation goes to $RESULTS (default docs/repro, committed) as
# <name>.eval.json beside <name>.sha256, the hash of the config it came from.
#
# Resumable across machines: a run whose committed result carries its
# config's hash is done and skipped; a library trained in $RUNS with the same
# hash is evaluated without retraining. Each library is evaluated as soon as
# it is trained, so every finished run is a result that can be committed
# while the rest still trains (the whole grid is several hours on 2 cores).
# FORCE=1 redoes everything. Training runs one library at a time at the
# lowest priority (nice 19), so it can share the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs/repro}
RESULTS=${RESULTS:-docs/repro}
PHASE=${1:-all}
BIN=${CARGO_TARGET_DIR:-target}/release/motif_train
cargo build --release --bin motif_train >&2
mkdir -p "$RUNS" "$RESULTS/prep_sweep" docs/plots

# Training order: the cells that carry the verdict first, so a partial run is
# already a table: seed 1 of the input design, then the loop design, then the
# second seed, then N = 512.
names() {
    for f in config/repro/*.yaml; do
        local name n group
        name=$(basename "$f" .yaml)
        n=${name#*_n}
        n=${n%%_*}
        case $name in
            *_n512_*) group=4 ;;
            *_loop_s2) group=3 ;;
            *_s2) group=2 ;;
            *_loop) group=1 ;;
            *) group=0 ;;
        esac
        printf '%s %05d %s\n' "$group" "$n" "$name"
    done | sort | awk '{ print $3 }'
}
config_hash() { sha256sum "config/repro/$1.yaml" | cut -d' ' -f1; }
same_hash() { [[ -z ${FORCE:-} && -f $1 && $(cat "$1") == "$(config_hash "$2")" ]]; }
trained() { same_hash "$RUNS/$1.sha256" "$1"; }
done_run() { same_hash "$RESULTS/$1.sha256" "$1"; }
# The chaining ratio against the preparation length at evaluation (the
# prototype's 5–8 τ curve), for the N = 128 thalamocortical libraries.
swept() { [[ $1 =~ _n128_tc-(leak|opt)(_loop)?$ ]]; }
SWEEP_TAU="2 3 4 5 6 7 8 10 12"

if [[ $PHASE == all || $PHASE == train ]]; then
    todo=()
    for name in $(names); do done_run "$name" || todo+=("$name"); done
    # The estimate: each run's family and N at the training + evaluation time
    # of the runs already finished here (docs/repro/: this grid, this
    # machine), else of the last report (docs/results.json); a size not seen
    # yet scales from half (4×) or a quarter (16×) of it, the step being O(N²).
    python3 - "$RESULTS" "${todo[@]}" <<'EOF' >&2
import glob, json, statistics, sys
seen = {}
for p in glob.glob(sys.argv[1] + "/*.eval.json"):
    try:
        r = json.load(open(p))
    except (OSError, ValueError):
        continue
    if r.get("train_seconds"):
        family = r["library"].rstrip("/").split("/")[-1].split("_")[0]
        seen.setdefault((family, r.get("n")), []).append(r["train_seconds"] + r.get("eval_seconds", 0))
source = "the runs finished in " + sys.argv[1]
if not seen:
    try:
        old = json.load(open("docs/results.json"))["runs"]
    except (OSError, ValueError, KeyError):
        old = []
    for r in old:
        if r.get("train_seconds"):
            seen.setdefault((r.get("family"), r.get("n")), []).append(r["train_seconds"])
    source = "the training times in docs/results.json"
def cost(name):
    family, n = name.split("_")[0], int(name.split("_")[1][1:])
    for m, scale in ((n, 1), (n // 2, 4), (n // 4, 16)):
        if (family, m) in seen:
            return statistics.median(seen[(family, m)]) * scale
    return None
todo = sys.argv[2:]
known = [c for c in map(cost, todo) if c is not None]
if todo:
    est = sum(known) / max(len(known), 1) * len(todo)
    print(f"{len(todo)} runs to train and evaluate, about {est / 3600:.1f} h on this machine (from {source})")
EOF
    # One build for the whole run, so rebuilding motif_train meanwhile cannot
    # change what trains the remaining libraries.
    run_bin=$RUNS/.motif_train
    cp "$BIN" "$run_bin"
    for name in "${todo[@]}"; do
        lib=$RUNS/$name
        if ! trained "$name"; then
            echo "$(date +%H:%M) train $name" >&2
            rm -f "$lib.sha256"
            nice -n 19 "$run_bin" train --config "config/repro/$name.yaml" --out "$lib" --force \
                2>"$lib.train.log"
            if [[ $name == *_add ]]; then
                # The motif left out of the config, added to the trained library.
                full=config/repro/${name%_add}.yaml
                last=$(grep -o 'name: [a-z_0-9]*' "$full" | tail -1 | cut -d' ' -f2)
                nice -n 19 "$run_bin" add --library "$lib" --from-config "$full" --name "$last" \
                    2>>"$lib.train.log"
            fi
            config_hash "$name" >"$lib.sha256"
        fi
        echo "$(date +%H:%M) eval $name" >&2
        plots=()
        # Plots for the N = 128 input-design libraries only: enough to see each mode per family.
        [[ $name == *_n128_base1.0 || $name == *_n128_tc-leak || $name == *_n128_tc-opt ]] &&
            plots=(--plots "docs/plots/$name")
        rm -f "$RESULTS/$name.sha256"
        nice -n 19 "$run_bin" eval --library "$lib" --json "${plots[@]}" >"$RESULTS/$name.eval.json.tmp"
        mv "$RESULTS/$name.eval.json.tmp" "$RESULTS/$name.eval.json"
        if swept "$name"; then
            for t in $SWEEP_TAU; do
                out=$RESULTS/prep_sweep/${name}_prep$t.eval.json
                nice -n 19 "$run_bin" eval --library "$lib" --json --prep-tau "$t" \
                    --preemption-starts 0 >"$out.tmp"
                mv "$out.tmp" "$out"
            done
        fi
        # Last: the hash marks the run (and its sweep) complete.
        config_hash "$name" >"$RESULTS/$name.sha256"
    done
fi

if [[ $PHASE == all || $PHASE == report ]]; then
    # What the node publishes from the default library, against the raw network.
    PUBLISHED_STREAM_JSON=$PWD/$RESULTS/published_stream.json \
        cargo test --release --test published_stream >&2
    "$BIN" report --runs "$RESULTS" --json docs/results.json \
        --sweep-plot docs/plots/prep_sweep.png --size-plot docs/plots/size.png \
        --published "$RESULTS/published_stream.json" >docs/results_table.md
    # Splice the generated tables into docs/results.md between its markers, so
    # no number in the document is typed by hand.
    if [[ -f docs/results.md ]]; then
        awk -v table=docs/results_table.md '
            /<!-- BEGIN GENERATED TABLE -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
            /<!-- END GENERATED TABLE -->/ { skip = 0 }
            !skip { print }
        ' docs/results.md >docs/results.md.tmp && mv docs/results.md.tmp docs/results.md
    fi
    echo "wrote docs/results.json, docs/results_table.md, docs/results.md tables and docs/plots/" >&2
fi
