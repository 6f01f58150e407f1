#!/usr/bin/env python3
"""Independent DDS peer (Eclipse Cyclone DDS) for the ROS 2 interop test.

It declares the ROS 2 message types itself, with the DDS type names that rmw
implementations use, so it checks our names, field order and CDR encoding
against a second implementation rather than against our own code.

Expects from the Rust side (see examples/ros_echo.rs and tests/ros_interop.rs):
  /echo/array   std_msgs/Float64MultiArray, sample k = [k, k/2, -1.25]
  /echo/text    std_msgs/String "motif k"
  --latched     std_msgs/String on a transient-local topic, published before
                this peer starts (late-joiner check)
Sends:
  /echo/reply   std_msgs/String REPLY_TEXT, repeatedly

Prints one JSON object per line; the last line is the summary. Exit 0 when
all expectations were met, 1 on a bad sample, 2 on timeout.
"""
import argparse
import os
import sys
import time

# ros2_types first: importing it sets the loopback-only Cyclone config.
from ros2_types import Float64MultiArray_, String_, emit, qos
from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic

REPLY_TEXT = "hello from cyclone"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=5, help="valid arrays needed")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--linger", type=float, default=1.5,
                    help="seconds to keep replying after success")
    ap.add_argument("--latched", default="", help="transient-local String topic to expect")
    ap.add_argument("--domain", type=int, default=int(os.environ.get("ROS_DOMAIN_ID", "0") or 0))
    args = ap.parse_args()

    dp = DomainParticipant(args.domain)
    array_reader = DataReader(dp, Topic(dp, "rt/echo/array", Float64MultiArray_), qos=qos())
    text_reader = DataReader(dp, Topic(dp, "rt/echo/text", String_), qos=qos())
    latched_reader = None
    if args.latched:
        latched_reader = DataReader(
            dp, Topic(dp, "rt" + args.latched, String_), qos=qos(transient_local=True, depth=1))
    reply_writer = DataWriter(dp, Topic(dp, "rt/echo/reply", String_), qos=qos())
    emit(event="ready", pid=os.getpid())

    arrays_ok, texts, latched, errors = 0, 0, None, []
    start = time.monotonic()
    done_at = None
    last_reply = 0.0
    while True:
        now = time.monotonic()
        if now - start > args.timeout:
            break
        if done_at is not None and now - done_at > args.linger:
            break
        # take() also yields InvalidSample markers (e.g. when the writer
        # leaves); only real samples count.
        for s in array_reader.take(N=100):
            if not isinstance(s, Float64MultiArray_):
                continue
            d = list(s.data)
            k = d[0] if d else None
            good = (len(d) == 3 and k is not None and k >= 0 and float(k).is_integer()
                    and d[1] == k / 2 and d[2] == -1.25 and not s.layout.dim
                    and s.layout.data_offset == 0)
            if good:
                arrays_ok += 1
                if arrays_ok <= 3:
                    emit(event="array", data=d)
            else:
                errors.append(f"bad array {d} layout={s.layout}")
                emit(event="bad_array", data=d)
        for s in text_reader.take(N=100):
            if not isinstance(s, String_):
                continue
            if s.data.startswith("motif "):
                texts += 1
            else:
                errors.append(f"bad text {s.data!r}")
        if latched_reader is not None:
            for s in latched_reader.take(N=10):
                if not isinstance(s, String_):
                    continue
                latched = s.data
                emit(event="latched", data=latched)
        if now - last_reply > 0.1:
            reply_writer.write(String_(data=REPLY_TEXT))
            last_reply = now
        satisfied = (arrays_ok >= args.samples and texts >= 1
                     and (latched_reader is None or latched is not None))
        if satisfied and done_at is None:
            done_at = now
        time.sleep(0.01)

    emit(event="summary", arrays_ok=arrays_ok, texts=texts, latched=latched,
         errors=errors[:5], satisfied=done_at is not None)
    if errors:
        return 1
    return 0 if done_at is not None else 2


if __name__ == "__main__":
    sys.exit(main())
