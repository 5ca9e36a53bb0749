"""Which part of the learned judge? A learned fetch agent's planner with its imagination replaced, piece by
piece, by the true simulator, on the same episodes.

    python scripts/judge_parts.py LEARNED_RUN [--steps 2000] [--copies 4] [--set planner.KEY=VALUE ...]
                                  [--arms A,B,...] [--json]

Why: given the same proposals, the trained oracle agent's judge delivers ~4 more per episode than the learned
agent's (scripts/proposal_swap.py; docs/fetch.md, "Whose proposals, whose judge?"). That judge has three parts: the
predictor (where the imagined futures go), the read-out (the heads that turn a latent into the sensors and
body sense the Intrinsic Cost reads) and the critic (the value at the horizon). Each arm keeps the learned
agent's encoder, policy and critic and changes where the planner's futures come from:

    imagined       the agent as it is: predictor, heads, critic
    sim-heads      the true simulator steps each sequence; its heads read the encoding of each true next
                   frame (the sensor head on (z, a, z'), the body sense of z'), its critic the last one
    sim-truth      the true simulator, and the true sensors (what the oracle's IC reads); its critic on
                   the encoding of the last true frame
    sim-heads+task   as sim-heads, but the task channel (deliveries) is the true one
    imagined+task    the agent's imagination, but the task channel of each imagined step is the one the true
                     simulator gives for the same actions from the true state (everything else imagined)
    sim-heads+order  as sim-heads, but the order channel and carrying level (the carry potential) are true
    ...-nocritic   the same without the critic (planner.use_critic=false)

So `imagined` -> `sim-heads` is what the predictor's futures cost (its heads being fine on real ones),
`sim-heads` -> `sim-truth` what the heads' reading of real futures costs. The policy proposals are rolled
out in the model the planner uses (in the simulator arms, on the encodings of true frames: the
`learned:own-sim` proposals of proposal_swap.py). A diagnostic: the learned agent never has the simulator.
Every arm uses critic_swap's evaluation keys, so `imagined` reproduces its "own" to the last copy.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, NamedTuple

import equinox as eqx
import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from critic_swap import arm_lines, by_agent, evaluation_args, tiled  # noqa: E402  (this folder)

from aptami.agent import Agent  # noqa: E402
from aptami.agent.agent import _encode  # noqa: E402
from aptami.agent.checkpoint import load  # noqa: E402
from aptami.agent.cost import SENSOR_INDEX, Percept, sensors_from_signals  # noqa: E402
from aptami.agent.oracle import OracleWorldModel, task_of_body  # noqa: E402
from aptami.agent.runner import evaluate_seeds  # noqa: E402
from aptami.cli import replan  # noqa: E402
from aptami.env.core import House  # noqa: E402
from aptami.env.types import EnvParams  # noqa: E402
from aptami.util import enable_compilation_cache  # noqa: E402

ARMS = ("imagined", "imagined-nocritic", "imagined+task", "sim-heads", "sim-heads-nocritic", "sim-heads+task",
        "sim-heads+order", "sim-truth", "sim-truth-nocritic")
_NOV, _TASK = SENSOR_INDEX["novelty"], SENSOR_INDEX["task"]
TRUE_CHANNELS = {"task": ("task",), "order": ("order", "carrying")}


class TrueAndEncoded(NamedTuple):
    state: object          # the true simulator state
    z: jax.Array           # its encoding by the agent's encoder
    proprio: jax.Array     # the body sense the agent's heads read off z


class SimHeads(eqx.Module):
    """The true simulator steps; the agent's heads read the encoded true frames (the learned read-out of
    real futures). The planner's root z is swapped for the true state it encodes."""

    house: House = eqx.field(static=True)
    params: EnvParams
    wm: eqx.Module
    novelty: Callable = eqx.field(static=True)   # latent -> novelty from the count table
    counts: jax.Array
    state0: object
    truth: tuple = eqx.field(static=True, default=())   # channels read off the simulator instead
    task_of_body: bool = eqx.field(static=True, default=False)

    def root(self, z):
        return TrueAndEncoded(self.state0, z, self.wm.body_sense(z))

    def step(self, m, a_vec, key):
        nxt, info = self.house.step_state(key, m.state, jax.numpy.argmax(a_vec), self.params)
        obs = self.house.observe(nxt, self.params)
        z2 = _encode(self.wm, obs.frame, obs.proprio)
        sensors, proprio = self.wm.read(m.z, a_vec, z2, m.proprio)
        sensors = sensors.at[_NOV].set(self.novelty(self.counts, z2))
        if self.task_of_body:   # planner.task_of_body: deliveries read off the body sense the heads give
            sensors = task_of_body(sensors, m.proprio, a_vec, proprio)
        if self.truth:
            idx = np.array([SENSOR_INDEX[c] for c in self.truth])
            real = sensors_from_signals(self.house.signals(nxt, info, self.params))
            sensors = sensors.at[idx].set(real[idx])
        return TrueAndEncoded(nxt, z2, proprio), Percept(sensors, proprio, z2), jax.numpy.zeros(())

    def latent(self, m):
        return m.z

    def unfamiliarity(self, m):
        return jax.numpy.zeros(())


