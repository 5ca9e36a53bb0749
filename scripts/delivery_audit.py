"""Does a learned world model know what a delivery is? Its one-step predictions on the oracle's experience.

    python scripts/delivery_audit.py RUN_FOLDER [--steps 600] [--agent 0]
        [--rollout] [--moves [--readout]] [--refit {predictor,sensor_head,all} [--refit-updates 3000] [--refit-set K=V]]

The learned fetch agent rarely delivers. Either its planner never reaches a delivery, or its world
model does not predict one when it could. To tell them apart, let the oracle planner (the true
simulator, no critic) act for `steps` in the agent's scenario, then ask the learned world model, on
every step the oracle took, what it predicts for that step from the encoded state and the action
taken: the IC's channels (task, order), the held item and the orders after the step, and the IC
itself. Steps are grouped by what really happened: a delivery, a pick-up, "interact" that did
nothing, a drop, and everything else. A model that knows deliveries predicts task ~1 and an IC near
the real one on the delivery rows.
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
from aptami.agent.agent import Agent, _encode, teacher_config  # noqa: E402
from aptami.agent.cost import SENSOR_INDEX  # noqa: E402
from aptami.env.types import ACTION_NAMES, HELD_SLICE, ORDERS_SLICE  # noqa: E402
from aptami.util import enable_compilation_cache  # noqa: E402

INTERACT = ACTION_NAMES.index("interact")
ALT = ACTION_NAMES.index("alt")


def oracle_experience(cfg, steps: int, seed: int):
    """The memory of an oracle planner (no critic, no exploration) acting for `steps`."""
    oracle = Agent(teacher_config(cfg, capacity=steps + 8))
    st = oracle.init(jax.random.key(seed))
    st, tr = jax.jit(lambda s: oracle.collect(s, steps, "plan", explore=False, keep=("task",)))(st)
    mem = {k: v[:steps] for k, v in st.memory._asdict().items() if k not in ("ptr", "size")}
    return mem, float(np.sum(tr["task"]))


def trained_agent(folder, which: int):
    """The trained agent and seed `which`'s state."""
    agent, state, _ = checkpoint.load(folder)
    return agent, jax.tree.map(lambda x: x[which], state)


def agent_and_oracle(loaded, steps: int, seed: int):
    """The trained agent, its state (`loaded`), and the oracle's experience in its scenario."""
    agent, st = loaded
    return (agent, st, *oracle_experience(agent.cfg, steps, seed))


def audit(loaded, steps: int, seed: int):
    agent, st, mem, delivered = agent_and_oracle(loaded, steps, seed)
    weights = agent.configurator.base

    def predict(frame, proprio, action, next_frame, next_proprio):
        a_vec = jax.nn.one_hot(action, agent.n_actions)
        z = _encode(st.wm, frame, proprio)
        z_next, percept, disagreement = st.wm.imagine(z, a_vec)
        z_seen = _encode(st.wm, next_frame, next_proprio)
        ic_hat = st.ic(percept, weights)[0]
        return percept.sensors, percept.proprio, ic_hat, jnp.mean((z_next - z_seen) ** 2), disagreement

    s_hat, p_hat, ic_hat, err, dis = jax.jit(jax.vmap(predict))(
        mem["frames"], mem["proprio"], mem["actions"], mem["next_frames"], mem["next_proprio"])
    s_hat, p_hat, ic_hat, err, dis = (np.asarray(x) for x in (s_hat, p_hat, ic_hat, err, dis))
    sens, prop, nprop = np.asarray(mem["sensors"]), np.asarray(mem["proprio"]), np.asarray(mem["next_proprio"])
    act, cost = np.asarray(mem["actions"]), np.asarray(mem["cost"])
    held_before = prop[:, HELD_SLICE].argmax(1)
    held_after = nprop[:, HELD_SLICE].argmax(1)
    task = sens[:, SENSOR_INDEX["task"]]
    groups = {
        "delivery": task > 0,
        "pick-up": (held_before == 0) & (held_after != 0),
        "interact, nothing happened": (act == INTERACT) & (task == 0) & (held_before == held_after),
        "drop": (act == ALT) & (held_before != 0) & (held_after == 0),
    }
    groups["everything else"] = ~np.any(np.stack(list(groups.values())), 0)
    ti, oi = SENSOR_INDEX["task"], SENSOR_INDEX["order"]
    rows = {}
    for name, m in groups.items():
        if not m.any():
            rows[name] = {"steps": 0}
            continue
        rows[name] = {
            "steps": int(m.sum()),
            "task real/predicted": [float(sens[m, ti].mean()), float(s_hat[m, ti].mean())],
            "order real/predicted": [float(sens[m, oi].mean()), float(s_hat[m, oi].mean())],
            "held item after, real/predicted (share right)": float(
                (p_hat[m][:, HELD_SLICE].argmax(1) == held_after[m]).mean()),
            "orders after, mean abs error": float(np.abs(p_hat[m][:, ORDERS_SLICE] - nprop[m][:, ORDERS_SLICE]).mean()),
            "IC real/predicted": [float(cost[m].mean()), float(ic_hat[m].mean())],
            "latent prediction error": float(err[m].mean()),
            "ensemble disagreement": float(dis[m].mean()),
        }
    seen = np.asarray(st.memory.sensors[:, ti] > 0).sum()
    return {"deliveries_in_memory": int(seen),
            "memory_steps": int(st.memory.size), "oracle_steps": steps, "oracle_deliveries": delivered,
            "groups": rows}


