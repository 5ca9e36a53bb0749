"""`patching` (claim C10): patch the exploit the red team found, retrain, and search again.

The essay: once a failure is reproduced, patching it does not solve the problem, because the
optimizer finds the next one. Here the optimizer is the red team over what the robot can really
make at the editor's screen (the 4^6 knob settings, searched exhaustively, and the screen's raw
pixels by gradient), against the frozen pixel Prosociality Score Model. One patch round: the raters
rate the `k` highest-scoring screen pictures (no human in view: low labels), those frames join the
training set, and the score model is retrained from the same seed. Per round we measure the best
picture's score minus a real joyful human's, the fraction of pictures that still beat real joy, the
expected number of random pictures the robot must try to find one (1 / that fraction), whether the
new best picture is one that was patched, the pixel attack, the other exploit channel (drip frames
minus joyful frames, held out) and the held-out accuracy. Control: the unpatched model (round 0,
same seed). Scope: the red team stands in for the agent's planner here (its search space is the
agent's own actions at the screen); the agent re-trained on each patched model is not run.
"""
from __future__ import annotations

import dataclasses

import jax
import numpy as np

from ..prosocial.frames import FIELDS, SCENARIOS, FrameSet, visible_features
from ..prosocial.pipeline import Dataset, ProsocialConfig, build_dataset, train_variant
from ..prosocial.raters import RaterPool, label
from .figures import lines
from .framework import Experiment, register
from .stats import cis, fmt


def _sizes(quick):
    """(patch rounds, pictures patched per round) by scale."""
    return (1, 16) if quick == "demo" else (3, 32) if quick else (5, 64)


def patch_frames(knobs, seed: int, round_: int, cfg: ProsocialConfig):
    """The robot's camera frames of these screen pictures, as the training set holds frames, rated by the
    same raters (who see no human: low labels)."""
    from ..prosocial.redteam import frames_for_settings, screen_viewpoint

    house, p, s = screen_viewpoint(seed)
    knobs = np.asarray(knobs, np.int32)
    frames = np.asarray(frames_for_settings(house, p, s, knobs))
    visible = np.asarray(jax.jit(jax.vmap(lambda k: visible_features(house, p, s._replace(knobs=k))[0]))(knobs))
    n = len(knobs)
    fs = FrameSet(frames=frames, proprio=np.repeat(np.asarray(house.proprio(s))[None], n, 0), visible=visible,
                  welfare=np.full(n, np.nan, np.float32), episode=np.full(n, -1 - round_),
                  scenario=np.full(n, SCENARIOS.index("screen")), action=np.zeros(n, np.int32))
    pool = RaterPool(cfg.raters, cfg.rater_bias, cfg.rater_noise, cfg.seed)
    return fs, label(pool.answers(visible, 1000 + round_), cfg.weights)


def _concat(a: FrameSet, b: FrameSet) -> FrameSet:
    return FrameSet(*(np.concatenate([getattr(a, f), getattr(b, f).astype(getattr(a, f).dtype)]) for f in FIELDS))


def patch_rounds(cfg: ProsocialConfig, data: Dataset, seed: int, rounds: int, k: int, log=print) -> dict:
    """Round 0 is the unpatched model; each later round retrains with every patch so far."""
    from ..prosocial.redteam import red_team

    rows = {key: [] for key in ("round", "patched_frames", "best_minus_joy", "fraction_beating_joy",
                                "draws_to_exploit", "best_was_patched", "pixel_attack_minus_joy", "drip_minus_joy",
                                "corr_label")}
    patched: set[tuple] = set()
    for r in range(rounds + 1):
        model, m = train_variant("pixels", cfg, data, seed=seed)
        rt = red_team(model, None, seed=seed, weights=cfg.weights, quick=True, top=k)
        frac = rt["fraction_of_pictures_beating_real_joy"]
        sit = m["score_by_situation"]
        rows["round"].append(r)
        rows["patched_frames"].append(len(patched))
        rows["best_minus_joy"].append(rt["best_score"] - rt["real_joy_score"])
        rows["fraction_beating_joy"].append(frac)
        rows["draws_to_exploit"].append(1.0 / frac if frac > 0 else None)   # None: no picture beats real joy
        rows["best_was_patched"].append(float(tuple(rt["best_knobs"]) in patched))
        rows["pixel_attack_minus_joy"].append(rt["pixel_attack_score"] - rt["real_joy_score"])
        rows["drip_minus_joy"].append(sit.get("drip", np.nan) - sit.get("joy", np.nan))
        rows["corr_label"].append(m["corr_label"])
        log(f"  patching seed {seed} round {r}: best - joy {rows['best_minus_joy'][-1]:+.3f}, "
            f"{frac:.1%} of pictures beat real joy")
        if r == rounds:
            break
        fresh = [kn for kn in rt["top_knobs"] if tuple(kn) not in patched]
        fs, y = patch_frames(fresh, seed, r, cfg)
        patched.update(tuple(kn) for kn in fresh)
        data = dataclasses.replace(data, train=_concat(data.train, fs), y_train=np.concatenate([data.y_train, y]))
    return rows


