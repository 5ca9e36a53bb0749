"""Merge a results store computed elsewhere (another machine, a GPU) into this one.

    python scripts/merge_store.py OTHER_ROOT [--into runs]

Copies every finished run folder of OTHER_ROOT whose key this store lacks and indexes it here, with
its path rewritten under this store. Run keys include the code fingerprint, so only runs of the same
code and configuration are ever reused by `aptami experiment`; each run's config.json says which
machine computed it. Runs already here are left alone. The prosocial caches (datasets, score models)
under OTHER_ROOT/prosocial are copied too where missing (keyed by their own hashes), and so are the lean
checkpoints of trained agents under OTHER_ROOT/agents-lean (named by configuration and code hash), so
the experiments that share them (critic-exploitation, stay-in-distribution) probe them here untrained.
"""
import argparse
import shutil
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aptami.experiments.store import Store  # noqa: E402


def merge(other: Path, into: Path) -> dict:
    if not (other / "index.sqlite").exists():
        raise SystemExit(f"{other} is not a results store (no index.sqlite)")
    store, theirs = Store(into), Store(other)
    with sqlite3.connect(other / "index.sqlite") as db:
        rows = db.execute("SELECT * FROM runs").fetchall()
    added, kept, missing = 0, 0, 0
    for row in rows:
        key, experiment, condition = row[0], row[1], row[2]
        src = theirs.resolve(row[9])
        if not (src / "metrics.json").exists():
            src = other / "experiments" / experiment / Path(row[9]).name
        if not (src / "metrics.json").exists():
            missing += 1
            continue
        if store.get(key) is not None:
            kept += 1
            continue
        dst = store.folder(experiment, condition, key)
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst)
        with store._db() as db:
            db.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       (*row[:9], str(dst.relative_to(store.root)), row[10]))
        added += 1
    copied = {}
    for cache in ("prosocial", "agents-lean"):
        copied[cache] = 0
        if (other / cache).is_dir():
            for f in (other / cache).rglob("*"):
                t = into / cache / f.relative_to(other / cache)
                if f.is_file() and not t.exists() and ".tmp" not in f.name:
                    t.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(f, t)
                    copied[cache] += 1
    return {"runs_added": added, "runs_already_here": kept, "runs_unfinished_skipped": missing,
            "prosocial_files_copied": copied["prosocial"], "lean_agent_files_copied": copied["agents-lean"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("other")
    ap.add_argument("--into", default="runs")
    a = ap.parse_args(argv)
    print(merge(Path(a.other), Path(a.into)))


if __name__ == "__main__":
    main()
