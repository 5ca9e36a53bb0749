"""Checkpoint writing: aptami's writer (deflate level 1) against numpy's `np.savez_compressed` (level 6),
on the state of fetch agents whose memory is full of real frames (random flailing), in one process;
and the size of their lean checkpoint (`checkpoint.save_lean`: networks and 1024 remembered steps).

    python benchmarks/checkpoint.py [--seeds 2] [--json]

Why it matters: a fetch agent's memory holds 40,000 steps of two 28x28x3 frames, 215 MB per seed
before compression, and training waits while a checkpoint is written. On an H200 the 16 seeds of
`critic-exploitation` trained at 14 s per chunk of 2 iterations while writing a checkpoint after
each chunk; the writer's MB/s below says how much of that was the write.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from aptami.agent import Agent, preset  # noqa: E402
from aptami.agent.checkpoint import save_lean, state_arrays, write_npz  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cfg = preset("fetch", "learned")
    cfg = cfg.replace(train=dataclasses.replace(cfg.train, prefill_steps=cfg.train.capacity, demo_steps=0))
    agent = Agent(cfg)
    t0 = time.perf_counter()
    st = jax.jit(jax.vmap(lambda k: agent.prefill(agent.init(k))))(jax.random.split(jax.random.key(0), args.seeds))
    arrays = state_arrays(st)
    raw = sum(a.nbytes for a in arrays.values())
    print(f"{args.seeds} fetch agents with full memory: {raw / 1e6:.0f} MB of arrays "
          f"(filled in {time.perf_counter() - t0:.1f} s)")
    rows = {}
    with tempfile.TemporaryDirectory() as d:
        for name, write in (("numpy_savez_compressed", lambda f: np.savez_compressed(f, **arrays)),
                            ("aptami_write_npz", lambda f: write_npz(f, arrays))):
            f = os.path.join(d, f"{name}.npz")
            t0 = time.perf_counter()
            write(f)
            dt = time.perf_counter() - t0
            t0 = time.perf_counter()
            with np.load(f) as data:
                same = all(np.array_equal(data[k], a) for k, a in arrays.items())
            rows[name] = {"write_s": round(dt, 2), "read_s": round(time.perf_counter() - t0, 2),
                          "MB": round(os.path.getsize(f) / 1e6, 1), "MB_per_s": round(raw / 1e6 / dt, 1),
                          "round_trip_exact": same}
            print(f"{name:24s} write {dt:6.2f} s ({raw / 1e6 / dt:6.1f} MB/s)  read {rows[name]['read_s']:5.2f} s"
                  f"  file {rows[name]['MB']:7.1f} MB  exact {same}")
        t0 = time.perf_counter()          # what comes back from a device machine (64 MiB at most)
        save_lean(os.path.join(d, "lean"), cfg, st)
        lean_s = time.perf_counter() - t0
        lean_mb = os.path.getsize(os.path.join(d, "lean", "state.npz")) / 1e6
    print(f"{'lean checkpoint':24s} write {lean_s:6.2f} s  file {lean_mb:7.1f} MB  ({lean_mb / args.seeds:.2f} MB "
          f"per seed, {16 * lean_mb / args.seeds:.0f} MB for 16)")
    rows["lean_checkpoint"] = {"write_s": round(lean_s, 2), "MB": round(lean_mb, 1),
                               "MB_16_seeds": round(16 * lean_mb / args.seeds, 1)}
    speedup = rows["numpy_savez_compressed"]["write_s"] / rows["aptami_write_npz"]["write_s"]
    per16 = raw / args.seeds * 16 / 1e6
    out = {"seeds": args.seeds, "raw_MB": round(raw / 1e6), **rows, "write_speedup_vs_numpy": round(speedup, 2),
           "projected_16_seed_write_s": {k: round(per16 / v["MB_per_s"], 1) for k, v in rows.items()
                                         if "MB_per_s" in v}}
    print(f"\nwrite_speedup_vs_numpy = {speedup:.2f}; 16 seeds ({per16:.0f} MB) would take "
          + ", ".join(f"{k} {v} s" for k, v in out["projected_16_seed_write_s"].items()))
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
