"""Where one Mode-2 decision spends its time: XLA's kernels, from a profiler trace, per decision.

    python benchmarks/profile_planner.py [--top 20] [--ab-root]

The decision is planning.py's (the default predictor and budget, vmapped over 16 agents). Rows: each
kernel's summed time per decision and its calls; "ynn_fusion" kernels are the matmuls (YNNPACK),
"copy_bitcast_fusion" ones the bias + SiLU passes between them. Kernels on the two cores overlap, so
the rows can add up to more than the decision's time. `--ab-root` instead times, interleaved in this
process, the planner starting from the learned model's `root` (the imagined proprioception carried
from step to step) against the same planner stepping bare latents (read twice a step), and checks
that both choose the same actions at the same costs.
"""
from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from aptami.agent import Agent, preset, with_overrides  # noqa: E402
from aptami.agent.actor import plan  # noqa: E402
from aptami.util import enable_compilation_cache, median_time  # noqa: E402


class Bare:
    """The learned planning model without `root`: the planner steps bare latents."""

    def __init__(self, model):
        self.model = model

    def step(self, m, a_vec, key):
        return self.model.step(m, a_vec, key)

    def latent(self, m):
        return self.model.latent(m)

    def unfamiliarity(self, m):
        return self.model.unfamiliarity(m)


def setup():
    cfg = with_overrides(preset("two-rooms", "learned"), ["planner.use_critic=true", "planner.policy_samples=0"])
    agent = Agent(cfg)
    state = jax.jit(agent.init)(jax.random.key(0))
    z = jax.random.normal(jax.random.key(1), (16, cfg.perception.latent))
    args = (jax.random.split(jax.random.key(0), 16), z, jnp.tile(state.plan_probs, (16, 1, 1)))

    def compiled(model):
        def decide(key, z, probs):
            a, _, info = plan(key, model, z, probs, lambda p: state.ic(p, agent.configurator.base)[0], state.critic,
                              None, cfg.planner)
            return a, info["plan_cost"]

        return jax.jit(jax.vmap(decide)).lower(*args).compile()

    return agent, state, args, compiled


def kernels(f, args, runs: int = 3):
    """{kernel name: (ms per decision, calls per decision)} from a perfetto trace of `runs` calls."""
    jax.block_until_ready(f(*args))
    with tempfile.TemporaryDirectory() as d:
        with jax.profiler.trace(d, create_perfetto_trace=True):
            for _ in range(runs):
                jax.block_until_ready(f(*args))
        (path,) = glob.glob(os.path.join(d, "plugins", "profile", "*", "perfetto_trace.json.gz"))
        events = json.load(gzip.open(path))
    events = events["traceEvents"] if isinstance(events, dict) else events
    dur, calls = collections.Counter(), collections.Counter()
    for e in events:
        if e.get("ph") == "X" and not e["name"].startswith(("$", "ThunkExecutor", "SlinkyThreadPool")):
            dur[e["name"]] += e.get("dur", 0) / 1e3 / runs
            calls[e["name"]] += 1 / runs
    return {k: (v, calls[k]) for k, v in dur.most_common()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--ab-root", action="store_true")
    ap.add_argument("--reps", type=int, default=15)
    args_ = ap.parse_args(argv)
    enable_compilation_cache()
    agent, state, args, compiled = setup()
    model = agent.planning_model(state)
    if not args_.ab_root:
        rows = kernels(compiled(model), args)
        total = sum(ms for ms, _ in rows.values())
        for name, (ms, n) in list(rows.items())[:args_.top]:
            print(f"{ms:8.1f} ms {n:6.0f} calls  {name}")
        print(json.dumps({"kernel_ms_per_decision": total,
                          "matmul_ms": sum(ms for k, (ms, _) in rows.items() if k.startswith("ynn_fusion")),
                          "bias_silu_ms": sum(ms for k, (ms, _) in rows.items() if k.startswith("copy_bitcast"))}))
        return 0
    bare, carried = compiled(Bare(model)), compiled(model)
    (a0, c0), (a1, c1) = bare(*args), carried(*args)
    same = bool(np.array_equal(a0, a1)) and float(jnp.max(jnp.abs(c0 - c1))) <= 1e-5
    tb, tc = [], []
    for _ in range(args_.reps):
        tb.append(median_time(lambda: jax.block_until_ready(bare(*args)), 1))
        tc.append(median_time(lambda: jax.block_until_ready(carried(*args)), 1))
    print(json.dumps({"same_actions_and_costs": same, "bare_ms": 1e3 * float(np.median(tb)),
                      "carried_ms": 1e3 * float(np.median(tc)), "speedup": float(np.median(tb) / np.median(tc))}))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