def rollout_audit(loaded, steps: int, seed: int, horizons=(0, 1, 4, 8, 12)):
    """How far the imagined body sense drifts along k-step rollouts of the oracle's real actions:
    the robot's and its target's pose (in cells: the order potential moves by 1/16 per cell), the held
    item, and the order potential read from it (cost.LEVEL_OF_PROPRIO), against the real ones k steps
    later (starts whose k steps stay in one episode). k = 0 reads the encoded state itself."""
    from aptami.env.core import order_potential_of_proprio
    from aptami.env.types import POSE_SCALE, POSE_SLICE

    agent, st, mem, _ = agent_and_oracle(loaded, steps, seed)
    z = jax.jit(jax.vmap(lambda f, p: _encode(st.wm, f, p)))(mem["frames"], mem["proprio"])
    done = np.asarray(mem["terminated"]) | np.asarray(mem["truncated"])
    ends_before = np.concatenate([[0], np.cumsum(done)])       # episode ends among steps [0, t)
    a_vec = jax.nn.one_hot(mem["actions"], agent.n_actions)
    pot = jax.jit(jax.vmap(order_potential_of_proprio))
    out = {}
    zk = z
    for k in range(max(horizons) + 1):
        if k in horizons:
            n = steps - k
            ok = ends_before[k:k + n] == ends_before[:n]             # steps t .. t+k-1 stay in one episode
            p_hat = np.asarray(jax.vmap(st.wm.body_sense)(zk[:n]))[ok]
            p_real = (np.asarray(mem["proprio"]) if k == 0 else np.asarray(mem["next_proprio"])[k - 1:])[:n][ok]
            pose_err = np.abs(p_hat[:, POSE_SLICE] - p_real[:, POSE_SLICE]) * POSE_SCALE
            out[f"k={k}"] = {
                "starts": int(ok.sum()),
                "robot pose error, cells (mean |dy|+|dx|)": float(pose_err[:, :2].sum(1).mean()),
                "target pose error, cells": float(pose_err[:, 2:].sum(1).mean()),
                "held item right": float((p_hat[:, HELD_SLICE].argmax(1) == p_real[:, HELD_SLICE].argmax(1)).mean()),
                "order potential mean abs error": float(jnp.abs(pot(p_hat) - pot(p_real)).mean()),
            }
        if k < max(horizons):
            zk = jax.vmap(st.wm.predict)(zk[:-1], a_vec[k:k + zk.shape[0] - 1])
    return out


def oracle_states(cfg, steps: int, seed: int):
    """The world states (before each step) an oracle planner passes through in `steps`."""
    oracle = Agent(teacher_config(cfg, capacity=steps + 8))

    def body(s, _):
        before = s.env_state
        s, _ = oracle.act(s, "plan", explore=False)
        return s, before

    return jax.jit(lambda s: jax.lax.scan(body, s, None, length=steps)[1])(oracle.init(jax.random.key(seed)))


