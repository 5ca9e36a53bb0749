"""Run one shard of an experiment's runs in this process, so N processes share an experiment's runs.

An experiment runs its runs (conditions, or probes) one after another in one process, each compiling
its own programs; on a machine with many cores and one GPU, N processes side by side finish sooner.
Shard I of N computes and stores only the runs whose place in the experiment's order is I mod N (the
order is the same in every process: it is the experiment's own loop), skips the others, and does not
analyse. When every shard is done, `aptami experiment NAME` finds every run in the store and
analyses them; a shard cut short keeps its finished runs, and that command computes what is missing.

    python scripts/shard_runs.py NAME I N [--root runs] [--quick | --scale demo] [--seeds S]

It uses only `Store.cached` and the experiment's own runner, so it also drives an older checkout of aptami put
first on PYTHONPATH (the runs are then keyed by that checkout's code fingerprint, as `aptami
experiment` there would key them).
"""
from __future__ import annotations

import argparse
import itertools
import json
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name")
    ap.add_argument("shard", type=int)
    ap.add_argument("of", type=int)
    ap.add_argument("--root", default="runs")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--scale", choices=("full", "quick", "demo"), default=None)
    a = ap.parse_args(argv)
    if a.of < 1 or not 0 <= a.shard < a.of:
        ap.error(f"shard must be in 0..of-1 and of >= 1, got shard {a.shard} of {a.of}")

    from aptami.experiments import framework, store
    from aptami.util import code_fingerprint

    if a.name not in framework.REGISTRY:
        ap.error(f"unknown experiment {a.name!r}; known: {', '.join(framework.REGISTRY)}")
    original = store.Store.cached
    order = itertools.count()
    mine = []

    def cached(self, experiment, condition, config, compute, log=print):
        k = next(order)
        if k % a.of != a.shard:
            return {"_skipped_by_shard": True}
        t, ran = time.time(), []

        def counted():
            ran.append(True)
            return compute()
        out = original(self, experiment, condition, config, counted, log)
        if ran:
            mine.append(condition)
            print(f"shard {a.shard}/{a.of}: {condition} computed in {time.time() - t:.1f} s", flush=True)
        return out

    exp = framework.REGISTRY[a.name]
    if exp.custom is None:
        raise SystemExit(f"{a.name} runs its conditions through run_condition; shard_runs drives the experiments "
                         "whose runs go through Store.cached (those with a custom runner)")
    store.Store.cached = cached
    scale = a.scale or ("quick" if a.quick else "full")
    quick = {"full": False, "quick": True, "demo": "demo"}[scale]   # as run_experiment passes it
    seeds = a.seeds or {"full": exp.default_seeds, "quick": exp.quick_seeds, "demo": exp.demo_seeds}[scale]
    print(f"code {code_fingerprint()}; shard {a.shard} of {a.of} of {a.name} ({scale}, {seeds} seeds)", flush=True)
    t0 = time.time()
    try:
        exp.custom(quick, seeds, store.Store(a.root), print)   # the runs alone: no analysis, which needs them all
    finally:
        store.Store.cached = original
    print(json.dumps({"experiment": a.name, "shard": a.shard, "of": a.of, "computed": mine,
                      "seconds": round(time.time() - t0, 1)}), flush=True)


if __name__ == "__main__":
    main()
