"""Where does a learned agent's plan cost come from? An audit of Mode-2 planning against the truth.

    python scripts/plan_audit.py RUN_FOLDER [--steps 200] [--every 4] [--set planner.KEY=VALUE]

For trained agents (a run folder of `aptami train`), act with the planner for `steps` from a fresh
episode of their scenario; at every `every`-th decision take the plan the planner chose and compare,
open loop over the planning horizon, what the world model imagined with what the true simulator does
with the same action sequence from the same state:
  - the discounted imagined IC over the horizon and the critic's discounted terminal value,
  - the discounted real IC of the same sequence (the sensors of the real steps, the same IC),
  - per sensor channel the IC reads, imagined vs real (discounted sums);
  - "task_within_reach": the task channel counted only where the body (imagined, or real) was within a
    cell of its target pose before the step (env.core.task_reach_of_proprio), where every real task
    event happens: how much of what the planner imagined its own imagined body contradicts.
A planner whose imagined IC is far below the real one is exploiting its world model's errors;
one whose critic term carries the promise is exploiting the critic.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from aptami.agent import checkpoint  # noqa: E402
from aptami.agent.cost import SENSOR_INDEX, Percept, sensors_from_signals  # noqa: E402
from aptami.agent.oracle import LearnedModel  # noqa: E402
from aptami.cli import replan  # noqa: E402
from aptami.env.core import task_reach_of_proprio  # noqa: E402
from aptami.util import enable_compilation_cache  # noqa: E402

CHANNELS = ("task", "order", "carrying", "goal_dist")  # carrying: a level (discounted sum of its values)
TASK = SENSOR_INDEX["task"]


def audit(folder, steps: int, every: int, sets=()):
    agent, state, _ = checkpoint.load(folder)
    if sets:   # the same trained agents with other planner settings (e.g. a narrower search)
        agent, state = replan(agent, state, list(sets))
    pc = agent.cfg.planner
    gamma, h = pc.gamma, pc.horizon
    weights = agent.configurator.base
    disc = gamma ** jnp.arange(h)
    house, p = agent.house, agent.env_params

    def one(st, key):
        st = agent.fresh_episode(st, *jax.random.split(key))
        st, tr = agent.collect(st, steps, "plan", explore=False, keep=("z", "plan", "prior", "cost"))
        model = LearnedModel(st.wm, agent.novelty_of_latent, st.counts, None, pc.gate_task)  # what the planner imagined

        def imagined(z, seq):
            def body(m, a):
                m2, percept, _ = model.step(m, jax.nn.one_hot(a, agent.n_actions), None)
                reach = 1.0 if pc.gate_task else task_reach_of_proprio(st.wm.body_sense(m))  # (gated: already)
                return m2, (st.ic(percept, weights)[0], percept.sensors, percept.sensors[TASK] * reach)

            z_end, (c, sens, within) = jax.lax.scan(body, z, seq)
            value = gamma ** h * st.critic(z_end) if pc.use_critic else jnp.zeros(())
            return jnp.sum(disc * c), value, jnp.sum(disc[:, None] * sens, 0), jnp.sum(disc * within)

        def real(es, seq, k):
            def body(carry, x):
                s, alive = carry
                a, kk = x
                s2, info = house.step_state(kk, s, a, p)
                sig = house.signals(s2, info, p)
                sens = sensors_from_signals(sig)
                percept = Percept(sens, house.proprio(s2), jnp.zeros(zdim))  # the task terms read no latent
                c = st.ic(percept, weights)[0] * alive
                within = sens[TASK] * task_reach_of_proprio(house.proprio(s)) * alive
                return (s2, alive * (1.0 - info["done"].astype(jnp.float32))), (c, sens * alive, within)

            _, (c, sens, within) = jax.lax.scan(body, (es, jnp.ones(())), (seq, jax.random.split(k, h)))
            return jnp.sum(disc * c), jnp.sum(disc[:, None] * sens, 0), jnp.sum(disc * within)

        zdim = tr["z"].shape[-1]
        idx = jnp.arange(0, steps, every)
        pick = lambda x: x[idx]  # noqa: E731
        # each plan is replayed from the state it was chosen in (`prior`, which z encodes); before
        # 2026-11-28 it was replayed from the state after its first action (see docs/fetch.md)
        z, plans, states = pick(tr["z"]), pick(tr["plan"]), jax.tree.map(pick, tr["prior"])
        ic_hat, v_hat, s_hat, w_hat = jax.vmap(imagined)(z, plans)
        ic_real, s_real, w_real = jax.vmap(real)(states, plans, jax.random.split(jax.random.key(5), idx.size))
        return ic_hat, v_hat, s_hat, w_hat, ic_real, s_real, w_real, tr["cost"]

    seeds = int(np.asarray(state.env_steps).shape[0])
    out = jax.jit(jax.vmap(one))(state, jax.random.split(jax.random.key(11), seeds))
    ic_hat, v_hat, s_hat, w_hat, ic_real, s_real, w_real, cost = (np.asarray(x) for x in out)
    ch = [SENSOR_INDEX[c] for c in CHANNELS]
    return {
        "seeds": seeds, "decisions_per_seed": int(ic_hat.shape[1]), "horizon": h, "use_critic": pc.use_critic,
        "imagined_ic": float(ic_hat.mean()), "critic_terminal": float(v_hat.mean()),
        "real_ic_same_plan": float(ic_real.mean()), "realised_cost_per_step": float(cost.mean()),
        "channels_imagined": {c: float(s_hat[..., i].mean()) for c, i in zip(CHANNELS, ch)},
        "channels_real": {c: float(s_real[..., i].mean()) for c, i in zip(CHANNELS, ch)},
        "task_within_reach_imagined": float(w_hat.mean()), "task_within_reach_real": float(w_real.mean()),
        "per_seed_imagined_ic": [float(x) for x in ic_hat.mean(1)],
        "per_seed_real_ic": [float(x) for x in ic_real.mean(1)],
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--every", type=int, default=4)
    ap.add_argument("--set", action="append", default=[], metavar="planner.KEY=VALUE",
                    help="other planner settings")
    a = ap.parse_args(argv)
    if a.steps <= 0 or a.every <= 0:
        raise SystemExit("--steps and --every must be positive")
    enable_compilation_cache()
    print(json.dumps(audit(a.run, a.steps, a.every, a.set), indent=1))


if __name__ == "__main__":
    main()