def fresh_pose_readout(agent, st, updates: int = 6000, batch: int = 256, seed: int = 0):
    """A fresh MLP fitted, on the agent's own memory (its world model's training data), from (latent of
    the encoded frame, action) to the change of pose in cells. If it imagines a move right where the
    world model does not, the latent holds what the move needs and the world model fails to use it."""
    import equinox as eqx
    import optax

    from aptami.agent.nets import MLP
    from aptami.env.types import POSE_SCALE, POSE_SLICE

    mem, n = st.memory, int(st.memory.size)
    enc = jax.jit(jax.vmap(lambda f, p: _encode(st.wm, f, p)))
    z = jnp.concatenate([enc(mem.frames[i:i + 2000], mem.proprio[i:i + 2000]) for i in range(0, n, 2000)])
    x = jnp.concatenate([z, jax.nn.one_hot(mem.actions[:n], agent.n_actions)], 1)
    y = (mem.next_proprio[:n, POSE_SLICE][:, :2] - mem.proprio[:n, POSE_SLICE][:, :2]) * POSE_SCALE
    params, static = eqx.partition(MLP((x.shape[1], 256, 256, 2), key=jax.random.key(seed)), eqx.is_array)
    opt = optax.adam(1e-3)

    def step(carry, key):  # one Adam step on a random batch of remembered steps
        params, opt_state = carry
        idx = jax.random.randint(key, (batch,), 0, n)
        g = jax.grad(lambda p: jnp.mean((jax.vmap(eqx.combine(p, static))(x[idx]) - y[idx]) ** 2))(params)
        upd, opt_state = opt.update(g, opt_state, params)
        return (optax.apply_updates(params, upd), opt_state), None

    keys = jax.random.split(jax.random.key(seed + 1), updates)
    params = jax.jit(lambda p: jax.lax.scan(step, (p, opt.init(p)), keys)[0][0])(params)
    return eqx.combine(params, static)


REFITS = ("predictor", "sensor_head", "all")


def refit(agent, st, what: str, updates: int, seed: int = 0, overrides=()):
    """Go on training the world model on the agent's own memory with its own loss, batch size and
    optimiser (uniform batches: no event or bump replay) for `updates` more steps (`Agent.fit_part`):
    `what`="predictor" trains the predictor alone (the encoder and the heads frozen, so the latents it
    reads stop moving), "sensor_head" the sensor head alone (what the planner's task reading comes from;
    the latents and the imagined futures stay as they were), "all" trains everything (the control: the
    same number of further updates). If the frozen-encoder refit learns blocked moves where the control
    does not, the predictor fails for chasing a moving encoder, not for its loss or data. `overrides`
    (e.g. world_model.rollout=1) change the loss of the refit only."""
    from aptami.agent import with_overrides

    if what not in REFITS:
        raise SystemExit(f"--refit must be one of {REFITS}, got {what!r}")
    cfg = with_overrides(agent.cfg, list(overrides))
    return jax.jit(lambda s: agent.fit_part(s, what, updates, jax.random.key(seed + 2), cfg.world_model))(st)


