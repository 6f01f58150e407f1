#!/usr/bin/env bash
# Writes config/repro/*.yaml, the training configs of the reproduction study
# (docs/results.md, scripts/reproduce.sh). Run it after changing the grid; the
# configs are committed so a reader sees exactly what was trained.
#
# Name: <family>_n<N>_<mode>[_loop][_s<seed>][_add].
#   family   smooth, steps (2-D, K = 5) or arm (7 joints, K = 8)
#   mode     base0.1 / base1.0 (random starts of that σ0), tc-leak / tc-opt
#            (thalamocortical with the leak or the optimised preparation),
#            tc-opt-chain0.5 (the product option: half the starts from other
#            motifs' end states)
#   _loop    the loop design (per-motif rank-8 loop U_m V_m) instead of the input b_m
#   _s2      training seed 2 (demonstrations are the same for every seed)
#   _add     the continual-learning row: trained on all but the family's last
#            motif, which reproduce.sh then adds with `motif_train add`
#
# Learning rate: Adam moves every entry of J by about lr per step, so the
# change of J·x grows with N at a fixed rate; the rule is lr = 0.256 / N
# (1e-3 at N = 256, the rate the previous table used at every size), falling
# ten-fold over training, the same for every mode and design.
set -euo pipefail
cd "$(dirname "$0")/.."
out=config/repro
rm -f "$out"/*.yaml
mkdir -p "$out"

# write NAME FAMILY N MODE DESIGN SEED [MOTIFS_LEFT_OUT]
write() {
    local name=$1 family=$2 n=$3 mode=$4 design=$5 seed=$6 leave_out=${7:-0}
    local lr lr_final variant mode_yaml prep timing header="" motifs=() count
    lr=$(awk -v n="$n" 'BEGIN { printf "%g", 0.256 / n }')
    lr_final=$(awk -v n="$n" 'BEGIN { printf "%g", 0.0256 / n }')
    case $design in
        input) variant="{ kind: input }" ;;
        loop) variant="{ kind: loop, rank: 8 }" ;;
    esac
    case $mode in
        base*) mode_yaml="{ kind: baseline, sigma0: ${mode#base} }" prep=leak ;;
        tc-leak) mode_yaml="{ kind: thalamocortical, xi_sigma: 1.0, chain_fraction: 0.0 }" prep=leak ;;
        tc-opt) mode_yaml="{ kind: thalamocortical, xi_sigma: 1.0, chain_fraction: 0.0 }" prep=optimised ;;
        tc-opt-chain0.5) mode_yaml="{ kind: thalamocortical, xi_sigma: 1.0, chain_fraction: 0.5 }" prep=optimised ;;
    esac
    case $family in
        smooth | steps)
            timing="tau: 0.01, dt: 0.002 }   # alpha = 0.2, 90 tau = 450 steps"
            for i in 1 2 3 4 5; do
                motifs+=("  - { name: $family$i, generate: { family: ${family}2d, seed: $i } }")
            done
            ;;
        arm)
            header="urdf: ../../urdf/arm.urdf"$'\n'
            timing="tau: 0.04, dt: 0.008 }   # alpha = 0.2"
            for m in circle figure_eight wave reach_left reach_right lift square spiral; do
                motifs+=("  - { name: $m, generate: { family: arm, motif: $m } }")
            done
            ;;
    esac
    count=$((${#motifs[@]} - leave_out))
    {
        echo "# Reproduction (docs/results.md): family $family, N = $n, $mode, $design design, seed $seed."
        echo "# Written by scripts/repro_configs.sh; every config of a family shares its demonstrations."
        [[ $leave_out -gt 0 ]] && echo "# reproduce.sh adds the family's last motif afterwards (motif_train add --from-config)."
        printf '%s' "$header"
        echo "network: { n: $n, variant: $variant, $timing"
        echo "mode: $mode_yaml"
        echo "preparation: { kind: $prep, tau_multiple: 8 }   # unused by the baseline"
        echo "training: { steps: 2000, batch: 8, lr: $lr, lr_final: $lr_final, clip: 1.0, seed: $seed }"
        echo "motifs:"
        printf '%s\n' "${motifs[@]:0:count}"
    } >"$out/$name.yaml"
}

for family in smooth steps arm; do
    for n in 64 128 256; do
        for design in input loop; do
            for seed in 1 2; do
                for mode in base0.1 base1.0 tc-leak tc-opt; do
                    name=${family}_n${n}_$mode
                    [[ $design == loop ]] && name+=_loop
                    [[ $seed == 2 ]] && name+=_s2
                    write "$name" $family $n $mode $design $seed
                done
            done
        done
    done
done
# Size: N = 512 on two families, both designs, one seed, the two modes the claim needs.
for family in smooth arm; do
    for design in input loop; do
        for mode in base0.1 tc-leak; do
            name=${family}_n512_$mode
            [[ $design == loop ]] && name+=_loop
            write "$name" $family 512 $mode $design 1
        done
    done
done
# The product option, where the paper protocol's optimised preparation was weakest.
for cell in smooth:64 smooth:128 steps:128; do
    write "${cell%:*}_n${cell#*:}_tc-opt-chain0.5" "${cell%:*}" "${cell#*:}" tc-opt-chain0.5 input 1
done
# Continual learning: smooth5 / spiral added to a library trained without it.
write smooth_n128_tc-leak_add smooth 128 tc-leak input 1 1
write arm_n128_tc-leak_add arm 128 tc-leak input 1 1
ls "$out"/*.yaml | wc -l | xargs echo "configs written to $out:" >&2
