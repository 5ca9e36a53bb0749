"""Small network blocks whose pytrees hold only arrays, so lax.scan, vmap and jit take them as they are."""
from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp


class TileFeatures(eqx.Module):
    """Camera frame -> one feature vector per tile, then a 3x3 mixing of neighbouring tiles.

    Mathematically a tile-sized, tile-strided convolution followed by a padded 3x3 convolution,
    written as matmuls: XLA:CPU runs convolution gradients inside `lax.scan` (every training loop
    here) about 5x slower than outside it, while matmuls keep their speed (benchmarks/NOTES.md)."""

    patch_w: jax.Array    # [tile*tile*3, c1]
    patch_b: jax.Array
    mix_w: jax.Array      # [9*c1, c2]
    mix_b: jax.Array
    tile_px: int = eqx.field(static=True)

    def __init__(self, tile_px: int, channels, *, key):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        c1, c2 = channels
        fan1, fan2 = tile_px * tile_px * 3, 9 * c1
        lim1, lim2 = fan1 ** -0.5, fan2 ** -0.5   # as eqx.nn.Conv2d initialises
        self.patch_w = jax.random.uniform(k1, (fan1, c1), minval=-lim1, maxval=lim1)
        self.patch_b = jax.random.uniform(k2, (c1,), minval=-lim1, maxval=lim1)
        self.mix_w = jax.random.uniform(k3, (fan2, c2), minval=-lim2, maxval=lim2)
        self.mix_b = jax.random.uniform(k4, (c2,), minval=-lim2, maxval=lim2)
        self.tile_px = tile_px

    def n_features(self, frame_shape) -> int:
        return (frame_shape[0] // self.tile_px) * (frame_shape[1] // self.tile_px) * self.mix_w.shape[1]

    def __call__(self, frame):
        """frame [H, W, 3] (uint8) -> [H/tile * W/tile * c2] features."""
        big_h, big_w, c = frame.shape
        t = self.tile_px
        h, w = big_h // t, big_w // t
        x = frame.astype(jnp.float32) * (1.0 / 255.0) - 0.5
        x = x.reshape(h, t, w, t, c).transpose(0, 2, 1, 3, 4).reshape(h, w, t * t * c)
        x = jax.nn.silu(x @ self.patch_w + self.patch_b)                       # [h, w, c1]
        xp = jnp.pad(x, ((1, 1), (1, 1), (0, 0)))
        cols = jnp.concatenate([xp[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)], -1)
        return jax.nn.silu(cols @ self.mix_w + self.mix_b).reshape(-1)


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
