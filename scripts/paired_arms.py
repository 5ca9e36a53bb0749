"""Arms evaluated on the same agents and episodes, compared pair by pair with a control.

    python scripts/paired_arms.py CONTROL.json[:ARM] OTHER.json[:ARM] ... [--json]

Each file is what `judge_parts.py`, `critic_swap.py` or `proposal_swap.py` wrote with `--json`: per arm,
deliveries per episode as [agent][copy]; copy k of agent i is evaluated on the same keys in every arm and
every file (critic_swap's evaluation keys), so a refitted copy of a run (`refit_run.py`) is paired with
the run it came from episode for episode. `:ARM` picks the arm (default: `imagined`, else `own`). Prints
each arm's mean, per agent, and its difference from the control: the mean over (agent, copy) pairs, how
many pairs are higher, and a 95% bootstrap interval over those pairs. The interval covers the evaluation's
randomness only (the same trained agents throughout), not another training's.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aptami.experiments.stats import bootstrap_ci  # noqa: E402


def read_arm(spec: str):
    """(label, [agent][copy] array) from FILE.json[:ARM]."""
    path, _, arm = spec.partition(":") if not Path(spec).exists() else (spec, "", "")
    res = json.loads(Path(path).read_text())
    arm = arm or next((a for a in ("imagined", "own") if a in res), "")
    if arm not in res:
        arms = [k for k, v in res.items() if isinstance(v, list) and v and isinstance(v[0], list)]
        raise SystemExit(f"{path}: no arm {arm!r}; allowed: {', '.join(arms)}")
    return f"{Path(path).stem}:{arm}", np.asarray(res[arm], float)


def compare(specs) -> list[dict]:
    (c_name, control), *others = [read_arm(s) for s in specs]
    rows = [{"arm": c_name, "mean": float(control.mean()), "per_agent": control.mean(1).tolist()}]
    for name, x in others:
        if x.shape != control.shape:
            raise SystemExit(f"{name}: {x.shape[0]} agents x {x.shape[1]} copies, the control has "
                             f"{control.shape[0]} x {control.shape[1]}: not the same agents and episodes")
        d = (x - control).ravel()
        _, lo, hi = bootstrap_ci(d)
        rows.append({"arm": name, "mean": float(x.mean()), "per_agent": x.mean(1).tolist(),
                     "minus_control": float(d.mean()), "ci95": [float(lo), float(hi)],
                     "pairs_higher": int((d > 0).sum()), "pairs": int(d.size)})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", help="the control first")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows = compare(a.files)
    if a.json:
        print(json.dumps(rows, indent=1))
        return 0
    width = max(len(r["arm"]) for r in rows)
    for r in rows:
        per = " ".join(f"{v:.2f}" for v in r["per_agent"])
        diff = "" if "minus_control" not in r else (
            f"  {r['minus_control']:+.2f} [{r['ci95'][0]:+.2f}, {r['ci95'][1]:+.2f}], "
            f"higher in {r['pairs_higher']}/{r['pairs']}")
        print(f"{r['arm']:{width}s} {r['mean']:5.2f} ({per}){diff}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
