"""Perception: the camera frame and the body's proprioception -> a latent state.

The first convolution has the tile's size and stride, so each of the 7x7 tiles in view gets one
feature vector (a tile is the unit of meaning in the house); a 3x3 convolution mixes neighbours
(both written as matmuls: `nets.TileFeatures`); a dense layer joins proprioception. About
1.4 MFLOP per frame at the default sizes.
"""
from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..env.types import POSE_SLICE, PROPRIO_SIZE
from .config import PerceptionConfig
from .nets import TileFeatures


class Perception(eqx.Module):
    tiles: TileFeatures
    fc: eqx.nn.Linear
    out: eqx.nn.Linear

    def __init__(self, cfg: PerceptionConfig, frame_shape, proprio_size: int, tile_px: int, *, key):
        k1, k3, k4 = jax.random.split(key, 3)
        c1, c2 = cfg.channels
        if cfg.latent <= proprio_size:
            raise ValueError(f"PerceptionConfig.latent={cfg.latent} must exceed the proprioception size "
                             f"{proprio_size} (the latent holds both)")
        self.tiles = TileFeatures(tile_px, (c1, c2), key=k1)
        n = self.tiles.n_features(frame_shape)
        self.fc = eqx.nn.Linear(n + proprio_size, cfg.hidden, key=k3)
        self.out = eqx.nn.Linear(cfg.hidden, cfg.latent - proprio_size, key=k4)

    def hidden(self, frame, proprio):
        """The features before the output layer (a self-supervised embedding, for probes)."""
        return jax.nn.silu(self.fc(jnp.concatenate([self.tiles(frame), proprio])))

    def __call__(self, frame, proprio):
        h = self.hidden(frame, proprio)
        return jnp.concatenate([self.out(h), jnp.asarray(PROPRIO_GAIN) * proprio])


# proprioception's scale inside the latent: body readings x3; pose x16, so one cell of movement is
# 0.5 in the latent and a one-cell prediction error weighs like any learned feature's
PROPRIO_GAIN = np.full(PROPRIO_SIZE, 3.0, np.float32)
PROPRIO_GAIN[POSE_SLICE] = 16.0
