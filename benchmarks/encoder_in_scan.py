"""The encoder's gradient inside `lax.scan` (every training loop here): convolutions vs matmuls.

    python benchmarks/encoder_in_scan.py [--json]

The peer is the same encoder written with `equinox.nn.Conv2d` (a tile-strided patch convolution and
a padded 3x3 convolution, as aptami had it before `nets.TileFeatures`). Both compute the same
function of the same shapes; each is timed called directly and as the body of a scan of 10 steps,
in one process. Medians of 5; compile time apart. Last line JSON: `scan_speedup` is the conv
encoder's scanned time over TileFeatures'.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from aptami.agent.nets import TileFeatures  # noqa: E402


class ConvTiles(eqx.Module):
    """The peer: the same two layers as `TileFeatures`, as convolutions."""

    patch: eqx.nn.Conv2d
    conv: eqx.nn.Conv2d

    def __init__(self, tile_px, channels, *, key):
        k1, k2 = jax.random.split(key)
        self.patch = eqx.nn.Conv2d(3, channels[0], tile_px, stride=tile_px, key=k1)
        self.conv = eqx.nn.Conv2d(channels[0], channels[1], 3, padding=1, key=k2)

    def __call__(self, frame):
        x = jnp.transpose(frame.astype(jnp.float32), (2, 0, 1)) * (1.0 / 255.0) - 0.5
        return jax.nn.silu(self.conv(jax.nn.silu(self.patch(x)))).reshape(-1)


def _median(fn, *args, reps=5):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def measure(module, frames, steps=10):
    def loss(m):
        return jnp.sum(jax.vmap(m)(frames) ** 2)

    direct = jax.jit(jax.grad(loss))

    def body(m, _):
        g = jax.grad(loss)(m)
        return jax.tree.map(lambda a, b: a - 1e-6 * b, m, g), None

    scanned = jax.jit(lambda m: jax.lax.scan(body, m, None, length=steps)[0])
    t = time.perf_counter()
    jax.block_until_ready(direct(module))
    jax.block_until_ready(scanned(module))
    compile_s = time.perf_counter() - t
    return {"direct_ms": 1e3 * _median(direct, module), "scanned_ms_per_step": 1e3 * _median(scanned, module) / steps,
            "compile_s": compile_s}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--frames", type=int, default=576, help="frames per gradient (one update: 32 x 9 x 2)")
    args = ap.parse_args(argv)
    frames = jnp.asarray(np.random.default_rng(0).integers(0, 256, (args.frames, 28, 28, 3), dtype=np.uint8))
    key = jax.random.key(0)
    res = {"conv": measure(ConvTiles(4, (16, 16), key=key), frames),
           "tile_features": measure(TileFeatures(4, (16, 16), key=key), frames)}
    for name, r in res.items():
        print(f"{name:14s} gradient on {args.frames} frames: direct {r['direct_ms']:.1f} ms, inside a scan "
              f"{r['scanned_ms_per_step']:.1f} ms per step (compile {r['compile_s']:.1f} s)")
    out = {"frames": args.frames, **res,
           "scan_speedup": res["conv"]["scanned_ms_per_step"] / res["tile_features"]["scanned_ms_per_step"],
           "direct_speedup": res["conv"]["direct_ms"] / res["tile_features"]["direct_ms"],
           "conv_scan_penalty": res["conv"]["scanned_ms_per_step"] / res["conv"]["direct_ms"]}
    print(f"TileFeatures vs Conv2d: {out['scan_speedup']:.1f}x inside a scan, {out['direct_speedup']:.1f}x called "
          f"directly; the conv encoder inside a scan is {out['conv_scan_penalty']:.1f}x its direct time")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
