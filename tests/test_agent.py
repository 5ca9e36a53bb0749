"""The APTAMI agent: immutability of the IC, planners, learning, bad input, determinism."""
import dataclasses
import functools
from pathlib import Path

import equinox as eqx
import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from aptami.agent import (
    Agent,
    AgentConfig,
    ConfigError,
    CostConfig,
    CostError,
    FnTerm,
    LearnedTerm,
    PlannerConfig,
    TrainConfig,
    WorldModelConfig,
    build_cost,
    channel,
    preset,
    trainable,
    with_overrides,
)
from aptami.agent.actor import plan
from aptami.agent.agent import critic_calibration
from aptami.agent.checkpoint import load, save
from aptami.agent.critic import discounted_to_go, lambda_returns
from aptami.agent.losses import latent_health
from aptami.agent.memory import ShortTermMemory
from aptami.agent.nets import MLP

TINY_PLAN = PlannerConfig(samples=32, horizon=6, iterations=2, elites=4, policy_samples=2)
TINY_TRAIN = TrainConfig(iterations=2, collect_steps=8, updates=2, batch=4, seq_len=4, capacity=400,
                         prefill_steps=64, pretrain_updates=2)


def tiny(scenario="two-rooms", world_model="learned", **weights) -> AgentConfig:
    cfg = preset(scenario, world_model, **weights)
    return cfg.replace(planner=TINY_PLAN, train=TINY_TRAIN.__class__(**{**TINY_TRAIN.__dict__,
                                                                       "world_model": world_model}))


def leaves_equal(a, b):
    def arrays(t):   # a key array compares by its bits
        return [jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x
                for x in jax.tree.leaves(eqx.filter(t, eqx.is_array))]

    la, lb = arrays(a), arrays(b)
    return len(la) == len(lb) and all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb))


# ----------------------------------------------------------------------------- the Intrinsic Cost
def test_intrinsic_cost_is_bit_identical_after_training():
    net = MLP((64, 16, 1), key=jax.random.key(3))  # a frozen learned term, e.g. a score model
    cfg = tiny(task=1.0, hunger=0.5, score=0.3)
    agent = Agent(cfg, extra_terms=(LearnedTerm(name="score", net=net),))
    st0 = agent.init(jax.random.key(0))
    ic0 = jax.tree.map(lambda x: np.array(x), eqx.filter(st0.ic, eqx.is_array))
    st, metrics = jax.jit(lambda s: agent.iterate(agent.warmup(s)[0], 2))(st0)
    assert int(st.updates) > 0
    assert not leaves_equal(st0.wm, st.wm)              # the world model did learn ...
    assert leaves_equal(ic0, eqx.filter(st.ic, eqx.is_array))  # ... the IC, bit for bit, did not
    assert "ic" not in trainable(st)
    # and no gradient can reach it, even through its inputs
    p = jax.tree.map(lambda x: x, st.ic)
    g = jax.grad(lambda ic: ic(agent_percept(), jnp.ones(3))[0])(p)
    assert all(float(jnp.abs(x).max()) == 0.0 for x in jax.tree.leaves(eqx.filter(g, eqx.is_array)))


def agent_percept():
    from aptami.agent.cost import dummy_percept
    return dummy_percept(64, 0.3)


def test_a_user_term_in_a_few_lines():
    def stay_charged(p):  # the README's example
        return jnp.maximum(0.0, 0.5 - channel(p, "battery"))

    term = FnTerm(name="stay_charged", fn=stay_charged)
    agent = Agent(tiny(task=1.0, stay_charged=2.0), extra_terms=(term,))
    st, out = jax.jit(lambda s: agent.act(s))(agent.init(jax.random.key(0)))
    assert out["terms"].shape == (2,) and np.isfinite(np.asarray(out["terms"])).all()
    assert agent.ic.names == ("task", "stay_charged")


@pytest.mark.parametrize("make, match", [
    (lambda: Agent(tiny(task=1.0, hungre=1.0)), r"unknown Intrinsic Cost term 'hungre' \(did you mean hunger\?\)"),
    (lambda: with_overrides(preset("two-rooms"), ["planner.horizon=0"]), r"PlannerConfig.horizon must be a positive"),
    (lambda: with_overrides(preset("two-rooms"), ["planner.samples=-3"]), r"PlannerConfig.samples must be a positive"),
    (lambda: with_overrides(preset("two-rooms"), ["planner.method=beam"]), r"PlannerConfig.method='beam': allowed"),
    (lambda: with_overrides(preset("two-rooms"), ["world_model.regulariser=x"]), r"unknown config key world_model"),
    (lambda: with_overrides(preset("fetch"), ["planner.gamma=0.9"]), r"PlannerConfig.gamma=0.9 must equal Critic"),
    (lambda: with_overrides(preset("fetch"), ["planner.gate_task=1"]),
     r"PlannerConfig.gate_task must be true or false"),
    (lambda: Agent(with_overrides(preset("two-rooms"), ["planner.task_of_body=true"])),
     r"PlannerConfig.task_of_body=True .* scenario 'two-rooms' has a navigation goal"),
    (lambda: build_cost(["task", "vec"], (FnTerm(name="vec", fn=lambda p: p.sensors[:3]),)),
     r"term 'vec' must return one number \(shape \(\)\), got shape \(3,\)"),
    (lambda: build_cost(["bad"], (FnTerm(name="bad", fn=lambda p: jnp.log(-1.0 - p.sensors[0])),)),
     r"term 'bad' returned nan \(not finite\)"),
    (lambda: build_cost(["joy_of_cake"]), r"unknown Intrinsic Cost term 'joy_of_cake'"),
])
def test_bad_configs_and_terms_are_refused_by_name(make, match):
    with pytest.raises((ConfigError, CostError), match=match):
        make()


