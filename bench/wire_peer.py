#!/usr/bin/env python3
"""Wire latency and footprint of a running motif_controller, from a Cyclone DDS peer.

Run by bench/wire.sh inside a private network namespace, with the node already
started. Three measurements:

1. Stream: for --duration s while a motif sequence executes, node -> peer
   latency of every ~/joint_commands (JointState) and
   /forward_position_controller/commands (Float64MultiArray) sample, all on
   the wall clock (one machine, one clock):
   - tick stamp -> peer receive (the node -> peer latency): from the
     JointState header stamp to time.time_ns() after take; arrays carry no
     stamp, so each is paired with the JointState of the same tick
     (bitwise-identical positions). The stamp is the tick's deadline time on
     the wall clock, read on the loop thread;
   - DDS write -> peer receive (the wire alone): from the sample's DDS source
     timestamp (RustDDS stamps it with the wall clock in publish());
   - tick stamp -> DDS write: the time inside the node.
2. Command to first motion, --repeats times: from `hold`, write `run <motif>`
   and find the first JointState whose positions moved by > 1e-9 rad; report
   its tick stamp - send time (the node's reaction), its DDS write - send
   time, and its receipt - send time (end to end).
3. Footprint: the node's VmRSS/VmHWM and CPU time, and the release binaries'
   sizes (as built and stripped).

Writes --out (JSON) and prints a summary. Exit 0 on success, 1 when the node
could not be reached or a phase timed out.
"""
import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "peer"))
# ros2_types first: importing it sets the loopback-only Cyclone config.
from ros2_types import Float64MultiArray_, JointState_, String_, qos  # noqa: E402
from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState, WaitSet  # noqa: E402
from cyclonedds.domain import DomainParticipant  # noqa: E402
from cyclonedds.pub import DataWriter  # noqa: E402
from cyclonedds.sub import DataReader  # noqa: E402
from cyclonedds.topic import Topic  # noqa: E402
from cyclonedds.util import duration  # noqa: E402

# Every motif of models/default; about 25 s in sequence, so one command covers
# the default 20 s stream (the peer appends it again if the queue runs dry).
SEQUENCE = "circle figure_eight wave reach_left reach_right lift square"
REPEAT_MOTIFS = ["circle", "wave", "reach_left", "lift", "square"]
MOVED_RAD = 1e-9
BATCH = 64

METHOD = (
    "Cyclone DDS 11 Python peer, reliable keep-last 5000 readers. The peer blocks "
    "in a DDS WaitSet (ReadConditions on all readers, 20 ms timeout, no sleep "
    "polling) and on wake-up takes up to 64 samples per reader; receive time = "
    "time.time_ns() right after the take() that returned the sample. Python GC is "
    "disabled while measuring. All times are the one machine's wall clock. "
    "DDS write -> peer = receive time - the sample's DDS source timestamp (RustDDS "
    "publish(), wall clock): serialisation, RTPS over loopback UDP, Cyclone and the "
    "Python take. Tick stamp -> peer = receive time - JointState header.stamp; a "
    "Float64MultiArray uses the stamp of the JointState with bitwise-identical "
    "positions (same tick; vectors seen on more than one tick are left out). The "
    "stamp is the tick's deadline time on the wall clock, read on the loop thread."
)


def now():
    return time.time_ns()


