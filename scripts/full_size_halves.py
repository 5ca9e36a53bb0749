"""Run one half of a full-size experiment (16 seeds) under the experiment's own run keys.

    python scripts/full_size_halves.py instrumental-oracle   # every oracle condition of instrumental-convergence
    python scripts/full_size_halves.py torn-idealized         # torn-agent with the idealized welfare term only

The full experiments (`aptami experiment NAME`) also run the learned world model or the frozen score
model, hours more on a 2-core CPU; these halves are what the README's full-size results come from. The
runs land in the results store (runs/) exactly as the full experiment would write them, so a later
`aptami experiment NAME` finds them (same code version) and runs only the rest. The analysis is the
experiment's own, written beside its figures under runs/experiments/NAME/<half>-figures.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aptami.experiments import REGISTRY, Condition, Store  # noqa: E402
from aptami.experiments.framework import run_condition  # noqa: E402
from aptami.util import enable_compilation_cache  # noqa: E402

HALVES = ("instrumental-oracle", "torn-idealized")


def conditions(half: str):
    if half == "instrumental-oracle":
        exp = REGISTRY["instrumental-convergence"]
        return exp, [c for c in exp.build(False, 16) if c.name.endswith(" oracle")], "oracle-figures"
    from aptami.experiments.torn import _cfg

    exp = REGISTRY["torn-agent"]
    return exp, [Condition(f"welfare w={w:g}", _cfg({"welfare": w}, False, 12), group="idealized")
                 for w in (0.0, 1.0, 3.0, 10.0, 30.0, 100.0)], "idealized-figures"


def main(argv):
    if len(argv) != 1 or argv[0] not in HALVES:
        raise SystemExit(f"usage: full_size_halves.py HALF, HALF one of {', '.join(HALVES)}")
    enable_compilation_cache()
    exp, conds, folder = conditions(argv[0])
    store = Store("runs")
    results = {}
    for c in conds:
        results[c.name] = run_condition(exp, c, 16, store, progress=False)
        print("done", c.name, flush=True)
    out = store.root / "experiments" / exp.name / folder
    analysis = exp.analyse(results, out)
    (out / "analysis.json").write_text(json.dumps(analysis, indent=1, default=float))
    print(analysis["summary"])


if __name__ == "__main__":
    main(sys.argv[1:])