# ----------------------------------------------------------------------------- planners
class Line(eqx.Module):
    """A toy world: a point on a line; action 1 moves right, 2 left. Cost: distance to 5. Moving right
    is something the (imaginary) ensemble disagrees about."""

    def step(self, m, a_vec, key):
        from aptami.agent.cost import Percept
        m2 = m + a_vec[1] - a_vec[2]
        sensors = jnp.zeros(16).at[7].set(jnp.abs(m2 - 5.0))  # goal_dist channel
        return m2, Percept(sensors, jnp.zeros(13), jnp.zeros(4)), 20.0 * a_vec[1]

    def latent(self, m):
        return jnp.zeros(4) + m

    def unfamiliarity(self, m):
        return jnp.zeros(())


@pytest.mark.parametrize("method", ["cem", "mppi", "grad"])
def test_every_planner_finds_the_way(method):
    cfg = PlannerConfig(method=method, samples=64, horizon=8, iterations=4, elites=8, policy_samples=0,
                        use_critic=False, grad_steps=40)
    probs = jnp.full((8, 3), 1 / 3)
    cost = lambda p: p.sensors[7]  # noqa: E731
    for start, best in ((0.0, 1), (9.0, 2)):
        a, _, info = jax.jit(lambda k: plan(k, Line(), jnp.float32(start), probs, cost, None, None, cfg))(
            jax.random.key(0))
        assert int(a) == best, (method, start, info)


def test_proposals_from_elsewhere_take_the_policy_samples_place():
    """`plan(..., proposals=)` (scripts/proposal_swap.py) scores the given sequences with the rest: a
    warm start that points the wrong way finds the goal only through them; a wrong shape is refused."""
    cfg = PlannerConfig(samples=8, horizon=8, iterations=1, elites=2, policy_samples=2, use_critic=False)
    wrong_way = jnp.full((8, 3), 0.005).at[:, 2].set(0.99)
    cost = lambda p: p.sensors[7]  # noqa: E731
    right = jnp.ones((2, 8), jnp.int32)
    run = jax.jit(lambda k, pr: plan(k, Line(), jnp.float32(0.0), wrong_way, cost, None, None, cfg, pr))
    a, _, info = run(jax.random.key(0), right)
    assert int(a) == 1 and np.array_equal(np.asarray(info["plan"]), np.ones(8))
    a0, _, _ = jax.jit(lambda k: plan(k, Line(), jnp.float32(0.0), wrong_way, cost, None, None, cfg))(
        jax.random.key(0))
    assert int(a0) != 1
    with pytest.raises(ValueError, match=r"proposals of shape \(3, 8\), expected"):
        run(jax.random.key(0), jnp.ones((3, 8), jnp.int32))


def test_pessimism_keeps_the_planner_where_the_model_agrees():
    base = PlannerConfig(samples=64, horizon=8, iterations=4, elites=8, policy_samples=0, use_critic=False)
    probs = jnp.full((8, 3), 1 / 3)
    cost = lambda p: p.sensors[7]  # noqa: E731
    for pessimism, expect_right in ((0.0, True), (1.0, False)):
        cfg = base.__class__(**{**base.__dict__, "pessimism": pessimism})
        a, _, _ = jax.jit(lambda k: plan(k, Line(), jnp.float32(0.0), probs, cost, None, None, cfg))(jax.random.key(1))
        assert (int(a) == 1) == expect_right


def test_density_penalty_measures_against_memory_as_the_current_encoder_sees_it():
    """The anchors are remembered frames encoded by the encoder the planner imagines with, each once: not
    the latents stored when the steps were lived (those were encoded by an earlier, often untrained
    encoder, so a distance to them measures the encoder's drift, not unfamiliarity)."""
    cfg = tiny()
    cfg = cfg.replace(planner=dataclasses.replace(cfg.planner, density_weight=1.0))
    agent = Agent(cfg)
    st, _ = jax.jit(lambda s: agent.collect(s, 300, "random"))(agent.init(jax.random.key(0)))
    # a later encoder: every weight moved, as training moves it
    wm = jax.tree.map(lambda x: x * 1.5 if eqx.is_inexact_array(x) else x, st.wm)
    st = st._replace(wm=wm)
    anchors = np.asarray(jax.jit(lambda s: agent.planning_model(s, jax.random.key(1)).anchors)(st))
    n = int(st.memory.size)
    now = np.asarray(jax.vmap(wm.encode)(st.memory.frames[:n], st.memory.proprio[:n]))
    lived = np.asarray(st.memory.latent[:n])

    def nearest(a, b):
        return np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1)).min(1)

    assert nearest(anchors, now).max() < 1e-4 * np.abs(now).max()       # each is an encoding by today's encoder
    assert nearest(anchors, lived).min() > 1e-2 * np.abs(now).max()     # none is a latent stored long ago
    assert len({r.tobytes() for r in anchors}) == anchors.shape[0] == 256   # distinct remembered places
    # a small memory (a lean copy keeps 16 steps; here 20 of 400 places filled): filled places, repeated
    few, _ = jax.jit(lambda s: agent.collect(s, 20, "random"))(agent.init(jax.random.key(3)))
    z = np.asarray(agent.remembered_latents(few, jax.random.key(1)))
    filled = np.asarray(jax.vmap(few.wm.encode)(few.memory.frames[:20], few.memory.proprio[:20]))
    assert z.shape[0] == 256 and nearest(z, filled).max() < 1e-4 * np.abs(filled).max()
    assert len({r.tobytes() for r in z}) == 20


def test_curiosity_draws_the_planner_to_disagreement_while_exploring_only():
    """planner.curiosity is a disagreement bonus (negative pessimism) in training's plans; evaluation
    plans exactly as without it."""
    base = PlannerConfig(samples=64, horizon=8, iterations=4, elites=8, policy_samples=0, use_critic=False)
    probs = jnp.full((8, 3), 1 / 3)
    cost = lambda p: p.sensors[7]  # noqa: E731
    for pessimism, expect in ((0.0, 2), (-1.0, 1)):  # from 9 the goal lies left; the disagreement right
        cfg = base.__class__(**{**base.__dict__, "pessimism": pessimism})
        a, _, _ = jax.jit(lambda k: plan(k, Line(), jnp.float32(9.0), probs, cost, None, None, cfg))(jax.random.key(1))
        assert int(a) == expect

    small = PlannerConfig(samples=16, horizon=4, iterations=1, elites=4, policy_samples=0)
    cfg = tiny("fetch").replace(planner=small, world_model=WorldModelConfig(ensemble=2))
    with pytest.raises(ConfigError, match="ensemble"):
        cfg.replace(planner=dataclasses.replace(small, curiosity=1.0), world_model=WorldModelConfig()).check()
    curious = Agent(cfg.replace(planner=dataclasses.replace(small, curiosity=100.0)).check())
    plain = Agent(cfg)
    st = plain.init(jax.random.key(0))
    z = st.wm.encode(st.obs.frame, st.obs.proprio)
    w = plain.configurator.base

    def plan_cost(agent, explore):
        return float(agent.decide(st, jax.random.key(2), z, w, "plan", explore)[3])

    assert plan_cost(curious, False) == plan_cost(plain, False) == plan_cost(plain, True)
    assert plan_cost(curious, True) < plan_cost(plain, True)


