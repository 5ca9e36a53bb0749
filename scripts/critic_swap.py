"""Does the trained critic help the planner more than an untrained one? Trained agents evaluated with
their own critic and with freshly initialised critics (random weights), on the same episodes.

    python scripts/critic_swap.py RUN [--steps 2000] [--copies 4] [--set planner.KEY=VALUE ...] [--none] [--json]

Why: the oracle planner delivers about twice as much in `fetch` with an *untrained* critic at the
horizon as with none (docs/fetch.md, "What the oracle's 7.39 rests on"), likely because any fixed preference
over end states beyond the horizon keeps the robot moving. If a learned agent's TD-trained critic gives its
planner no more than such a random preference, the critic has learned nothing the planner can use.

Each agent of RUN is copied `--copies` times; copy k of agent i is evaluated once with the agent's own
critic and once with a fresh critic drawn for it (key 7), under the same evaluation keys, so the two
arms see the same episodes' randomness; `--none` adds a third arm planning without a critic
(`planner.use_critic=false`). Per agent it prints each arm's deliveries (the task's `mean_return`) per
copy, and the paired difference fresh minus own.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aptami.agent.checkpoint import load  # noqa: E402
from aptami.agent.runner import evaluate_seeds  # noqa: E402
from aptami.cli import replan  # noqa: E402
from aptami.util import enable_compilation_cache  # noqa: E402


def tiled(st, copies: int):
    """The state tiled `copies` times along the seed axis (every leaf has it): copy k of agent i sits at
    k * n + i, so evaluating it with keys split n * copies ways gives every arm the same episodes."""
    return jax.tree.map(lambda x: jnp.concatenate([x] * copies), st)


def by_agent(vals, n: int, copies: int) -> list[list[float]]:
    """Per-copy values in tiled order (copy k of agent i at k * n + i) as [agent][copy]."""
    return [[vals[k * n + i] for k in range(copies)] for i in range(n)]


def arm_lines(res: dict, arms, width: int) -> list[str]:
    """One line per arm present in `res`: its mean, then each agent's mean and copies."""
    lines = []
    for arm in arms:
        if arm in res:
            per = "  ".join(f"{np.mean(a):.2f} ({' '.join(f'{x:.1f}' for x in a)})" for a in res[arm])
            lines.append(f"{arm:{width}s} {np.mean(res[arm]):5.2f}   {per}")
    return lines


def evaluation_args(ap: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options every swap script shares: steps, copies, planner settings, JSON out."""
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--set", action="append", default=[], metavar="planner.KEY=VALUE")
    ap.add_argument("--json", action="store_true")
    return ap


def with_fresh_critics(agent, st, copies: int, key):
    """(the state tiled `copies` times, the same with fresh critics); a fresh critic's target network
    starts as a copy of it, as at init."""
    n = int(np.asarray(st.env_steps).shape[0])
    own = tiled(st, copies)
    fresh = jax.jit(jax.vmap(agent.init))(jax.random.split(key, n * copies))
    return own, own._replace(critic=fresh.critic, critic_target=fresh.critic_target)


def swap(run, steps: int, copies: int = 4, sets=(), key=None, none: bool = False) -> dict:
    agent0, st0, _ = load(run)
    agent, st = replan(agent0, st0, list(sets))
    n = int(np.asarray(st.env_steps).shape[0])
    own, fresh = with_fresh_critics(agent, st, copies, jax.random.key(7) if key is None else key)
    out = {"run": str(run), "set": list(sets), "steps": steps, "copies": copies, "agents": n}
    arms = [("own", agent, own), ("fresh", agent, fresh)]
    if none:
        arms.append(("none", replan(agent0, st0, list(sets) + ["planner.use_critic=false"])[0], own))
    for name, ag, s in arms:
        r = evaluate_seeds(ag, s, steps, jax.random.key(0))   # the same evaluation keys for every arm
        ps = [p["mean_return"] for p in r["per_seed"]]
        out[name] = by_agent(ps, n, copies)
    d = np.asarray(out["fresh"]) - np.asarray(out["own"])
    out["fresh_minus_own"] = {"mean": float(d.mean()), "per_agent": [float(x) for x in d.mean(1)]}
    return out


def summary(res: dict) -> str:
    lines = [f"{res['agents']} agent(s) x {res['copies']} copies, {res['steps']} steps, set {res['set']}"]
    for i in range(res["agents"]):
        arms = "  ".join(f"{a} {np.mean(res[a][i]):.2f} ({' '.join(f'{x:.1f}' for x in res[a][i])})"
                         for a in ("own", "fresh", "none") if a in res)
        lines.append(f"agent {i}: {arms}  fresh - own {res['fresh_minus_own']['per_agent'][i]:+.2f}")
    lines.append("all: " + ", ".join(f"{a} {np.mean(res[a]):.2f}" for a in ("own", "fresh", "none") if a in res)
                 + f", fresh - own {res['fresh_minus_own']['mean']:+.2f}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    evaluation_args(ap)
    ap.add_argument("--none", action="store_true", help="also plan without a critic")
    args = ap.parse_args()
    enable_compilation_cache()
    res = swap(args.run, args.steps, args.copies, args.set, none=args.none)
    print(json.dumps(res, indent=1) if args.json else summary(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
