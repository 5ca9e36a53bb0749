"""A trained run with one part of its world model trained further, written as a run of its own.

    python scripts/refit_run.py RUN OUT [--what sensor_head] [--updates 3000] [--set world_model.KEY=VALUE ...]

Why: between two trainings of the same configuration the spread of fetch deliveries is as large as any
effect measured (docs/fetch.md), so a change of the world model's loss is hard to judge by training anew
on a few seeds. Refitting the same trained agents instead, for the same number of further updates on
their own memory, once with the loss as it was (the control) and once with the change, compares the two
on the same agents: the other networks, the memory and the evaluation keys are shared. Each seed of RUN
is refitted (`delivery_audit.refit`, vmapped over seeds: its loss, batch, optimiser and uniform batches);
OUT holds the result with the changed configuration, ready for `aptami eval --agent OUT`,
`critic_swap.py OUT` or `judge_parts.py OUT`. Only `world_model.*` may change (it changes the refit's loss;
the weights keep their shapes).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from delivery_audit import REFITS, refit  # noqa: E402  (this folder)

from aptami.agent import Agent, with_overrides  # noqa: E402
from aptami.agent.checkpoint import load, save  # noqa: E402
from aptami.agent.config import ConfigError  # noqa: E402
from aptami.util import enable_compilation_cache  # noqa: E402


def refit_run(run, out, what: str = "sensor_head", updates: int = 3000, sets=(), seed: int = 0) -> Path:
    bad = [x for x in sets if not x.startswith("world_model.")]
    if bad:
        raise ConfigError(f"{bad[0]!r}: a refit changes the world model's loss only; allowed: world_model.* overrides")
    if what not in REFITS:
        raise ConfigError(f"what={what!r}: allowed values are {', '.join(map(repr, REFITS))}")
    if not isinstance(updates, int) or updates <= 0:
        raise ConfigError(f"updates must be a positive whole number, got {updates!r}")
    agent, st, meta = load(run)
    if meta.get("lean"):
        raise ConfigError(f"{run} is a lean copy: its memory holds a sample only, too little to refit on")
    cfg = with_overrides(agent.cfg, list(sets))
    refitter = Agent(cfg)
    t0 = time.time()
    new = jax.jit(jax.vmap(lambda s: refit(refitter, s, what, updates, seed)))(st)
    jax.block_until_ready(new)
    info = {**meta, "refit": {"from": str(run), "what": what, "updates": updates, "set": list(sets), "seed": seed,
                              "seconds": round(time.time() - t0, 1)}}
    return save(out, cfg, new, info)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("out")
    ap.add_argument("--what", default="sensor_head", choices=REFITS)
    ap.add_argument("--updates", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="world_model.KEY=VALUE")
    a = ap.parse_args()
    enable_compilation_cache()
    path = refit_run(a.run, a.out, a.what, a.updates, a.set, a.seed)
    print(f"{path}: {a.what} refitted {a.updates} updates, set {a.set}; seeds "
          f"{int(np.asarray(load(path)[1].env_steps).shape[0])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
