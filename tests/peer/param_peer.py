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
(declared below from interfaces/motif_interfaces/msg/MotifStatus.msg).
"""
import argparse
import ast
import json
import time
from dataclasses import dataclass

# ros2_types first: importing it sets the loopback-only Cyclone config.
from ros2_types import String_, emit, qos
import cyclonedds.idl.types as t
from cyclonedds.domain import DomainParticipant
from cyclonedds.idl import IdlStruct
from cyclonedds.idl.annotations import final
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic


@final
@dataclass
class ParameterValue_(IdlStruct, typename="rcl_interfaces::msg::dds_::ParameterValue_"):
    type: t.uint8
    bool_value: bool
    integer_value: t.int64
    double_value: t.float64
    string_value: str
    byte_array_value: t.sequence[t.uint8]
    bool_array_value: t.sequence[bool]
    integer_array_value: t.sequence[t.int64]
    double_array_value: t.sequence[t.float64]
    string_array_value: t.sequence[str]


@final
@dataclass
class Parameter_(IdlStruct, typename="rcl_interfaces::msg::dds_::Parameter_"):
    name: str
    value: ParameterValue_


@final
@dataclass
class SetParameters_Request_(IdlStruct, typename="rcl_interfaces::srv::dds_::SetParameters_Request_"):
    parameters: t.sequence[Parameter_]


@final
@dataclass
class SetParametersResult_(IdlStruct, typename="rcl_interfaces::msg::dds_::SetParametersResult_"):
    successful: bool
    reason: str


@final
@dataclass
class SetParameters_Response_(IdlStruct, typename="rcl_interfaces::srv::dds_::SetParameters_Response_"):
    results: t.sequence[SetParametersResult_]


@final
@dataclass
class Time_(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: t.int32
    nanosec: t.uint32


@final
@dataclass
class MotifStatus_(IdlStruct, typename="motif_interfaces::msg::dds_::MotifStatus_"):
    stamp: Time_
    phase: str
    motif: str
    progress: t.float64
    queue: t.sequence[str]
    speed: t.float64
    effective_speed: t.float64
    state: str
    fault: str
    last_error: str
    commands_accepted: t.uint64
    commands_rejected: t.uint64
    faults: t.uint64
    ticks: t.uint64
    overruns: t.uint64
    lateness_p99_us: t.float64


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