def test_oracle_planner_navigates_two_rooms():
    cfg = tiny("two-rooms", "oracle").replace(planner=PlannerConfig(samples=64, horizon=10, iterations=2, elites=8,
                                                                    policy_samples=0, use_critic=False))
    agent = Agent(cfg)
    keys = jax.random.split(jax.random.key(0), 2)
    st = jax.vmap(agent.init)(keys)
    ev = jax.jit(jax.vmap(lambda s, k: agent.evaluate(s, k, 150)))(st, keys)
    assert float(ev["episodes"].sum()) >= 6
    assert float(ev["success_rate"].mean()) >= 0.9, ev["success_rate"]


# ----------------------------------------------------------------------------- learning
@functools.lru_cache(maxsize=None)
def _warm_world_model(pose_weight=0.0):
    """A two-rooms world model after 250 self-supervised updates; its one-step read-out pose error in
    cells and its latents (cached: two tests read the plain one)."""
    cfg = tiny("two-rooms").replace(train=TrainConfig(prefill_steps=3000, capacity=3000, pretrain_updates=250,
                                                      batch=32, seq_len=4, iterations=0))
    cfg = cfg.replace(world_model=dataclasses.replace(cfg.world_model, pose_weight=pose_weight))
    agent = Agent(cfg)
    st, m = jax.jit(agent.warmup)(agent.init(jax.random.key(0)))
    b = st.memory.sample(jax.random.key(9), 64, 4)
    z = jax.vmap(jax.vmap(st.wm.encode))(b["frames"], b["proprio"])
    a = jax.nn.one_hot(b["actions"], 7)
    zp = jax.vmap(jax.vmap(st.wm.predict))(z, a)
    pose_hat = jax.vmap(jax.vmap(st.wm.proprio_head))(zp)[..., 8:10] * 32
    pose = b["next_proprio"][..., 8:10] * 32
    return float(jnp.abs(pose_hat - pose).mean()), z


def test_rollout_weight_scales_only_the_multi_step_terms():
    """`world_model.rollout_weight` weighs the multi-step terms (the latents' and the heads' along the
    rollout) against the one-step ones: at 0 the rollout's length cannot matter, at 1 it does."""
    from aptami.agent.world_model import world_model_loss

    cfg = tiny("fetch")
    agent = Agent(cfg)
    st, _ = jax.jit(lambda s: agent.collect(s, 40, "random"))(agent.init(jax.random.key(0)))
    batch = st.memory.sample(jax.random.key(1), 4, 6)

    def loss(rollout, weight):
        wc = dataclasses.replace(cfg.world_model, rollout=rollout, rollout_weight=weight)
        return float(jax.jit(lambda w, b: world_model_loss(w, b, wc, jax.random.key(2))[0])(st.wm, batch))

    assert loss(6, 0.0) == loss(1, 0.0)
    assert abs(loss(6, 1.0) - loss(1, 1.0)) > 1e-4
    assert loss(6, 1.0) > loss(6, 0.5) > loss(6, 0.0)
    with pytest.raises(ConfigError, match="rollout_weight"):
        WorldModelConfig(rollout_weight=-1.0).check()


def test_task_weight_adds_the_task_channels_error_and_nothing_else():
    """`world_model.task_weight` adds the sensor head's task-channel error (one step and along the rollout),
    linearly in the weight, and at 0 the loss is the preset's; the refit script trains one part of a stored
    run's world model with the changed loss and writes it as a run of its own."""
    from aptami.agent.cost import SENSOR_INDEX
    from aptami.agent.world_model import world_model_loss

    cfg = tiny("fetch")
    agent = Agent(cfg)
    st, _ = jax.jit(lambda s: agent.collect(s, 40, "random"))(agent.init(jax.random.key(0)))
    batch = st.memory.sample(jax.random.key(1), 4, 6)
    batch["sensors"] = batch["sensors"].at[:, 2, SENSOR_INDEX["task"]].set(1.0)   # a delivery in every sequence

    def loss(w, b=batch):
        wc = dataclasses.replace(cfg.world_model, task_weight=w)
        return float(jax.jit(lambda m, bb: world_model_loss(m, bb, wc, jax.random.key(2))[0])(st.wm, b))

    base, one, two = loss(0.0), loss(1.0), loss(2.0)
    assert one > base and abs((two - base) - 2 * (one - base)) < 1e-4 * abs(one - base) + 1e-6
    with pytest.raises(ConfigError, match="task_weight"):
        WorldModelConfig(task_weight=-1.0).check()


