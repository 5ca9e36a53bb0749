"""The editor's screen: a procedurally generated picture of the knob settings.

The essay's iMovie example needs a space of pictures the robot can make itself,
rich enough that some of them may fool a frozen cost network. Six knobs of four
levels give 4**6 = 4096 pictures: two hues, spatial frequency, pattern family,
orientation, and an overlay that can put face-like discs or bubble-like blobs on
the picture (the visual cues a prosociality model may have learned to like).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

KNOB_NAMES = ("hue", "second hue", "frequency", "pattern", "orientation", "overlay")


def _hsv(h: np.ndarray, s: float, v: float) -> np.ndarray:
    """Vectorised HSV -> RGB in [0, 1]; h in [0, 1)."""
    h = np.asarray(h, np.float64) % 1.0
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    table = np.stack([
        np.stack([np.full_like(f, v), t, np.full_like(f, p)], -1),
        np.stack([q, np.full_like(f, v), np.full_like(f, p)], -1),
        np.stack([np.full_like(f, p), np.full_like(f, v), t], -1),
        np.stack([np.full_like(f, p), q, np.full_like(f, v)], -1),
        np.stack([t, np.full_like(f, p), np.full_like(f, v)], -1),
        np.stack([np.full_like(f, v), np.full_like(f, p), q], -1),
    ], 0)
    return np.take_along_axis(table, i[None, ..., None].repeat(3, -1), 0)[0]


def knob_settings(n_knobs: int, n_levels: int) -> np.ndarray:
    """All settings as an int array [n_levels**n_knobs, n_knobs]; picture index = sum k_i * K**i."""
    idx = np.arange(n_levels ** n_knobs)
    return np.stack([(idx // n_levels ** i) % n_levels for i in range(n_knobs)], -1)


def picture_index(knobs, n_levels: int):
    """Picture index of a knob setting (works on numpy and jax arrays)."""
    weights = n_levels ** np.arange(knobs.shape[-1])
    return (knobs * weights).sum(-1)


@lru_cache(maxsize=8)
def pictures(n_knobs: int, n_levels: int, height: int, width: int) -> np.ndarray:
    """Every picture, uint8 [n_levels**n_knobs, height, width, 3]."""
    ks = knob_settings(n_knobs, n_levels).astype(np.float64)
    a = ks / max(n_levels - 1, 1)  # each knob in [0, 1]

    def knob(i):  # knobs beyond n_knobs sit at level 0
        return a[:, i][:, None, None] if i < n_knobs else np.zeros((len(a), 1, 1))

    y, x = np.meshgrid((np.arange(height) + 0.5) / height, (np.arange(width) + 0.5) / width, indexing="ij")
    y, x = y[None] * height / max(height, width), x[None] * width / max(height, width)
    hue1 = knob(0) * (n_levels - 1) / n_levels  # hue is circular: level K would equal level 0
    hue2 = (hue1 + 0.2 + 0.6 * knob(1)) % 1.0
    freq = 1.0 + 7.0 * knob(2) ** 1.5
    family = np.floor(knob(3) * 3.999).astype(int)
    theta = np.pi * knob(4)
    u = x * np.cos(theta) + y * np.sin(theta)
    v = -x * np.sin(theta) + y * np.cos(theta)
    cy, cx = 0.5 * height / max(height, width), 0.5 * width / max(height, width)
    r = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
    phase = 0.6 * np.pi * knob(4)  # orientation also shifts phase, so rotation-symmetric patterns differ too
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * freq * u + phase)
    checker = 0.5 + 0.5 * np.tanh(3 * np.sin(2 * np.pi * freq * u + phase) * np.sin(2 * np.pi * freq * v + 0.5))
    rings = 0.5 + 0.5 * np.cos(2 * np.pi * freq * r * 1.5 + phase)
    plasma = 0.5 + 0.25 * (np.sin(2 * np.pi * freq * u + phase) + np.sin(2 * np.pi * (freq * 0.7) * (v + u * u)))
    pattern = np.choose(family, [stripes, checker, rings, plasma])
    c1 = _hsv(hue1, 0.85, 0.95)
    c2 = _hsv(hue2, 0.75, 0.55 + 0.4 * (1 - knob(2)))
    img = c1 * pattern[..., None] + c2 * (1 - pattern[..., None])
    # overlay: 0 none, 1 a bright yellow disc (face-like), 2 white blobs top-right (bubble-like), 3 both
    ov = np.floor(knob(5) * 3.999).astype(int)[..., None]
    disc = (r < 0.28)[..., None]
    eyes = ((np.abs(y - cy + 0.07) < 0.045) & (np.abs(np.abs(x - cx) - 0.1) < 0.045))[..., None]
    blob = ((x - 2 * cx * 0.82) ** 2 + (y - 2 * cy * 0.2) ** 2 < 0.02)[..., None]
    yellow = np.array([1.0, 0.85, 0.1])
    white = np.array([1.0, 1.0, 1.0])
    with_disc = np.where(disc, np.where(eyes, 0.1, yellow), img)
    img = np.where((ov == 1) | (ov == 3), with_disc, img)
    img = np.where(((ov == 2) | (ov == 3)) & blob, white, img)
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def describe(knobs) -> str:
    """A person's description of a knob setting."""
    return ", ".join(f"{n}={int(k)}" for n, k in zip(KNOB_NAMES, knobs))

