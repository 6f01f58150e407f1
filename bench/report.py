"""Writes docs/benchmarks.md from the results bench/all.sh collected.

    python3 bench/report.py bench/results docs

Every number in the document comes from these files; the targets' pass/fail
lines are computed here, not written by hand. The raw results are copied to
docs/bench/ so the figures stay traceable.
"""

import contextlib
import io
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import summarize  # noqa: E402

OURS = summarize.OURS


def check(ok):
    return "met" if ok else "**not met**"


def tick_section(tick):
    out = ["| N | ndarray matvec p50 / p99 | hand-tuned matvec p50 / p99 | control tick p50 / p99 | tick / floor (p50) "
           "| loop design tick p50 / p99 | loop / input (p50) |",
           "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in tick:
        q = lambda k: f"{r[k]['p50']:.2f} / {r[k]['p99']:.2f}" if k in r else "–"
        loop_ratio = f"{r['loop_over_input_p50']:.2f}" if 'loop_over_input_p50' in r else "–"
        out.append(f"| {r['n']} | {q('ndarray_matvec_us')} | {q('kernel_matvec_us')} | {q('tick_us')} "
                   f"| {r['tick_over_floor_p50']:.2f} | {q('loop_tick_us')} | {loop_ratio} |")
    return "\n".join(out)


def loop_section(loop):
    out = ["| background | wait | spin | lateness p50 | p99 | p99.9 | max | ticks | woke ≥ 1 period late "
           "| deadlines skipped | scheduling the loop got |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for c in loop["loop"]:
        l = c["lateness_us"]
        out.append(f"| {c['load']} | {c['wait']} | {c['spin_us']} µs | {l['p50']:.1f} | {l['p99']:.1f} "
                   f"| {l['p999']:.1f} | {l['max']:.1f} | {c['ticks']} | {c['late_by_a_period']} "
                   f"| {c['skipped_deadlines']} | {c.get('scheduling', 'SCHED_OTHER (normal)')} |")
    return "\n".join(out)


def stall_section(loop):
    probes = loop.get("stall_probe")
    if not probes:
        return ""
    out = ["**Stall probe** (same run, same bench): a thread with the FIFO rows' scheduling reads the clock "
           "back to back for 500 µs of every 1 ms period (half the time, so the kernel's real-time throttle "
           "never applies) and records each gap ≥ 50 µs between two reads: time it did not run although "
           "nothing in the guest outranks it (interrupts, or the hypervisor running something else on this "
           "virtual CPU). No loop with that scheduling can wake before such a gap ends.", "",
           "| background | spun | gaps ≥ 50 µs | of them ≥ 1 ms | time lost | longest gap | scheduling the probe got |",
           "|---|---:|---:|---:|---:|---:|---|"]
    for c in probes:
        p = c["probe"]
        out.append(f"| {c['load']} | {p['spun_s']:.0f} s | {p['stalls_over_50us']} | {p['stalls_over_1ms']} "
                   f"| {p['lost_ms']:.1f} ms | {p['max_stall_us']:.0f} µs | {p['scheduling']} |")
    return "\n".join(out)


def lat_row(name, d):
    return (f"| {name} | {d['p50_us']:.0f} | {d['p99_us']:.0f} | {d.get('p99_9_us', float('nan')):.0f} "
            f"| {d['max_us']:.0f} | {d['count']} |")


def wire_section(w):
    s = w["stream"]
    out = [f"{s['window_s']:.0f} s at {s['rate_hz']:.0f} Hz; latencies in µs.", "",
           "| path | p50 | p99 | p99.9 | max | samples |", "|---|---:|---:|---:|---:|---:|"]
    for topic, label in [("float64_multi_array", "Float64MultiArray"), ("joint_state", "JointState")]:
        t = s[topic]
        out.append(lat_row(f"{label}: tick stamp → peer", t["tick_stamp_to_peer"]))
        out.append(lat_row(f"{label}: DDS write → peer (wire only)", t["dds_write_to_peer"]))
        out.append(lat_row(f"{label}: inside the node, tick stamp → DDS write", t["tick_stamp_to_dds_write"]))
    d = s["delivery_vs_node_ticks"]
    out += ["", f"Delivery: {d['joint_states_received_in_span']} of the node's {d['node_ticks_in_span']} ticks "
            f"arrived ({d['joint_states_lost']} lost) over {d['span_s']:.1f} s; the node ran "
            f"{d['node_ticks_in_span']} ticks against {d['deadlines_in_span']} deadlines."]
    c = w["command_to_motion"]
    out += ["", "Command → first motion (µs):", "",
            "| measured as | p50 | p99 | p99.9 | max | repeats |", "|---|---:|---:|---:|---:|---:|",
            lat_row("node reaction: first moving sample's stamp − command send", c["stamp_minus_send"]),
            lat_row("its DDS write − command send", c["dds_write_minus_send"]),
            lat_row("end to end: peer receives it − command send", c["receive_minus_send"])]
    return "\n".join(out)


def training_tables(rows):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        summarize.comparison(rows)
        ok = summarize.cross_check(rows)
        summarize.scaling(rows)
    if not ok:
        sys.exit("report: the leaky peers disagree on the step-0 loss")
    return buf.getvalue().strip()


def median(rows, impl, n, threads):
    """Median step time of the comparison run whose impl name starts with `impl`."""
    for r in rows:
        if r.get("suite") == "compare" and r["impl"].startswith(impl) and r["n"] == n and r["threads"] == threads:
            return r["median_ms"]
    return None


def profile_section(profile, rows, peak):
    """bench/profile_step.sh's self-time shares of one core's step, and the
    GEMMs' rate that the share implies."""
    if profile is None:
        return "(No profile in this run: `bench/profile_step.sh` needs perf.)"
    out = [f"Where one core's time goes (`bench/profile_step.sh`: perf record on the train_step "
           f"bench pinned to core 0, the whole process, self time by function, {profile['date']}):", "",
           "| part of the step | share |", "|---|---:|"]
    out += [f"| {p['part']} | {p['percent']:.1f} % |" for p in profile["parts"]]
    gemm = next(p["percent"] for p in profile["parts"] if p["part"].startswith("the GEMMs")) / 100
    ours = median(rows, OURS, 256, 1)
    floor = peak["train_step_n256_floor_ms"]["one_core"]
    a512 = peak["fma_avx512_gflops"]
    if ours and a512 and gemm > 0:
        # The floor's 1.26 GFLOP are the GEMMs' (the outputs' D columns add under 3 %).
        rate = floor * a512["one_core"] / (gemm * ours)
        out += ["", f"At that share of the 1-core step above ({ours:.2f} ms), the GEMMs run at about "
                f"{rate:.0f} GFLOP/s, {100 * rate / a512['one_core']:.0f} % of the AVX-512 FMA peak: an "
                "estimate, the share and the time coming from two processes minutes apart, and the "
                "peak itself moving by a few per cent between runs on this shared machine."]
    return "\n".join(out)


def ceilings_section(peak, tick, rows):
    """This CPU's ceilings (benches/fma_peak.rs) and every floor as a ratio to them."""
    a2, a512 = peak["fma_avx2_gflops"], peak["fma_avx512_gflops"]
    cores = peak["cores"]
    out = ["| ceiling | 1 core | all cores |", "|---|---:|---:|",
           f"| f32 FMA peak, AVX2+FMA (GFLOP/s) | {a2['one_core']:.1f} | {a2['all_cores']:.1f} ({cores}) |"]
    if a512:
        out.append(f"| f32 FMA peak, AVX-512 (GFLOP/s) | {a512['one_core']:.1f} | {a512['all_cores']:.1f} ({cores}) |")
    else:
        out.append("| f32 FMA peak, AVX-512 | not on this CPU | |")
    bc = peak.get("fma_avx512_broadcast_gflops")
    if bc and a512:
        out.append(f"| AVX-512 FMA with A broadcast from L1, the GEMM's 8 × 48 tile (GFLOP/s) "
                   f"| {bc:.1f} ({100 * bc / a512['one_core']:.0f} % of peak) | |")
    r = peak["read_gbs"]
    out.append(f"| read bandwidth, L1 (16 kB) / L2 (256 kB), GB/s | {r['l1_16k']:.1f} / {r['l2_256k']:.1f} | |")
    out += ["", "The control tick (batch 1) reads its N² weights once per step, so its floor is the",
            "read rate, not the FMAs: each N against both floors, and the measured tick and matvec p50.", "",
            "| N | FMA floor (µs) | weight-read floor (µs) | hand-tuned matvec p50 / read floor | tick p50 / read floor |",
            "|---:|---:|---:|---:|---:|"]
    by_n = {t["n"]: t for t in tick}
    for m in peak["matvec_floor"]:
        t = by_n.get(m["n"])
        if t is None:
            continue
        out.append(f"| {m['n']} | {m['fma_us']:.2f} | {m['read_us']:.2f} "
                   f"| {t['kernel_matvec_us']['p50'] / m['read_us']:.2f} | {t['tick_us']['p50'] / m['read_us']:.2f} |")
    f = peak["train_step_n256_floor_ms"]
    out += ["", f"The training step at N = 256, B = 16, T = 200 is ≈1.26 GFLOP (forward recurrence, its "
            f"transpose and the weight gradient): {f['one_core']:.2f} ms on one core at the FMA peak, "
            f"{f['all_cores']:.2f} ms on {cores}."]
    if bc and a512:
        out.append(f"At the broadcast ceiling above, its GEMMs alone would take {a512['one_core'] / bc:.2f}× that floor, "
                   "before any of the step's elementwise work (tanh, the Euler step and its transpose, "
                   "Adam). That ceiling is the tile's that the recurrence's "
                   "per-step products (a chunk's 8 trials) and the weight gradient of J run, 8 rows over "
                   "three 16-lane panels; the small products with the D outputs run narrower ones.")
    for threads, floor in ((1, f["one_core"]), (2, f["all_cores"])):
        ours = median(rows, OURS, 256, threads)
        if ours:
            out.append(f"Ours with {threads} thread(s): {ours:.1f} ms, {ours / floor:.2f}× that floor.")
    capped = [r for r in rows if r.get("suite") == "isa"]
    if capped:
        out += ["", "The kernels' instruction sets on the training step at N = 256 (`--isa=avx2` caps them; "
                "both paths give bit-identical weights):", "",
                "| threads | widest path | ms | AVX2 path ms | widest / AVX2 speed-up |", "|---:|---|---:|---:|---:|"]
        for r in sorted(capped, key=lambda r: r["threads"]):
            wide = next((w for w in rows if w.get("suite") == "compare" and w["impl"] == OURS
                         and w["n"] == 256 and w["threads"] == r["threads"]), None)
            if wide:
                out.append(f"| {r['threads']} | {wide.get('isa', '?')} | {wide['median_ms']:.2f} "
                           f"| {r['median_ms']:.2f} | {r['median_ms'] / wide['median_ms']:.2f}× |")
    return "\n".join(out)


def targets(tick, loop, rows, wire, peak=None):
    t256 = next(r for r in tick if r["n"] == 256)
    big = [r for r in tick if r["n"] <= 1024]
    spin_idle = next(c for c in loop["loop"] if c["load"] == "idle" and c["spin_us"] > 0)
    lines = [
        f"- Tick p50 ≤ 1.5 × matvec floor at N = 256: {t256['tick_over_floor_p50']:.2f}× — {check(t256['tick_over_floor_p50'] <= 1.5)}.",
        f"- Tick within the 1 ms budget up to N = 1024 (p99): max {max(r['tick_us']['p99'] for r in big):.0f} µs — "
        f"{check(all(r['tick_us']['p99'] < 1000 for r in big))}.",
        f"- Loop lateness p99 ≤ 100 µs, sleep-then-spin, idle: {spin_idle['lateness_us']['p99']:.1f} µs — "
        f"{check(spin_idle['lateness_us']['p99'] <= 100)}.",
    ]
    fifo = next((c for c in loop["loop"] if c["load"] == "loaded" and "FIFO" in c["wait"]), None)
    if fifo:
        l = fifo["lateness_us"]
        got = fifo.get("scheduling", "")
        lines.append(
            f"- SCHED_FIFO, both cores loaded (issue 15): {fifo['skipped_deadlines']} deadlines missed over "
            f"{fifo['seconds']:.0f} s (goal 0), p99.9 {l['p999']:.1f} µs (goal ≤ 50) — "
            f"{check(fifo['skipped_deadlines'] == 0 and l['p999'] <= 50)}"
            + ("" if got.startswith("SCHED_FIFO") else f" (the loop got {got}: no privilege for FIFO)") + ".")
        longer = next((c for c in loop["loop"] if c["load"] == "loaded" and "long spin" in c["wait"]), None)
        if longer:
            l = longer["lateness_us"]
            lines.append(
                f"  - … with a {longer['spin_us']} µs spin (`spin_us`): {longer['skipped_deadlines']} missed, "
                f"p99.9 {l['p999']:.1f} µs — {check(longer['skipped_deadlines'] == 0 and l['p999'] <= 50)}.")
        probe = next((c["probe"] for c in loop.get("stall_probe", []) if c["load"] == "loaded"), None)
        if probe:
            lines.append(
                f"  - … a thread with the same scheduling that only reads the clock lost the CPU "
                f"{probe['stalls_over_50us']} times for ≥ 50 µs ({probe['stalls_over_1ms']} for ≥ 1 ms, the longest "
                f"{probe['max_stall_us']:.0f} µs) in {probe['spun_s']:.0f} s of spinning: section 2, stall probe.")
    for threads in (1, 2):
        ours = median(rows, OURS, 256, threads)
        jax = median(rows, "jax lax.scan jit", 256, threads)
        loop_ = median(rows, "torch-loop", 256, threads)
        if ours and jax:
            lines.append(f"- Train step N = 256, {threads} thread(s): ours {ours:.1f} ms vs JAX {jax:.1f} ms "
                         f"({jax / ours:.2f}×) — faster than JAX {check(ours < jax)}.")
        if ours and loop_:
            lines.append(f"- … vs PyTorch explicit loop {loop_:.1f} ms ({loop_ / ours:.2f}×) — "
                         f"≥ 3× {check(loop_ / ours >= 3)}.")
    # Every run of ours at N = 256, T = 200 on both cores (comparison and sweep): judged on their median.
    runs = sorted(r["median_ms"] for r in rows
                  if r["impl"] == OURS and r["n"] == 256 and r["seq"] == 200 and r["threads"] == 2)
    if runs:
        mid = runs[len(runs) // 2]
        lines.append(f"- Train step N = 256 ≤ 12 ms on this machine: medians of the {len(runs)} runs "
                     f"{', '.join(f'{m:.1f}' for m in runs)} ms, middle {mid:.1f} ms — {check(mid <= 12)}.")
    wins = [f"{r['impl']} at N = {r['n']}, {r['threads']} thread(s): {r['median_ms']:.1f} ms vs ours "
            f"{median(rows, OURS, r['n'], r['threads']):.1f} ms"
            for r in rows
            if r.get("suite") == "compare" and r["impl"] != OURS
            and median(rows, OURS, r["n"], r["threads"]) is not None
            and r["median_ms"] < median(rows, OURS, r["n"], r["threads"])]
    lines.append("- Where a peer still beats ours: " + ("; ".join(wins) if wins else "nowhere in this run") + ".")
    if peak:
        floor = peak["train_step_n256_floor_ms"]["all_cores"]
        ours = median(rows, OURS, 256, 2)
        if ours:
            lines.append(f"- Train step N = 256 ≤ 1.5 × the {peak['cores']}-core FMA floor (issue 15): "
                         f"{ours:.1f} ms vs {floor:.2f} ms, {ours / floor:.2f}× — {check(ours <= 1.5 * floor)}.")
    rss = wire["node_memory_after_all"]["VmHWM_kB"] / 1024
    lines.append(f"- Node resident memory ≤ 30 MB: peak {rss:.1f} MB — {check(rss <= 30)}.")
    return "\n".join(lines)


def main():
    res, docs = Path(sys.argv[1]), Path(sys.argv[2])
    machine = json.loads((res / "machine.json").read_text())
    tick = json.loads((res / "tick.json").read_text())
    loop = json.loads((res / "loop.json").read_text())
    wire = json.loads((res / "wire.json").read_text())
    rows = summarize.load(res / "training.jsonl")
    peak = json.loads((res / "peak.json").read_text())
    prof_file = res / "profile.json"
    profile = json.loads(prof_file.read_text()) if prof_file.exists() else None
    raw = docs / "bench"
    raw.mkdir(exist_ok=True)
    for f in ["machine.json", "peak.json", "tick.json", "loop.json", "wire.json", "training.jsonl"]:
        shutil.copy(res / f, raw / f)
    if profile is not None:
        shutil.copy(prof_file, raw / "profile.json")
    else:
        # A run without perf leaves no earlier run's profile among its results.
        (raw / "profile.json").unlink(missing_ok=True)
    lib = loop["library"]
    bins = "\n".join(f"| {name} | {b['MB']:.1f} MB | {b['stripped_MB']:.1f} MB |"
                     for name, b in wire["binaries"].items())
    doc = f"""# Benchmarks

Generated by `bench/all.sh` (then `python3 bench/report.py bench/results docs`);
do not edit by hand. Raw results: `docs/bench/`. Every ratio compares figures
measured in the same run on this machine:

| machine | |
|---|---|
| CPU | {machine['cpu']}, {machine['cores']} cores |
| kernel | {machine['kernel']} |
| compiler | {machine['rustc']} |
| run | {machine['date']}, load average {machine['load1_at_start']} at start |

## Targets (issues 7 and 15)

{targets(tick, loop, rows, wire, peak)}

## 0. This CPU's ceilings

`cargo bench --bench fma_peak`: 12 independent FMA chains per core (AVX-512
ones when the CPU has them); the training GEMM's inner loop (an 8 × 48 tile of
accumulators fed by broadcasts of A and loads of B) on operands that sit in L1,
the most a broadcast kernel can reach; and the read rate of one core over
buffers that fit L1 and L2. Every floor below is a ratio to the FMA peak,
measured in the same run.

{ceilings_section(peak, tick, rows)}

## 1. Control tick versus the matrix-vector floor

`cargo bench --bench tick_scaling`. The tick is the controller's real `tick`
(one network step: tanh, N×N recurrence, motif drive; the D = 7 readout, output
scaling and URDF limits), batch 1, f32, on a random network of size N with the
default library's joints. The floor is the bare N×N matrix-vector product of the
same weights: ndarray's `general_mat_vec_mul` and our hand-tuned kernel, on
AVX-512 or AVX2 + FMA, whichever the CPU has (`src/model/kernels.rs`; no BLAS
is shipped). The loop-design columns time the
same tick when each motif drives the network by a rank-8 loop `U_m V_m` instead
of an input `b_m` (docs/results.md, the second network design). Times in µs over
20 000 calls.

{tick_section(tick)}

![tick time versus N](plots/tick_vs_n.png)

What made the tick approach the floor: a rational tanh (the 13/6 fit XLA and
Eigen use; < 1e-6 relative error, vectorised) instead of libm's `tanhf`; the
matvec as explicit intrinsics behind run-time CPU detection (AVX2: four rows
share each load of x; AVX-512: eight, one 16-lane sum per row, the same bits
as AVX2); denormals flushed after every step; no `f32::mul_add`
outside FMA-enabled code (without the `fma` target feature it is a software
routine).

## 2. Fixed-rate loop at 1000 Hz

`cargo bench --bench control_tick -- 60`: the default library (N = {lib['n']}),
the real loop thread, 60 s per case. "loaded" runs two busy-looping threads
(both cores) beside it for the whole case. The FIFO rows ask for SCHED_FIFO
priority 80 and locked memory (`realtime_priority`, `lock_memory`); the last
column is what the kernel gave the loop thread. Lateness = wake-up time −
deadline, in µs. "Deadlines skipped" is the loop's own count (`deadlines_skipped`
in its timing): the samples the robot did not get.

{loop_section(loop)}

{stall_section(loop)}

## 3. Training step versus PyTorch and JAX

`bench/training.sh`: the same leaky-tanh network, sizes, batch 16, sequence
200, BPTT + global-norm clip + Adam, f32 (problem in `bench/problem.py`; see
`bench/README.md`). Ours with 1 thread is pinned with `taskset -c 0`, as is
JAX with 1 thread; PyTorch sets its own thread count.

{training_tables(rows)}

Where the time goes in ours: the recurrence's per-step products (B×N · N×N,
against weights packed once per step into 16-column panels, so nothing is
repacked per time step; our kernel, AVX-512 where the CPU has it: 8 rows
over three panels per pass, the step's rates or gradients read from the
panels the weight gradients need them in, so one pointer serves all 8 rows)
and the weight gradients as single GEMMs over all time steps on the same
kernel and tile (the forward pass packs the rates and the backward pass the
gradients into panels step by step, and the gradient's left operand `gᵀ` is
read from its panels, so neither gradient has a packing or transposing pass
of its own); with two cores the batch is split into chunks of 8 trials,
which keeps results independent of the core count.

{profile_section(profile, rows, peak)}

## 4. Wire

`bench/wire.sh`: `motif_controller` at 1000 Hz and a Cyclone DDS (Python) peer
in a private network namespace. The tick stamp is the tick's time on the wall
clock, read on the loop thread; the DDS write time is the sample's DDS source
timestamp. Peer-side Python deserialisation is inside every "→ peer" figure.

{wire_section(wire)}

## 5. Footprint

| what | value |
|---|---|
| node resident memory, peak (VmHWM after the 1 kHz run and the command tests) | {wire['node_memory_after_all']['VmHWM_kB'] / 1024:.1f} MB |
| node CPU at 1 kHz | {wire['stream']['node_cpu_percent_of_one_core']:.1f} % of one core |
| library load time (`models/default`, p50 of 20) | {lib['load_ms_p50']:.2f} ms |

| binary | as built (line-table debug info) | stripped |
|---|---:|---:|
{bins}
"""
    # bench/dmp_peer.sh writes its own generated table (issue 18).
    dmp = docs / "dmp_peer.md"
    if dmp.exists():
        doc += "\n## 6. Against DMPs and \"Ruckig to the start, then a DMP\"\n\n" + dmp.read_text()
    (docs / "benchmarks.md").write_text(doc)


if __name__ == "__main__":
    main()
