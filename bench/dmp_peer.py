#!/usr/bin/env python3
"""Our library against Dynamic Movement Primitives on the same demonstrations.

Reads a motif library (manifest.yaml + weights.safetensors, parsed here
independently of the Rust reader), takes each motif's stored training target
as the demonstration, fits a joint-space DMP to it with `movement_primitives`
and runs both side by side:

- fit: each motif alone (ours from its initial state, the DMP from the demo's
  start);
- chaining: every ordered pair, the second motif scored, started from where the
  first ended (ours through the library's preparation, the DMP from the first
  DMP's end state with its velocity and acceleration);
- preemption: every ordered pair with the first cut at fractions 0.2-0.8 of
  its length (what `motif_controller` does on a new command), the second
  motif's whole segment scored;
- "Ruckig then DMP": at the cut, a time-optimal jerk-limited move (Python
  `ruckig`, the Panda's limits) to the next motif's start, then its DMP from
  rest;
- peak acceleration and jerk as fractions of the limits over the chained and
  preempted streams, by finite differences at the network step (4 ms) and, for
  the DMP and Ruckig, at 1 ms;
- transition time and per-step compute.

Our network is re-implemented here in numpy (float32); with `--eval-json` its
fit NMSE is printed beside `motif_train eval`'s (whose starts pass the
preparation from random states, so the two agree in magnitude, not digits).

Usage: bench/dmp_peer.sh (creates bench/.venv-dmp), or
  python3 bench/dmp_peer.py --library models/default --json bench/results/dmp_peer.json
"""

import argparse
import json
import os
import struct
import sys
import time
from pathlib import Path

import numpy as np
import yaml
from movement_primitives.dmp import DMP
from ruckig import InputParameter, OutputParameter, Result, Ruckig

CUTS = [0.2, 0.35, 0.5, 0.65, 0.8]
WEIGHTS_PER_DIM = 25


def read_safetensors(path):
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} is {info['dtype']}, expected F32")
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(body[a:b], dtype="<f4").reshape(info["shape"]).copy()
    return out


class Library:
    def __init__(self, root):
        root = Path(root)
        self.manifest = yaml.safe_load((root / "manifest.yaml").read_text())
        t = read_safetensors(root / "weights.safetensors")
        m = self.manifest
        if m["variant"]["kind"] != "input":
            raise SystemExit("only the input variant is implemented here")
        self.alpha = np.float32(m["dt"] / m["tau"])
        self.dt = float(m["dt"])
        self.prep_steps = int(m["preparation"]["steps"])
        self.j, self.w, self.y0 = t["J"], t["W"], t["y0"]
        self.j_prep = t.get("J_prep")
        self.names = [e["name"] for e in m["motifs"]]
        self.x_init = [t[f"motif.{i}.x_init"] for i in range(len(self.names))]
        self.b = [t[f"motif.{i}.b"] for i in range(len(self.names))]
        off = np.array(m["output_scaling"]["offset"], dtype=np.float64)
        scale = np.array(m["output_scaling"]["scale"], dtype=np.float64)
        self.to_physical = lambda y: off + scale * np.asarray(y, dtype=np.float64)
        # Row i of a target is the posture after i + 1 network steps.
        self.demos = [self.to_physical(t[f"motif.{i}.target"]) for i in range(len(self.names))]

    def output(self, x):
        return self.to_physical(self.w @ np.tanh(x) + self.y0)

    def run_motif(self, m, x, steps):
        ys = np.empty((steps, len(self.y0)))
        for k in range(steps):
            x = x + self.alpha * (-x + self.j @ np.tanh(x) + self.b[m])
            ys[k] = self.output(x)
        return ys, x

    def run_prep(self, m, x):
        ys = np.empty((self.prep_steps, len(self.y0)))
        for k in range(self.prep_steps):
            e = x - self.x_init[m]
            step = -e if self.j_prep is None else self.j_prep @ e - e
            x = x + self.alpha * step
            ys[k] = self.output(x)
        return ys, x


def nmse(y, target):
    return float(((y - target) ** 2).sum() / ((target - target.mean(0)) ** 2).sum())


def peaks(q, dt, acc, jerk):
    """Largest |2nd| and |3rd| finite difference over all joints, as fractions."""
    a = np.diff(q, 2, axis=0) / dt**2
    j = np.diff(q, 3, axis=0) / dt**3
    return float((np.abs(a) / acc).max()), float((np.abs(j) / jerk).max())