def test_refit_run_trains_one_part_and_writes_a_run(tmp_path, load_script, monkeypatch):
    """scripts/refit_run.py: one part of a stored run's world model trained further with a changed loss,
    everything else bit-identical, written as a run of its own; train.head_updates does the same in training."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "scripts"))
    mod = load_script("refit_run")
    agent = Agent(tiny("fetch"))
    st, _ = jax.jit(lambda s: agent.collect(s, 40, "random"))(agent.init(jax.random.key(0)))
    save(tmp_path / "run", agent.cfg, jax.tree.map(lambda x: x[None], st), {"iterations": 2})
    out = mod.refit_run(tmp_path / "run", tmp_path / "out", "sensor_head", 3, ["world_model.task_weight=5"])
    new_agent, new, meta = load(out)
    assert new_agent.cfg.world_model.task_weight == 5 and meta["refit"]["what"] == "sensor_head"
    old = jax.tree.map(lambda x: x[None], st)
    assert not leaves_equal(new.wm.sensor_head, old.wm.sensor_head)
    assert leaves_equal(new._replace(wm=new.wm.sensor_head), old._replace(wm=new.wm.sensor_head))
    assert leaves_equal(eqx.tree_at(lambda w: w.sensor_head, new.wm, old.wm.sensor_head), old.wm)
    with pytest.raises(ConfigError, match="world_model"):
        mod.refit_run(tmp_path / "run", tmp_path / "bad", "sensor_head", 3, ["planner.samples=8"])
    # in training (train.head_updates, after the warm-up and each iteration): the same fit, keyed off the state
    fitting = Agent(with_overrides(agent.cfg, ["train.head_updates=3"]))
    fit = jax.jit(fitting._fit_head)(st)
    assert not leaves_equal(fit.wm.sensor_head, st.wm.sensor_head) and not leaves_equal(fit.key, st.key)
    assert leaves_equal(eqx.tree_at(lambda w: w.sensor_head, fit.wm, st.wm.sensor_head), st.wm)
    assert leaves_equal(fit._replace(wm=st.wm, key=st.key), st) and Agent(agent.cfg)._fit_head(st) is st
    with pytest.raises(ConfigError, match="head_updates"):
        with_overrides(agent.cfg, ["train.head_updates=-1"])
    with pytest.raises(ConfigError, match="allowed values"):
        agent.fit_part(st, "critic", 1, jax.random.key(0))


def test_world_model_learns_its_own_movement_without_collapse():
    err, z = _warm_world_model(0.0)
    assert err < 0.5  # cells
    health = latent_health(z.reshape(-1, z.shape[-1]))
    assert float(health["effective_rank"]) > 5 and int(health["dims_alive"]) > 10, health


def test_pose_weight_sharpens_the_imagined_pose():
    """Proprioception keeps pose in cells / 32, so without `pose_weight` a cell's error barely counts in
    the loss, and a planner steering by imagined distances (fetch's carry potential) sees it blurred."""
    plain, _ = _warm_world_model(0.0)
    sharp, _ = _warm_world_model(1.0)
    assert sharp < 0.9 * plain, (sharp, plain)  # measured: 0.23 vs 0.30 cells


@pytest.mark.parametrize("body_net", [False, True])
def test_imagined_order_readings_telescope_along_a_plan(body_net):
    """The per-step "order" channel of an imagined rollout is a difference of one state read-out (the
    level computed from the imagined proprioception), so a plan cannot imagine a gain it does not keep:
    the sum equals the level at the end minus the start. With a body network the imagined
    proprioception is the latent's own body part, which that network alone predicts."""
    from aptami.agent.perception import PROPRIO_GAIN
    from aptami.env.core import order_potential_of_proprio
    from aptami.env.types import PROPRIO_SIZE

    cfg = tiny("fetch")
    agent = Agent(cfg.replace(world_model=dataclasses.replace(cfg.world_model, body_net=body_net)))
    wm = agent.init(jax.random.key(0)).wm
    z0 = jax.random.normal(jax.random.key(1), (wm.proprio_head.layers[0].in_features,))
    if body_net:  # a body sense that holds an ordered item (else the potential is 0 at every step)
        z0 = jnp.abs(z0)
    acts = jax.nn.one_hot(jax.random.randint(jax.random.key(2), (12,), 0, 7), 7)
    level_of = lambda z: order_potential_of_proprio(wm.body_sense(z))  # noqa: E731

    def body(z, a):
        z2, percept, _ = wm.imagine(z, a)
        return z2, (channel(percept, "order"), channel(percept, "carrying"), level_of(z2))

    if body_net:   # the features' network does not move the body part
        other = eqx.tree_at(lambda w: w.predictor.net.layers[-1].bias, wm, wm.predictor.net.layers[-1].bias + 1.0)
        a0 = acts[0]
        z1, percept, _ = wm.imagine(z0, a0)
        np.testing.assert_allclose(percept.proprio, z1[-PROPRIO_SIZE:] / PROPRIO_GAIN, rtol=1e-6)
        np.testing.assert_array_equal(other.imagine(z0, a0)[0][-PROPRIO_SIZE:], wm.imagine(z0, a0)[0][-PROPRIO_SIZE:])
        assert not np.allclose(other.imagine(z0, a0)[0][:-PROPRIO_SIZE], wm.imagine(z0, a0)[0][:-PROPRIO_SIZE])
    z_end, (order, carrying, level) = jax.lax.scan(body, z0, acts)
    start = level_of(z0)
    assert float(jnp.abs(order).sum()) > 0   # not trivially zero
    np.testing.assert_allclose(np.cumsum(order), np.asarray(carrying - start), atol=1e-5)
    np.testing.assert_allclose(np.asarray(carrying), np.asarray(level), atol=1e-6)


@pytest.mark.parametrize("method, gate_task, body_net, density",
                         [("cem", False, False, 0.3), ("grad", True, True, 0.0)])
def test_the_planner_carries_the_imagined_body_with_the_same_costs(method, gate_task, body_net, density):
    """The planner starts from `root(z)` and carries the proprioception each imagined step reads off the
    state it reaches, instead of reading it again at the next step: the same sequence costs as stepping
    bare latents, which read it twice, and the same decision (Mode-1 seeding, the density penalty, the
    gate, a body network and the gradient planner included)."""
    from aptami.agent.actor import sequence_costs
    from aptami.agent.oracle import Imagined

    cfg = tiny("fetch")
    cfg = cfg.replace(planner=dataclasses.replace(cfg.planner, method=method, gate_task=gate_task,
                                                  density_weight=density, use_critic=True),
                      world_model=dataclasses.replace(cfg.world_model, body_net=body_net)).check()
    agent = Agent(cfg)
    st = agent.init(jax.random.key(0))
    st, _ = agent.collect(st, 40, "random")   # remembered latents for the density penalty
    model = agent.planning_model(st)
    z = jax.random.normal(jax.random.key(1), (cfg.perception.latent,))
    seqs = jax.random.randint(jax.random.key(2), (16, 6), 0, 7)
    keys = jax.random.split(jax.random.key(3), 6)
    w = agent.configurator.base

    def cost_fn(p):
        return st.ic(p, w)[0]

    def costs(m0):
        return sequence_costs(model, m0, seqs, keys, cost_fn, st.critic, cfg.planner)

    root = model.root(z)
    assert isinstance(root, Imagined) and model.latent(root) is z
    bare, carried = jax.jit(costs)(z), jax.jit(costs)(root)
    assert float(jnp.std(bare)) > 0                       # the sequences differ in cost
    np.testing.assert_allclose(np.asarray(carried), np.asarray(bare), rtol=1e-6, atol=1e-6)

    class Bare:   # the same model without `root`: the planner steps bare latents
        def step(self, m, a, k):
            return model.step(m, a, k)

        def latent(self, m):
            return model.latent(m)

        def unfamiliarity(self, m):
            return model.unfamiliarity(m)

    def decide(m):
        a, _, info = plan(jax.random.key(4), m, z, st.plan_probs, cost_fn, st.critic, st.policy, cfg.planner)
        return a, info["plan_cost"]

    (a0, c0), (a1, c1) = jax.jit(lambda: decide(Bare()))(), jax.jit(lambda: decide(model))()
    assert int(a0) == int(a1)
    np.testing.assert_allclose(float(c1), float(c0), rtol=1e-6, atol=1e-6)


def test_task_of_body_reads_imagined_deliveries_off_the_imagined_body_not_the_head():
    """planner.task_of_body: the task channel of an imagined step is env.core.delivery_of_proprio of the
    imagined body before and after it (0 unless "interact"), whatever the sensor head reads."""
    from aptami.env.core import delivery_of_proprio

    cfg = tiny("fetch")
    plain = Agent(cfg)
    body = Agent(cfg.replace(planner=dataclasses.replace(cfg.planner, task_of_body=True)))
    st = plain.init(jax.random.key(0))
    zs = jax.random.normal(jax.random.key(1), (64, st.wm.proprio_head.layers[0].in_features))
    for a in (5, 3):   # interact, a move
        a_vec = jax.nn.one_hot(a, 7)
        head = jax.vmap(lambda z: channel(plain.planning_model(st).step(z, a_vec, None)[1], "task"))(zs)
        read = jax.vmap(lambda z: body.planning_model(st).step(z, a_vec, None)[1])(zs)
        want = jax.vmap(lambda z, p2: delivery_of_proprio(st.wm.body_sense(z), a_vec[5], p2))(zs, read.proprio)
        np.testing.assert_allclose(np.asarray(channel(read, "task")), np.asarray(want), atol=1e-6)
        assert not np.allclose(np.asarray(head), np.asarray(want))
    assert np.all(np.asarray(want) == 0.0)   # the last action was a move: never a delivery


def test_gate_task_counts_imagined_deliveries_only_within_reach_of_the_target():
    """planner.gate_task: the sensor head's imagined task event is scaled by the imagined body's reach
    of its target pose (1 within a cell, 0 from two cells on), read at the step's start."""
    from aptami.agent.perception import PROPRIO_GAIN
    from aptami.env.types import HAS_GOAL_INDEX, POSE_SCALE, POSE_SLICE, PROPRIO_SIZE

    cfg = tiny("fetch")
    cfg = cfg.replace(world_model=dataclasses.replace(cfg.world_model, body_net=True))
    plain, gated = Agent(cfg), Agent(cfg.replace(planner=dataclasses.replace(cfg.planner, gate_task=True)))
    st = plain.init(jax.random.key(0))
    z = jax.random.normal(jax.random.key(1), (st.wm.proprio_head.layers[0].in_features,))
    a = jax.nn.one_hot(5, 7)
    task = lambda agent, z, s=st: float(channel(agent.planning_model(s).step(z, a, None)[1], "task"))  # noqa: E731

    def body_at(cells_away):   # holding an ordered item, its requester `cells_away` cells to the right
        pr = jnp.zeros(PROPRIO_SIZE).at[HAS_GOAL_INDEX].set(1.0)
        pr = pr.at[POSE_SLICE].set(jnp.array([3.0, 3.0, 3.0, 3.0 + cells_away]) / POSE_SCALE)
        return z.at[-PROPRIO_SIZE:].set(pr * jnp.asarray(PROPRIO_GAIN))

    near, far = body_at(1), body_at(4)
    assert task(plain, far) != 0.0 and task(gated, far) == 0.0
    assert task(gated, near) == pytest.approx(task(plain, near)) and task(plain, near) != 0.0
    # read at the step's start: a body network that carries the requester 3 cells further off during the
    # step leaves a delivery begun within reach counted (read after the step, it would be 0)
    bias = st.wm.predictor.body.layers[-1].bias
    away = bias.at[..., POSE_SLICE.start + 3].add(3.0 / POSE_SCALE * PROPRIO_GAIN[POSE_SLICE.start + 3])
    moved = st._replace(wm=eqx.tree_at(lambda w: w.predictor.body.layers[-1].bias, st.wm, away))
    assert task(gated, near, moved) == pytest.approx(task(plain, near, moved)) and task(plain, near, moved) != 0.0


def test_td_lambda_stops_at_termination_and_bootstraps_at_truncation():
    c = jnp.array([1.0, 1.0, 1.0])
    v = jnp.array([10.0, 10.0, 10.0])
    g = lambda_returns(c, v, jnp.array([False, True, False]), jnp.array([False, False, False]), 0.5, 1.0)
    np.testing.assert_allclose(g, [1.5, 1.0, 6.0])          # no value past the terminal step
    g = lambda_returns(c, v, jnp.array([False, False, False]), jnp.array([False, True, False]), 0.5, 1.0)
    np.testing.assert_allclose(g, [1 + 0.5 * 6.0, 6.0, 6.0])  # truncation bootstraps from V


def test_critic_calibration_compares_only_whole_futures():
    """A critic that knows the true value (the world goes on after a truncation) is calibrated; near a
    truncated end the realised sum lacks its tail and those steps are not held against it."""
    gamma, n = 0.9, 400
    cost = jnp.asarray(np.random.default_rng(0).normal(size=n + 200) + 1.0, jnp.float32)
    value = np.zeros(n + 200, np.float32)                  # the discounted future of the endless stream
    for t in range(n + 198, -1, -1):
        value[t] = cost[t] + gamma * value[t + 1]
    trunc = (jnp.arange(n) % 100) == 99                     # fixed-length episodes of 100 steps
    critic = lambda z: jnp.asarray(value)[z[0]]            # noqa: E731
    z = jnp.arange(n)[:, None]
    r2, corr, bias, steps = critic_calibration(critic, z, cost[:n], trunc, trunc, gamma, tail=0.01)
    assert float(r2) > 0.99 and float(corr) > 0.99 and abs(float(bias)) < 0.05  # all 400 steps: 0.55, 0.85
    assert int(steps) == 4 * (100 - 43)   # 0.9^44 <= 0.01 < 0.9^43: the steps 44 or more from the end
    # ending by termination instead, the same sums are whole futures: every step compares
    term_value = np.asarray(discounted_to_go(cost[:n], trunc, gamma))
    r2, _, _, steps = critic_calibration(lambda z: jnp.asarray(term_value)[z[0]], z, cost[:n], trunc,
                                         jnp.zeros(n, bool), gamma)
    assert int(steps) == n and float(r2) > 0.999


def test_watched_demonstrations_are_remembered_and_imitated_only_if_told():
    """train.demo_steps: after the random prefill the oracle planner acts and the robot remembers what it
    saw (observational learning); the steps are Mode-1 distillation targets only with train.demo_distill,
    which changes nothing else."""
    from aptami.env.types import ACTION_NAMES

    cfg = tiny("fetch")
    cfg = cfg.replace(train=dataclasses.replace(cfg.train, prefill_steps=16, demo_steps=48))
    agent = Agent(cfg)
    st = jax.jit(agent.prefill)(agent.init(jax.random.key(0)))
    mem = st.memory
    assert int(mem.size) == 64 and not bool(mem.planned[:64].any())
    # the teacher plans: within its 48 steps it walks to a shelf and takes an item
    took = (mem.next_proprio[16:64, 3] == 0) & (mem.proprio[16:64, 3] == 1)
    assert bool(took.any()), "the oracle teacher took no item in 48 steps"
    assert (np.asarray(mem.actions[16:64]) != ACTION_NAMES.index("noop")).any()
    imitating = Agent(cfg.replace(train=dataclasses.replace(cfg.train, demo_distill=True)))
    mem2 = jax.jit(imitating.prefill)(imitating.init(jax.random.key(0))).memory
    assert bool(mem2.planned[16:64].all()) and not bool(mem2.planned[:16].any())
    same = jax.tree.map(lambda a, b: bool(jnp.array_equal(a, b)), mem._replace(planned=None),
                        mem2._replace(planned=None))
    assert all(jax.tree.leaves(same))
    with pytest.raises(ConfigError, match="demo_distill"):
        dataclasses.replace(cfg.train, demo_distill="yes").check()


def test_memory_is_a_ring_read_in_order():
    mem = ShortTermMemory.empty(10, (2, 2, 3), 13, 16, 1, 4)
    for i in range(15):
        mem = mem.add(frames=jnp.zeros((2, 2, 3)), proprio=jnp.zeros(13), next_frames=jnp.zeros((2, 2, 3)),
                      next_proprio=jnp.zeros(13), actions=i, planned=True, sensors=jnp.zeros(16), cost=float(i),
                      terms=jnp.zeros(1), latent=jnp.zeros(4), terminated=False, truncated=i == 12)
    assert int(mem.size) == 10
    seqs = mem.sample(jax.random.key(0), 50, 4)["actions"]
    assert np.all(np.diff(np.asarray(seqs), axis=1) == 1)      # chronological, never across the write head
    assert int(seqs.min()) == 5 and int(seqs.max()) == 14        # the oldest and the newest step are both read
    assert mem.truncated.sum() == 1 and mem.terminated.sum() == 0
    # prioritised replay: a share of the sequences holds a remembered event (sensor channel 0 at step 9)
    mem = mem._replace(sensors=mem.sensors.at[9 % 10, 0].set(1.0))
    seqs = np.asarray(mem.sample(jax.random.key(1), 50, 4, event_channel=0, event_fraction=0.5)["actions"])
    assert np.all((seqs[:25] == 9).any(1)) and not np.all((seqs[25:] == 9).any(1))
    assert np.all(np.diff(seqs, axis=1) == 1) and int(seqs.min()) >= 5
    # ... and, with both shares, a share around each kind: a move after which the pose was unchanged (step 11)
    from aptami.agent.agent import blocked_moves
    from aptami.env.types import ACTION_NAMES
    up = ACTION_NAMES.index("up")
    mem = mem._replace(actions=mem.actions.at[11 % 10].set(up), next_proprio=mem.next_proprio.at[6].set(1.0),
                       proprio=mem.proprio.at[6].set(0.5))      # step 6 moved (its pose changed): not blocked
    mem = mem._replace(actions=mem.actions.at[6].set(up))
    assert np.flatnonzero(np.asarray(blocked_moves(mem))).tolist() == [1]   # step 11 is at place 1
    seqs = np.asarray(mem.sample(jax.random.key(3), 40, 3, 0, 0.25, priority=((blocked_moves(mem), 0.25),))
                      ["cost"])
    assert np.all((seqs[:10] == 9).any(1)) and np.all((seqs[10:20] == 11).any(1))
    # the newest steps only (critic.recent): the last 6 written are 9..14
    seqs = np.asarray(mem.sample(jax.random.key(2), 50, 4, newest=6)["cost"])
    assert int(seqs.min()) == 9 and int(seqs.max()) == 14 and np.all(np.diff(seqs, axis=1) == 1)


def test_critic_learns_from_recent_experience_only_when_asked():
    """critic.recent changes what the critic learns from, and nothing that the world model or the Mode-1
    policy learns (the policy keeps the world model's batch: states with the actions taken in them)."""
    base = tiny()
    cfg = base.replace(critic=dataclasses.replace(base.critic, recent=40))
    agent = Agent(base)
    st = jax.jit(agent.warmup)(agent.init(jax.random.key(0)))[0]   # one warm-up: the option acts in `learn`
    # the policy learns from planned steps only, and the warm-up planned none: mark them planned
    st = st._replace(memory=st.memory._replace(planned=jnp.ones_like(st.memory.planned)))
    outs = [jax.jit(Agent(c).learn)(st)[0] for c in (base, cfg)]
    assert not leaves_equal(outs[0].policy, st.policy)                 # the policy did learn
    assert leaves_equal(outs[0].wm, outs[1].wm) and leaves_equal(outs[0].policy, outs[1].policy)
    assert not leaves_equal(outs[0].critic, outs[1].critic)
    with pytest.raises(ConfigError, match="CriticConfig.recent"):
        base.replace(critic=dataclasses.replace(base.critic, recent=-1)).check()


def test_same_key_same_run_and_seeds_vmap_in_one_line():
    agent = Agent(tiny())
    run = jax.jit(jax.vmap(agent.train_from_key))
    keys = jax.random.split(jax.random.key(0), 2)
    (a, ma), (b, mb) = run(keys), run(keys)
    assert leaves_equal(a.wm, b.wm) and np.array_equal(ma["wm_loss"], mb["wm_loss"])
    assert not np.array_equal(np.asarray(ma["wm_loss"][0]), np.asarray(ma["wm_loss"][1]))


def test_checkpoint_round_trip(tmp_path):
    agent = Agent(tiny())
    st = jax.jit(jax.vmap(agent.init))(jax.random.split(jax.random.key(0), 2))
    save(tmp_path / "run", agent.cfg, st, {"iterations": 3})
    agent2, st2, meta = load(tmp_path / "run")
    assert meta["iterations"] == 3 and agent2.cfg == agent.cfg
    assert leaves_equal(st.wm, st2.wm) and leaves_equal(st.memory, st2.memory)
    np.testing.assert_array_equal(jax.random.key_data(st.key), jax.random.key_data(st2.key))
    # same types too: a weak-typed leaf in a fresh state (a Python float in it) would make the resumed
    # run compile its programs again (the CLI's resume once recompiled its online chunk for this)
    def types(s):
        return [(x.shape, x.dtype, getattr(x, "weak_type", 0)) for x in jax.tree.leaves(eqx.filter(s, eqx.is_array))]

    assert types(st) == types(st2)


def test_critic_imagined_audit_reads_the_critic_on_encoded_and_imagined_latents(tmp_path, load_script):
    """scripts/critic_imagined.py: at k = 0 the imagined latent is the encoded one (same numbers, no
    drift); k steps on, it has drifted and fewer steps (those within one episode) are compared."""
    mod = load_script("critic_imagined")
    agent = Agent(tiny("fetch", task=1.0).replace(env={"max_steps": 110}))
    st = jax.jit(jax.vmap(agent.init))(jax.random.split(jax.random.key(0), 2))
    save(tmp_path / "run", agent.cfg, st, {"iterations": 0})
    res = mod.audit(tmp_path / "run", 130, ks=(0, 3))   # whole futures: the first ~11 steps
    k0, k3 = res["k"]["0"], res["k"]["3"]
    assert k0["encoded"] == k0["imagined"] and k0["drift_in_spreads"] == [0.0, 0.0]
    assert min(k3["drift_in_spreads"]) > 0
    assert all(0 < b < a for a, b in zip(k0["encoded"]["steps"], k3["imagined"]["steps"]))
    assert mod.summary(res).splitlines()[1].startswith("k=  3  r encoded")


def test_a_step_reports_the_world_its_decision_was_made_in(tmp_path, load_script):
    """act's `prior` is the state z encodes (audits replay plans from it; `state` is the world after the
    step), and scripts/plan_audit.py replays from it: its real replay of a plan starts where it was chosen."""
    from aptami.agent.agent import _encode

    agent = Agent(tiny("fetch", task=1.0).replace(env={"max_steps": 20}))
    st = agent.init(jax.random.key(0))
    _, tr = jax.jit(lambda s: agent.collect(s, 30, "random", keep=("z", "prior", "state")))(st)
    obs = jax.vmap(lambda s: agent.house.observe(s, agent.env_params))(tr["prior"])
    z_prior = jax.vmap(lambda f, p: _encode(st.wm, f, p))(obs.frame, obs.proprio)
    np.testing.assert_allclose(np.asarray(z_prior), np.asarray(tr["z"]), rtol=1e-5, atol=1e-5)
    obs = jax.vmap(lambda s: agent.house.observe(s, agent.env_params))(tr["state"])
    z_after = jax.vmap(lambda f, p: _encode(st.wm, f, p))(obs.frame, obs.proprio)
    assert not np.allclose(np.asarray(z_after), np.asarray(tr["z"]), atol=1e-5)
    mod = load_script("plan_audit")
    save(tmp_path / "run", agent.cfg, jax.tree.map(lambda x: x[None], st), {"iterations": 0})
    res = mod.audit(tmp_path / "run", 8, 4)
    assert res["decisions_per_seed"] == 2 and np.isfinite(res["real_ic_same_plan"])


def test_judge_parts_replace_one_piece_of_the_judge_at_a_time(load_script, monkeypatch):
    """scripts/judge_parts.py, one planned step from the true state: sim-heads reads the agent's heads on
    the encoding of the true next frame, +task swaps in the true task channel and nothing else, sim-truth
    reads the true sensors, imagined+task is the agent's imagination with the true task channel alone."""
    from aptami.agent.agent import _encode
    from aptami.agent.cost import SENSOR_INDEX, sensors_from_signals

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "scripts"))
    mod = load_script("judge_parts")
    base = Agent(tiny("fetch"))
    st = base.init(jax.random.key(0))
    z = _encode(st.wm, st.obs.frame, st.obs.proprio)
    a, key = jax.nn.one_hot(3, 7), jax.random.key(3)

    def step(part):
        judged = mod.Judged(base.cfg)
        judged.part = part
        model = judged.planning_model(st)
        m, percept, _ = model.step(model.root(z), a, key)
        return np.asarray(model.latent(m)), np.asarray(percept.sensors)

    nxt, info = base.house.step_state(key, st.env_state, 3, base.env_params)
    true = np.asarray(sensors_from_signals(base.house.signals(nxt, info, base.env_params)))
    obs = base.house.observe(nxt, base.env_params)
    z2 = _encode(st.wm, obs.frame, obs.proprio)
    heads = np.asarray(st.wm.read(z, a, z2)[0])
    task, nov = SENSOR_INDEX["task"], SENSOR_INDEX["novelty"]
    rest = np.arange(len(true)) != task
    (lat, sh), (_, sh_task), (_, truth) = step("sim-heads"), step("sim-heads+task"), step("sim-truth")
    np.testing.assert_allclose(lat, np.asarray(z2), rtol=1e-6)
    np.testing.assert_allclose(np.delete(sh, nov), np.delete(heads, nov), rtol=1e-5, atol=1e-6)
    assert sh_task[task] == true[task] != sh[task] and np.array_equal(sh_task[rest], sh[rest])
    np.testing.assert_allclose(np.delete(truth, nov), np.delete(true, nov), rtol=1e-6)
    (_, im), (_, im_task) = step("imagined"), step("imagined+task")
    assert im_task[task] == true[task] != im[task] and np.array_equal(im_task[rest], im[rest])


