"""Print one planned episode of trained agents, step by step: action, held item, needs, positions, the
step's IC and the cost the planner expected of its chosen plan.

    python scripts/trace_episode.py RUN_FOLDER [--steps 200] [--agent 0] [--seed 3] [--set planner.KEY=VALUE]

For reading what a learned agent does where a summary figure cannot say why (e.g. fetch: does it
pick up, carry, stand still?). Exploration is off, as in evaluation.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from aptami.agent import checkpoint  # noqa: E402
from aptami.cli import replan  # noqa: E402
from aptami.env.types import ACTION_NAMES  # noqa: E402
from aptami.util import enable_compilation_cache  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--agent", type=int, default=0, help="which of the vmapped seeds")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--set", action="append", metavar="planner.KEY=VALUE", help="other planner settings")
    a = ap.parse_args(argv)
    if a.steps <= 0:
        raise SystemExit("--steps must be positive")
    enable_compilation_cache()
    agent, state, _ = checkpoint.load(a.run)
    if a.set:
        agent, state = replan(agent, state, a.set)
    house = agent.house
    seeds = int(np.asarray(state.env_steps).shape[0])
    if not 0 <= a.agent < seeds:
        raise SystemExit(f"--agent must be in 0..{seeds - 1}")
    st = jax.tree.map(lambda x: x[a.agent], state)
    st = agent.fresh_episode(st, *jax.random.split(jax.random.key(a.seed)))
    keep = ("state", "action", "cost", "plan_cost")
    _, tr = jax.jit(lambda s: agent.collect(s, a.steps, "plan", explore=False, keep=keep))(st)
    s = jax.tree.map(np.asarray, tr["state"])
    w = house.size.padded_width
    for t in range(a.steps):
        humans = [(int(h // w), int(h % w)) for h in s.human_pos[t]]
        print(f"{t:4d} {ACTION_NAMES[int(tr['action'][t])]:8s} held {int(s.held[t])} need {s.need[t].tolist()} "
              f"robot {(int(s.robot_pos[t] // w), int(s.robot_pos[t] % w))} humans {humans} "
              f"cost {float(tr['cost'][t]):+.3f} plan {float(tr['plan_cost'][t]):+.3f}")


if __name__ == "__main__":
    main()
