"""Actor. Mode-2: search over discrete action sequences through a world model, minimising

    sum_t gamma^t IC(s_t+1) + gamma^H TC(s_H)

with CEM, MPPI or gradient descent on a relaxed (softmax) action distribution. Mode-1: a policy
distilled from Mode-2's choices, which also seeds Mode-2's samples.

A planning model is anything with `step(m, a_vec, key) -> (m', percept, disagreement)` and
`latent(m) -> z`: the learned JEPA (m is a latent) or the oracle (m is the true simulator state),
so one planner runs on either. A model with `root(m) -> m` gives the planner the state it starts from
(the learned model: the latent with the proprioception read off it, carried from step to step).
"""
from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from ..env.types import N_ACTIONS
from .config import PlannerConfig
from .nets import MLP


class Policy(eqx.Module):
    """Mode-1: latent -> action logits."""

    net: MLP

    def __init__(self, latent: int, hidden: int, n_actions: int = N_ACTIONS, *, key):
        self.net = MLP((latent, hidden, n_actions), key=key)

    def __call__(self, z):
        return self.net(z)


def penalised(weight) -> bool:
    """Does a pessimism weight enter the cost? Decided while tracing: a traced weight always does (its
    value is unknown then), so one compiled planner serves a whole sweep of weights."""
    return not isinstance(weight, (int, float)) or weight != 0


def sequence_costs(model, m0, seqs, keys, cost_fn, value_fn, cfg: PlannerConfig, soft: bool = False,
                   n_actions: int = N_ACTIONS):
    """Discounted cost of each action sequence [N, H] (ints, or [N, H, A] soft when `soft`)."""

    def one(seq):
        def body(carry, x):
            m, acc, disc = carry
            a, k = x
            a_vec = a if soft else jax.nn.one_hot(a, n_actions)
            m2, percept, disagreement = model.step(m, a_vec, k)
            c = cost_fn(percept)
            if penalised(cfg.pessimism):       # footnote 2: stay where the world model agrees with itself
                c = c + cfg.pessimism * disagreement
            if penalised(cfg.density_weight):  # ... and close to what has been experienced
                c = c + cfg.density_weight * model.unfamiliarity(m2)
            return (m2, acc + disc * c, disc * cfg.gamma), None

        (m_h, acc, disc), _ = jax.lax.scan(body, (m0, jnp.zeros(()), jnp.ones(())), (seq, keys))
        if cfg.use_critic and value_fn is not None:
            acc = acc + disc * value_fn(model.latent(m_h))
        return acc

    return jax.vmap(one)(seqs)


def policy_rollouts(key, model, m0, policy, n: int, horizon: int, keys, n_actions: int = N_ACTIONS):
    """n action sequences drawn by running the Mode-1 policy inside the model."""

    def one(k):
        def body(m, x):
            kk, ke = x
            a = jax.random.categorical(kk, policy(model.latent(m)))
            m2, _, _ = model.step(m, jax.nn.one_hot(a, n_actions), ke)
            return m2, a

        _, seq = jax.lax.scan(body, m0, (jax.random.split(k, horizon), keys))
        return seq

    return jax.vmap(one)(jax.random.split(key, n))


def _renormalise(probs, floor=1e-3):
    probs = jnp.maximum(probs, floor)
    return probs / probs.sum(-1, keepdims=True)


def shift(probs):
    """Warm start: the next decision starts from this plan moved one step on, uniform at the end."""
    uniform = jnp.full((1, probs.shape[1]), 1.0 / probs.shape[1])
    return _renormalise(0.8 * jnp.concatenate([probs[1:], uniform]) + 0.2 * uniform)


