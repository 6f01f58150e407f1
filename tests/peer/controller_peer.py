#!/usr/bin/env python3
"""Independent DDS peer (Eclipse Cyclone DDS) driving a running motif_controller.

Subscribes to the node's outputs (and /diagnostics), sends a scripted command sequence on
~/sequence (good commands, bad ones, a flood, preemptions) and records
everything to --out as JSON for tests/controller_interop.rs to check against
the library. It declares the ROS 2 types itself (names, field order, XCDR1),
so it checks our wire format against a second implementation.

Exit 0 when the script ran to the end, 2 on timeout (the JSON is written
either way).
"""
import argparse
import json
import os
import sys
import time

# ros2_types first: importing it sets the loopback-only Cyclone config.
from ros2_types import DiagnosticArray_, Float64MultiArray_, JointState_, String_, emit, qos
from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic

class Peer:
    def __init__(self, args):
        dp = DomainParticipant(args.domain)
        base = "rt" + args.node
        self.motifs_r = DataReader(dp, Topic(dp, base + "/motifs", String_), qos=qos(True, 1))
        self.status_r = DataReader(dp, Topic(dp, base + "/status", String_), qos=qos(depth=200))
        self.js_r = DataReader(dp, Topic(dp, base + "/joint_commands", JointState_), qos=qos(depth=5000))
        self.arr_r = DataReader(
            dp, Topic(dp, "rt/forward_position_controller/commands", Float64MultiArray_), qos=qos(depth=5000))
        self.diag_r = DataReader(dp, Topic(dp, "rt/diagnostics", DiagnosticArray_), qos=qos(depth=100))
        self.seq_w = DataWriter(dp, Topic(dp, base + "/sequence", String_), qos=qos(depth=1000))
        self.deadline = time.monotonic() + args.timeout
        self.rec = dict(motifs=None, joint_states=[], arrays=[], statuses=[], diagnostics=[], sent=[], names=None,
                        timed_out=False)

    def now(self):
        return time.time_ns()

    def poll(self):
        for s in self.motifs_r.take(N=10):
            if isinstance(s, String_):
                self.rec["motifs"] = json.loads(s.data)
        for s in self.status_r.take(N=500):
            if isinstance(s, String_):
                try:
                    self.rec["statuses"].append(json.loads(s.data))
                except ValueError:
                    self.rec["statuses"].append({"unparsable": s.data[:200]})
        for s in self.js_r.take(N=5000):
            if isinstance(s, JointState_):
                if self.rec["names"] is None:
                    self.rec["names"] = list(s.name)
                elif list(s.name) != self.rec["names"]:
                    self.rec.setdefault("name_errors", []).append(list(s.name))
                st = s.header.stamp
                self.rec["joint_states"].append(
                    [st.sec * 1_000_000_000 + st.nanosec, list(s.position), list(s.velocity)])
        for s in self.diag_r.take(N=100):
            if isinstance(s, DiagnosticArray_):
                st = s.header.stamp
                self.rec["diagnostics"].append([self.now(), st.sec * 1_000_000_000 + st.nanosec, [
                    dict(level=d.level, name=d.name, message=d.message, hardware_id=d.hardware_id,
                         values={kv.key: kv.value for kv in d.values}) for d in s.status]])
        for s in self.arr_r.take(N=5000):
            if isinstance(s, Float64MultiArray_):
                self.rec["arrays"].append([self.now(), list(s.data)])

    def wait(self, seconds, until=None):
        end = time.monotonic() + seconds
        while time.monotonic() < min(end, self.deadline):
            self.poll()
            if until is not None and until():
                return True
            time.sleep(0.004)
        if time.monotonic() >= self.deadline:
            raise TimeoutError
        return until is None

    def last_status(self):
        return self.rec["statuses"][-1] if self.rec["statuses"] else {}

    def send(self, text, record=True):
        self.seq_w.write(String_(data=text))
        if record:
            self.rec["sent"].append([self.now(), text[:200]])

    def acked(self, text):
        return any((st.get("last_command") or {}).get("text") == text for st in self.rec["statuses"])

    def send_acked(self, text, tries=20):
        for _ in range(tries):
            self.send(text)
            if self.wait(0.5, lambda: self.acked(text)):
                return
        raise TimeoutError


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--node", default="/motif_controller")
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=float, default=40.0)
    ap.add_argument("--flood", type=int, default=10000)
    ap.add_argument("--domain", type=int, default=int(os.environ.get("ROS_DOMAIN_ID", "0") or 0))
    args = ap.parse_args()
    p = Peer(args)
    emit(event="ready", pid=os.getpid())
    code = 0
    try:
        p.wait(20, lambda: p.rec["motifs"] is not None and p.rec["joint_states"] and p.rec["statuses"])
        emit(event="discovered", motifs=len(p.rec["motifs"] or []))
        p.send_acked("circle")
        p.wait(10, lambda: p.last_status().get("phase") == "executing" and p.last_status().get("motif") == "circle")
        p.wait(1.2)
        # Bad input while circle runs: all must be rejected, motion untouched.
        p.send_acked("circle bogus_motif wave")
        for bad in ["   ", "speed 0", "speed -2", "speed nan", "speed 1e300", "%%garbage%% !!", "stop now please"]:
            p.send(bad)
            p.wait(0.05)
        p.send("x" * 200_000, record=False)
        p.rec["sent"].append([p.now(), "<200 kB string>"])
        p.wait(0.2)
        t_flood = p.now()
        for i in range(args.flood):
            p.send(f"flood_{i} jump", record=False)
            if i % 500 == 0:
                p.poll()
        p.rec["flood"] = [t_flood, p.now(), args.flood]
        p.wait(0.3)
        # Preempt circle mid-motif, then wave mid-motif, then stop.
        p.send_acked("wave")
        p.wait(10, lambda: p.last_status().get("phase") == "executing" and p.last_status().get("motif") == "wave")
        p.wait(1.0)
        p.send_acked("speed 1.8")
        p.send_acked("reach_right lift")
        p.wait(1.5)
        p.send_acked("stop")
        p.wait(10, lambda: p.last_status().get("phase") == "holding")
        p.wait(0.3)
    except TimeoutError:
        p.rec["timed_out"] = True
        code = 2
    with open(args.out, "w") as f:
        json.dump(p.rec, f)
    emit(event="summary", joint_states=len(p.rec["joint_states"]), arrays=len(p.rec["arrays"]),
         statuses=len(p.rec["statuses"]), timed_out=p.rec["timed_out"])
    return code


if __name__ == "__main__":
    sys.exit(main())