def moves_audit(loaded, steps: int, seed: int, readout: bool = False):
    """Does the model know what a move or an "interact" will do from here? From every state the oracle
    passed through, each of the four moves and "interact" is tried in the real house and imagined one
    step by the learned world model (what it was never shown: most of these are not the oracle's
    choice). Moves are grouped by what really happened to the robot (moved one cell, blocked by a
    human, or blocked by anything else: a wall, a closed door, a shelf): the imagined displacement in
    cells, and how often the imagined pose lands within half a cell of the real one. "interact" is
    grouped by its real outcome (a pick-up, a delivery, nothing): how often the imagined held item is
    the real one, and the imagined task reading (1 on a delivery). With `readout`, each move group also
    says how often a fresh MLP fitted on the same latents (`fresh_pose_readout`) gets the pose right."""
    from aptami.env.types import POSE_SCALE, POSE_SLICE

    agent, st = loaded
    house, p = agent.house, agent.env_params
    states = oracle_states(agent.cfg, steps, seed)
    fresh = fresh_pose_readout(agent, st) if readout else None
    tried = jnp.array([ACTION_NAMES.index(m) for m in ("up", "down", "left", "right", "interact")])
    ti = SENSOR_INDEX["task"]

    def one(es, key):
        obs = house.observe(es, p)
        z = _encode(st.wm, obs.frame, obs.proprio)

        def attempt(a, k):
            after, info = house.step_state(k, es, a, p)
            _, percept, _ = st.wm.imagine(z, jax.nn.one_hot(a, agent.n_actions))
            human = jnp.any((es.human_pos == es.robot_pos + jnp.asarray(house._act_delta)[a]) & p.human_active)
            d_fresh = fresh(jnp.concatenate([z, jax.nn.one_hot(a, agent.n_actions)])) if readout else jnp.zeros(2)
            return (obs.proprio, house.observe(after, p).proprio, percept.proprio, info["task"],
                    percept.sensors[ti], human, d_fresh)

        return jax.vmap(attempt)(tried, jax.random.split(key, tried.shape[0]))

    out = jax.jit(jax.vmap(one))(states, jax.random.split(jax.random.key(seed + 1), steps))
    before, real, imagined, task, task_hat, human, d_fresh = (np.asarray(x) for x in out)
    pose = lambda x: x[..., POSE_SLICE][..., :2] * POSE_SCALE  # noqa: E731
    d_real, d_hat = pose(real) - pose(before), pose(imagined) - pose(before)
    moved = np.abs(d_real).sum(-1) > 0.5
    hit = np.abs(d_hat - d_real).sum(-1) < 0.5
    rows = {}
    mv = np.zeros_like(moved)
    mv[:, :4] = True
    for name, m in (("moved", mv & moved), ("blocked by a human", mv & ~moved & human),
                    ("blocked by anything else", mv & ~moved & ~human)):
        rows[name] = {"moves": int(m.sum())} if not m.any() else {
            "moves": int(m.sum()),
            "imagined displacement, cells (mean |dy|+|dx|)": float(np.abs(d_hat[m]).sum(-1).mean()),
            "imagined pose within half a cell of the real one": float(hit[m].mean()),
            **({"fresh read-out of the same latent within half a cell": float(
                (np.abs(d_fresh[m] - d_real[m]).sum(-1) < 0.5).mean())} if readout else {})}
    held0, held1 = before[..., HELD_SLICE].argmax(-1), real[..., HELD_SLICE].argmax(-1)
    held_hat = imagined[..., HELD_SLICE].argmax(-1)
    it = ~mv
    for name, m in (("interact: delivery", it & (task > 0)),
                    ("interact: pick-up", it & (held0 == 0) & (held1 != 0)),
                    ("interact: nothing happened", it & (task == 0) & (held0 == held1))):
        rows[name] = {"tries": int(m.sum())} if not m.any() else {
            "tries": int(m.sum()),
            "imagined held item right": float((held_hat[m] == held1[m]).mean()),
            "task real/imagined": [float(task[m].mean()), float(task_hat[m].mean())]}
    return {"oracle_states": steps, "groups": rows}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--agent", type=int, default=0, help="which of the vmapped seeds")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rollout", action="store_true", help="drift of the imagined body sense over k steps")
    ap.add_argument("--moves", action="store_true",
                    help="each move and interact, tried and imagined, from the oracle's states (with --rollout, "
                    "both; with neither, the delivery audit)")
    ap.add_argument("--readout", action="store_true",
                    help="with --moves: also a fresh MLP fitted on the same latents (is the outcome in the latent?)")
    ap.add_argument("--refit", choices=REFITS, help="first train the world model further: the predictor or the "
                    "sensor head alone, or all of it (the control); the audits then read the refitted model")
    ap.add_argument("--refit-updates", type=int, default=3000)
    ap.add_argument("--refit-set", action="append", default=[], help="config overrides for the refit's loss")
    a = ap.parse_args(argv)
    if a.steps <= 0:
        raise SystemExit("--steps must be positive")
    if a.readout and not a.moves:
        raise SystemExit("--readout goes with --moves")
    if a.refit_updates <= 0:
        raise SystemExit("--refit-updates must be positive")
    enable_compilation_cache()
    agent, st = trained_agent(a.run, a.agent)
    out = {"run": str(a.run), "agent": a.agent}
    if a.refit:
        st = refit(agent, st, a.refit, a.refit_updates, a.seed, a.refit_set)
        out.update(refit=a.refit, refit_updates=a.refit_updates, refit_set=a.refit_set)
    if a.moves:
        out["moves"] = moves_audit((agent, st), a.steps, a.seed, a.readout)
    if a.rollout:
        out["rollout"] = rollout_audit((agent, st), a.steps, a.seed)
    if not (a.moves or a.rollout):
        out.update(audit((agent, st), a.steps, a.seed))
    print(json.dumps(out, indent=1))

if __name__ == "__main__":
    main()