def test_critic_swap_changes_the_critic_and_nothing_else(load_script):
    """scripts/critic_swap.py: copy k of agent i (at k * n + i) keeps that agent's world model, policy and
    memory; the fresh arm differs from the own arm in the critic alone, whose target starts as a copy."""
    mod = load_script("critic_swap")
    agent = Agent(tiny())
    st = jax.jit(jax.vmap(agent.init))(jax.random.split(jax.random.key(0), 2))
    own, fresh = mod.with_fresh_critics(agent, st, 3, jax.random.key(7))
    at = lambda tree, j: jax.tree.map(lambda x: x[j], tree)   # noqa: E731
    for k in range(3):
        for i in range(2):
            j = k * 2 + i
            assert leaves_equal(at(own, j), at(st, i))
            assert leaves_equal(at(fresh._replace(critic=own.critic, critic_target=own.critic_target), j), at(st, i))
            assert not leaves_equal(at(fresh.critic, j), at(st.critic, i))
            assert leaves_equal(at(fresh.critic, j), at(fresh.critic_target, j))
    assert not leaves_equal(at(fresh.critic, 0), at(fresh.critic, 2))   # each copy its own draw


def test_a_lean_checkpoint_keeps_the_networks_and_a_sample_of_memory(tmp_path):
    """What comes back from a device machine: the trained networks exactly, `keep` distinct remembered
    steps drawn from the filled ones, no optimiser state; and it acts (plans) like the agent it came from."""
    from aptami.agent.checkpoint import save_lean

    agent = Agent(tiny())
    st = jax.jit(jax.vmap(agent.init))(jax.random.split(jax.random.key(0), 2))
    st, _ = jax.jit(jax.vmap(lambda s: agent.collect(s, 50, "random")))(st)   # 50 of 400 places filled
    save_lean(tmp_path / "lean", agent.cfg, st, keep=64, meta={"iterations": 3})
    agent2, st2, meta = load(tmp_path / "lean")
    assert meta["lean"] and meta["iterations"] == 3 and agent2.cfg.train.capacity == 64
    assert leaves_equal(st.wm, st2.wm) and leaves_equal(st.critic, st2.critic) and leaves_equal(st.ic, st2.ic)
    assert all(not np.any(np.asarray(x)) for x in jax.tree.leaves(eqx.filter(st2.wm_opt, eqx.is_array)))
    for s in range(2):
        assert int(st2.memory.size[s]) == 50 and int(st2.memory.ptr[s]) == 50
        old = {r.tobytes() for r in np.asarray(st.memory.latent[s, :50])}
        new = [r.tobytes() for r in np.asarray(st2.memory.latent[s, :50])]
        assert set(new) == old                       # every filled step, each once
    decide = jax.jit(jax.vmap(lambda s: agent.act(s, "plan", explore=False, remember=False)[1]["action"]))
    np.testing.assert_array_equal(decide(st), decide(st2))


