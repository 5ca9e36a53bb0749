"""Agent: the loop of the paper as one jitted program: act, remember, learn.

    state = agent.init(key)
    state, metrics = agent.train(state)                   # prefill, pretrain, iterations
    report = agent.evaluate(state, key, episodes=10)
    jax.vmap(agent.train_from_key)(keys)                  # seeds in one line

Acting encodes the camera and body (Perception), asks the Configurator for term weights, plans
with the Actor (Mode-2 through the learned world model or the oracle; Mode-1 with the policy),
steps the house, evaluates the Intrinsic Cost of what it perceived, and writes ShortTermMemory.
Learning trains the WorldModel (self-supervised), the TrainableCritic (TD-lambda) and the
Mode-1 policy (distillation of Mode-2's choices). The Intrinsic Cost is carried through
unchanged and is never given to an optimiser.
"""
from __future__ import annotations

import copy
import dataclasses
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..env import make
from ..env.types import ACTION_NAMES, EVENT_INDEX, N_ACTIONS, N_EVENTS, POSE_SLICE, PROPRIO_SIZE, EnvState, Obs
from .actor import Policy, penalised, plan
from .config import AgentConfig, ConfigError
from .configurator import Configurator
from .cost import (
    N_SENSORS,
    SENSOR_INDEX,
    CostError,
    IntrinsicCost,
    Percept,
    Term,
    build_cost,
    oracle_only,
    reads_frames,
    sensors_from_signals,
)
from .critic import TrainableCritic, at_episode_end, critic_loss, discounted_to_go, steps_left
from .losses import cross_entropy, latent_health
from .memory import ShortTermMemory
from .nets import ema
from .oracle import LearnedModel, OracleWorldModel
from .world_model import WorldModel, world_model_loss

DENSITY_ANCHORS = 256   # remembered states that stand for the training distribution (the density penalty)


class Episodes(NamedTuple):
    """Sums over the episodes finished since the counters were reset."""

    count: jax.Array
    success: jax.Array
    cost: jax.Array
    terms: jax.Array       # [T]
    task: jax.Array
    events: jax.Array      # [E]
    welfare: jax.Array     # mean true welfare over the episode (hidden truth: experiments only)
    length: jax.Array


class Running(NamedTuple):
    """The episode in progress."""

    cost: jax.Array
    terms: jax.Array
    task: jax.Array
    events: jax.Array
    welfare: jax.Array
    length: jax.Array


class AgentState(NamedTuple):
    wm: WorldModel
    wm_opt: optax.OptState
    critic: TrainableCritic
    critic_target: TrainableCritic
    critic_opt: optax.OptState
    policy: Policy
    policy_opt: optax.OptState
    ic: IntrinsicCost                 # immutable: carried, never optimised
    memory: ShortTermMemory
    env_state: EnvState
    obs: Obs
    sensors: jax.Array                # the last real sensor reading (the configurator's context)
    plan_probs: jax.Array             # [H, A] warm start
    counts: jax.Array                 # novelty count table
    key: jax.Array
    env_steps: jax.Array
    updates: jax.Array
    running: Running
    episodes: Episodes


def _zero_episodes(n_terms) -> Episodes:
    z = jnp.zeros(())
    return Episodes(z, z, z, jnp.zeros(n_terms), z, jnp.zeros(N_EVENTS), z, z)


def _zero_running(n_terms) -> Running:
    z = jnp.zeros(())
    return Running(z, jnp.zeros(n_terms), z, jnp.zeros(N_EVENTS), z, z)


def teacher_config(cfg: AgentConfig, **train) -> AgentConfig:
    """The oracle planner of the same IC and planner sizes, without critic, Mode-1 seeds or exploration:
    what a robot with train.demo_steps watches (and the delivery audit's reference)."""
    pc = dataclasses.replace(cfg.planner, use_critic=False, policy_samples=0, epsilon=0.0)
    return cfg.replace(train=dataclasses.replace(cfg.train, world_model="oracle", demo_steps=0, **train), planner=pc)


