#!/usr/bin/env bash
# Prepare what the interop tests need: a Python venv with Cyclone DDS (an
# independent DDS implementation), Ruckig and MuJoCo (independent motion and
# physics references), rosbags (an independent bag reader and writer),
# websockets (a Foxglove WebSocket protocol client of our own), mfusepy (a
# slow disk, over libfuse 3), and
# `ip`/`unshare` to run peers on a private loopback. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v unshare >/dev/null 2>&1 || need_apt+=(util-linux)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
# libfuse 3, for the slow disk of tests/bag.rs (tests/peer/slow_fs.py).
python3 -c 'import ctypes.util, sys; sys.exit(not ctypes.util.find_library("fuse3"))' || need_apt+=(libfuse3-3)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup_test_env: need root to install: ${need_apt[*]}" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# Only the binary wheel bundles libddsc; older releases (0.10.x) have no wheel
# for recent Pythons and their sdist needs a system Cyclone C install.
if ! .venv/bin/python -c 'import cyclonedds.domain' >/dev/null 2>&1; then
    .venv/bin/pip install --quiet --disable-pip-version-check \
        --only-binary cyclonedds 'cyclonedds>=11,<12'
fi
# Independent references for the robot-side tests: Ruckig (time-optimal
# jerk-limited stops) and MuJoCo (a physics engine we did not write).
if ! .venv/bin/python -c 'import ruckig, mujoco' >/dev/null 2>&1; then
    .venv/bin/pip install --quiet --disable-pip-version-check \
        --only-binary :all: 'ruckig>=0.14,<1' 'mujoco>=3,<5'
fi
# An independent reader and writer of rosbag2 bags (tests/bag.rs).
if ! .venv/bin/python -c 'import rosbags.highlevel' >/dev/null 2>&1; then
    .venv/bin/pip install --quiet --disable-pip-version-check 'rosbags>=0.10,<1'
fi
# colcon, to build the package as ROS users do (scripts/colcon_check.sh);
# colcon-ros-cargo drives cargo-ament-build, which colcon_check.sh installs.
if ! .venv/bin/python -c 'import colcon_ros_cargo, colcon_package_selection' >/dev/null 2>&1; then
    .venv/bin/pip install --quiet --disable-pip-version-check \
        'colcon-core>=0.20,<1' 'colcon-cargo>=0.2,<1' 'colcon-ros-cargo>=0.2,<1' \
        'colcon-package-selection>=0.2,<1'
fi
# A slow disk for the recorder (tests/peer/slow_fs.py, a FUSE passthrough).
if ! .venv/bin/python -c 'import mfusepy' >/dev/null 2>&1; then
    .venv/bin/pip install --quiet --disable-pip-version-check 'mfusepy>=3.1,<4'
fi
# The live view's test client (tests/live_view.rs, tests/peer/foxglove_client.py).
if ! .venv/bin/python -c 'import websockets.sync.client' >/dev/null 2>&1; then
    .venv/bin/pip install --quiet --disable-pip-version-check 'websockets>=13,<18'
fi
.venv/bin/python -c 'import importlib.metadata as m, sys; print(*(f"{p} {m.version(p)}" for p in ("cyclonedds", "ruckig", "mujoco", "rosbags", "mfusepy", "websockets", "colcon-core", "colcon-ros-cargo")), "python", sys.version.split()[0])'
