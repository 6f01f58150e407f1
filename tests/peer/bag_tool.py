"""An independent reader and writer of rosbag2 bags (the `rosbags` package)
for tests/bag.rs.

  bag_tool.py read BAG          -> JSON: per topic its type, count and the
                                   first and last decoded messages' fields
  bag_tool.py write BAG [--nan] -> a bag of /joint_states at ~250 Hz with
                                   timestamp jitter, two gripper finger joints
                                   and still segments before and after: a
                                   "nod" of the Panda, as a person would record
                                   it by moving the arm by hand
"""

import json
import math
import sys
from pathlib import Path

from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

ARM = [f"panda_joint{i}" for i in range(1, 8)]
READY = [0.0, -0.7853982, 0.0, -2.3561945, 0.0, 1.5707964, 0.7853982]
NOD = [0.06, 0.12, -0.12, 0.14, 0.08, -0.15, 0.15]  # rad per joint, the size of the default motifs
MOVE_S = 3.0
STILL_S = (1.0, 1.5)


def fields(msg):
    out = {}
    for key in ("name", "joint_names", "data"):
        if hasattr(msg, key):
            out[key] = [str(x) if isinstance(x, str) else x for x in getattr(msg, key)]
    for key in ("position", "velocity"):
        if hasattr(msg, key):
            out[key] = [float(x) for x in getattr(msg, key)]
    if hasattr(msg, "data") and isinstance(msg.data, str):
        out["data"] = msg.data
    elif hasattr(msg, "data"):
        out["data"] = [float(x) for x in msg.data]
    if hasattr(msg, "header"):
        out["stamp"] = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
    return out


def read(path):
    topics = {}
    with AnyReader([Path(path)]) as reader:
        for conn in reader.connections:
            topics[conn.topic] = {"type": conn.msgtype, "count": 0}
        for conn, stamp, raw in reader.messages():
            t = topics[conn.topic]
            msg = fields(reader.deserialize(raw, conn.msgtype))
            t["count"] += 1
            t.setdefault("first", msg)
            t["last"] = msg
            t.setdefault("first_log_ns", stamp)
    print(json.dumps({"topics": topics}))


def nod(t):
    """Joint angles at t s into the motion: rest, a smooth nod, rest."""
    s = min(max((t - STILL_S[0]) / MOVE_S, 0.0), 1.0)
    env = math.sin(math.pi * s) ** 2
    return [r + a * env * math.sin(2 * math.pi * s + j) for j, (r, a) in enumerate(zip(READY, NOD))]


def write(path, nan):
    store = get_typestore(Stores.ROS2_HUMBLE)
    JointState = store.types["sensor_msgs/msg/JointState"]
    Header = store.types["std_msgs/msg/Header"]
    Time = store.types["builtin_interfaces/msg/Time"]
    import numpy as np

    total = STILL_S[0] + MOVE_S + STILL_S[1]
    t0 = 1_700_000_000.0
    k = 0
    with Writer(Path(path), version=8, storage_plugin=StoragePlugin.MCAP) as writer:
        conn = writer.add_connection("/joint_states", JointState.__msgtype__, typestore=store)
        while True:
            # 250 Hz with deterministic jitter of up to ±1.2 ms.
            t = k * 0.004 + 0.0012 * math.sin(k * 2.3)
            if t > total:
                break
            q = nod(max(t, 0.0))
            if nan and k == 400:
                q[3] = float("nan")
            stamp = t0 + t
            sec = int(stamp)
            msg = JointState(
                header=Header(stamp=Time(sec=sec, nanosec=int(round((stamp - sec) * 1e9))), frame_id=""),
                name=ARM + ["panda_finger_joint1", "panda_finger_joint2"],
                position=np.array(q + [0.04, 0.04], dtype=np.float64),
                velocity=np.array([], dtype=np.float64),
                effort=np.array([], dtype=np.float64),
            )
            writer.write(conn, int(stamp * 1e9) + 300_000, store.serialize_cdr(msg, JointState.__msgtype__))
            k += 1


if __name__ == "__main__":
    if sys.argv[1] == "read":
        read(sys.argv[2])
    else:
        write(sys.argv[2], "--nan" in sys.argv)
