"""Time-optimal jerk-limited stops computed by Ruckig (the `ruckig` package
from PyPI, the C++ reference implementation), for tests/hold_vs_ruckig.rs.

stdin: {"limits": {"velocity": [...], "acceleration": [...], "jerk": [...]},
        "cases": [{"position": [...], "velocity": [...], "acceleration": [...]}]}
stdout: {"durations": [seconds per case]}
"""
import json
import sys

from ruckig import ControlInterface, InputParameter, Result, Ruckig, Trajectory


def main():
    req = json.load(sys.stdin)
    lim = req["limits"]
    n = len(lim["velocity"])
    otg = Ruckig(n)
    out = []
    for case in req["cases"]:
        inp = InputParameter(n)
        inp.control_interface = ControlInterface.Velocity
        inp.current_position = case["position"]
        inp.current_velocity = case["velocity"]
        inp.current_acceleration = case["acceleration"]
        inp.target_velocity = [0.0] * n
        inp.target_acceleration = [0.0] * n
        inp.max_velocity = lim["velocity"]
        inp.max_acceleration = lim["acceleration"]
        inp.max_jerk = lim["jerk"]
        traj = Trajectory(n)
        result = otg.calculate(inp, traj)
        if result not in (Result.Working, Result.Finished):
            sys.exit(f"ruckig failed on {case}: {result}")
        out.append(traj.duration)
    json.dump({"durations": out}, sys.stdout)


if __name__ == "__main__":
    main()
