#!/usr/bin/env python3
"""`ros2 param set` without ROS: calls a node's rcl_interfaces/SetParameters
service over Cyclone DDS (request on rq/<node>/set_parametersRequest, reply
on rr/<node>/set_parametersReply, the ROS 2 service topics), one parameter
per call, then reads the node's ~/status for a moment.

    param_peer.py NODE NAME:=VALUE... [--status TOPIC] [--motif-status TOPIC]

VALUE is a Python literal (0.5 is a double, 500 an integer, 'x' a string).
Prints one JSON line per call ({"name", "successful", "reason"}) and, with
--status, the last status document as {"status": ...}; with --motif-status,
the last typed motif_interfaces/msg/MotifStatus as {"motif_status": ...}
(declared in ros2_types.py from interfaces/motif_interfaces/msg/MotifStatus.msg).
"""
import argparse
import ast
import json
import time

# ros2_types first: importing it sets the loopback-only Cyclone config.
from ros2_types import (
    MotifStatus_, Parameter_, ParameterValue_, SetParameters_Request_, SetParameters_Response_,
    String_, Time_, emit, qos,
)
from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic


def value_of(v):
    # rcl_interfaces/msg/ParameterType: BOOL 1, INTEGER 2, DOUBLE 3, STRING 4.
    base = dict(type=0, bool_value=False, integer_value=0, double_value=0.0, string_value="",
                byte_array_value=[], bool_array_value=[], integer_array_value=[],
                double_array_value=[], string_array_value=[])
    if isinstance(v, bool):
        base.update(type=1, bool_value=v)
    elif isinstance(v, int):
        base.update(type=2, integer_value=v)
    elif isinstance(v, float):
        base.update(type=3, double_value=v)
    else:
        base.update(type=4, string_value=str(v))
    return ParameterValue_(**base)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("node")
    ap.add_argument("sets", nargs="+")
    ap.add_argument("--status")
    ap.add_argument("--motif-status")
    ap.add_argument("--say", help="TOPIC:=TEXT, a std_msgs/String sent once before the sets")
    args = ap.parse_args()
    dp = DomainParticipant(0)
    node = args.node.strip("/")
    writer = DataWriter(dp, Topic(dp, f"rq/{node}/set_parametersRequest",
                                  SetParameters_Request_), qos=qos())
    reader = DataReader(dp, Topic(dp, f"rr/{node}/set_parametersReply",
                                  SetParameters_Response_), qos=qos())
    status = (DataReader(dp, Topic(dp, "rt" + args.status, String_), qos=qos())
              if args.status else None)
    typed = (DataReader(dp, Topic(dp, "rt" + args.motif_status, MotifStatus_), qos=qos())
             if args.motif_status else None)
    deadline = time.monotonic() + 20
    # Wait until the node's service endpoints are discovered both ways.
    while time.monotonic() < deadline and not (
            writer.get_matched_subscriptions() and reader.get_matched_publications()):
        time.sleep(0.1)
    if args.say:
        topic, text = args.say.split(":=", 1)
        say = DataWriter(dp, Topic(dp, "rt" + topic, String_), qos=qos())
        while time.monotonic() < deadline and not say.get_matched_subscriptions():
            time.sleep(0.1)
        say.write(String_(data=text))
        time.sleep(0.5)
    for item in args.sets:
        name, text = item.split(":=", 1)
        request = SetParameters_Request_(parameters=[Parameter_(name, value_of(ast.literal_eval(text)))])
        writer.write(request)
        reply = None
        while reply is None and time.monotonic() < deadline:
            for sample in reader.take(N=1):
                reply = sample
            time.sleep(0.02)
        if reply is None:
            raise SystemExit(f"no reply to setting {name}")
        r = reply.results[0]
        emit(name=name, successful=r.successful, reason=r.reason)
    last, last_typed = None, None
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        if status is not None:
            for sample in status.take(N=16):
                last = sample.data
        if typed is not None:
            for sample in typed.take(N=16):
                last_typed = sample
        time.sleep(0.05)
    if status is not None:
        emit(status=json.loads(last) if last else None)
    if typed is not None:
        doc = None
        if last_typed is not None:
            doc = {k: getattr(last_typed, k) for k in MotifStatus_.__dataclass_fields__}
            doc["stamp"] = {"sec": doc["stamp"].sec, "nanosec": doc["stamp"].nanosec}
            doc["queue"] = list(doc["queue"])
        emit(motif_status=doc)


if __name__ == "__main__":
    main()
