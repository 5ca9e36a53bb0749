"""Perception: the camera frame and the body's proprioception -> a latent state.

The first convolution has the tile's size and stride, so each of the 7x7 tiles in view gets one
feature vector (a tile is the unit of meaning in the house); a 3x3 convolution mixes neighbours;
a dense layer joins proprioception. About 1.4 MFLOP per frame at the default sizes.
"""
from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..env.types import POSE_SLICE, PROPRIO_SIZE
from .config import PerceptionConfig


class Perception(eqx.Module):
    patch: eqx.nn.Conv2d
    conv: eqx.nn.Conv2d
    fc: eqx.nn.Linear
    out: eqx.nn.Linear

    def __init__(self, cfg: PerceptionConfig, frame_shape, proprio_size: int, tile_px: int, *, key):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        c1, c2 = cfg.channels
        if cfg.latent <= proprio_size:
            raise ValueError(f"PerceptionConfig.latent={cfg.latent} must exceed the proprioception size "
                             f"{proprio_size} (the latent holds both)")
        h, w, _ = frame_shape
        self.patch = eqx.nn.Conv2d(3, c1, tile_px, stride=tile_px, key=k1)
        self.conv = eqx.nn.Conv2d(c1, c2, 3, padding=1, key=k2)
        n = (h // tile_px) * (w // tile_px) * c2
        self.fc = eqx.nn.Linear(n + proprio_size, cfg.hidden, key=k3)
        self.out = eqx.nn.Linear(cfg.hidden, cfg.latent - proprio_size, key=k4)

    def __call__(self, frame, proprio):
        x = jnp.transpose(frame.astype(jnp.float32), (2, 0, 1)) * (1.0 / 255.0) - 0.5
        x = jax.nn.silu(self.patch(x))
        x = jax.nn.silu(self.conv(x))
        h = jax.nn.silu(self.fc(jnp.concatenate([x.reshape(-1), proprio])))
        return jnp.concatenate([self.out(h), jnp.asarray(PROPRIO_GAIN) * proprio])


# proprioception's scale inside the latent: body readings x3; pose x16, so one cell of movement is
# 0.5 in the latent and a one-cell prediction error weighs like any learned feature's
PROPRIO_GAIN = np.full(PROPRIO_SIZE, 3.0, np.float32)
PROPRIO_GAIN[POSE_SLICE] = 16.0
