"""Rolling the house forward under a given action sequence, as one compiled scan."""
from __future__ import annotations

from functools import partial

import jax

from .core import House
from .types import N_ACTIONS, EnvParams


@partial(jax.jit, static_argnums=0)
def rollout(house: House, params: EnvParams, key, actions):
    """From a reset, step `actions` (int [T]) without auto-reset.

    Returns (states, infos): states[t] is the state *before* step t (T+1 states, the last
    after the final step), infos[t] the info of step t. Episodes do not restart: steps
    past max_steps keep the time counter running, which tests of invariants want.
    """
    k0, k1 = jax.random.split(key)
    state = house.reset_state(k0, params)

    def body(s, xs):
        k, a = xs
        nxt, info = house.step_state(k, s, a, params)
        return nxt, (s, info)

    last, (states, infos) = jax.lax.scan(body, state, (jax.random.split(k1, actions.shape[0]), actions))
    states = jax.tree.map(lambda xs, x: jax.numpy.concatenate([xs, x[None]]), states, last)
    return states, infos


def random_actions(key, steps: int):
    return jax.random.randint(key, (steps,), 0, N_ACTIONS)