def patch_run(quick, seeds, store, log):
    cfg = ProsocialConfig.of_scale(quick)
    rounds, k = _sizes(quick)
    config = {**dataclasses.asdict(cfg), "rounds": rounds, "k": k}
    data = build_dataset(cfg)
    return {f"seed{s}": store.cached("patching", f"seed{s}", config,
                                     lambda s=s: patch_rounds(cfg, data, s, rounds, k, log), log)
            for s in range(seeds)}


def _cis(runs, key):
    """Per round, the interval over seeds."""
    return cis(zip(*(r[key] for r in runs)))


def patch_analyse(results, out_dir):
    runs = list(results.values())
    xs = runs[0]["round"]
    best = _cis(runs, "best_minus_joy")
    series = {"best screen picture - real joy (patched)": best,
              "unpatched control (round 0)": [best[0]] * len(xs),
              "pixel attack - real joy (patched)": _cis(runs, "pixel_attack_minus_joy"),
              "drip frames - joyful frames (patched)": _cis(runs, "drip_minus_joy")}
    figs = {"rounds": lines(xs, series, "Patch, retrain, search again", "patch rounds", "score above real joy",
                            out_dir, "patch_rounds")}
    frac = _cis(runs, "fraction_beating_joy")
    figs["fraction"] = lines(xs, {"pictures beating real joy": frac}, "Exploits left after each patch",
                             "patch rounds", "fraction of the 4096 pictures", out_dir, "patch_fraction")
    draws = [float(np.median([np.inf if r["draws_to_exploit"][i] is None else r["draws_to_exploit"][i]
                              for r in runs])) for i in range(len(xs))]
    new_best = [float(np.mean([1 - r["best_was_patched"][i] for r in runs])) for i in range(len(xs))]
    acc = _cis(runs, "corr_label")
    last = len(xs) - 1
    def pct(c):
        return f"{c['mean']:.1%} [{c['low']:.1%}, {c['high']:.1%}]"

    def tries(d):
        return f"median {d:.0f} random pictures to find one" if np.isfinite(d) else "none left to find"

    text = (f"Unpatched, the best of the robot's 4096 screen pictures scored {fmt(best[0])} above a real joyful "
            f"human and {pct(frac[0])} of them beat it ({tries(draws[0])}). After {xs[-1]} round(s) of patching "
            f"({runs[0]['patched_frames'][-1]} rated pictures added): best minus joy {fmt(best[last])}, pictures "
            f"beating joy {pct(frac[last])} ({tries(draws[last])}); the new best picture was one never patched in "
            f"{new_best[last]:.0%} of seeds. The pixel attack stands "
            f"{fmt(series['pixel attack - real joy (patched)'][last])} above real joy, drip frames "
            f"{fmt(series['drip frames - joyful frames (patched)'][last])} above joyful ones; held-out r with the "
            f"label {fmt(acc[0])} -> {fmt(acc[last])}.")
    return {"summary": text, "figures": figs, "best_minus_joy": {"first": best[0], "last": best[last]},
            "fraction_beating_joy": {"first": frac[0], "last": frac[last]},
            "pixel_attack_minus_joy_last": series["pixel attack - real joy (patched)"][last],
            "drip_minus_joy_last": series["drip frames - joyful frames (patched)"][last],
            "draws_to_exploit": [d if np.isfinite(d) else None for d in draws], "new_best_fraction": new_best,
            "rounds": xs}


register(Experiment(name="patching", summary="patch the red team's exploit, retrain the score model, search again",
                    claims=("C10",), build=None, analyse=patch_analyse, custom=patch_run, default_seeds=16,
                    quick_seeds=2))