class Agent:
    """The APTAMI agent for one configuration. Pure functions of AgentState; jit/vmap freely."""

    def __init__(self, cfg: AgentConfig, extra_terms: tuple[Term, ...] = ()):
        self.cfg = cfg.check()
        self.house, self.env_params = make(cfg.scenario, **cfg.env)
        self.n_actions = N_ACTIONS
        self.frame_shape, self.tile_px = self.house.size.frame_shape, self.house.size.tile_px
        self.has_goal = int(self.env_params.n_goal_spawn) > 0
        if cfg.planner.task_of_body and self.has_goal:
            raise ConfigError(f"PlannerConfig.task_of_body=True reads deliveries off the body sense, which holds one "
                              f"target pose: scenario {cfg.scenario!r} has a navigation goal (allowed: false there)")
        self._setup(extra_terms)
        # train.demo_steps: the oracle planner the robot watches (built here, outside jit)
        self._teacher = Agent(teacher_config(cfg), extra_terms) if cfg.train.demo_steps else None

    def _setup(self, extra_terms):
        """The Intrinsic Cost, the configurator, novelty hashing and the optimisers."""
        cfg = self.cfg
        self.ic = build_cost(tuple(cfg.cost.weights), extra_terms, cfg.perception.latent)
        if oracle_only(self.ic) and cfg.train.world_model == "learned":
            raise CostError(f"Intrinsic Cost term(s) {oracle_only(self.ic)} read camera frames or hidden truth, "
                            "which a learned world model does not predict (it imagines latents): use a "
                            "latent-reading variant, or the oracle")
        self.configurator = Configurator.from_weights(cfg.cost.weights, cfg.cost.low_battery,
                                                      cfg.cost.low_battery_gain)
        self.n_terms = len(self.ic.terms)
        bits = cfg.cost.count_bits
        rng = np.random.default_rng(7)
        self._simhash = jnp.asarray(rng.standard_normal((bits, cfg.perception.latent)), jnp.float32)
        self._pow2 = jnp.asarray(2 ** np.arange(bits), jnp.uint32)
        self._mask = jnp.uint32(2**bits - 1)
        clip = optax.clip_by_global_norm(10.0)
        self.wm_optim = optax.chain(clip, optax.adam(cfg.world_model.lr))
        self.critic_optim = optax.chain(clip, optax.adam(cfg.critic.lr))
        self.policy_optim = optax.chain(clip, optax.adam(1e-3))

    def with_penalties(self, pessimism, density_weight) -> "Agent":
        """This agent planning with other pessimism weights (footnote 2), which may be traced arrays: a
        sweep over weights then runs one compiled program instead of one per weight. Not `check`ed (a
        traced weight has no value to check); everything else is shared with this agent."""
        new = copy.copy(self)
        new.cfg = dataclasses.replace(self.cfg, planner=dataclasses.replace(
            self.cfg.planner, pessimism=pessimism, density_weight=density_weight))
        return new

    # ------------------------------------------------------------------ novelty (curiosity)
    def _code_of_latent(self, counts, z):
        bits = (self._simhash @ z > 0).astype(jnp.uint32)
        return jnp.sum(bits * self._pow2)

    def novelty_of_latent(self, counts, z):
        return jax.lax.rsqrt(1.0 + counts[self._code_of_latent(counts, z)].astype(jnp.float32))

    def novelty_of_code(self, counts, code):
        return jax.lax.rsqrt(1.0 + counts[code & self._mask].astype(jnp.float32))

    # ------------------------------------------------------------------ init
    def init(self, key) -> AgentState:
        cfg = self.cfg
        kw, kc, kp, ke, kr = jax.random.split(key, 5)
        wm = WorldModel(cfg.perception, cfg.world_model, self.frame_shape, self.tile_px, self.n_actions, key=kw)
        critic = TrainableCritic(cfg.perception.latent, cfg.critic, key=kc)
        policy = Policy(cfg.perception.latent, 256, self.n_actions, key=kp)
        if self.house is not None:
            env_state = self.house.reset_state(ke, self.env_params)
            obs = self.house.observe(env_state, self.env_params)
        else:  # a world outside the house (see gym_runner): the host keeps the environment
            env_state, obs = None, Obs(jnp.zeros(self.frame_shape, jnp.uint8), jnp.zeros(PROPRIO_SIZE))
        mem = ShortTermMemory.empty(cfg.train.capacity, self.frame_shape, PROPRIO_SIZE, N_SENSORS,
                                    self.n_terms, cfg.perception.latent)
        h = cfg.planner.horizon
        st = AgentState(
            wm=wm, wm_opt=self.wm_optim.init(wm), critic=critic, critic_target=critic,
            critic_opt=self.critic_optim.init(critic), policy=policy, policy_opt=self.policy_optim.init(policy),
            ic=self.ic, memory=mem, env_state=env_state, obs=obs,
            sensors=_resting_sensors(obs),
            plan_probs=jnp.full((h, self.n_actions), 1.0 / self.n_actions, jnp.float32),   # not weak-typed: a restored
            # state (strongly typed) must find the same compiled programs
            counts=jnp.zeros(2**cfg.cost.count_bits, jnp.int32), key=kr,
            env_steps=jnp.zeros((), jnp.int32), updates=jnp.zeros((), jnp.int32),
            running=_zero_running(self.n_terms), episodes=_zero_episodes(self.n_terms))
        # distinct buffers everywhere (the critic target starts as a copy), so a state can be donated
        return jax.tree.map(lambda x: jnp.array(x, copy=True) if eqx.is_array(x) else x, st)

    # ------------------------------------------------------------------ the planning model
    def remembered_latents(self, st: AgentState, key, n: int = DENSITY_ANCHORS):
        """n distinct remembered states (repeated where memory holds fewer) encoded by the *current*
        encoder: the training distribution as the world model now sees it. (Memory's own latents were
        encoded when each step was lived, most by an early or untrained encoder, so distances to them
        would measure the encoder's drift.)"""
        mem = st.memory
        k = min(n, mem.capacity)
        idx = mem.distinct(key, k)                       # filled places first
        filled = jnp.clip(mem.size, 1, k)                # fewer filled than n: repeat them (never a blank one)
        j = jnp.arange(n)
        idx = idx[jnp.where(j < filled, j, j % filled)]
        return jax.vmap(lambda f, p: _encode(st.wm, f, p))(mem.frames[idx], mem.proprio[idx])

    def _anchors(self, st: AgentState, key):
        """The density penalty's anchors, or None when it is off (decided while tracing)."""
        if self.cfg.train.world_model == "oracle" or not penalised(self.cfg.planner.density_weight):
            return None
        return self.remembered_latents(st, jax.random.fold_in(key, 0x616E))

    def planning_model(self, st: AgentState, key=None, anchors=None):
        """`anchors`: the density penalty's remembered latents (`remembered_latents`); encoded here from
        `key` when the penalty is on and none are given (`collect` encodes them once for all its steps)."""
        if self.cfg.train.world_model == "oracle":
            return OracleWorldModel(self.house, self.env_params, _encode, st.wm, self.novelty_of_code,
                                    st.counts, self.cfg.perception.latent, reads_frames(self.ic))
        if anchors is None:
            anchors = self._anchors(st, jax.random.key(0) if key is None else key)
        return LearnedModel(st.wm, self.novelty_of_latent, st.counts, anchors, self.cfg.planner.gate_task,
                            self.cfg.planner.task_of_body)

    def decide(self, st: AgentState, key, z, weights, mode: str, explore: bool = False, anchors=None,
               proposals=None):
        """(action, next warm start, planned?, predicted plan cost, the chosen action sequence [H]).
        While exploring, planner.curiosity turns ensemble disagreement into a bonus (negative pessimism).
        `proposals`: sequences [policy_samples, H] to plan with in place of the policy's (see `plan`)."""
        no_plan = jnp.zeros(self.cfg.planner.horizon, jnp.int32)
        if mode == "random":
            return (jax.random.randint(key, (), 0, self.n_actions), st.plan_probs, jnp.bool_(False), jnp.zeros(()),
                    no_plan)
        if mode == "policy":
            return jnp.argmax(st.policy(z)), st.plan_probs, jnp.bool_(False), jnp.zeros(()), no_plan
        key, k_anchor = jax.random.split(key)
        model = self.planning_model(st, k_anchor, anchors)
        root = st.env_state if self.cfg.train.world_model == "oracle" else z

        def cost_fn(percept):
            return st.ic(percept, weights)[0]

        value_fn = st.critic if self.cfg.planner.use_critic else None
        policy = st.policy if self.cfg.planner.policy_samples > 0 else None
        pc = self.cfg.planner
        if explore and pc.curiosity > 0:
            pc = dataclasses.replace(pc, pessimism=pc.pessimism - pc.curiosity)
        action, probs, info = plan(key, model, root, st.plan_probs, cost_fn, value_fn, policy, pc, proposals)
        return action, probs, jnp.bool_(True), info["plan_cost"], info["plan"].astype(jnp.int32)

    # ------------------------------------------------------------------ one step in the world
    def act(self, st: AgentState, mode: str = "plan", explore: bool = True,
            remember: bool = True, anchors=None) -> tuple[AgentState, dict]:
        """Perceive, decide, step the house, evaluate the IC, remember. `mode`: plan, policy or random;
        `explore`: take a random action with probability planner.epsilon (off when evaluating);
        `remember=False` leaves memory as it was (a probe of a trained agent: memory stays its training data)."""
        cfg, house, p = self.cfg, self.house, self.env_params
        key, k_dec, k_eps, k_rand, k_env, k_reset = jax.random.split(st.key, 6)
        z = _encode(st.wm, st.obs.frame, st.obs.proprio)
        weights = self.configurator.weights(Percept(st.sensors, st.obs.proprio, z))
        action, probs, planned, plan_cost, plan_seq = self.decide(st, k_dec, z, weights, mode, explore, anchors)
        rand = (jax.random.uniform(k_eps) < cfg.planner.epsilon) & explore
        action = jnp.where(rand, jax.random.randint(k_rand, (), 0, self.n_actions), action).astype(jnp.int32)
        planned = planned & ~rand

        after, info = house.step_state(k_env, st.env_state, action, p)
        sig = house.signals(after, info, p)
        obs_after = house.observe(after, p)
        z_after = _encode(st.wm, obs_after.frame, obs_after.proprio)
        if cfg.train.world_model == "oracle":
            code = sig.view_code & self._mask
        else:
            code = self._code_of_latent(st.counts, z_after)
        novelty = jax.lax.rsqrt(1.0 + st.counts[code].astype(jnp.float32))
        counts = st.counts.at[code].add(1)
        sensors = sensors_from_signals(sig, novelty)
        cost, terms = st.ic(Percept(sensors, obs_after.proprio, z_after, obs_after.frame,
                                    _mean_welfare(info["welfare"], p.human_active)), weights)

        memory = st.memory if not remember else st.memory.add(
            frames=st.obs.frame, proprio=st.obs.proprio, next_frames=obs_after.frame,
            next_proprio=obs_after.proprio, actions=action, planned=planned, sensors=sensors, cost=cost,
            terms=terms, latent=z, terminated=info["terminated"], truncated=info["truncated"])

        done = info["done"]
        fresh = house.reset_state(k_reset, p)
        env_state = jax.tree.map(lambda a, b: jnp.where(done, a, b), fresh, after)
        obs = jax.tree.map(lambda a, b: jnp.where(done, a, b), house.observe(fresh, p), obs_after)
        uniform = jnp.full_like(probs, 1.0 / self.n_actions)

        welfare = _mean_welfare(info["welfare"], p.human_active)
        r = st.running
        r = Running(r.cost + cost, r.terms + terms, r.task + info["task"], r.events + info["events"],
                    r.welfare + welfare, r.length + 1)
        if self.has_goal:
            success = r.events[EVENT_INDEX["goal_reached"]] > 0
        else:
            success = r.task > 0
        e = st.episodes
        e = jax.tree.map(lambda tot, x: tot + jnp.where(done, x, 0), e, Episodes(
            jnp.ones(()), success.astype(jnp.float32), r.cost, r.terms, r.task, r.events, r.welfare / r.length,
            r.length))
        r = jax.tree.map(lambda x: jnp.where(done, jnp.zeros_like(x), x), r)

        new = st._replace(memory=memory, env_state=env_state, obs=obs,
                          sensors=jnp.where(done, _resting_sensors(obs), sensors),
                          plan_probs=jnp.where(done, uniform, probs), counts=counts, key=key,
                          env_steps=st.env_steps + 1, running=r, episodes=e)
        out = {"action": action, "cost": cost, "terms": terms, "plan_cost": plan_cost, "plan": plan_seq, "done": done,
               "truncated": info["truncated"], "task": info["task"], "events": info["events"], "welfare": welfare,
               "z": z, "sensors": sensors, "state": after,  # `state`: the world after the step, before any reset
               "prior": st.env_state}  # the world the decision was made in (z encodes its view)
        return new, out

    # ------------------------------------------------------------------ learning
    def learn(self, st: AgentState, world_model: bool = True) -> tuple[AgentState, dict]:
        """One gradient update of the world model, the critic and the Mode-1 policy."""
        cfg = self.cfg
        key, k_batch, k_loss = jax.random.split(st.key, 3)
        bumps = ((blocked_moves(st.memory), cfg.train.blocked_fraction),) if cfg.train.blocked_fraction else ()
        batch = st.memory.sample(k_batch, cfg.train.batch, cfg.train.seq_len, SENSOR_INDEX["task"],
                                 cfg.train.event_fraction, priority=bumps)
        (_, m), g = jax.value_and_grad(world_model_loss, has_aux=True)(st.wm, batch, cfg.world_model, k_loss)
        if world_model:
            upd, wm_opt = self.wm_optim.update(g, st.wm_opt, st.wm)
            wm = optax.apply_updates(st.wm, upd)
        else:
            wm, wm_opt = st.wm, st.wm_opt
        z, zn = m.pop("z"), m.pop("zn")  # encodings of the batch from the loss (before this update)
        cb, zc, znc = batch, z, zn
        if cfg.critic.recent:  # a batch of its own, from the newest experience, encoded as the loss did
            cb = st.memory.sample(jax.random.fold_in(k_batch, 1), cfg.train.batch, cfg.train.seq_len,
                                  newest=cfg.critic.recent)
            enc = jax.vmap(jax.vmap(st.wm.encode))
            zc = jax.lax.stop_gradient(enc(cb["frames"], cb["proprio"]))
            znc = jax.lax.stop_gradient(enc(cb["next_frames"], cb["next_proprio"]))
        (_, cm), cg = jax.value_and_grad(critic_loss, has_aux=True)(
            st.critic, st.critic_target, zc, znc, cb["cost"], cb["terminated"], cb["truncated"], cfg.critic)
        upd, critic_opt = self.critic_optim.update(cg, st.critic_opt, st.critic)
        critic = optax.apply_updates(st.critic, upd)
        target = ema(st.critic_target, critic, cfg.critic.tau)

        def pol_loss(policy):   # the world model's batch: its states with the actions taken in them
            ce = cross_entropy(jax.vmap(jax.vmap(policy))(z), batch["actions"])
            w = batch["planned"].astype(jnp.float32)
            return jnp.sum(ce * w) / jnp.maximum(w.sum(), 1.0)

        pl, pg = jax.value_and_grad(pol_loss)(st.policy)
        upd, policy_opt = self.policy_optim.update(pg, st.policy_opt, st.policy)
        policy = optax.apply_updates(st.policy, upd)
        new = st._replace(wm=wm, wm_opt=wm_opt, critic=critic, critic_target=target, critic_opt=critic_opt,
                          policy=policy, policy_opt=policy_opt, key=key, updates=st.updates + 1)
        return new, {**m, **cm, "policy_loss": pl}

    WM_PARTS = ("predictor", "sensor_head", "proprio_head", "encoder", "idm", "all")

    def fit_part(self, st: AgentState, part: str, updates: int, key, wm_cfg=None) -> AgentState:
        """`updates` more steps of the world model's own loss (`wm_cfg`, else its configured one) on uniform
        batches of memory for one part of the world model (`WM_PARTS`; "all": everything), the rest frozen,
        from a fresh optimiser state of the agent's kind. Why: in joint training the sensor head chases an
        encoder that moves under it; fitted again to the encoder as it is, the same head read fetch's
        deliveries well enough to deliver more (docs/fetch.md: train.head_updates)."""
        if part not in self.WM_PARTS:
            raise ConfigError(f"world-model part {part!r}: allowed values are {', '.join(self.WM_PARTS)}")
        cfg = self.cfg
        wm_cfg = cfg.world_model if wm_cfg is None else wm_cfg
        spec = jax.tree.map(lambda _: part == "all", st.wm)
        if part != "all":
            spec = eqx.tree_at(lambda w: getattr(w, part), spec, replace=jax.tree.map(lambda _: True,
                                                                                      getattr(st.wm, part)))
        params, frozen = eqx.partition(st.wm, spec)

        def step(carry, k):
            params, opt_state = carry
            k_batch, k_loss = jax.random.split(k)
            batch = st.memory.sample(k_batch, cfg.train.batch, cfg.train.seq_len)
            g = jax.grad(lambda p: world_model_loss(eqx.combine(p, frozen), batch, wm_cfg, k_loss)[0])(params)
            upd, opt_state = self.wm_optim.update(g, opt_state, params)
            return (optax.apply_updates(params, upd), opt_state), None

        (params, _), _ = jax.lax.scan(step, (params, self.wm_optim.init(params)), jax.random.split(key, updates))
        return st._replace(wm=eqx.combine(params, frozen))

    def _fit_head(self, st: AgentState) -> AgentState:
        """train.head_updates sensor-head-only updates (none when 0), keyed off the state's key."""
        n = self.cfg.train.head_updates
        if not n:
            return st
        key, k_fit = jax.random.split(st.key)
        return self.fit_part(st._replace(key=key), "sensor_head", n, k_fit)

    # ------------------------------------------------------------------ programs
    def collect(self, st: AgentState, steps: int, mode: str, explore: bool = True, keep=("cost", "plan_cost", "task"),
                remember: bool = True):
        # the encoder does not change while collecting: the density penalty's anchors are encoded once
        anchors = self._anchors(st, st.key) if mode == "plan" else None

        def body(s, _):
            s, out = self.act(s, mode, explore, remember, anchors)
            return s, {k: out[k] for k in keep}

        return jax.lax.scan(body, st, None, length=steps)

    def learn_many(self, st: AgentState, updates: int):
        def body(s, _):
            return self.learn(s)

        return jax.lax.scan(body, st, None, length=updates)

    def prefill(self, st: AgentState) -> AgentState:
        """Random 'flailing' that fills memory before anything is learned; then, if train.demo_steps,
        the oracle planner acts while the robot watches and remembers (its choices become Mode-1 policy
        targets only with train.demo_distill)."""
        t = self.cfg.train
        if t.prefill_steps:
            st, _ = self.collect(st, t.prefill_steps, "random")
        if t.demo_steps:
            start = st.memory.ptr
            st, _ = self._teacher.collect(st, t.demo_steps, "plan", explore=False, keep=())
            if not t.demo_distill:   # watched and remembered, not imitated
                idx = (start + jnp.arange(t.demo_steps)) % st.memory.capacity
                st = st._replace(memory=st.memory._replace(planned=st.memory.planned.at[idx].set(False)))
        return st._replace(episodes=_zero_episodes(self.n_terms))

    def pretrain(self, st: AgentState, updates: int) -> tuple[AgentState, dict]:
        """World-model (and critic, policy) updates on what memory holds; metrics of the last one."""
        st, metrics = self.learn_many(st, updates)
        return st, jax.tree.map(lambda x: x[-1], metrics)

    def warmup(self, st: AgentState) -> tuple[AgentState, dict]:
        """prefill, then pretrain.updates on the prefill, before acting with the planner."""
        st = self.prefill(st)
        if not self.cfg.train.pretrain_updates:
            return st, {}
        st, metrics = self.pretrain(st, self.cfg.train.pretrain_updates)
        return self._fit_head(st), metrics

    def iterate(self, st: AgentState, iterations: int) -> tuple[AgentState, dict]:
        """`iterations` rounds of: collect with the actor, then learn. Metrics per iteration."""
        t = self.cfg.train
        mode = "plan" if t.mode == "mode2" else "policy"

        def body(s, _):
            s = s._replace(episodes=_zero_episodes(self.n_terms))
            s, acted = self.collect(s, t.collect_steps, mode)
            s, learned = self.learn_many(s, t.updates)
            s = self._fit_head(s)
            ep = s.episodes
            n = jnp.maximum(ep.count, 1.0)
            m = {"episodes": ep.count, "success_rate": ep.success / n, "episode_cost": ep.cost / n,
                 "step_cost": acted["cost"].mean(), "plan_cost": acted["plan_cost"].mean(),
                 "episode_welfare": ep.welfare / n, "episode_terms": ep.terms / n,
                 **jax.tree.map(lambda x: x[-1], learned)}
            return s, m

        return jax.lax.scan(body, st, None, length=iterations)

    def train_from_key(self, key) -> tuple[AgentState, dict]:
        """A whole training run as one pure function of a key: vmap it over seeds."""
        st = self.init(key)
        st, _ = self.warmup(st)
        return self.iterate(st, self.cfg.train.iterations)

    # ------------------------------------------------------------------ evaluation
    def fresh_episode(self, st: AgentState, k_reset, k_run) -> AgentState:
        """The trained agent at the start of a fresh episode (drawn with `k_reset`), acting on with
        `k_run`: nothing sensed yet, the warm start uniform. For probes and audits of trained agents."""
        es = self.house.reset_state(k_reset, self.env_params)
        obs = self.house.observe(es, self.env_params)
        return st._replace(env_state=es, obs=obs, key=k_run, sensors=_resting_sensors(obs),
                           plan_probs=jnp.full_like(st.plan_probs, 1.0 / self.n_actions))

    def evaluate(self, st: AgentState, key, steps: int, mode: str = "plan") -> dict:
        """Act without learning for `steps` steps from fresh episodes; per-episode means of what happened."""
        p = self.env_params
        k_reset, k_run = jax.random.split(key)
        env_state = self.house.reset_state(k_reset, p)
        st = st._replace(env_state=env_state, obs=self.house.observe(env_state, p), key=k_run,
                         running=_zero_running(self.n_terms), episodes=_zero_episodes(self.n_terms),
                         plan_probs=jnp.full_like(st.plan_probs, 1.0 / self.n_actions))
        st, trace = self.collect(st, steps, mode, explore=False, keep=("cost", "plan_cost", "task", "z", "done",
                                                                          "truncated"))
        ep = st.episodes
        n = jnp.maximum(ep.count, 1.0)
        health = latent_health(trace["z"])
        return {"episodes": ep.count, "success_rate": ep.success / n, "mean_return": ep.task / n,
                "mean_cost": ep.cost / n, "terms": ep.terms / n, "events": ep.events / n,
                "welfare": ep.welfare / n, "length": ep.length / n,
                **dict(zip(("critic_r2", "critic_corr", "critic_bias", "critic_steps"), critic_calibration(
                    st.critic, trace["z"], trace["cost"], trace["done"], trace["truncated"],
                    self.cfg.critic.gamma))),
                **{f"latent_{k}": v for k, v in health.items()}}


