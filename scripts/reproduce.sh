#!/usr/bin/env bash
# Regenerates every number and picture in docs/results.md:
#   scripts/reproduce.sh            # train (resumes), evaluate, report
#   scripts/reproduce.sh train      # only train
#   scripts/reproduce.sh eval       # only evaluate + report (what is trained so far)
# The configs are config/repro/*.yaml (written by scripts/repro_configs.sh).
# Libraries go to $RUNS (default runs/repro, not committed); results to docs/.
#
# Resumable: a library is skipped when $RUNS/<name>.sha256 holds the hash of
# its config (written once training finished), so an interrupted run picks up
# where it stopped; FORCE=1 retrains everything. An evaluation is redone when
# the motif_train binary is newer than its JSON. Training runs one library at
# a time at the lowest priority (nice 19), so it can share the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs/repro}
PHASE=${1:-all}
BIN=${CARGO_TARGET_DIR:-target}/release/motif_train
cargo build --release --bin motif_train >&2
mkdir -p "$RUNS" docs/plots

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
trained() { [[ -z ${FORCE:-} && -f $RUNS/$1.sha256 && $(cat "$RUNS/$1.sha256") == "$(config_hash "$1")" ]]; }

if [[ $PHASE == all || $PHASE == train ]]; then
    todo=()
    for name in $(names); do trained "$name" || todo+=("$name"); done
    # The estimate: each library's family and N at the training time the last
    # report measured (docs/results.json), N = 512 at 4× N = 256 (the step is
    # O(N²)); loop and input designs alike.
    python3 - "${todo[@]}" <<'EOF' >&2
import json, statistics, sys
try:
    runs = json.load(open("docs/results.json"))["runs"]
except (OSError, ValueError, KeyError):
    runs = []
seen = {}
for r in runs:
    if r.get("train_seconds"):
        seen.setdefault((r.get("family"), r.get("n")), []).append(r["train_seconds"])
def cost(name):
    family, n = name.split("_")[0], int(name.split("_")[1][1:])
    for m, scale in ((n, 1), (n // 2, 4), (n // 4, 16)):
        if (family, m) in seen:
            return statistics.median(seen[(family, m)]) * scale
    return None
todo = sys.argv[1:]
known = [c for c in map(cost, todo) if c is not None]
if todo:
    est = sum(known) / max(len(known), 1) * len(todo)
    print(f"{len(todo)} libraries to train, about {est / 3600:.1f} h on this machine "
          f"(from the training times in docs/results.json)")
EOF
    # One build for the whole run, so rebuilding motif_train meanwhile cannot
    # change what trains the remaining libraries.
    train_bin=$RUNS/.motif_train
    cp "$BIN" "$train_bin"
    for name in "${todo[@]}"; do
        lib=$RUNS/$name
        echo "$(date +%H:%M) train $name" >&2
        rm -f "$lib.sha256"
        nice -n 19 "$train_bin" train --config "config/repro/$name.yaml" --out "$lib" --force \
            2>"$lib.train.log"
        if [[ $name == *_add ]]; then
            # The motif left out of the config, added to the trained library.
            full=config/repro/${name%_add}.yaml
            last=$(grep -o 'name: [a-z_0-9]*' "$full" | tail -1 | cut -d' ' -f2)
            nice -n 19 "$train_bin" add --library "$lib" --from-config "$full" --name "$last" \
                2>>"$lib.train.log"
        fi
        config_hash "$name" >"$lib.sha256"
    done
fi

if [[ $PHASE == all || $PHASE == eval ]]; then
    fresh() { [[ -f $1 && $1 -nt $BIN ]]; }
    for name in $(names); do
        trained "$name" || continue
        out=$RUNS/$name.eval.json
        fresh "$out" && continue
        plots=()
        # Plots for the N = 128 input-design libraries only: enough to see each mode per family.
        [[ $name == *_n128_base1.0 || $name == *_n128_tc-leak || $name == *_n128_tc-opt ]] &&
            plots=(--plots "docs/plots/$name")
        echo "eval $name" >&2
        nice -n 10 "$BIN" eval --library "$RUNS/$name" --json "${plots[@]}" >"$out.tmp"
        mv "$out.tmp" "$out"
    done
    # The chaining ratio against the preparation length at evaluation (the
    # prototype's 5–8 τ curve), for the N = 128 thalamocortical libraries.
    mkdir -p "$RUNS/prep_sweep"
    for name in $(names); do
        [[ $name =~ _n128_tc-(leak|opt)(_loop)?$ ]] || continue
        trained "$name" || continue
        for t in 2 3 4 5 6 7 8 10 12; do
            out=$RUNS/prep_sweep/${name}_prep$t.eval.json
            fresh "$out" && continue
            echo "eval $name, preparation $t τ" >&2
            nice -n 10 "$BIN" eval --library "$RUNS/$name" --json --prep-tau "$t" \
                --preemption-starts 0 >"$out.tmp"
            mv "$out.tmp" "$out"
        done
    done
    # What the node publishes from the default library, against the raw network.
    PUBLISHED_STREAM_JSON=$PWD/$RUNS/published_stream.json \
        cargo test --release --test published_stream >&2
    "$BIN" report --runs "$RUNS" --json docs/results.json \
        --sweep-plot docs/plots/prep_sweep.png --size-plot docs/plots/size.png \
        --published "$RUNS/published_stream.json" >docs/results_table.md
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
