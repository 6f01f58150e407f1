#!/usr/bin/env bash
# Regenerates every number and picture in docs/results.md:
#   scripts/reproduce.sh            # train (skips libraries already trained), evaluate, report
#   scripts/reproduce.sh train      # only train
#   scripts/reproduce.sh eval       # only evaluate + report (needs the trained libraries)
# Libraries go to $RUNS (default runs/repro, not committed); results to docs/.
# FORCE=1 retrains libraries that exist. Training runs one at a time under nice
# because the machine is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs/repro}
PHASE=${1:-all}
BIN=${CARGO_TARGET_DIR:-target}/release/motif_train
cargo build --release --bin motif_train >&2
mkdir -p "$RUNS" docs/plots

names() { for f in config/repro/*.yaml; do basename "$f" .yaml; done; }

if [[ $PHASE == all || $PHASE == train ]]; then
    for name in $(names); do
        lib=$RUNS/$name
        if [[ -d $lib && -z ${FORCE:-} ]]; then
            echo "skip $name (trained)" >&2
            continue
        fi
        echo "train $name" >&2
        nice -n 10 "$BIN" train --config "config/repro/$name.yaml" --out "$lib" --force 2>"$RUNS/$name.train.log"
    done
fi

if [[ $PHASE == all || $PHASE == eval ]]; then
    for name in $(names); do
        plots=()
        # Plots for the N = 128 libraries only: enough to see both variants per family.
        [[ $name == *_n128_base1.0 || $name == *_n128_tc-* ]] && plots=(--plots "docs/plots/$name")
        echo "eval $name" >&2
        nice -n 10 "$BIN" eval --library "$RUNS/$name" --json "${plots[@]}" >"$RUNS/$name.eval.json"
    done
    # The chaining ratio against the preparation length at evaluation (the
    # prototype's 5–8 τ curve), for the N = 128 thalamocortical libraries.
    mkdir -p "$RUNS/prep_sweep"
    for name in $(names); do
        [[ $name == *_n128_tc-leak || $name == *_n128_tc-opt ]] || continue
        for t in 2 3 4 5 6 7 8 10 12; do
            echo "eval $name, preparation $t τ" >&2
            nice -n 10 "$BIN" eval --library "$RUNS/$name" --json --prep-tau "$t" \
                >"$RUNS/prep_sweep/${name}_prep$t.eval.json"
        done
    done
    "$BIN" report --runs "$RUNS" --json docs/results.json \
        --sweep-plot docs/plots/prep_sweep.png >docs/results_table.md
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
