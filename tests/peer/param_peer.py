#!/usr/bin/env python3
"""`ros2 param set` without ROS: calls a node's rcl_interfaces/SetParameters
service over Cyclone DDS (request on rq/<node>/set_parametersRequest, reply
on rr/<node>/set_parametersReply, the ROS 2 service topics), one parameter
per call, then reads the node's ~/status for a moment.

    param_peer.py NODE NAME:=VALUE... [--status TOPIC]

VALUE is a Python literal (0.5 is a double, 500 an integer, 'x' a string).
Prints one JSON line per call ({"name", "successful", "reason"}) and, with
--status, the last status document as {"status": ...}.
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
    args = ap.parse_args()
    dp = DomainParticipant(0)
    node = args.node.strip("/")
    writer = DataWriter(dp, Topic(dp, f"rq/{node}/set_parametersRequest",
                                  SetParameters_Request_), qos=qos())
    reader = DataReader(dp, Topic(dp, f"rr/{node}/set_parametersReply",
                                  SetParameters_Response_), qos=qos())
    status = (DataReader(dp, Topic(dp, "rt" + args.status, String_), qos=qos())
              if args.status else None)
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
    if status is not None:
        last = None
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            for sample in status.take(N=16):
                last = sample.data
            time.sleep(0.05)
        emit(status=json.loads(last) if last else None)


if __name__ == "__main__":
    main()