def percentiles(values_ns):
    """p50/p99/p99.9/max (µs, nearest rank) of a list of nanosecond values."""
    if not values_ns:
        return {"count": 0}
    v = sorted(values_ns)
    n = len(v)

    def rank(p):
        return v[min(n - 1, max(0, int(-(-p * n // 100)) - 1))]

    us = lambda ns: round(ns / 1000.0, 1)  # noqa: E731
    return {
        "count": n,
        "min_us": us(v[0]),
        "p50_us": us(rank(50)),
        "p99_us": us(rank(99)),
        "p99_9_us": us(rank(99.9)),
        "max_us": us(v[-1]),
        "mean_us": us(sum(v) / n),
    }


def proc_status(pid):
    """Memory and thread figures of a process from /proc/<pid>/status (kB)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key in ("VmRSS", "VmHWM", "VmSize", "VmPeak", "RssAnon", "RssFile", "Threads"):
                    out[key if key == "Threads" else key + "_kB"] = int(val.split()[0])
    except OSError as e:
        out["error"] = str(e)
    return out


def proc_cpu_s(pid):
    """User + system CPU seconds of a process so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


class Peer:
    def __init__(self, args):
        self.dp = DomainParticipant(args.domain)
        base = "rt" + args.node
        self.status_r = DataReader(self.dp, Topic(self.dp, base + "/status", String_), qos=qos(depth=200))
        self.js_r = DataReader(
            self.dp, Topic(self.dp, base + "/joint_commands", JointState_), qos=qos(depth=5000))
        self.arr_r = DataReader(
            self.dp, Topic(self.dp, "rt/forward_position_controller/commands", Float64MultiArray_),
            qos=qos(depth=5000))
        self.seq_w = DataWriter(self.dp, Topic(self.dp, base + "/sequence", String_), qos=qos(depth=100))
        # One WaitSet over all readers: the peer sleeps in the kernel until a
        # sample is there, so its reaction time is a wake-up, not a poll period.
        self.ws = WaitSet(self.dp)
        mask = SampleState.NotRead | ViewState.Any | InstanceState.Any
        self.conds = [ReadCondition(r, mask) for r in (self.arr_r, self.js_r, self.status_r)]
        for c in self.conds:
            self.ws.attach(c)
        self.deadline = time.monotonic() + args.timeout
        self.recording = False
        self.js = []   # (stamp_ns, recv_ns, source_ns, positions) while recording
        self.arr = []  # (recv_ns, source_ns, positions) while recording
        self.status = {}
        self.statuses = 0
        self.tick_marks = []  # (status stamp ns, ticks done before that tick) while recording
        self.last_pos = None
        self.last_js = None  # (stamp_ns, recv_ns, positions)
        self.js_seen = 0
        self.watch = None  # held positions while waiting for the first motion
        self.moved = None  # (stamp_ns, recv_ns) of that first motion

    def pump(self, timeout_s):
        """Block in the WaitSet for at most timeout_s, then take everything there."""
        if time.monotonic() > self.deadline:
            raise TimeoutError("global peer timeout")
        self.ws.wait(duration(microseconds=max(1, int(timeout_s * 1e6))))
        # Arrays first: on each tick the node publishes the array before the JointState.
        while True:
            got = self.arr_r.take(N=BATCH)
            t = now()
            for s in got:
                if self.recording and isinstance(s, Float64MultiArray_):
                    self.arr.append((t, s.sample_info.source_timestamp, tuple(s.data)))
            if len(got) < BATCH:
                break
        while True:
            got = self.js_r.take(N=BATCH)
            t = now()
            for s in got:
                if isinstance(s, JointState_):
                    self.on_joint_state(s, t)
            if len(got) < BATCH:
                break
        for s in self.status_r.take(N=BATCH):
            if isinstance(s, String_):
                try:
                    self.status = json.loads(s.data)
                    self.statuses += 1
                    ticks = (self.status.get("timing") or {}).get("ticks")
                    if self.recording and ticks is not None and "stamp" in self.status:
                        self.tick_marks.append((round(self.status["stamp"] * 1e9), ticks))
                except ValueError:
                    pass

    def on_joint_state(self, s, t):
        st = s.header.stamp
        stamp = st.sec * 1_000_000_000 + st.nanosec
        pos = tuple(s.position)
        self.js_seen += 1
        if self.recording:
            self.js.append((stamp, t, s.sample_info.source_timestamp, pos))
        if self.watch is not None and self.moved is None:
            if max(abs(a - b) for a, b in zip(pos, self.watch)) > MOVED_RAD:
                self.moved = (stamp, t, s.sample_info.source_timestamp)
        self.last_js = (stamp, t, pos)

    def wait(self, seconds, until=None):
        """Pump for up to `seconds`; True as soon as until() holds."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.pump(min(0.02, max(0.0, end - time.monotonic())))
            if until is not None and until():
                return True
        return until is None

    def send(self, text):
        self.seq_w.write(String_(data=text))

    def last_command(self):
        return self.status.get("last_command") or {}

    def send_acked(self, text, tries=10):
        """Send until ~/status shows this command, newer than any before, decided."""
        before = self.last_command().get("id", 0)

        def decided():
            c = self.last_command()
            return c.get("id", 0) > before and c.get("text") == text and c.get("accepted") is not None

        for _ in range(tries):
            self.send(text)
            if self.wait(0.5, decided):
                return self.last_command()["accepted"]
        raise TimeoutError(f"command `{text}` never acknowledged in ~/status")

    def phase(self):
        return self.status.get("phase")

    def stable_for(self, seconds):
        """Wait until the JointState positions stay unchanged for `seconds`."""
        end = time.monotonic() + 5.0
        ref, since = None, time.monotonic()
        while time.monotonic() < end:
            self.pump(0.02)
            pos = self.last_js[2] if self.last_js else None
            if pos != ref:
                ref, since = pos, time.monotonic()
            elif time.monotonic() - since >= seconds:
                return ref
        raise TimeoutError("positions did not settle after hold")


def stream_phase(p, args):
    """Node -> peer latency while a sequence executes; returns a result dict."""
    accepted = p.send_acked(SEQUENCE)
    if not accepted:
        raise RuntimeError(f"node rejected `{SEQUENCE}`: {p.last_command()}")
    p.wait(5, lambda: p.phase() in ("preparing", "executing"))
    gc.collect()
    offset0 = time.time_ns() - time.monotonic_ns()
    cpu0, t_cpu0 = proc_cpu_s(args.node_pid), time.monotonic()
    p.js.clear()
    p.arr.clear()
    p.tick_marks.clear()
    p.recording = True
    t0 = now()
    end = time.monotonic() + args.duration
    phases, refills = set(), 0
    while time.monotonic() < end:
        p.pump(min(0.02, max(0.0, end - time.monotonic())))
        phases.add(p.phase())
        if p.phase() == "holding":
            # Queue ran dry before the end: keep it moving (append starts at once).
            p.send("append " + SEQUENCE)
            refills += 1
            p.wait(0.3, lambda: p.phase() != "holding")
    t1 = now()
    p.recording = False
    cpu1, t_cpu1 = proc_cpu_s(args.node_pid), time.monotonic()
    memory = proc_status(args.node_pid)
    offset1 = time.time_ns() - time.monotonic_ns()
    node_timing = p.status.get("timing")
    # Late samples of the window are still on the way: take them, then count
    # only ticks stamped inside [t0, t1].
    p.recording = True
    p.wait(0.2)
    p.recording = False

    period_ns = 1e9 / args.rate
    js = [s for s in p.js if t0 <= s[0] <= t1]
    # Pair by positions over every JointState seen, so a position vector that
    # repeats anywhere (e.g. while held) is recognised as ambiguous.
    by_pos = {}
    for stamp, _, _, pos in p.js:
        by_pos.setdefault(pos, []).append(stamp)
    js_lat = [r - stamp for stamp, r, _, _ in js]
    js_in_node = [src - stamp for stamp, _, src, _ in js if src > 0]
    js_on_wire = [r - src for _, r, src, _ in js if src > 0]
    # Arrays are measured over the paired ones (tick inside the window), so all
    # three figures cover the same samples, as for the JointStates.
    arr_lat, arr_write, arr_in_node, ambiguous, unmatched = [], [], [], 0, 0
    for r, src, pos in p.arr:
        stamps = by_pos.get(pos)
        if stamps is None:
            # Its JointState was lost, or the tick lies just outside the window.
            if t0 + 5e6 <= r <= t1:
                unmatched += 1
            continue
        if len(stamps) > 1:
            ambiguous += 1
            continue
        if not t0 <= stamps[0] <= t1:
            continue
        arr_lat.append(r - stamps[0])
        if src > 0:
            arr_write.append(r - src)
            arr_in_node.append(src - stamps[0])
    # Delivery: a status message is stamped with the tick it was taken on and
    # counts the ticks before it, so between the first and last status of the
    # window the node ran exactly ticks_b - ticks_a ticks; compare with the
    # JointStates received with stamps in that span (half a period of slack
    # for the float stamps).
    marks = [m for m in p.tick_marks if t0 <= m[0] <= t1]
    delivery = {}
    if len(marks) >= 2:
        (sa, ta), (sb, tb) = marks[0], marks[-1]
        lo, hi = sa - period_ns / 2, sb - period_ns / 2
        got = len({s[0] for s in js if lo <= s[0] < hi})
        delivery = {
            "span_s": round((sb - sa) / 1e9, 3),
            "deadlines_in_span": int(round((sb - sa) / period_ns)),
            "node_ticks_in_span": tb - ta,
            "joint_states_received_in_span": got,
            "joint_states_lost": (tb - ta) - got,
        }
    arr_positions = {pos for _, _, pos in p.arr}
    arrays_missing = sum(1 for s in js if s[3] not in arr_positions)
    window_s = (t1 - t0) / 1e9
    cpu = None
    if cpu0 is not None and cpu1 is not None:
        cpu = round(100.0 * (cpu1 - cpu0) / (t_cpu1 - t_cpu0), 1)
    return {
        "window_s": round(window_s, 3),
        "rate_hz": args.rate,
        "expected_per_topic": int(round(args.rate * window_s)),
        "phases_seen": sorted(x for x in phases if x),
        "sequence_refills": refills,
        "delivery_vs_node_ticks": delivery,
        "joint_state": {
            "received": len(js),
            "distinct_stamps": len({s[0] for s in js}),
            "tick_stamp_to_peer": percentiles(js_lat),
            "dds_write_to_peer": percentiles(js_on_wire),
            "tick_stamp_to_dds_write": percentiles(js_in_node),
        },
        "float64_multi_array": {
            # Arrays of ticks inside the window (paired or ambiguous) plus
            # those received in it whose JointState never came.
            "received": len(arr_lat) + ambiguous + unmatched,
            "missing_for_received_joint_states": arrays_missing,
            "paired": len(arr_lat),
            "ambiguous_positions_skipped": ambiguous,
            "unmatched_in_window": unmatched,
            "tick_stamp_to_peer": percentiles(arr_lat),
            "dds_write_to_peer": percentiles(arr_write),
            "tick_stamp_to_dds_write": percentiles(arr_in_node),
        },
        "node_memory_at_end": memory,
        "node_cpu_percent_of_one_core": cpu,
        "node_loop_timing_from_status": node_timing,
        "wall_minus_monotonic_drift_us": round((offset1 - offset0) / 1000.0, 1),
    }


def motion_phase(p, args):
    """Command-to-first-motion latency over args.repeats runs from `hold`."""
    by_stamp, by_write, end_to_end, misses = [], [], [], 0
    for i in range(args.repeats):
        motif = REPEAT_MOTIFS[i % len(REPEAT_MOTIFS)]
        p.send_acked("hold")
        p.wait(2, lambda: p.phase() == "holding")
        held = p.stable_for(0.15)
        gc.collect()
        text = "run " + motif
        p.watch, p.moved = held, None
        sent = now()
        p.send(text)
        p.wait(3, lambda: p.moved is not None)
        p.watch = None
        if p.moved is None:
            misses += 1
            continue
        stamp, recv, src = p.moved
        by_stamp.append(stamp - sent)
        end_to_end.append(recv - sent)
        if src > 0:
            by_write.append(src - sent)
        p.wait(0.3)  # let it move a little before the next hold
    return {
        "repeats": args.repeats,
        "detected": len(end_to_end),
        "no_motion_within_3s": misses,
        "threshold_rad": MOVED_RAD,
        "stamp_minus_send": percentiles(by_stamp),
        "dds_write_minus_send": percentiles(by_write),
        "receive_minus_send": percentiles(end_to_end),
        "method": "from `hold` with positions unchanged for 150 ms, time.time_ns() just "
                  "before writing `run <motif>` on ~/sequence; the first JointState with any "
                  f"joint moved by > {MOVED_RAD} rad. Node reaction = its tick stamp - send "
                  "time (command over DDS, parse, wait for the next tick deadline); + its "
                  "DDS write = the tick and publish too; end to end = its receive time - "
                  "send time.",
    }


def binaries(bin_dir):
    out = {}
    tmp = tempfile.mkdtemp(prefix="wire-strip-")
    try:
        for name in ("motif_controller", "sim_arm", "motifctl"):
            path = os.path.join(bin_dir, name)
            if not os.path.isfile(path):
                out[name] = {"error": "missing"}
                continue
            size = os.path.getsize(path)
            rec = {"bytes": size, "MB": round(size / 1e6, 2)}
            stripped = os.path.join(tmp, name)
            # Strip a copy: the build's binary stays as it is.
            r = subprocess.run(["strip", "-o", stripped, path], capture_output=True, text=True)
            if r.returncode == 0:
                s = os.path.getsize(stripped)
                rec.update(stripped_bytes=s, stripped_MB=round(s / 1e6, 2))
            else:
                rec["strip_error"] = r.stderr.strip()[:200]
            out[name] = rec
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def machine():
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout)
    except (OSError, ValueError):
        nproc = len(os.sched_getaffinity(0))
    import importlib.metadata as md
    return {
        "nproc": nproc,
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "cyclonedds": md.version("cyclonedds"),
        "loadavg_start": os.getloadavg(),
    }


def fmt(d):
    if not d.get("count"):
        return "no samples"
    return (f"p50 {d['p50_us']:7.1f}  p99 {d['p99_us']:7.1f}  p99.9 {d['p99_9_us']:7.1f}  "
            f"max {d['max_us']:7.1f} µs (n={d['count']})")


def summary(res):
    s, m, b, mach = res["stream"], res["command_to_motion"], res["binaries"], res["machine"]
    js, arr = s["joint_state"], s["float64_multi_array"]
    mem = s["node_memory_at_end"]
    lines = [
        f"wire benchmark: {mach['cpu_model']}, nproc {mach['nproc']}, "
        f"load {mach['loadavg_start'][0]:.2f} -> {mach['loadavg_end'][0]:.2f}",
        f"stream: {s['rate_hz']:g} Hz for {s['window_s']:.1f} s, expected {s['expected_per_topic']} per topic; "
        f"phases {', '.join(s['phases_seen'])}",
        f"  JointState received {js['received']}; Float64MultiArray received {arr['received']}, paired "
        f"{arr['paired']} (ambiguous {arr['ambiguous_positions_skipped']}, no JointState "
        f"{arr['unmatched_in_window']}, missing for a received JointState "
        f"{arr['missing_for_received_joint_states']})",
        "  between the first and last status of the window: {deadlines_in_span} deadlines, "
        "node ran {node_ticks_in_span} ticks, JointState received {joint_states_received_in_span} "
        "(lost {joint_states_lost})".format(**dl) if (dl := s["delivery_vs_node_ticks"]) else
        "  (too few status messages to count the node's ticks)",
        "  latency, tick stamp -> peer receive (node -> peer):",
        f"    Float64MultiArray      {fmt(arr['tick_stamp_to_peer'])}",
        f"    JointState             {fmt(js['tick_stamp_to_peer'])}",
        "  of which DDS write (source timestamp) -> peer receive (the wire):",
        f"    Float64MultiArray      {fmt(arr['dds_write_to_peer'])}",
        f"    JointState             {fmt(js['dds_write_to_peer'])}",
        "  and tick stamp -> DDS write (inside the node):",
        f"    Float64MultiArray      {fmt(arr['tick_stamp_to_dds_write'])}",
        f"    JointState             {fmt(js['tick_stamp_to_dds_write'])}",
        f"  wall-minus-monotonic drift over the window {s['wall_minus_monotonic_drift_us']} µs",
        f"command -> first motion ({m['detected']}/{m['repeats']} detected, from hold):",
        f"    node reaction (stamp)  {fmt(m['stamp_minus_send'])}",
        f"    its DDS write          {fmt(m['dds_write_minus_send'])}",
        f"    end to end (receive)   {fmt(m['receive_minus_send'])}",
        f"node footprint: VmRSS {mem.get('VmRSS_kB')} kB, VmHWM {mem.get('VmHWM_kB')} kB, "
        f"{mem.get('Threads')} threads, CPU {s['node_cpu_percent_of_one_core']}% of one core at "
        f"{s['rate_hz']:g} Hz",
    ]
    for name, r in b.items():
        if "bytes" in r:
            lines.append(f"binary {name:16} {r['bytes']:>11} B ({r['MB']:.1f} MB), stripped "
                         f"{r.get('stripped_bytes', '?'):>10} B ({r.get('stripped_MB', 0):.1f} MB)")
        else:
            lines.append(f"binary {name:16} {r}")
    lines.append("method: " + res["method"])
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--node", default="/motif_controller")
    ap.add_argument("--node-pid", type=int, required=True)
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--rate", type=float, required=True, help="the node's loop_rate_hz")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--domain", type=int, default=int(os.environ.get("ROS_DOMAIN_ID", "0") or 0))
    args = ap.parse_args()
    if args.duration <= 0 or args.rate <= 0 or args.repeats <= 0 or args.timeout <= 0:
        print("wire_peer: duration, rate, repeats and timeout must be > 0", file=sys.stderr)
        return 2

    res = {"method": METHOD, "machine": machine(), "binaries": binaries(args.bin_dir)}
    p = Peer(args)
    # The peer's own collections would show up as wire latency; it stores
    # only tuples, so memory stays small with GC off.
    gc.disable()
    try:
        if not p.wait(20, lambda: p.status and p.last_js is not None):
            raise TimeoutError("node not discovered within 20 s (no ~/status or ~/joint_commands)")
        res["stream"] = stream_phase(p, args)
        res["command_to_motion"] = motion_phase(p, args)
    except (TimeoutError, RuntimeError) as e:
        print(f"wire_peer: {e}", file=sys.stderr)
        return 1
    res["node_memory_after_all"] = proc_status(args.node_pid)
    res["machine"]["loadavg_end"] = os.getloadavg()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(res, f, indent=2)
    print(summary(res))
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
