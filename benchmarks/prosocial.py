"""Prosociality pipeline speed: frames labelled per second, score-model training throughput, red-team
evaluations per second.

    python benchmarks/prosocial.py [--quick] [--json]

Labelling = random rollouts from perturbed starts (vmapped) + visible features + five simulated raters;
training = Adam updates of the pixel CNN (variant a) in a scanned program; red team = rendering the
camera frame for a knob setting and scoring it with the frozen CNN. Compile times apart; medians.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from aptami.env import make  # noqa: E402
from aptami.env import tiles as T  # noqa: E402
from aptami.prosocial.frames import _rollouts  # noqa: E402
from aptami.prosocial.models import ScoreCNN  # noqa: E402
from aptami.prosocial.pipeline import ProsocialConfig, _fit  # noqa: E402
from aptami.prosocial.raters import RaterPool, label  # noqa: E402
from aptami.prosocial.redteam import frames_for_settings, screen_viewpoint  # noqa: E402
from aptami.util import enable_compilation_cache  # noqa: E402
from aptami.util import median_time as timed  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    enable_compilation_cache()
    reps = 3 if args.quick else 5
    out = {"compile_s": {}}

    # labelling: one scenario's batch of rollouts, then the raters
    house, p = make("house")
    floor = jnp.asarray(np.nonzero((np.asarray(p.cell) & 0xFF) == T.FLOOR)[0], jnp.int32)
    episodes, steps = (64, 64) if args.quick else (256, 64)
    t0 = time.perf_counter()
    jax.block_until_ready(_rollouts(house, p, jax.random.key(0), floor, episodes, steps))
    out["compile_s"]["rollouts"] = round(time.perf_counter() - t0, 2)
    pool = RaterPool()

    def label_batch(seed=[0]):
        seed[0] += 1
        fr, pr, feats, w, a = _rollouts(house, p, jax.random.key(seed[0]), floor, episodes, steps)
        v = np.asarray(feats).reshape(-1, feats.shape[-1])
        return label(pool.answers(v, seed[0]))

    n_frames = episodes * steps
    out["frames_labelled_per_s"] = n_frames / timed(label_batch, reps)

    # training throughput of the pixel CNN
    cfg = ProsocialConfig(updates=100 if args.quick else 300, batch=128)
    frames = np.asarray(_rollouts(house, p, jax.random.key(9), floor, 32, 32)[0]).reshape(-1, 28, 28, 3)
    y = np.random.default_rng(0).uniform(-1, 1, len(frames)).astype(np.float32)
    model = ScoreCNN(key=jax.random.key(0))
    t0 = time.perf_counter()
    _fit(model, lambda m, f: m(f), (frames,), y, cfg, jax.random.key(1))
    out["compile_s"]["training_first_call"] = round(time.perf_counter() - t0, 2)
    t = timed(lambda: _fit(model, lambda m, f: m(f), (frames,), y, cfg, jax.random.key(2)), max(1, reps // 2))
    out["training_samples_per_s"] = cfg.updates * cfg.batch / t
    out["training_updates_per_s"] = cfg.updates / t

    # red-team evaluations: render the camera for a knob setting and score it
    rh, rp, rs = screen_viewpoint()
    proprio = rh.proprio(rs)
    settings = jnp.asarray(np.random.default_rng(0).integers(0, 4, (1024, 6)))
    score = jax.jit(jax.vmap(lambda f: model(f, proprio)))

    def evaluate():
        return np.asarray(score(frames_for_settings(rh, rp, rs, settings)))

    t0 = time.perf_counter()
    evaluate()
    out["compile_s"]["redteam"] = round(time.perf_counter() - t0, 2)
    out["redteam_evaluations_per_s"] = len(settings) / timed(evaluate, reps)
    for k, v in out.items():
        if not isinstance(v, dict):
            print(f"{k:30s} {v:12.1f}")
    print(f"{'compile (s)':30s} {out['compile_s']}")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
