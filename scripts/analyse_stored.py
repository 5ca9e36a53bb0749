"""Analyse an experiment's stored runs as they are, computing none.

    python scripts/analyse_stored.py NAME [--root runs] [--scale full|quick|demo] [--seeds S] [--json]

`aptami experiment NAME` finds each run by its key (code fingerprint and configuration) and computes
what it does not find. Where a configuration held a number computed at run time, another process
derived a key differing in the last bits and would recompute everything: `stay-in-distribution` keyed
its runs by weight / penalty unit until `exploitation.pessimism_key` (the unit's last bits differed
between processes on a GPU). This takes, per condition, the newest finished run of the current code
fingerprint with the scale's seeds (refusing runs that differ in more than their condition), prints
which runs it used (key, machine), and analyses them with the experiment's own analysis, writing
analysis.json where `aptami experiment` writes it (with `runs_used`). It computes nothing, so a
missing condition is the analysis's to notice; runs of another code fingerprint are never used.
"""
import argparse
import json
import sys
from pathlib import Path

PER_RUN = ("planner", "scenario", "penalty", "weight", "oracle")   # what differs between one experiment's runs


def _stored(r) -> dict:
    return json.loads((Path(r["path"]) / "config.json").read_text())   # {"config", "machine", ...}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name")
    ap.add_argument("--root", default="runs")
    ap.add_argument("--scale", choices=("full", "quick", "demo"), default="full")
    ap.add_argument("--seeds", type=int, default=None, help="default: the scale's seeds")
    ap.add_argument("--json", action="store_true", help="print the analysis as JSON on the last line")
    a = ap.parse_args(argv)

    from aptami.experiments import framework
    from aptami.experiments.store import Store
    from aptami.util import code_fingerprint

    if a.name not in framework.REGISTRY:
        ap.error(f"unknown experiment {a.name!r}; known: {', '.join(framework.REGISTRY)}")
    exp = framework.REGISTRY[a.name]
    if exp.custom is None or exp.post is not None:
        raise SystemExit(f"{a.name}: analyse_stored reads experiments with their own runner and no post-analysis "
                         "(critic-exploitation, stay-in-distribution ...); use `aptami experiment` for the others")
    seeds = a.seeds or {"full": exp.default_seeds, "quick": exp.quick_seeds, "demo": exp.demo_seeds}[a.scale]
    store, code = Store(a.root), code_fingerprint()
    runs = {}
    for r in store.list(experiment=a.name):   # oldest first: the newest of each condition wins
        if r["code"] == code and r["seeds"] == seeds and (Path(r["path"]) / "metrics.json").exists():
            runs[r["condition"]] = r
    if not runs:
        raise SystemExit(f"no finished run of {a.name} with {seeds} seeds and code {code} in {a.root}")
    stored = {cond: _stored(r) for cond, r in runs.items()}
    shared = {json.dumps({k: v for k, v in st.get("config", {}).items() if k not in PER_RUN}, sort_keys=True,
                         default=str) for st in stored.values()}
    if len(shared) > 1:   # e.g. quick and demo runs (both 2 seeds) under the same condition names
        raise SystemExit(f"the newest runs of {a.name} with {seeds} seeds differ in more than their condition "
                         f"({len(shared)} training/length settings): run it with the intended --scale in a store "
                         "of that scale alone, or `aptami experiment`")
    results, used = {}, {}
    for cond, r in runs.items():
        folder = Path(r["path"])
        metrics = json.loads((folder / "metrics.json").read_text())
        metrics["_folder"] = str(folder)
        results[cond] = metrics
        machine = stored[cond].get("machine")
        used[cond] = {"key": r["key"], "machine": machine}
        print(f"  {cond}: {r['key']} ({machine})", file=sys.stderr)
    out_dir = store.root / "experiments" / a.name / "figures"
    out_dir.mkdir(parents=True, exist_ok=True)
    analysis = exp.analyse(results, out_dir)
    analysis["gifs"] = {c: str(Path(m["_folder"]) / "episode.gif") for c, m in results.items()
                        if (Path(m["_folder"]) / "episode.gif").exists()}
    analysis.update({"experiment": a.name, "seeds": seeds, "scale": a.scale,
                     "conditions": list(results), "figures_dir": str(out_dir), "claims": list(exp.claims),
                     "runs_used": used, "analysed_from_store": True, "code": code})
    (out_dir.parent / "analysis.json").write_text(json.dumps(analysis, indent=1, default=framework._jsonable))
    print(analysis.get("summary", ""))
    if a.json:
        print(json.dumps(analysis, default=framework._jsonable))


if __name__ == "__main__":
    main()