def blocked_moves(mem: ShortTermMemory):
    """[capacity] bool: remembered moves (up, down, left, right) after which the robot's own pose was
    unchanged. A world model meets few of them in its batches, e.g. ~3% of random moves bump into a human
    in fetch, and one that imagines walking through humans plans paths through them."""
    move = (mem.actions >= ACTION_NAMES.index("up")) & (mem.actions <= ACTION_NAMES.index("right"))
    return move & jnp.all(mem.proprio[:, POSE_SLICE] == mem.next_proprio[:, POSE_SLICE], -1)


def _mean_welfare(welfare, active):
    return jnp.sum(welfare * active) / jnp.maximum(active.sum(), 1)


def _resting_sensors(obs: Obs):
    """Sensor readings before anything has happened: only the battery level (proprioception)."""
    return jnp.zeros(N_SENSORS).at[0].set(obs.proprio[0])


def calibration_targets(cost, done, truncated, gamma, tail: float = 0.05):
    """(realised discounted cost from each step to its episode's end, 1/0 weight of the steps whose
    realised sum is the whole future a critic predicts): see `critic_calibration`."""
    realised = discounted_to_go(cost, done, gamma)
    left = steps_left(done)                               # inf in the unfinished last episode
    whole = ~at_episode_end(truncated, done) | (gamma ** left <= tail)
    return realised, (jnp.isfinite(left) & whole).astype(jnp.float32)


