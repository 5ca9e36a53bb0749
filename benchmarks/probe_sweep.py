"""A sweep of pessimism weights: one compiled probe with the weights as arguments (what
`stay-in-distribution` runs) against a probe compiled for each weight (what it ran before), in one process.

    python benchmarks/probe_sweep.py [--seeds 2] [--steps 50] [--scale full] [--json]

Why it matters: `stay-in-distribution` probes 26 conditions (2 penalties x 7 weights x 2 scenarios,
weight 0 shared). Each probe of the full-size agent compiled its own program, 17-20 s on a 2-core
CPU whether it acted for 30 or 600 steps, so compiling could be most of a short probe. Both arms
use the full-size agent of `critic-exploitation` (untrained: compile and run time do not depend on
the weights' values) in the never-seen `house`, with the density penalty's weights of the full
sweep. No persistent compilation cache: every compile here is cold, as on a fresh device machine.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from aptami.agent import Agent  # noqa: E402
from aptami.experiments import exploitation as ex  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--scale", default="full", choices=("demo", "quick", "full"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cfg = ex.train_config(args.scale)
    weights = ex._sizes(args.scale)["weights"]
    agent = Agent(cfg)
    t0 = time.perf_counter()
    st = jax.jit(jax.vmap(agent.init))(jax.random.split(jax.random.key(0), args.seeds))
    st, _ = jax.jit(jax.vmap(lambda s: agent.collect(s, 1000, "random")))(st)   # something to remember
    jax.block_until_ready(st)
    print(f"{args.seeds} {args.scale}-size agents ({cfg.planner.samples} samples x {cfg.planner.iterations} "
          f"iterations, horizon {cfg.planner.horizon}), {args.steps} steps per probe in {ex.NOVEL_SCENARIO}, "
          f"density weights {weights}; set up in {time.perf_counter() - t0:.1f} s")
    rows, out = {}, {}
    for arm, traced in (("program_per_weight", False), ("one_traced_program", True)):
        times, res = [], []
        for w in weights:
            c = cfg.replace(planner=dataclasses.replace(cfg.planner, density_weight=float(w)))
            t = time.perf_counter()
            res.append(ex.probe(c, st, ex.NOVEL_SCENARIO, args.steps, traced_penalties=traced))
            times.append(time.perf_counter() - t)
        rows[arm] = {"total_s": round(sum(times), 1), "first_s": round(times[0], 1),
                     "later_mean_s": round(float(np.mean(times[1:])), 2) if len(times) > 1 else None}
        out[arm] = res
        print(f"{arm:20s} {len(weights)} probes in {sum(times):6.1f} s  (first {times[0]:5.1f} s, later "
              f"{rows[arm]['later_mean_s']} s each)")
    diff = max(abs(a - b) for ra, rb in zip(out["program_per_weight"], out["one_traced_program"])
               for k in ("gap", "distance") for a, b in zip(ra[k], rb[k]))
    speedup = rows["program_per_weight"]["total_s"] / rows["one_traced_program"]["total_s"]
    print(f"sweep speedup (program per weight / one program): {speedup:.2f}; largest difference in gap or "
          f"distance between the arms: {diff:.2g}")
    summary = {"bench": "probe_sweep", "scale": args.scale, "seeds": args.seeds, "steps": args.steps,
               "weights": list(weights), **rows, "sweep_speedup": round(speedup, 2), "max_abs_diff": diff,
               "device": str(jax.devices()[0])}
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
