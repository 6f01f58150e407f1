"""ROS 2 message types and QoS for the Cyclone DDS test peers.

Declared here, independently of our Rust code, with the DDS type names rmw
implementations use, so the peers check our names, field order and CDR
encoding against a second implementation. Importing this module sets the
loopback-only Cyclone configuration.
"""
import json
import os
from dataclasses import dataclass

# Loopback only, unicast discovery: inside `unshare -n` lo has no multicast,
# and outside it this keeps the test off the real network. Set before the
# first participant is created, which is when Cyclone reads it.
CYCLONE_CONFIG = """<CycloneDDS><Domain id="any">
  <General>
    <Interfaces><NetworkInterface name="lo"/></Interfaces>
    <AllowMulticast>false</AllowMulticast>
  </General>
  <Discovery>
    <ParticipantIndex>auto</ParticipantIndex>
    <Peers><Peer address="127.0.0.1"/></Peers>
  </Discovery>
</Domain></CycloneDDS>"""
os.environ.setdefault("CYCLONEDDS_URI", CYCLONE_CONFIG)

from cyclonedds.core import Policy, Qos  # noqa: E402
from cyclonedds.idl import IdlStruct  # noqa: E402
from cyclonedds.idl.annotations import final  # noqa: E402
from cyclonedds.util import duration  # noqa: E402
import cyclonedds.idl.types as t  # noqa: E402


# ROS 2 types are final structs; names are <pkg>::msg::dds_::<Type>_.
@final
@dataclass
class String_(IdlStruct, typename="std_msgs::msg::dds_::String_"):
    data: str


@final
@dataclass
class MultiArrayDimension_(IdlStruct, typename="std_msgs::msg::dds_::MultiArrayDimension_"):
    label: str
    size: t.uint32
    stride: t.uint32


@final
@dataclass
class MultiArrayLayout_(IdlStruct, typename="std_msgs::msg::dds_::MultiArrayLayout_"):
    dim: t.sequence[MultiArrayDimension_]
    data_offset: t.uint32


@final
@dataclass
class Float64MultiArray_(IdlStruct, typename="std_msgs::msg::dds_::Float64MultiArray_"):
    layout: MultiArrayLayout_
    data: t.sequence[t.float64]


@final
@dataclass
class Time_(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: t.int32
    nanosec: t.uint32


@final
@dataclass
class Header_(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    stamp: Time_
    frame_id: str


@final
@dataclass
class JointState_(IdlStruct, typename="sensor_msgs::msg::dds_::JointState_"):
    header: Header_
    name: t.sequence[str]
    position: t.sequence[t.float64]
    velocity: t.sequence[t.float64]
    effort: t.sequence[t.float64]


@final
@dataclass
class KeyValue_(IdlStruct, typename="diagnostic_msgs::msg::dds_::KeyValue_"):
    key: str
    value: str


@final
@dataclass
class DiagnosticStatus_(IdlStruct, typename="diagnostic_msgs::msg::dds_::DiagnosticStatus_"):
    level: t.uint8
    name: str
    message: str
    hardware_id: str
    values: t.sequence[KeyValue_]


@final
@dataclass
class DiagnosticArray_(IdlStruct, typename="diagnostic_msgs::msg::dds_::DiagnosticArray_"):
    header: Header_
    status: t.sequence[DiagnosticStatus_]


# rcl_interfaces/SetParameters (the parameter services) and the node's own
# typed status, for tests/peer/param_peer.py.
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




# The ROS 2 action protocol (action_msgs, unique_identifier_msgs) and our
# motif_interfaces action and service, written from the .action/.srv files,
# for tests/peer/action_peer.py.
@final
@dataclass
class UUID_(IdlStruct, typename="unique_identifier_msgs::msg::dds_::UUID_"):
    uuid: t.array[t.uint8, 16]


@final
@dataclass
class GoalInfo_(IdlStruct, typename="action_msgs::msg::dds_::GoalInfo_"):
    goal_id: UUID_
    stamp: Time_


@final
@dataclass
class GoalStatus_(IdlStruct, typename="action_msgs::msg::dds_::GoalStatus_"):
    goal_info: GoalInfo_
    status: t.int8


@final
@dataclass
class GoalStatusArray_(IdlStruct, typename="action_msgs::msg::dds_::GoalStatusArray_"):
    status_list: t.sequence[GoalStatus_]


@final
@dataclass
class CancelGoal_Request_(IdlStruct, typename="action_msgs::srv::dds_::CancelGoal_Request_"):
    goal_info: GoalInfo_


@final
@dataclass
class CancelGoal_Response_(IdlStruct, typename="action_msgs::srv::dds_::CancelGoal_Response_"):
    return_code: t.int8
    goals_canceling: t.sequence[GoalInfo_]


@final
@dataclass
class PlayMotifs_Goal_(IdlStruct, typename="motif_interfaces::action::dds_::PlayMotifs_Goal_"):
    motifs: t.sequence[str]
    append: bool
    speed: t.float64


@final
@dataclass
class PlayMotifs_Result_(IdlStruct, typename="motif_interfaces::action::dds_::PlayMotifs_Result_"):
    success: bool
    motifs_completed: t.uint32
    error: str


@final
@dataclass
class PlayMotifs_Feedback_(IdlStruct, typename="motif_interfaces::action::dds_::PlayMotifs_Feedback_"):
    current_motif: str
    index: t.uint32
    progress: t.float64
    phase: str


@final
@dataclass
class PlayMotifs_SendGoal_Request_(IdlStruct, typename="motif_interfaces::action::dds_::PlayMotifs_SendGoal_Request_"):
    goal_id: UUID_
    goal: PlayMotifs_Goal_


@final
@dataclass
class PlayMotifs_SendGoal_Response_(IdlStruct, typename="motif_interfaces::action::dds_::PlayMotifs_SendGoal_Response_"):
    accepted: bool
    stamp: Time_


@final
@dataclass
class PlayMotifs_GetResult_Request_(IdlStruct, typename="motif_interfaces::action::dds_::PlayMotifs_GetResult_Request_"):
    goal_id: UUID_


@final
@dataclass
class PlayMotifs_GetResult_Response_(IdlStruct, typename="motif_interfaces::action::dds_::PlayMotifs_GetResult_Response_"):
    status: t.int8
    result: PlayMotifs_Result_


@final
@dataclass
class PlayMotifs_FeedbackMessage_(IdlStruct, typename="motif_interfaces::action::dds_::PlayMotifs_FeedbackMessage_"):
    goal_id: UUID_
    feedback: PlayMotifs_Feedback_


@final
@dataclass
class ListMotifs_Request_(IdlStruct, typename="motif_interfaces::srv::dds_::ListMotifs_Request_"):
    structure_needs_at_least_one_member: t.uint8


@final
@dataclass
class ListMotifs_Response_(IdlStruct, typename="motif_interfaces::srv::dds_::ListMotifs_Response_"):
    names: t.sequence[str]
    durations: t.sequence[t.float64]
    outputs: t.sequence[str]


def qos(transient_local=False, depth=10):
    # RustDDS speaks XCDR1 (plain CDR) only; Cyclone would otherwise offer
    # XCDR2 for some types and the writers/readers would not match.
    return Qos(
        Policy.Reliability.Reliable(max_blocking_time=duration(milliseconds=100)),
        Policy.Durability.TransientLocal if transient_local else Policy.Durability.Volatile,
        Policy.History.KeepLast(depth),
        Policy.DataRepresentation(use_cdrv0_representation=True),
    )


def emit(**kv):
    print(json.dumps(kv), flush=True)
