"""Arms of a fetch comparison: deliveries with intervals, and whether the world-model audits predict them.

    python scripts/arms_table.py docs/results/fetch-arms-h200 [--control preset] [--json]

FOLDER holds one folder per arm with `eval.json` (`aptami eval ... --json`) and any number of
`audit_aI.json` (`scripts/delivery_audit.py RUN --moves --rollout --agent I`), and optionally `plan.json`
(`scripts/plan_audit.py RUN`: what the chosen plans promised against what the same actions really gave).
Prints per arm the mean deliveries per episode [95% bootstrap over seeds], the difference from the
control arm, and the audits; then, over every audited (arm, seed), the Spearman rank correlation of
that seed's deliveries with each audited accuracy: if the world model's one-step and rollout errors
were what limits deliveries, the seeds that imagine better would deliver more.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aptami.experiments.stats import bootstrap_ci, diff_ci  # noqa: E402

RIGHT = "imagined pose within half a cell of the real one"
AUDITS = {  # name -> how to read it from an audit
    "into a human": lambda a: a["moves"]["groups"]["blocked by a human"][RIGHT],
    "other blocked": lambda a: a["moves"]["groups"]["blocked by anything else"][RIGHT],
    "robot pose err k=8": lambda a: a["rollout"]["k=8"]["robot pose error, cells (mean |dy|+|dx|)"],
    "order err k=8": lambda a: a["rollout"]["k=8"]["order potential mean abs error"],
    "task on delivery": lambda a: a["moves"]["groups"]["interact: delivery"]["task real/imagined"][1],
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--control", default="preset", help="the arm the others are compared with")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    arms = {p.name: p for p in sorted(Path(args.folder).iterdir()) if (p / "eval.json").exists()}
    if args.control not in arms:
        raise SystemExit(f"--control {args.control!r}: no such arm; arms: {', '.join(arms)}")
    evals = {n: json.loads((p / "eval.json").read_text()) for n, p in arms.items()}
    per_seed = {n: np.array([s["mean_return"] for s in ev["per_seed"]]) for n, ev in evals.items()}
    out, points = {"arms": {}}, []
    for name, p in arms.items():
        ev = evals[name]
        row = {"deliveries": bootstrap_ci(per_seed[name]), "success": ev["success_rate"],
               "critic_r2": ev["critic_r2"], "audits": {}}
        if name != args.control:
            row["minus_control"] = diff_ci(per_seed[name], per_seed[args.control])
        for f in sorted(p.glob("audit_a*.json")):
            audit, seed = json.loads(f.read_text()), int(f.stem.split("_a")[-1])
            row["audits"][seed] = {k: read(audit) for k, read in AUDITS.items()}
            points.append([per_seed[name][seed], *row["audits"][seed].values()])
        if (p / "plan.json").exists():
            plan = json.loads((p / "plan.json").read_text())
            row["plan"] = {"imagined_ic": plan["imagined_ic"], "real_ic": plan["real_ic_same_plan"],
                           "critic_terminal": plan["critic_terminal"],
                           "task_imagined": plan["channels_imagined"]["task"],
                           "task_real": plan["channels_real"]["task"]}
            if "task_within_reach_imagined" in plan:   # of it, where the imagined body could deliver
                row["plan"]["task_imagined_within_reach"] = plan["task_within_reach_imagined"]
        out["arms"][name] = row
    pts = np.array(points)
    out["spearman_with_deliveries"] = {
        k: dict(zip(("rho", "p"), map(float, spearmanr(pts[:, 0], pts[:, j + 1])))) for j, k in enumerate(AUDITS)
    } if len(pts) > 2 else {}
    out["audited_seeds"] = len(pts)
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    for name, row in out["arms"].items():
        m, lo, hi = row["deliveries"]
        diff = "" if name == args.control else "  minus {}: {:+.2f} [{:+.2f}, {:+.2f}]".format(
            args.control, *row["minus_control"])
        print(f"{name:28s} {m:.2f} [{lo:.2f}, {hi:.2f}]{diff}  success {row['success']:.2f}  "
              "critic R^2 " + ("undefined" if row["critic_r2"] is None else f"{row['critic_r2']:.2f}"))
        if "plan" in row:
            print("    chosen plans: imagined IC {imagined_ic:.3f}, real {real_ic:.3f}, critic's terminal "
                  "{critic_terminal:.3f}; task channel imagined {task_imagined:.3f}, real {task_real:.3f}"
                  .format(**row["plan"])
                  + (" (within reach: {:.3f})".format(row["plan"]["task_imagined_within_reach"])
                     if "task_imagined_within_reach" in row["plan"] else ""))
        for seed, a in row["audits"].items():
            print(f"    seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in a.items()))
    if not out["spearman_with_deliveries"]:
        return 0
    print(f"Spearman of a seed's deliveries with its audits ({len(pts)} audited seeds):")
    for k, r in out["spearman_with_deliveries"].items():
        print(f"    {k:20s} rho {r['rho']:+.2f}  p {r['p']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
