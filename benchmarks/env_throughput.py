"""Environment throughput: the house against gymnax FourRooms and MiniGrid, in one process.

    python benchmarks/env_throughput.py [--quick] [--json]

Every JAX row runs the same harness: a jitted lax.scan of T steps over a vmapped batch,
random actions, one key per env per step, parameters passed as traced arguments, and the
observation consumed (summed) so nothing is dead code. MiniGrid runs its own Python loop
with a 28x28 RGB partial view (RGBImgPartialObsWrapper, tile 4), the same size as our
camera. Compile time is reported apart. Rows are interleaved and repeated; medians reported.

Needs the bench extra: pip install -e .[bench]  (gymnax, six, minigrid).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from aptami.env import N_ACTIONS, make  # noqa: E402
from aptami.util import enable_compilation_cache  # noqa: E402


def jax_runner(step, reset_state, n_actions, batch, steps, consume):
    """A compiled function (key, params) -> checksum running `steps` batched env steps."""

    def run(key, params):
        k0, k1 = jax.random.split(key)
        state = jax.vmap(reset_state, in_axes=(0, None))(jax.random.split(k0, batch), params)

        def body(carry, k):
            state, acc = carry
            ka, ks = jax.random.split(k)
            actions = jax.random.randint(ka, (batch,), 0, n_actions)
            out = jax.vmap(step, in_axes=(0, 0, 0, None))(jax.random.split(ks, batch), state, actions, params)
            return (out[1], acc + consume(out)), None

        (state, acc), _ = jax.lax.scan(body, (state, jnp.zeros(batch, jnp.int32)), jax.random.split(k1, steps))
        return acc

    return run


def compile_timed(fn, *args):
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - t0


def time_call(compiled, params, reps, seed0=1):
    times = []
    for i in range(reps):
        key = jax.random.key(seed0 + i)
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(key, params))
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def minigrid_rate(seconds: float) -> tuple[float, float]:
    import gymnasium as gym
    import minigrid  # noqa: F401  (registers the envs)
    from minigrid.wrappers import RGBImgPartialObsWrapper

    t0 = time.perf_counter()
    env = RGBImgPartialObsWrapper(gym.make("MiniGrid-Empty-8x8-v0"), tile_size=4)
    obs, _ = env.reset(seed=0)
    setup = time.perf_counter() - t0
    assert obs["image"].shape == (28, 28, 3), obs["image"].shape
    rng = np.random.default_rng(0)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for a in rng.integers(0, 3, size=200):
            obs, r, term, trunc, _ = env.step(int(a))
            if term or trunc:
                env.reset()
        n += 200
    return n / (time.perf_counter() - t0), setup


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps and repeats (a smoke run)")
    ap.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    ap.add_argument("--batches", default="1,64,1024,4096", help="comma-separated batch sizes")
    args = ap.parse_args(argv)
    enable_compilation_cache()

    import gymnax

    batches = [int(b) for b in args.batches.split(",")]
    reps = 3 if args.quick else 7
    target_steps = 2e5 if args.quick else 1e6  # env steps per timed call

    house, hp = make("house")
    gx, gp = gymnax.make("FourRooms-misc")

    def consume_render(out):
        return jnp.sum(out[0].frame, axis=(1, 2, 3), dtype=jnp.int32)

    def consume_vector(out):
        return jnp.sum(out[0], axis=-1).astype(jnp.int32)

    def house_state_step(key, state, action, params):
        proprio, state, done, info = house.step_no_render(key, state, action, params)
        return proprio, state

    configs = {
        "house_render": (house.step, house.reset_state, N_ACTIONS, hp, consume_render),
        "house_state": (house_state_step, house.reset_state, N_ACTIONS, hp, consume_vector),
        "gymnax_fourrooms": (lambda k, s, a, p: gx.step(k, s, a, p), lambda k, p: gx.reset(k, p)[1], 4, gp,
                             lambda out: out[0].sum(-1).astype(jnp.int32)),
    }
    mg_rates = []
    mg_seconds = 1.0 if args.quick else 3.0
    mg_rates.append(minigrid_rate(mg_seconds)[0])
    rows = []
    for batch in batches:
        steps = int(max(10, min(2000, target_steps // batch)))
        compiled = {}
        cfgs = dict(configs)
        if batch == max(batches):
            # the same two with parameters closed over (XLA constant-folds them), the way many
            # gymnax scripts run: both speed up, and the ratio is reported too
            cfgs["house_state_constparams"] = configs["house_state"]
            cfgs["gymnax_fourrooms_constparams"] = configs["gymnax_fourrooms"]
        for name, (step, reset, na, params, consume) in cfgs.items():
            fn = jax_runner(step, reset, na, batch, steps, consume)
            if name.endswith("_constparams"):
                fn = (lambda f, P: lambda key, _unused: f(key, P))(fn, params)
            compiled[name], ctime = compile_timed(fn, jax.random.key(0), params)
            jax.block_until_ready(compiled[name](jax.random.key(0), params))  # warm
            rows.append({"env": name, "batch": batch, "compile_s": round(ctime, 3), "times": []})
        # interleave the contenders so machine noise hits all alike
        for r in range(reps):
            for name in cfgs:
                t = time_call(compiled[name], cfgs[name][3], 1, seed0=100 + r)
                row = next(x for x in rows if x["env"] == name and x["batch"] == batch)
                row["times"].append(t)
        for name in cfgs:
            row = next(x for x in rows if x["env"] == name and x["batch"] == batch)
            row["steps_per_s"] = batch * steps / float(np.median(row.pop("times")))
            print(f"{name:28s} batch {batch:5d}: {row['steps_per_s'] / 1e3:10.1f} k steps/s   "
                  f"(compile {row['compile_s']:.2f} s)", flush=True)

        mg_rates.append(minigrid_rate(mg_seconds)[0])  # MiniGrid between the batches too: the machine drifts
    mg, mg_setup = float(np.median(mg_rates)), minigrid_rate(0.1)[1]
    rows.append({"env": "minigrid_empty8x8_rgb28", "batch": 1, "steps_per_s": mg, "setup_s": round(mg_setup, 3)})
    print(f"{'minigrid (python)':18s} batch     1: {mg / 1e3:10.2f} k steps/s  (median of "
          f"{len(mg_rates)} runs: {', '.join(f'{r / 1e3:.2f}' for r in mg_rates)})", flush=True)

    def rate(env, batch):
        return next(x["steps_per_s"] for x in rows if x["env"] == env and x["batch"] == batch)

    summary = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "jax": jax.__version__,
                    "backend": jax.default_backend()},
        "rows": rows,
    }
    print()
    if 1024 in batches:
        summary["render_vs_minigrid"] = round(rate("house_render", 1024) / mg, 1)
        print(f"render_vs_minigrid (house rendered, batch 1024 / MiniGrid): {summary['render_vs_minigrid']:.1f}x"
              "   target >= 300")
    if 4096 in batches:
        summary["state_vs_gymnax"] = round(rate("house_state", 4096) / rate("gymnax_fourrooms", 4096), 3)
        print(f"state_vs_gymnax (house state-only / gymnax FourRooms, batch 4096): "
              f"{summary['state_vs_gymnax']:.3f}   target >= 0.5")
        summary["state_vs_gymnax_constparams"] = round(
            rate("house_state_constparams", 4096) / rate("gymnax_fourrooms_constparams", 4096), 3)
        print(f"  the same with parameters closed over as constants: {summary['state_vs_gymnax_constparams']:.3f}")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
