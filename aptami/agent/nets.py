"""Small network blocks whose pytrees hold only arrays, so lax.scan, vmap and jit take them as they are."""
from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp


class MLP(eqx.Module):
    """Linear layers with SiLU between them (none after the last). SiLU: smooth like GELU, which
    a profile showed costing 2.5x more on these CPUs (tanh)."""

    layers: tuple[eqx.nn.Linear, ...]

    def __init__(self, sizes, *, key):
        keys = jax.random.split(key, len(sizes) - 1)
        self.layers = tuple(eqx.nn.Linear(a, b, key=k) for a, b, k in zip(sizes[:-1], sizes[1:], keys))

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = jax.nn.silu(layer(x))
        return self.layers[-1](x)


def ensemble(make, n: int, key):
    """`n` independently initialised copies of a module, stacked on a leading axis."""
    return eqx.filter_vmap(make)(jax.random.split(key, n))


def ensemble_apply(stacked, *args):
    """Apply every member of a stacked ensemble to the same inputs: outputs with a leading member axis."""
    return jax.vmap(lambda m: m(*args))(stacked)


def count_params(module) -> int:
    return sum(x.size for x in jax.tree.leaves(eqx.filter(module, eqx.is_array)))


def ema(target, online, rate: float):
    return jax.tree.map(lambda t, o: (1 - rate) * t + rate * o, target, online)


def one_hot(a, n):
    return jax.nn.one_hot(a, n, dtype=jnp.float32)
