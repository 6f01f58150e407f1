#!/usr/bin/env bash
# Wire latency and footprint of motif_controller, one command.
#
# Starts the release motif_controller (models/default) streaming at --rate Hz
# inside a private network namespace (loopback only, nothing leaves the
# machine) and runs bench/wire_peer.py, a Cyclone DDS peer that measures
# node -> peer latency of the command streams, command-to-first-motion
# latency, and the node's memory; plus the binaries' sizes. Prints a summary
# and writes JSON (default bench/results/wire.json).
#
# Needs: release binaries (cargo build --release), root or user namespaces
# for `unshare -n`, iproute2; the Cyclone DDS venv (.venv) is created with
# scripts/setup_test_env.sh when missing.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/wire.sh [--duration S] [--rate HZ] [--repeats N] [--out FILE]
                     [--bin-dir DIR] [--timeout S]

  --duration S   seconds of streaming to measure               (default 20)
  --rate HZ      the node's loop_rate_hz                        (default 1000)
  --repeats N    command-to-first-motion repetitions            (default 20)
  --out FILE     JSON results                  (default bench/results/wire.json)
  --bin-dir DIR  motif_controller, motifctl, sim_arm
                 (default $MOTIF_BIN_DIR or ${CARGO_TARGET_DIR:-target}/release)
  --timeout S    kill everything after S s (integer >= 30; default duration + 3*repeats + 90)
EOF
}

die_usage() {
    echo "wire.sh: $*" >&2
    echo "run bench/wire.sh --help for the options" >&2
    exit 2
}

# Positive decimal number (integer when $3 = integer); anything else is refused.
check_positive() {
    local name=$1 value=$2 kind=${3:-number}
    local re='^([0-9]+([.][0-9]*)?|[.][0-9]+)$'
    [ "$kind" = integer ] && re='^[0-9]+$'
    [[ $value =~ $re ]] || die_usage "$name must be a positive $kind, got '$value'"
    awk -v v="$value" 'BEGIN { exit !(v > 0) }' || die_usage "$name must be > 0, got '$value'"
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
duration=20
rate=1000
repeats=20
out=bench/results/wire.json
bin_dir=${MOTIF_BIN_DIR:-${CARGO_TARGET_DIR:-target}/release}
timeout_s=""
# The repository's venv (scripts/setup_test_env.sh); MOTIF_PYTHON points
# elsewhere, e.g. at another worktree's venv, without touching this one.
python=${MOTIF_PYTHON:-.venv/bin/python}
while [ $# -gt 0 ]; do
    case $1 in
        --duration) [ $# -ge 2 ] || die_usage "$1 needs a value"; duration=$2; shift 2 ;;
        --rate) [ $# -ge 2 ] || die_usage "$1 needs a value"; rate=$2; shift 2 ;;
        --repeats) [ $# -ge 2 ] || die_usage "$1 needs a value"; repeats=$2; shift 2 ;;
        --out) [ $# -ge 2 ] || die_usage "$1 needs a value"; out=$2; shift 2 ;;
        --bin-dir) [ $# -ge 2 ] || die_usage "$1 needs a value"; bin_dir=$2; shift 2 ;;
        --timeout) [ $# -ge 2 ] || die_usage "$1 needs a value"; timeout_s=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) die_usage "unknown argument '$1'" ;;
    esac
done
check_positive --duration "$duration"
check_positive --rate "$rate"
check_positive --repeats "$repeats" integer
# The loop needs a period of at least 1 µs; 100 kHz is already far past sense.
awk -v r="$rate" 'BEGIN { exit !(r <= 100000) }' || die_usage "--rate must be <= 100000 Hz, got '$rate'"
[ -n "$timeout_s" ] || timeout_s=$(awk -v d="$duration" -v n="$repeats" 'BEGIN { printf "%d", d + 3 * n + 90 }')
check_positive --timeout "$timeout_s" integer
# The peer gets the timeout minus 15 s, to report before the hard stop.
[ "$timeout_s" -ge 30 ] || die_usage "--timeout must be at least 30 s, got '$timeout_s'"

cd "$root"
# Relative paths are taken from the repository root, as cargo's are.
case $bin_dir in /*) ;; *) bin_dir=$root/$bin_dir ;; esac
case $out in /*) ;; *) out=$root/$out ;; esac
for b in motif_controller motifctl sim_arm; do
    [ -x "$bin_dir/$b" ] || { echo "wire.sh: $bin_dir/$b missing: run cargo build --release (or pass --bin-dir)" >&2; exit 1; }
done

if [ -z "${MOTIF_WIRE_NETNS:-}" ]; then
    if [ "$python" = .venv/bin/python ] && ! .venv/bin/python -c 'import cyclonedds.domain' >/dev/null 2>&1; then
        scripts/setup_test_env.sh
    fi
    # Re-run this script in a fresh network namespace, bounded by the global
    # timeout (SIGTERM first so the trap below stops the node, then SIGKILL).
    export MOTIF_WIRE_NETNS=1
    exec timeout --kill-after=10 "$timeout_s" unshare -n -- "$root/bench/wire.sh" \
        --duration "$duration" --rate "$rate" --repeats "$repeats" \
        --out "$out" --bin-dir "$bin_dir" --timeout "$timeout_s"
fi

# Inside the namespace: only lo exists and it starts down.
ip link set lo up

work=$(mktemp -d /tmp/wire.XXXXXX)
node_pid=""
cleanup() {
    if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
        kill -TERM "$node_pid" 2>/dev/null || true
        sleep 1
        kill -KILL "$node_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 124' INT TERM

echo "wire.sh: motif_controller at $rate Hz, $duration s stream, $repeats command repeats (binaries: $bin_dir)"
# Quiet DDS logging: the node's stderr goes to a file we show on failure.
# No robot here: the node streams from its rest posture at once rather than
# waiting for /joint_states (wait_for_joint_states, docs/running.md).
ROS_DOMAIN_ID=0 RUST_LOG="warn,rustdds=off,ros2_client=off" \
    "$bin_dir/motif_controller" --ros-args --params-file config/motif_controller.yaml \
    -p library:=models/default -p urdf:=urdf/arm.urdf -p "loop_rate_hz:=$rate" \
    -p wait_for_joint_states:=false 2>"$work/node.log" &
node_pid=$!

peer_rc=0
# The peer's own deadline ends before the global one, so it can still report.
ROS_DOMAIN_ID=0 "$python" bench/wire_peer.py --node-pid "$node_pid" --bin-dir "$bin_dir" \
    --rate "$rate" --duration "$duration" --repeats "$repeats" --out "$out" \
    --timeout "$((timeout_s - 15))" || peer_rc=$?

if kill -0 "$node_pid" 2>/dev/null; then
    # SIGINT: the node holds, publishes a final status and prints its timing.
    kill -INT "$node_pid"
    for _ in $(seq 50); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
fi
wait "$node_pid" 2>/dev/null || true
node_pid=""
if [ "$peer_rc" -ne 0 ]; then
    echo "wire.sh: peer failed ($peer_rc); node log:" >&2
    tail -n 30 "$work/node.log" >&2
    exit "$peer_rc"
fi
grep -h "timing:" "$work/node.log" | sed 's/^/node: /' || true
