"""The Prosociality Score Model, three ways, and its place in the Intrinsic Cost.

(a) `pixels`: a CNN trained from scratch on camera frames (the essay's reading).
(b) `latent`: a head on the world model's latents (tailcalled: the IC sees latents, not pixels).
(c) `probe`: a linear probe on frozen self-supervised embeddings (red75prime, PeterMcCluskey).

Every variant is a function frame, proprio -> score; (b) and (c) carry their frozen encoder.
Wrapped as an IC term, cost = -score.
"""
from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..agent.cost import CostError, Percept, Term
from ..agent.nets import MLP, TileFeatures
from ..env.types import PROPRIO_SIZE

VARIANTS = ("pixels", "latent", "probe")


class ScoreCNN(eqx.Module):
    """(a): the same shape of network as the robot's Perception, trained only on the labels."""

    tiles: TileFeatures
    fc: eqx.nn.Linear
    out: eqx.nn.Linear

    def __init__(self, frame_shape=(28, 28, 3), tile_px: int = 4, channels=(16, 16), hidden: int = 128, *, key):
        k1, k3, k4 = jax.random.split(key, 3)
        self.tiles = TileFeatures(tile_px, tuple(channels), key=k1)
        self.fc = eqx.nn.Linear(self.tiles.n_features(frame_shape), hidden, key=k3)
        self.out = eqx.nn.Linear(hidden, 1, key=k4)

    def __call__(self, frame, proprio=None):
        return self.out(jax.nn.silu(self.fc(self.tiles(frame))))[0]


class LatentScore(eqx.Module):
    """(b): an MLP on the world model's latent; the encoder is frozen inside."""

    encoder: eqx.Module
    head: MLP

    def embed(self, frame, proprio):
        return self.encoder(frame, proprio)

    def from_embedding(self, z):
        return self.head(z)[0]

    def __call__(self, frame, proprio):
        return self.from_embedding(jax.lax.stop_gradient(self.embed(frame, proprio)))


class HeadScore(eqx.Module):
    """A score head on the *agent's own* latents, fitted after its warm-up to labels of frames as that
    agent encodes them: what a learned world model can feed (it imagines latents, never pixels)."""

    head: MLP

    def from_embedding(self, z):
        return self.head(z)[0]


class ProbeScore(eqx.Module):
    """(c): a linear probe on the encoder's penultimate features (frozen)."""

    encoder: eqx.Module
    head: eqx.nn.Linear

    def embed(self, frame, proprio):
        return penultimate(self.encoder, frame, proprio)

    def from_embedding(self, h):
        return self.head(h)[0]

    def __call__(self, frame, proprio):
        return self.from_embedding(jax.lax.stop_gradient(self.embed(frame, proprio)))


def penultimate(encoder, frame, proprio):
    """The Perception's hidden features before its output layer: a self-supervised embedding."""
    return encoder.hidden(frame, proprio)


class ScoreTerm(Term):
    """A frozen score model inside the Intrinsic Cost: cost = -score (pleasure is negative cost).

    Reads the percept's frame (pixels) or latent (a head on the world model's latent)."""

    model: eqx.Module
    reads: str = eqx.field(static=True, default="frame")

    def value(self, p: Percept):
        model = jax.lax.stop_gradient(self.model)
        if self.reads == "latent":
            return -model.from_embedding(p.latent)
        if p.frame is None:
            raise CostError(f"Intrinsic Cost term {self.name!r} reads camera frames, and this percept has none: "
                            "a learned world model predicts latents, not pixels; use the latent variant")
        return -model(p.frame, p.proprio)


def check_score_model(model, frame_shape=(28, 28, 3), proprio_size: int | None = None) -> None:
    """Refuse a cost network that cannot read a frame or does not return one finite number."""
    proprio_size = PROPRIO_SIZE if proprio_size is None else proprio_size
    frame = jnp.zeros(frame_shape, jnp.uint8)
    proprio = jnp.zeros(proprio_size)
    try:
        out = jax.eval_shape(model, frame, proprio)
    except Exception as e:  # noqa: BLE001 - any failure is a shape problem to report
        raise CostError(f"the score model cannot read a frame of shape {frame_shape} (uint8) and "
                        f"proprioception of size {proprio_size}: {e}") from e
    if out.shape != ():
        raise CostError(f"the score model must return one number per frame, got shape {out.shape}")
    val = np.asarray(model(frame + 128, proprio))
    if not np.isfinite(val):
        raise CostError(f"the score model returned {val} (not finite) on a grey frame")


# ----------------------------------------------------------------------------- saving
def template(variant: str, latent: int = 64):
    """An untrained model of the variant's structure (to deserialise into)."""
    from ..agent.config import PerceptionConfig
    from ..agent.perception import Perception

    key = jax.random.key(0)
    if variant == "pixels":
        return ScoreCNN(key=key)
    enc = Perception(PerceptionConfig(latent=latent), (28, 28, 3), PROPRIO_SIZE, 4, key=key)
    if variant == "latent":
        return LatentScore(enc, MLP((latent, 128, 1), key=key))
    if variant == "probe":
        return ProbeScore(enc, eqx.nn.Linear(PerceptionConfig().hidden, 1, key=key))
    raise ValueError(f"unknown variant {variant!r}; allowed: {', '.join(VARIANTS)}")


def save_model(path, variant: str, model, metrics: dict | None = None) -> None:
    import json
    import os
    from pathlib import Path

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / "model.json").write_text(json.dumps({"variant": variant, "metrics": metrics or {}}, indent=1,
                                                default=float))
    tmp = path / f"model.eqx.tmp{os.getpid()}"  # model.eqx marks a finished model: written whole, then renamed
    eqx.tree_serialise_leaves(tmp, model)
    os.replace(tmp, path / "model.eqx")


def load_model(path):
    """(variant, frozen model, metrics) from a folder written by save_model."""
    import json
    from pathlib import Path

    path = Path(path)
    meta = json.loads((path / "model.json").read_text())
    model = eqx.tree_deserialise_leaves(path / "model.eqx", template(meta["variant"]))
    return meta["variant"], model, meta.get("metrics", {})
