#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs what the tests need
# (Debian packages, a Python venv with Cyclone DDS for the interop peer), then
# checks formatting and lints and runs every test in release mode (the network
# math is too slow unoptimised).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup_test_env.sh
cargo fmt --check
cargo clippy --release --all-targets -- -D warnings
# The interop tests must not skip here: a missing peer is a failure.
MOTIF_REQUIRE_INTEROP=1 cargo test --release