def critic_calibration(critic, z, cost, done, truncated, gamma, tail: float = 0.05):
    """How well the critic predicts the discounted intrinsic cost realised afterwards in the same episode,
    on episodes it never learned from (the last, unfinished one left out): (R^2, Pearson r, mean
    prediction minus realised, steps compared). r separates ranking states right (what planning needs)
    from being calibrated to this policy: a critic learned mostly from another policy's memories (random
    flailing) can rank well and still be far off in level.

    The critic bootstraps through a truncation (the fixed episode length ends the episode, not the
    world), so near a truncated end the realised sum lacks the tail it predicts: there only steps whose
    missing tail weighs at most `tail` (gamma^(steps to the end) <= tail; 99 steps for gamma 0.97)
    are compared. Steps of terminated episodes all count (their realised sum is the whole future)."""
    realised, w = calibration_targets(cost, done, truncated, gamma, tail)
    return calibration_stats(jax.vmap(critic)(z), realised, w)


def calibration_stats(pred, realised, w):
    """(R^2, Pearson r, mean prediction minus realised, steps) of `pred` against `realised` over the steps
    of weight 1 in `w`; R^2 and r NaN where the realised cost never varied (nothing to rank)."""
    n = jnp.maximum(w.sum(), 1.0)
    mean, mean_p = jnp.sum(w * realised) / n, jnp.sum(w * pred) / n
    ss_res = jnp.sum(w * (realised - pred) ** 2)
    ss_tot = jnp.sum(w * (realised - mean) ** 2)
    cov = jnp.sum(w * (realised - mean) * (pred - mean_p))
    corr = cov / jnp.sqrt(jnp.maximum(ss_tot * jnp.sum(w * (pred - mean_p) ** 2), 1e-12))
    flat = ss_tot <= 1e-9               # the realised cost never varied: nothing to rank, R^2 undefined
    r2 = jnp.where(flat, jnp.nan, 1.0 - ss_res / jnp.maximum(ss_tot, 1e-9))
    return r2, jnp.where(flat, jnp.nan, corr), mean_p - mean, w.sum()


def _encode(wm, frame, proprio):
    return wm.encode(frame, proprio)


def trainable(st: AgentState):
    """Exactly what the optimisers may change; the Intrinsic Cost is not among them."""
    return {"world_model": st.wm, "critic": st.critic, "policy": st.policy}


__all__ = ["Agent", "AgentState", "trainable", "eqx"]
