"""Lean copies of trained runs, small enough to come back from a device machine.

    python scripts/lean.py RUN [RUN ...] [--keep 16] [--out DIR]

A full fetch checkpoint is ~215 MB per seed (its memory of 40,000 steps); a device call returns at most
64 MiB. The lean copy (`checkpoint.save_lean`: the networks, the Intrinsic Cost and `keep` remembered
steps per seed) plans and evaluates as the trained agent, so a GPU-trained run can be re-planned on a
CPU: `aptami eval SCENARIO --agent LEAN --set planner.method=mppi`. It cannot continue training.
Each copy goes to OUT/NAME (default OUT: the run's parent folder + "-lean"); an existing copy is kept.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aptami.agent import checkpoint  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="run folders written by `aptami train` / `aptami eval`")
    ap.add_argument("--keep", type=int, default=16, help="remembered steps kept per seed")
    ap.add_argument("--out", default=None, help="folder of the lean copies")
    args = ap.parse_args()
    for run in map(Path, args.runs):
        out = Path(args.out or f"{run.parent}-lean") / run.name
        if (out / "state.npz").exists():
            print(f"kept {out}")
            continue
        if not checkpoint.finished(run):   # read before loading: a fetch run is GBs
            print(f"skipped {run}: not a finished training")
            continue
        agent, state, meta = checkpoint.load(run)
        checkpoint.save_lean(out, agent.cfg, state, keep=args.keep, meta=meta)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
