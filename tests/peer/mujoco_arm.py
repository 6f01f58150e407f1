"""A robot we did not write: MuJoCo (PyPI) simulates urdf/arm.urdf and plays
the arm for a running motif_controller over Cyclone DDS, standing in for
Gazebo under gz_ros2_control.

It loads the URDF, puts a position servo on every joint (MuJoCo position
actuators: a PD on the joint torque, as a position command interface drives
a joint; bodies gravity-compensated, as the Panda's own controllers are),
starts at --initial, follows /forward_position_controller/commands (latest
wins, as forward_command_controller does) at 1 kHz in real time, publishes
/joint_states at 250 Hz with the actuator torques as efforts, sends
--sequence on /motif_controller/sequence once the node is up, and stops
0.5 s after the node reports holding with the sequence played. The report
(--out, JSON) has the first command, tracking errors and torques for
tests/mujoco_arm.rs to judge.
"""
import argparse
import json
import time

# ros2_types first: importing it sets the loopback-only Cyclone config.
from ros2_types import Float64MultiArray_, Header_, JointState_, String_, Time_, emit, qos
from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
import mujoco

# Servo gains per joint (N·m/rad, N·m·s/rad): stiff enough to track within
# a few mrad, soft enough that the torques stay inside the Panda's limits.
KP = [1500.0, 1500.0, 1500.0, 1500.0, 250.0, 250.0, 250.0]
KV = [60.0, 60.0, 60.0, 60.0, 8.0, 8.0, 8.0]


def build(urdf, initial):
    spec = mujoco.MjSpec.from_file(urdf)
    spec.option.timestep = 0.001
    names = [j.name for j in spec.joints]
    for i, j in enumerate(spec.joints):
        a = spec.add_actuator()
        a.name = j.name
        a.target = j.name
        a.trntype = mujoco.mjtTrn.mjTRN_JOINT
        a.set_to_position(kp=KP[i], kv=KV[i])
    for b in spec.bodies:
        b.gravcomp = 1.0
    model = spec.compile()
    data = mujoco.MjData(model)
    data.qpos[: len(initial)] = initial
    data.ctrl[: len(initial)] = initial
    mujoco.mj_forward(model, data)
    return model, data, names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--urdf", required=True)
    ap.add_argument("--initial", required=True)
    ap.add_argument("--sequence", default="circle lift")
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=float, default=40.0)
    ap.add_argument("--domain", type=int, default=0)
    args = ap.parse_args()
    initial = [float(x) for x in args.initial.split(",")]
    model, data, names = build(args.urdf, initial)
    effort = [float(model.actuator_forcerange[i][1]) if model.actuator_forcelimited[i] else None
              for i in range(model.nu)]

    dp = DomainParticipant(args.domain)
    cmd_r = DataReader(dp, Topic(dp, "rt/forward_position_controller/commands", Float64MultiArray_),
                       qos=qos(depth=50))
    status_r = DataReader(dp, Topic(dp, "rt/motif_controller/status", String_), qos=qos(depth=50))
    js_w = DataWriter(dp, Topic(dp, "rt/joint_states", JointState_), qos=qos())
    seq_w = DataWriter(dp, Topic(dp, "rt/motif_controller/sequence", String_), qos=qos())

    rep = dict(names=names, initial=initial, first_command=None, commands=0, phases=[], executed=[],
               faults=[], max_err=[0.0] * len(names), sq_err=[0.0] * len(names), samples=0,
               max_torque=[0.0] * len(names), timed_out=True)
    command = None
    acked = False
    last_send = 0.0
    holding_since = None
    start = time.monotonic()
    step = 0
    while time.monotonic() - start < args.timeout:
        for c in cmd_r.take(N=50):
            if isinstance(c, Float64MultiArray_) and len(c.data) == len(names):
                command = list(c.data)
                rep["commands"] += 1
                if rep["first_command"] is None:
                    rep["first_command"] = command
                    rep["first_measured"] = [float(q) for q in data.qpos[: len(names)]]
        for s in status_r.take(N=50):
            if not isinstance(s, String_):
                continue
            st = json.loads(s.data)
            phase = st.get("phase")
            lc = st.get("last_command") or {}
            acked |= lc.get("text") == args.sequence and lc.get("accepted") is True
            if st.get("fault"):
                rep["faults"].append(st.get("state"))
            if phase == "executing" and (not rep["executed"] or rep["executed"][-1] != st.get("motif")):
                rep["executed"].append(st.get("motif"))
            done = acked and phase == "holding" and rep["executed"] and not st.get("queue")
            holding_since = (holding_since or time.monotonic()) if done else None
        if not acked and rep["first_command"] is not None and time.monotonic() - last_send > 1.0:
            seq_w.write(String_(data=args.sequence))
            last_send = time.monotonic()
        if command is not None:
            data.ctrl[: len(names)] = command
        mujoco.mj_step(model, data)
        step += 1
        if command is not None:
            rep["samples"] += 1
            for j in range(len(names)):
                e = abs(command[j] - data.qpos[j])
                rep["max_err"][j] = max(rep["max_err"][j], e)
                rep["sq_err"][j] += e * e
                rep["max_torque"][j] = max(rep["max_torque"][j], abs(float(data.actuator_force[j])))
        if step % 4 == 0:
            now = time.time_ns()
            js_w.write(JointState_(
                header=Header_(stamp=Time_(sec=now // 1_000_000_000, nanosec=now % 1_000_000_000),
                               frame_id=""),
                name=names, position=[float(q) for q in data.qpos[: len(names)]],
                velocity=[float(v) for v in data.qvel[: len(names)]],
                effort=[float(f) for f in data.actuator_force[: len(names)]]))
        if holding_since is not None and time.monotonic() - holding_since > 0.5:
            rep["timed_out"] = False
            break
        # Real time: the node's loop and this physics share the wall clock.
        lag = start + step * 0.001 - time.monotonic()
        if lag > 0:
            time.sleep(lag)
    rep["rms_err"] = [(s / max(rep["samples"], 1)) ** 0.5 for s in rep["sq_err"]]
    rep["effort_limits_in_model"] = effort
    with open(args.out, "w") as f:
        json.dump(rep, f)
    emit(event="done", timed_out=rep["timed_out"])


if __name__ == "__main__":
    main()