class Dmps:
    def __init__(self, lib, dt):
        self.dt = dt
        self.fits = []
        self.fit_seconds = 0.0
        for demo in lib.demos:
            # The demo with its rest posture before the first step: t = 0 is
            # the motif's onset, as for our network.
            y = np.vstack([demo[:1], demo])
            t = np.arange(len(y)) * lib.dt
            t0 = time.perf_counter()
            d = DMP(n_dims=y.shape[1], execution_time=t[-1], dt=dt, n_weights_per_dim=WEIGHTS_PER_DIM)
            d.imitate(t, y)
            self.fit_seconds += time.perf_counter() - t0
            self.fits.append((d, y[0], y[-1], t[-1]))

    def run(self, m, start=None, start_yd=None, start_ydd=None):
        d, y0, goal, _ = self.fits[m]
        n = len(y0)
        d.configure(
            start_y=y0 if start is None else start,
            start_yd=np.zeros(n) if start_yd is None else start_yd,
            start_ydd=np.zeros(n) if start_ydd is None else start_ydd,
            goal_y=goal,
        )
        _, y = d.open_loop()
        return y

    def on_demo_grid(self, lib, m, y):
        """The rollout at the demo's samples. Row k of `open_loop` is the
        posture after k + 1 integration steps (measured: scored one step late
        the 4 ms fit NMSE is 1e-4, aligned 6e-9), and demo row i is the posture
        at (i + 1) network steps, so row i maps to k = (i + 1)·stride − 1."""
        stride = round(lib.dt / self.dt)
        return y[stride - 1 :: stride][: len(lib.demos[m])]


def state_at(y, k, dt):
    """Position, velocity and acceleration at row k by central differences."""
    k = min(max(k, 2), len(y) - 3)
    v = (y[k + 1] - y[k - 1]) / (2 * dt)
    a = (y[k + 1] - 2 * y[k] + y[k - 1]) / dt**2
    return y[k], v, a


def ruckig_to_rest(p, v, a, target, limits, dt):
    n = len(p)
    otg = Ruckig(n, dt)
    inp, out = InputParameter(n), OutputParameter(n)
    inp.current_position, inp.current_velocity, inp.current_acceleration = list(p), list(v), list(a)
    inp.target_position = list(target)
    inp.target_velocity = [0.0] * n
    inp.target_acceleration = [0.0] * n
    inp.max_velocity = list(limits["velocity"])
    inp.max_acceleration = list(limits["acceleration"])
    inp.max_jerk = list(limits["jerk"])
    path = []
    res = Result.Working
    t0 = time.perf_counter()
    while res == Result.Working:
        res = otg.update(inp, out)
        path.append(list(out.new_position))
        out.pass_to_input(inp)
    if res != Result.Finished:
        raise SystemExit(f"ruckig failed: {res}")
    return np.array(path), out.trajectory.duration, (time.perf_counter() - t0) / len(path)


def load_limits(root, names):
    import xml.etree.ElementTree as ET

    urdf = ET.parse(root / "urdf/arm.urdf").getroot()
    vel = {j.get("name"): float(j.find("limit").get("velocity")) for j in urdf.iter("joint") if j.find("limit") is not None}
    jl = yaml.safe_load((root / "config/joint_limits.yaml").read_text())["joint_limits"]
    return {
        "velocity": np.array([vel[n] for n in names]),
        "acceleration": np.array([jl[n]["max_acceleration"] for n in names]),
        "jerk": np.array([jl[n]["max_jerk"] for n in names]),
    }


def our_step_time(lib, reps=2000):
    x = lib.x_init[0].copy()
    t0 = time.perf_counter()
    for _ in range(reps):
        x = x + lib.alpha * (-x + lib.j @ np.tanh(x) + lib.b[0])
        lib.output(x)
    return (time.perf_counter() - t0) / reps


def dmp_step_time(dmps):
    d, *_ = dmps.fits[0]
    t0 = time.perf_counter()
    _, y = d.open_loop()
    return (time.perf_counter() - t0) / len(y)


