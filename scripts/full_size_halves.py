"""Run one half of a full-size experiment (16 seeds) under the experiment's own run keys.

    python scripts/full_size_halves.py instrumental-oracle   # every oracle condition of instrumental-convergence
    python scripts/full_size_halves.py instrumental-learned [PART]   # its learned-world-model conditions
    python scripts/full_size_halves.py torn-idealized         # torn-agent with the idealized welfare term only

PART splits the learned half into pieces that share no training, for lanes side by side on one device:
a drive of the house sweep (task-only, +hunger, +pain, +curiosity, +all: one training, evaluated at
every horizon) or `rest` (the off-switch and single-drive conditions, which C4 and C5 do not read yet).

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

HALVES = ("instrumental-oracle", "instrumental-learned", "torn-idealized")


def conditions(half: str, part: str | None = None):
    if half.startswith("instrumental-"):
        from aptami.experiments.instrumental import DRIVES

        exp, wm = REGISTRY["instrumental-convergence"], half.split("-")[1]
        conds = [c for c in exp.build(False, 16) if c.name.endswith(f" {wm}")]
        if part is not None:
            parts = (*DRIVES, "rest")
            if wm != "learned" or part not in parts:
                raise SystemExit(f"PART {part!r}: only instrumental-learned takes one, one of {', '.join(parts)}")
            conds = [c for c in conds if (c.name.startswith(f"house {part} ") if part != "rest"
                                          else not c.name.startswith("house "))]
        return exp, conds, f"{wm}-figures"
    if part is not None:
        raise SystemExit(f"{half} takes no PART")
    from aptami.experiments.torn import _cfg

    exp = REGISTRY["torn-agent"]
    return exp, [Condition(f"welfare w={w:g}", _cfg({"welfare": w}, False, 12), group="idealized")
                 for w in (0.0, 1.0, 3.0, 10.0, 30.0, 100.0)], "idealized-figures"


def main(argv):
    if len(argv) not in (1, 2) or argv[0] not in HALVES:
        raise SystemExit(f"usage: full_size_halves.py HALF [PART], HALF one of {', '.join(HALVES)}")
    enable_compilation_cache()
    exp, conds, folder = conditions(*argv)
    store = Store("runs")
    results = {}
    for c in conds:
        results[c.name] = run_condition(exp, c, 16, store, progress=False)
        print("done", c.name, flush=True)
    if len(argv) == 2:   # a part: the analysis needs the whole half (run it without PART: it finds these)
        print(f"part {argv[1]} done: {len(conds)} condition(s) in the store")
        return
    out = store.root / "experiments" / exp.name / folder
    analysis = exp.analyse(results, out)
    (out / "analysis.json").write_text(json.dumps(analysis, indent=1, default=float))
    print(analysis["summary"])


if __name__ == "__main__":
    main(sys.argv[1:])
