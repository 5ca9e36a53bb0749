"""`aptami demo`: every experiment at its smallest scale, then the report.

Same code path as the full runs (`aptami experiment NAME`), only smaller: few seeds, short episodes,
a small planner and a small score model. Finished experiments stay in the store (`runs/demo` by
default), so an interrupted demo resumes, and `aptami report runs/demo` rebuilds the page alone.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from .build import house_section, load_analyses, write_report
from .claims import CLAIMS, read

DEMO_EXPERIMENTS = ("instrumental-convergence", "torn-agent", "heroin-drip", "adversarial-screen",
                    "critic-exploitation", "stay-in-distribution", "latent-drift", "probe-vs-supervised",
                    "patching")
# two lanes that share nothing but the store's index (SQLite, safe across processes): the second
# lane's experiments share one small Prosociality Score Model and its data, the first's the trained
# fetch agents. With jobs=2 the first lane runs in a second process: small programs use one core each.
SIDE_LANE = ("instrumental-convergence", "critic-exploitation", "stay-in-distribution")


def run_lane(experiments, root, seeds=None):
    """Run experiments one after another at demo scale (the second process's entry point)."""
    from ..experiments import run_experiment
    from ..util import enable_compilation_cache

    enable_compilation_cache()
    for name in experiments:
        t = time.time()
        run_experiment(name, seeds=seeds, scale="demo", root=root, progress=False, log=print)
        print(f"done {name} {time.time() - t:.1f}", flush=True)


def run_demo(out="report", root="runs/demo", experiments=DEMO_EXPERIMENTS, seeds: int | None = None,
             log=print, house_gifs: bool = True, jobs: int = 2) -> dict:
    from tqdm import tqdm

    from ..experiments import run_experiment
    from ..util import enable_compilation_cache

    enable_compilation_cache()
    t0 = time.time()
    out = Path(out)
    extra, timings = "", {}
    if house_gifs:
        from ..env import REGISTRY
        from ..env.play import episode_gif

        (out / "gifs").mkdir(parents=True, exist_ok=True)
        results = [episode_gif(n, str(out / "gifs" / f"{n}.gif"), steps=60, seed=0)
                   for n in tqdm(list(REGISTRY), desc="the house: one episode per scenario", unit="scenario")]
        extra = house_section(results, out)
        timings["house"] = round(time.time() - t0, 1)
    side = [e for e in experiments if e in SIDE_LANE] if jobs > 1 else []
    main = [e for e in experiments if e not in side]
    proc, side_log = None, Path(root) / "side-lane.log"
    if side:
        Path(root).mkdir(parents=True, exist_ok=True)
        code = f"from aptami.report.demo import run_lane; run_lane({side!r}, {str(root)!r}, {seeds!r})"
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=open(side_log, "w"), stderr=subprocess.STDOUT)
        log(f"in a second process: {', '.join(side)} (log: {side_log})")
    try:
        for name in tqdm(main, desc="experiments (demo scale)", unit="experiment"):
            t1 = time.time()
            log(f"experiment {name} ...")
            run_experiment(name, seeds=seeds, scale="demo", root=root, progress=True, log=log)
            timings[name] = round(time.time() - t1, 1)
        if proc is not None:
            with tqdm(total=len(side), desc="second process", unit="experiment") as bar:
                while proc.poll() is None or bar.n < len(_done(side_log)):
                    bar.update(len(_done(side_log)) - bar.n)
                    time.sleep(1)
            timings.update(_done(side_log))
            if proc.returncode != 0:
                tail = "".join(side_log.read_text().splitlines(True)[-15:])
                raise RuntimeError(f"the demo's second process failed (exit {proc.returncode}); "
                                   f"the end of {side_log}:\n{tail}")
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
    analyses = {k: v for k, v in load_analyses([root]).items() if k in experiments}
    page = write_report(analyses, out, extra, seconds=time.time() - t0)
    return {"report": str(page), "seconds": round(time.time() - t0, 1), "timings": timings,
            "verdicts": {c.id: read(c, analyses)["verdict"] for c in CLAIMS}}


def _done(log_path: Path) -> dict:
    """Experiments the second process has finished, with their seconds."""
    if not log_path.exists():
        return {}
    return {line.split()[1]: float(line.split()[2]) for line in log_path.read_text().splitlines()
            if line.startswith("done ") and len(line.split()) == 3}