def median(v):
    return float(np.median(v))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--library", default="models/default")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--eval-json", help="`motif_train eval --json` of the library: check our numpy network against it")
    ap.add_argument("--tick-us", type=float, help="our control tick with a network step, p50 µs (benches/control_tick.rs)")
    ap.add_argument("--markdown", help="write the side-by-side table here")
    args = ap.parse_args()
    root = Path(__file__).resolve().parent.parent
    lib = Library(args.library)
    limits = load_limits(root, lib.manifest["outputs"])
    acc, jerk = limits["acceleration"], limits["jerk"]
    k = len(lib.names)
    net_dt = lib.dt
    fine_dt = 1e-3

    # Fit.
    ours_fit, ours_end = [], []
    for m in range(k):
        y, x = lib.run_motif(m, lib.x_init[m].copy(), len(lib.demos[m]))
        ours_fit.append(nmse(y, lib.demos[m]))
        ours_end.append(x)
    # The DMPs run at the 1 kHz a controller would drive them at; scored at
    # the demo's samples.
    fine = Dmps(lib, fine_dt)
    dmp_fit = [nmse(fine.on_demo_grid(lib, m, fine.run(m)), lib.demos[m]) for m in range(k)]
    if args.eval_json:
        ev = json.loads(Path(args.eval_json).read_text())
        rust = {p["name"]: p["in_distribution_nmse"] for p in ev["per_motif"]}
        print(f"check: numpy fit NMSE vs motif_train eval (its starts pass the preparation from random states): "
              + ", ".join(f"{n} {ours_fit[i]:.2e}/{rust[n]:.2e}" for i, n in enumerate(lib.names)))

    # Chaining and preemption.
    rows = {key: [] for key in ["ours_chain", "dmp_chain", "ours_pre", "dmp_pre", "rk_pre", "rk_time", "rk_step"]}
    pk = {key: [0.0, 0.0] for key in ["ours", "dmp", "rk"]}

    def bump(key, p):
        pk[key] = [max(pk[key][0], p[0]), max(pk[key][1], p[1])]

    for a in range(k):
        fine_a = fine.run(a)
        for b in range(k):
            if a == b:
                continue
            # Chained after the whole of a.
            prep, x = lib.run_prep(b, ours_end[a].copy())
            y, _ = lib.run_motif(b, x, len(lib.demos[b]))
            rows["ours_chain"].append(nmse(y, lib.demos[b]))
            ya, _ = lib.run_motif(a, lib.x_init[a].copy(), len(lib.demos[a]))
            bump("ours", peaks(np.vstack([ya, prep, y]), net_dt, acc, jerk))
            p, v, ac = state_at(fine_a, len(fine_a) - 1, fine_dt)
            # Row 0 of a rollout is its start, the state it was handed.
            yb = fine.run(b, p, v, ac)
            rows["dmp_chain"].append(nmse(fine.on_demo_grid(lib, b, yb), lib.demos[b]))
            bump("dmp", peaks(np.vstack([fine_a, yb[1:]]), fine_dt, acc, jerk))
            for f in CUTS:
                cut = round(f * len(lib.demos[a]))
                ya, xa = lib.run_motif(a, lib.x_init[a].copy(), cut)
                prep, x = lib.run_prep(b, xa)
                y, _ = lib.run_motif(b, x, len(lib.demos[b]))
                rows["ours_pre"].append(nmse(y, lib.demos[b]))
                bump("ours", peaks(np.vstack([ya, prep, y]), net_dt, acc, jerk))
                kf = round(f * (len(fine_a) - 1))
                p, v, ac = state_at(fine_a, kf, fine_dt)
                yb = fine.run(b, p, v, ac)
                rows["dmp_pre"].append(nmse(fine.on_demo_grid(lib, b, yb), lib.demos[b]))
                bump("dmp", peaks(np.vstack([fine_a[: kf + 1], yb[1:]]), fine_dt, acc, jerk))
                move, dur, step_s = ruckig_to_rest(p, v, ac, lib.demos[b][0], limits, fine_dt)
                rows["rk_time"].append(dur)
                rows["rk_step"].append(step_s)
                rows["rk_pre"].append(dmp_fit[b])
                bump("rk", peaks(np.vstack([fine_a[: kf + 1], move, fine.run(b)[1:]]), fine_dt, acc, jerk))

    result = {
        "library": str(args.library),
        "motifs": lib.names,
        "dmp_weights_per_dim": WEIGHTS_PER_DIM,
        "cuts": CUTS,
        "ours": {
            "fit_nmse_median": median(ours_fit),
            "fit_nmse_worst": max(ours_fit),
            "chain_nmse_mean": float(np.mean(rows["ours_chain"])),
            "preempt_nmse_mean": float(np.mean(rows["ours_pre"])),
            "preempt_nmse_worst": max(rows["ours_pre"]),
            "raw_peak_acc_fraction": pk["ours"][0],
            "raw_peak_jerk_fraction": pk["ours"][1],
            "transition_s": lib.prep_steps * net_dt,
            "step_s_numpy": our_step_time(lib),
        },
        "dmp": {
            "fit_nmse_median": median(dmp_fit),
            "fit_nmse_worst": max(dmp_fit),
            "chain_nmse_mean": float(np.mean(rows["dmp_chain"])),
            "preempt_nmse_mean": float(np.mean(rows["dmp_pre"])),
            "preempt_nmse_worst": max(rows["dmp_pre"]),
            "peak_acc_fraction": pk["dmp"][0],
            "peak_jerk_fraction": pk["dmp"][1],
            "transition_s": 0.0,
            "step_s": dmp_step_time(fine),
            "fit_seconds_total": fine.fit_seconds,
        },
        "ruckig_then_dmp": {
            "preempt_nmse_mean": float(np.mean(rows["rk_pre"])),
            "peak_acc_fraction": pk["rk"][0],
            "peak_jerk_fraction": pk["rk"][1],
            "transition_s_median": median(rows["rk_time"]),
            "transition_s_worst": max(rows["rk_time"]),
            "ruckig_step_s_median": median(rows["rk_step"]),
        },
        "pairs": k * (k - 1),
    }
    result["ours"]["tick_us_rust"] = args.tick_us
    result["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result["load1_at_end"] = round(os.getloadavg()[0], 2)
    out = json.dumps(result, indent=2)
    print(out)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(out + "\n")
    if args.markdown:
        Path(args.markdown).write_text(markdown(result))


def markdown(r):
    o, d, rk = r["ours"], r["dmp"], r["ruckig_then_dmp"]
    e = lambda x: f"{x:.1e}"
    f = lambda x: f"{x:.2f}"
    tick = f"{o['tick_us_rust']:.1f} µs (Rust control tick with a network step, p50)" if o.get("tick_us_rust") else "—"
    rows = [
        ("fit NMSE, median / worst", f"{e(o['fit_nmse_median'])} / {e(o['fit_nmse_worst'])}",
         f"{e(d['fit_nmse_median'])} / {e(d['fit_nmse_worst'])}", f"{e(d['fit_nmse_median'])} / {e(d['fit_nmse_worst'])}"),
        ("chaining NMSE (after the whole previous motif), mean", e(o["chain_nmse_mean"]), e(d["chain_nmse_mean"]), "—"),
        (f"preemption NMSE (previous cut at {', '.join(str(c) for c in r['cuts'])}), mean / worst",
         f"{e(o['preempt_nmse_mean'])} / {e(o['preempt_nmse_worst'])}",
         f"{e(d['preempt_nmse_mean'])} / {e(d['preempt_nmse_worst'])}", e(rk["preempt_nmse_mean"])),
        ("peak acceleration / jerk, fraction of the Panda's limits, over chained and preempted streams",
         f"raw network at 4 ms: {f(o['raw_peak_acc_fraction'])} / {f(o['raw_peak_jerk_fraction'])}; published: ≤ 1 / ≤ 1 (tests/published_stream.rs)",
         f"{f(d['peak_acc_fraction'])} / {f(d['peak_jerk_fraction'])}",
         f"{f(rk['peak_acc_fraction'])} / {f(rk['peak_jerk_fraction'])}"),
        ("transition time before the next motif", f"{o['transition_s']:.2f} s (preparation; the node may stretch it to respect limits)",
         "0 (the DMP bends the next motif instead)",
         f"median {rk['transition_s_median']:.2f} s, worst {rk['transition_s_worst']:.2f} s"),
        ("per-step compute", f"{tick}; numpy {o['step_s_numpy'] * 1e6:.1f} µs",
         f"{d['step_s'] * 1e6:.1f} µs (Python, movement_primitives)",
         f"Ruckig {rk['ruckig_step_s_median'] * 1e6:.1f} µs per 1 ms update (Python binding) during the move, then the DMP's"),
    ]
    lines = [
        f"Generated by `bench/dmp_peer.sh` (its last step, `bench/dmp_peer.py`) on {r['date']} (load average {r['load1_at_end']} at the end) for "
        f"`{r['library']}`: {len(r['motifs'])} motifs, {r['pairs']} ordered pairs; DMPs with "
        f"{r['dmp_weights_per_dim']} weights per joint rolled out at 1 kHz, fitted in {r['dmp']['fit_seconds_total']:.2f} s in all. "
        "NMSE is over the next motif's whole segment against its demonstration, all joints pooled.",
        "",
        "| | ours (one network, thalamocortical preparation) | DMP per motif | Ruckig to the start, then the DMP |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {x} |" for a, b, c, x in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
