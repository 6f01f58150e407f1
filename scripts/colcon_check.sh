#!/usr/bin/env bash
# Builds this package the way ROS users do, with colcon (colcon-ros-cargo
# driving cargo-ament-build), in a temporary workspace and without a ROS
# install (default backend), then checks the install tree: the binaries under
# lib/motif_controller/, share/motif_controller/{package.xml,launch,config,
# urdf,models}, the ament index marker, and that the installed launch files
# load and name only installed paths (tests/peer/launch_check.py).
# Run by scripts/test.sh after the tests; expects scripts/setup_test_env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

# cargo-ament-build is a cargo tool: installed once into ~/.cargo/bin (kept
# between CI runs on this machine), at the version this was checked with.
if ! cargo ament-build --help >/dev/null 2>&1; then
    cargo install --locked --quiet cargo-ament-build@0.1.11
fi

ws=$(mktemp -d)
trap 'rm -rf "$ws"' EXIT
mkdir -p "$ws/build"
# colcon-cargo builds in <build-base>/<package>: pointing that at this
# checkout's target/ reuses the release build the tests just made instead of
# compiling every dependency a second time on 2 cores.
ln -s "$repo/target" "$ws/build/motif_controller"
start=$SECONDS
(cd "$ws" && PATH="$repo/.venv/bin:$PATH" colcon --log-base "$ws/log" build \
    --base-paths "$repo" --packages-select motif_controller \
    --build-base "$ws/build" --install-base "$ws/install" \
    --event-handlers console_direct- \
    --cargo-args --release) ||
    { cat "$ws"/log/latest_build/motif_controller/stdout_stderr.log >&2 || true; exit 1; }
echo "colcon_check: colcon build took $((SECONDS - start)) s"

prefix=$ws/install/motif_controller
fail() { echo "colcon_check: $*" >&2; exit 1; }
for exe in motif_controller motif_demo motif_train motifctl sim_arm; do
    [[ -x $prefix/lib/motif_controller/$exe ]] || fail "lib/motif_controller/$exe not installed"
done
share=$prefix/share/motif_controller
for item in package.xml launch config urdf models; do
    [[ -e $share/$item ]] || fail "share/motif_controller/$item not installed"
done
[[ -f $prefix/share/ament_index/resource_index/packages/motif_controller ]] ||
    fail "no ament index marker (share/ament_index/resource_index/packages/motif_controller)"
cmp -s "$share/package.xml" package.xml || fail "installed package.xml differs from the source"
[[ -f $share/models/default/manifest.yaml ]] || fail "the default library is not installed"
"$prefix/lib/motif_controller/motif_controller" --help >/dev/null ||
    fail "the installed motif_controller does not run"
.venv/bin/python tests/peer/launch_check.py "$ws/install" "$share"/launch/*.launch.py
echo "colcon_check: install tree OK"