# ----------------------------------------------------------------------------- outside the house
class Corridor(gym.Env):
    """A foreign world: five cells drawn as a 20x20 image; reward 1 at the right end."""

    action_space = gym.spaces.Discrete(3)
    observation_space = gym.spaces.Box(0, 255, (20, 20, 3), np.uint8)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.t = 0, 0
        return self._img(), {}

    def _img(self):
        img = np.zeros((20, 20, 3), np.uint8)
        img[8:12, self.x * 4:(self.x + 1) * 4] = 255
        return img

    def step(self, a):
        self.x = int(np.clip(self.x + (a == 1) - (a == 2), 0, 4))
        self.t += 1
        done = self.x == 4
        return self._img(), float(done), done, self.t >= 20, {}


def test_the_agent_lives_in_a_foreign_gymnasium_world():
    from aptami.agent.gym_runner import run
    cfg = AgentConfig(planner=PlannerConfig(samples=32, horizon=6, iterations=2, elites=4, policy_samples=0),
                      train=TrainConfig(capacity=300, batch=8, seq_len=4), cost=CostConfig(weights={"task": 1.0}))
    out = run(Corridor(), 120, cfg, prefill=40)
    assert len(out["episode_returns"]) >= 3
    assert int(out["state"].memory.size) == 120 and int(out["state"].updates) > 50


def test_a_run_folder_is_resumed_only_by_the_code_that_wrote_it(monkeypatch):
    """A changed loss with unchanged parameter shapes must not continue another code's weights."""
    import aptami.util
    from aptami.agent.runner import run_dir

    cfg = preset("two-rooms")
    before = run_dir("runs/agents", cfg, 2)
    assert run_dir("runs/agents", cfg, 2) == before
    monkeypatch.setattr(aptami.util, "code_fingerprint", lambda: "0.1.0+changed")
    assert run_dir("runs/agents", cfg, 2) != before
