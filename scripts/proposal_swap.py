"""Whose proposals, whose judge? A learned fetch agent's planner given the trained oracle agent's Mode-1
proposals, and the oracle's planner given the learned agent's, on the same episodes.

    python scripts/proposal_swap.py LEARNED_RUN ORACLE_RUN [--steps 2000] [--copies 4] [--set planner.KEY=VALUE ...]
                                    [--arms A,B,...] [--json]

Why: at 32 x 2 half of the planner's 32 sequences come from its Mode-1 policy. The trained oracle agent's
policy alone delivers ~2.5 per episode and its planner ~8.7; the learned agent's policy alone ~0.1-0.5 and
its planner ~3 (docs/fetch.md, "Is the learned agent's Mode-1 policy of any use?"). Is the learned agent limited by
what it proposes (its policy) or by how it judges proposals (its world model, IC read-out and critic)?
Each judge (the planner with its own model, IC and critic) is run with proposals from each policy:

    learned:own      the learned agent as it is (its policy rolled out in its imagination)
    learned:own-sim  its own policy, rolled out in the true simulator from the true state (no imagination drift)
    learned:oracle   the oracle agent's policy (with the oracle agent's encoder), rolled out in the simulator
    learned:none     no proposals: all 32 sequences from the CEM distribution (planner.policy_samples=0)
    oracle:own       the trained oracle agent as it is
    oracle:learned   the oracle planner with the learned agent's policy (and encoder) in the simulator
    oracle:none      the oracle planner without proposals

Rolling a policy out in the true simulator gives it the true future frames: a diagnostic, not a way for
the learned agent to act (it never has the simulator). Agent i of one run is paired with agent i of the
other (both runs trained from seeds 0..n-1); each agent is copied `--copies` times as in critic_swap.py, and
every arm uses the same evaluation keys (critic_swap's), so `learned:own` reproduces critic_swap's "own".
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

from critic_swap import arm_lines, by_agent, evaluation_args, tiled  # noqa: E402  (this folder)

from aptami.agent import Agent  # noqa: E402
from aptami.agent.actor import policy_rollouts  # noqa: E402
from aptami.agent.agent import _encode  # noqa: E402
from aptami.agent.checkpoint import load  # noqa: E402
from aptami.agent.oracle import OracleWorldModel  # noqa: E402
from aptami.agent.runner import evaluate_seeds  # noqa: E402
from aptami.cli import replan  # noqa: E402
from aptami.util import enable_compilation_cache  # noqa: E402

ARMS = ("learned:own", "learned:own-sim", "learned:oracle", "learned:none", "oracle:own", "oracle:learned",
        "oracle:none")


class Proposed(Agent):
    """An agent whose planner takes its policy samples from another (encoder, policy) pair rolled out in
    the true simulator from the true state. `proposer` is set while tracing (see `evaluate_with`)."""

    proposer = None

    def decide(self, st, key, z, weights, mode, explore=False, anchors=None, proposals=None):
        if mode != "plan" or self.proposer is None:
            return super().decide(st, key, z, weights, mode, explore, anchors, proposals)
        wm, policy = self.proposer
        pc = self.cfg.planner
        sim = OracleWorldModel(self.house, self.env_params, _encode, wm, self.novelty_of_code, st.counts,
                               self.cfg.perception.latent)
        k_prop, k_env, key = jax.random.split(key, 3)
        seqs = policy_rollouts(k_prop, sim, st.env_state, policy, pc.policy_samples, pc.horizon,
                               jax.random.split(k_env, pc.horizon), self.n_actions)
        return super().decide(st, key, z, weights, mode, explore, anchors, seqs.astype(jnp.int32))


def evaluate_with(agent: Proposed, st, proposer, steps: int, key) -> list[float]:
    """Deliveries per episode of each (tiled) agent, vmapped; `proposer`: (wm, policy) per agent. The keys
    are split as `evaluate_seeds` splits them, so every arm meets the same episodes."""
    n = int(np.asarray(st.env_steps).shape[0])
    keys = jax.random.split(key, n)

    def one(s, prop, k):
        agent.proposer = prop
        try:
            return agent.evaluate(s, k, steps)["mean_return"]
        finally:
            agent.proposer = None

    return [float(x) for x in jax.jit(jax.vmap(one))(st, proposer, keys)]


def swap(learned_run, oracle_run, steps: int, copies: int = 4, sets=(), arms=ARMS) -> dict:
    bad = [a for a in arms if a not in ARMS]
    if bad:
        raise ValueError(f"--arms: unknown arm(s) {bad}; allowed: {', '.join(ARMS)}")
    runs = {"learned": load(learned_run), "oracle": load(oracle_run)}
    n = {k: int(np.asarray(v[1].env_steps).shape[0]) for k, v in runs.items()}
    if n["learned"] != n["oracle"]:
        raise ValueError(f"the runs hold {n['learned']} and {n['oracle']} agents: pairing needs the same number")
    for name, (ag, _, _) in runs.items():
        if ag.cfg.train.world_model != name or ag.cfg.scenario != "fetch":
            raise ValueError(f"{name} run: expected a fetch agent with world_model={name}, got "
                             f"{ag.cfg.scenario}/{ag.cfg.train.world_model}")
    out = {"learned_run": str(learned_run), "oracle_run": str(oracle_run), "set": list(sets), "steps": steps,
           "copies": copies, "agents": n["learned"]}
    key = jax.random.key(0)   # critic_swap's evaluation keys
    for arm in arms:
        judge, source = arm.split(":")
        extra = ["planner.policy_samples=0"] if source == "none" else []
        agent, st = replan(runs[judge][0], runs[judge][1], list(sets) + extra)   # refuses all but planner.*
        st = tiled(st, copies)
        if source in ("own", "none"):
            vals = [p["mean_return"] for p in evaluate_seeds(agent, st, steps, key)["per_seed"]]
        else:
            donor = tiled(runs[judge if source == "own-sim" else source][1], copies)
            vals = evaluate_with(Proposed(agent.cfg), st, (donor.wm, donor.policy), steps, key)
        m = n["learned"]
        out[arm] = by_agent(vals, m, copies)
        print(f"{arm}: {np.mean(vals):.2f}", file=sys.stderr, flush=True)
    return out


def summary(res: dict) -> str:
    lines = [f"{res['agents']} agent pair(s) x {res['copies']} copies, {res['steps']} steps, set {res['set']}",
             "judge:proposals   mean   per agent (copies)"]
    return "\n".join(lines + arm_lines(res, ARMS, 17))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("learned_run")
    ap.add_argument("oracle_run")
    evaluation_args(ap)
    ap.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, from {', '.join(ARMS)}")
    args = ap.parse_args()
    enable_compilation_cache()
    res = swap(args.learned_run, args.oracle_run, args.steps, args.copies, args.set, tuple(args.arms.split(",")))
    print(json.dumps(res, indent=1) if args.json else summary(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