class ImaginedTrueTask(eqx.Module):
    """The agent's imagination (its LearnedModel), stepped beside the true simulator on the same actions;
    only the task channel of each imagined step is taken from the simulator."""

    learned: eqx.Module
    house: House = eqx.field(static=True)
    params: EnvParams
    state0: object

    def root(self, z):
        return self.learned.root(z), self.state0

    def step(self, m, a_vec, key):
        m_l, m_s = m
        m_l2, percept, disagreement = self.learned.step(m_l, a_vec, key)
        nxt, info = self.house.step_state(key, m_s, jax.numpy.argmax(a_vec), self.params)
        real = sensors_from_signals(self.house.signals(nxt, info, self.params))
        return (m_l2, nxt), percept._replace(sensors=percept.sensors.at[_TASK].set(real[_TASK])), disagreement

    def latent(self, m):
        return self.learned.latent(m[0])

    def unfamiliarity(self, m):
        return jax.numpy.zeros(())


class SimTruth(OracleWorldModel):
    """The oracle's model (true dynamics, true sensors), rooted at the true state in place of the latent;
    the critic and the policy read the agent's encoding of the true frames."""

    state0: object = None

    def root(self, z):
        return self.state0


class Judged(Agent):
    """The learned agent planning through the model of `part` (an arm without its "-nocritic")."""

    part = "imagined"

    def planning_model(self, st, key=None, anchors=None):
        if self.part.startswith("sim-heads"):
            truth = TRUE_CHANNELS[self.part.split("+")[1]] if "+" in self.part else ()
            return SimHeads(self.house, self.env_params, st.wm, self.novelty_of_latent, st.counts, st.env_state,
                            truth, self.cfg.planner.task_of_body)
        if self.part == "sim-truth":
            return SimTruth(self.house, self.env_params, _encode, st.wm, self.novelty_of_code, st.counts,
                            self.cfg.perception.latent, state0=st.env_state)
        learned = super().planning_model(st, key, anchors)
        if self.part == "imagined+task":
            return ImaginedTrueTask(learned, self.house, self.env_params, st.env_state)
        return learned


def parts(run, steps: int, copies: int = 4, sets=(), arms=ARMS) -> dict:
    bad = [a for a in arms if a not in ARMS]
    if bad:
        raise ValueError(f"--arms: unknown arm(s) {bad}; allowed: {', '.join(ARMS)}")
    agent0, st0, _ = load(run)
    if agent0.cfg.train.world_model != "learned":
        raise ValueError(f"{run}: expected an agent with world_model=learned, got {agent0.cfg.train.world_model}")
    n = int(np.asarray(st0.env_steps).shape[0])
    out = {"run": str(run), "set": list(sets), "steps": steps, "copies": copies, "agents": n}
    key = jax.random.key(0)   # critic_swap's evaluation keys
    for arm in arms:
        part = arm.removesuffix("-nocritic")
        extra = ["planner.use_critic=false"] if arm.endswith("-nocritic") else []
        agent, st = replan(agent0, st0, list(sets) + extra)   # refuses all but planner.*
        judged = Judged(agent.cfg)
        judged.part = part
        vals = [p["mean_return"] for p in evaluate_seeds(judged, tiled(st, copies), steps, key)["per_seed"]]
        out[arm] = by_agent(vals, n, copies)
        print(f"{arm}: {np.mean(vals):.2f}", file=sys.stderr, flush=True)
    return out


def summary(res: dict) -> str:
    lines = [f"{res['agents']} agent(s) x {res['copies']} copies, {res['steps']} steps, set {res['set']}",
             "arm                  mean   per agent (copies)"]
    return "\n".join(lines + arm_lines(res, ARMS, 20))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    evaluation_args(ap)
    ap.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, from {', '.join(ARMS)}")
    args = ap.parse_args()
    enable_compilation_cache()
    res = parts(args.run, args.steps, args.copies, args.set, tuple(args.arms.split(",")))
    print(json.dumps(res, indent=1) if args.json else summary(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
