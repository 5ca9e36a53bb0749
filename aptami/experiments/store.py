"""The results store: one folder per run, indexed in a local SQLite database. No server.

A run is one cell of an experiment (a condition, its seeds) with a key = hash(resolved config, code
fingerprint). A finished run is written to a temporary folder, then renamed and indexed, so an
interrupted experiment never leaves a half-written run that looks finished, and resumes by skipping
the runs already there. Any change to the configuration or to aptami's code changes the key: old
results are never silently reused.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

from ..util import code_fingerprint  # noqa: F401  (re-exported: run keys)

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,
    condition TEXT NOT NULL,
    scenario TEXT,
    world_model TEXT,
    seeds INTEGER,
    code TEXT,
    created REAL,
    seconds REAL,
    path TEXT NOT NULL,
    summary TEXT
)
"""




def machine() -> dict:
    """Where a run was computed (provenance only, not part of its key: the same code and config on
    another machine is the same run, though floating point may differ in the last digits)."""
    import platform

    import jax

    dev = jax.devices()[0]
    return {"backend": jax.default_backend(), "device": getattr(dev, "device_kind", str(dev)),
            "jax": jax.__version__, "host": platform.machine()}


def run_key(experiment: str, condition: str, config: dict) -> str:
    blob = json.dumps({"experiment": experiment, "condition": condition, "config": config,
                       "code": code_fingerprint()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class Store:
    def __init__(self, root="runs"):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "index.sqlite"
        with self._db() as db:
            db.execute(SCHEMA)

    def _db(self):
        return sqlite3.connect(self.db_path, timeout=30)

    def folder(self, experiment: str, condition: str, key: str) -> Path:
        return self.root / "experiments" / experiment / f"{_safe(condition)}-{key}"

    def get(self, key: str) -> dict | None:
        """The finished run with this key, or None."""
        with self._db() as db:
            row = db.execute("SELECT path, summary FROM runs WHERE key = ?", (key,)).fetchone()
        folder = self.resolve(row[0]) if row is not None else None
        if folder is None or not (folder / "metrics.json").exists():
            return None
        out = json.loads((folder / "metrics.json").read_text())
        if isinstance(out, dict):
            out["_folder"] = str(folder)
        return out

    def resolve(self, path: str) -> Path:
        """A run folder as the index records it: relative to the store's root, or (older stores) as
        seen from the working directory the run was made in, e.g. "runs/experiments/...". Either is
        found from any working directory."""
        p = Path(path)
        if p.is_absolute() or (self.root / p).exists():
            return self.root / p
        older = self.root / Path(*p.parts[1:]) if len(p.parts) > 1 else p
        return older if older.exists() else p

    def put(self, experiment: str, condition: str, key: str, config: dict, metrics: dict, seconds: float,
            files: dict[str, bytes] | None = None, summary: dict | None = None) -> Path:
        """Write a finished run atomically and index it."""
        final = self.folder(experiment, condition, key)
        tmp = final.with_name(final.name + f".tmp{os.getpid()}")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        (tmp / "config.json").write_text(json.dumps({"experiment": experiment, "condition": condition,
                                                     "code": code_fingerprint(), "machine": machine(),
                                                     "config": config}, indent=1, default=str))
        for name, data in (files or {}).items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(data)
        (tmp / "metrics.json").write_text(json.dumps({k: v for k, v in metrics.items() if k != "_folder"}
                                                     if isinstance(metrics, dict) else metrics, default=float))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?)", (
                key, experiment, condition, config.get("scenario"), config.get("world_model"),
                config.get("seeds"), code_fingerprint(), time.time(), seconds, str(final.relative_to(self.root)),
                json.dumps(summary or {}, default=float)))
        if isinstance(metrics, dict):
            metrics["_folder"] = str(final)
        return final

    def cached(self, experiment: str, condition: str, config: dict, compute, log=print):
        """The stored run of (experiment, condition, config), or compute() it and store it. compute
        returns metrics, or (metrics, {file name: bytes}); summary: the mean of each metric list."""
        key = run_key(experiment, condition, config)
        hit = self.get(key)
        if hit is not None:
            log(f"  {condition}: found in the store ({key})")
            return hit
        metrics, files = compute(), None
        if isinstance(metrics, tuple):
            metrics, files = metrics
        summary = {k: float(sum(v) / len(v)) for k, v in metrics.items()
                   if isinstance(v, list) and v and all(isinstance(x, (int, float)) for x in v)}
        self.put(experiment, condition, key, config, metrics, 0.0, files, summary=summary)
        return metrics

    def list(self, experiment: str | None = None, condition: str | None = None, scenario: str | None = None,
             world_model: str | None = None) -> list[dict]:
        q, args = "SELECT key, experiment, condition, scenario, world_model, seeds, code, created, seconds, path, " \
                  "summary FROM runs WHERE 1=1", []
        for col, val in (("experiment", experiment), ("condition", condition), ("scenario", scenario),
                         ("world_model", world_model)):
            if val is not None:
                q += f" AND {col} = ?"
                args.append(val)
        with self._db() as db:
            rows = db.execute(q + " ORDER BY created", args).fetchall()
        cols = ("key", "experiment", "condition", "scenario", "world_model", "seeds", "code", "created", "seconds",
                "path", "summary")
        out = [dict(zip(cols, r)) for r in rows]
        for r in out:
            r["summary"] = json.loads(r["summary"] or "{}")
            r["path"] = str(self.resolve(r["path"]))
        return out


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]