def plan(key, model, m0, probs0, cost_fn, value_fn, policy, cfg: PlannerConfig, proposals=None):
    """One Mode-2 decision. Returns (action, warm start for the next decision, info). `proposals`: action
    sequences [policy_samples, H] drawn elsewhere, in place of the policy's rollouts inside `model` (for
    diagnostics that give one agent's planner another's proposals: scripts/proposal_swap.py)."""
    m0 = model.root(m0) if hasattr(model, "root") else m0
    if cfg.method == "grad":
        return _plan_grad(key, model, m0, probs0, cost_fn, value_fn, cfg)
    h, n, n_act = cfg.horizon, cfg.samples, probs0.shape[-1]
    k_env, k_pol, k_it = jax.random.split(key, 3)
    keys = jax.random.split(k_env, h)  # common random numbers: every sequence meets the same world
    if proposals is not None:
        if proposals.shape != (cfg.policy_samples, h):
            raise ValueError(f"plan: proposals of shape {proposals.shape}, expected (policy_samples, horizon) = "
                             f"{(cfg.policy_samples, h)}")
        pol = proposals
    elif policy is not None and cfg.policy_samples:
        pol = policy_rollouts(k_pol, model, m0, policy, cfg.policy_samples, h, keys, n_act)
    else:
        pol = jnp.zeros((0, h), jnp.int32)
    n_pol = pol.shape[0]
    probs0 = probs0 if cfg.warm_start else jnp.full_like(probs0, 1.0 / n_act)
    best0 = jnp.argmax(probs0, -1)

    def iteration(carry, k):
        probs, best, best_cost = carry
        drawn = jax.random.categorical(k, jnp.log(probs), shape=(n - n_pol - 1, h))
        seqs = jnp.concatenate([drawn, pol, best[None]]).astype(jnp.int32)
        costs = sequence_costs(model, m0, seqs, keys, cost_fn, value_fn, cfg, n_actions=n_act)
        costs = jnp.where(jnp.isfinite(costs), costs, jnp.inf)
        onehot = jax.nn.one_hot(seqs, n_act)
        if cfg.method == "cem":
            _, idx = jax.lax.top_k(-costs, cfg.elites)
            freq = onehot[idx].mean(0)
        else:  # mppi
            w = jax.nn.softmax(-(costs - costs.min()) / cfg.temperature)
            freq = jnp.einsum("n,nha->ha", w, onehot)
        probs = _renormalise((1 - cfg.smoothing) * probs + cfg.smoothing * freq)
        i = jnp.argmin(costs)
        better = costs[i] < best_cost
        return (probs, jnp.where(better, seqs[i], best), jnp.minimum(costs[i], best_cost)), costs.mean()

    (probs, best, best_cost), mean_costs = jax.lax.scan(
        iteration, (probs0, best0, jnp.asarray(jnp.inf)), jax.random.split(k_it, cfg.iterations))
    return best[0], shift(probs), {"plan_cost": best_cost, "plan": best, "mean_cost": mean_costs[-1]}


def _plan_grad(key, model, m0, probs0, cost_fn, value_fn, cfg: PlannerConfig):
    h = cfg.horizon
    keys = jax.random.split(key, h)
    opt = optax.adam(cfg.grad_lr)
    n_act = probs0.shape[-1]
    logits0 = jnp.log(probs0 if cfg.warm_start else jnp.full_like(probs0, 1.0 / n_act))

    def soft_cost(logits):
        return sequence_costs(model, m0, jax.nn.softmax(logits)[None], keys, cost_fn, value_fn, cfg, soft=True,
                              n_actions=n_act)[0]

    def step(carry, _):
        logits, st = carry
        c, g = jax.value_and_grad(soft_cost)(logits)
        upd, st = opt.update(g, st)
        return (logits + upd, st), c

    (logits, _), _ = jax.lax.scan(step, (logits0, opt.init(logits0)), None, length=cfg.grad_steps)
    best = jnp.argmax(logits, -1)
    cost = sequence_costs(model, m0, best[None], keys, cost_fn, value_fn, cfg, n_actions=n_act)[0]
    return best[0], shift(jax.nn.softmax(logits)), {"plan_cost": cost, "plan": best, "mean_cost": cost}
