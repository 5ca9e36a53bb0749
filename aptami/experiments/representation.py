"""Two experiments about what the Intrinsic Cost reads (issue: Experiments II, items 5 and 6).

`latent-drift` (C13, tailcalled): freeze an IC head on the world model's latents at t0, keep training
the encoder self-supervised, and measure how the "immutable" IC's outputs drift: rank correlation with
its t0 outputs, and correlation with the raters' labels. Controls: the IC on pixels (frozen end to
end: nothing can drift), and a head refitted at each checkpoint (what a mutable IC would get).

`probe-vs-supervised` (C14, red75prime / McCluskey): label efficiency of a linear probe on frozen
self-supervised features vs a CNN trained from scratch, and how exploitable each is by the red team.
"""
from __future__ import annotations

import dataclasses
import functools

import equinox as eqx
import jax
import numpy as np

from ..prosocial.pipeline import (
    ProsocialConfig,
    build_dataset,
    footage,
    new_world_model,
    predict,
    ssl_train,
    train_variant,
)
from .figures import lines
from .framework import Experiment, register
from .stats import as_ci, bootstrap_ci, cis, fmt


def _spearman(a, b):
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def _cfg(quick):
    return ProsocialConfig.of_scale(quick)


# ----------------------------------------------------------------------------- latent drift
def drift_run(quick, seeds, store, log):
    cfg = _cfg(quick)
    chunks, per_chunk = (1, 120) if quick == "demo" else (4, 100) if quick else (8, 250)
    config = {**dataclasses.asdict(cfg), "chunks": chunks, "per_chunk": per_chunk}
    data = build_dataset(cfg)

    @functools.cache
    def shared():  # only when some seed is not in the store yet
        pixels, _ = train_variant("pixels", cfg, data)
        return footage(cfg), pixels, predict(pixels, data.test)

    def one(s):
        video, pixels, pix0 = shared()
        log(f"  latent-drift seed {s}: self-supervised training to t0 ...")
        wm, opt_state, _ = ssl_train(new_world_model(100 + s), video, cfg.ssl_updates, jax.random.key(200 + s))
        head_model, m0 = train_variant("latent", cfg, data, wm, seed=s)   # the IC head, frozen at t0
        out0 = predict(head_model, data.test)
        rows = {"updates": [0], "rank_corr_t0": [1.0], "corr_label": [float(np.corrcoef(out0, data.y_test)[0, 1])],
                "refit_corr_label": [m0["corr_label"]], "pixels_rank_corr_t0": [1.0]}
        for c in range(chunks):
            wm, opt_state, _ = ssl_train(wm, video, per_chunk, jax.random.key(300 + 17 * s + c), opt_state)
            drifted = eqx.tree_at(lambda m: m.encoder, head_model, wm.encoder)  # same frozen head, new latents
            out = predict(drifted, data.test)
            _, refit = train_variant("latent", cfg, data, wm, seed=s)
            rows["updates"].append((c + 1) * per_chunk)
            rows["rank_corr_t0"].append(_spearman(out, out0))
            rows["corr_label"].append(float(np.corrcoef(out, data.y_test)[0, 1]))
            rows["refit_corr_label"].append(refit["corr_label"])
            rows["pixels_rank_corr_t0"].append(_spearman(predict(pixels, data.test), pix0))
        return rows

    return {f"seed{s}": store.cached("latent-drift", f"seed{s}", config, lambda: one(s), log) for s in range(seeds)}


def drift_analyse(results, out_dir):
    runs = list(results.values())
    xs = runs[0]["updates"]
    series = {name: cis([[r[key][i] for r in runs] for i in range(len(xs))])
              for name, key in (("latent IC vs its t0 outputs (rank r)", "rank_corr_t0"),
                                ("pixel IC vs its t0 outputs (control)", "pixels_rank_corr_t0"))}
    figs = {"drift": lines(xs, series, "An 'immutable' IC reading latents, as SSL continues",
                           "self-supervised updates after t0", "rank correlation with t0", out_dir, "drift")}
    acc = {name: cis([[r[key][i] for r in runs] for i in range(len(xs))])
           for name, key in (("frozen latent head", "corr_label"), ("head refitted (mutable IC)", "refit_corr_label"))}
    figs["accuracy"] = lines(xs, acc, "Correlation with the raters' labels", "self-supervised updates after t0",
                             "held-out r with the label", out_dir, "drift_accuracy")
    last = series["latent IC vs its t0 outputs (rank r)"][-1]
    lab0, lab1 = acc["frozen latent head"][0], acc["frozen latent head"][-1]
    text = (f"After {xs[-1]} more self-supervised updates the frozen latent-reading IC's outputs keep a rank "
            f"correlation of {fmt(last)} with its outputs at t0 (pixel IC: 1 by construction); its correlation "
            f"with the labels went from {fmt(lab0)} to {fmt(lab1)}, while a head refitted at the end reaches "
            f"{fmt(acc['head refitted (mutable IC)'][-1])}.")
    return {"summary": text, "figures": figs, "final_rank_corr": last}


# ----------------------------------------------------------------------------- probe vs supervised
def probe_run(quick, seeds, store, log):
    from ..prosocial.pipeline import ssl_world_model
    from ..prosocial.redteam import red_team

    cfg = _cfg(quick)
    sizes = (100, 1000) if quick else (30, 100, 300, 1000, 3000, 10000)
    config = {**dataclasses.asdict(cfg), "sizes": sizes}
    data = build_dataset(cfg)
    world_model = functools.cache(lambda: ssl_world_model(cfg))  # only when some seed is not stored yet

    def one(s):
        wm = world_model()
        log(f"  probe-vs-supervised seed {s} ...")
        rows = {"sizes": [], "pixels": [], "probe": []}
        for n in sizes:
            n_eff = min(n, len(data.y_train))
            rows["sizes"].append(n_eff)
            for v in ("pixels", "probe"):
                _, m = train_variant(v, cfg, data, wm, n_eff, seed=s)
                rows[v].append(m["corr_label"])
        for v in ("pixels", "probe"):
            model, _ = train_variant(v, cfg, data, wm, seed=s)
            r = red_team(model, None, seed=s, quick=True)
            rows[f"{v}_exploit"] = {"best_minus_joy": r["best_score"] - r["real_joy_score"],
                                    "fraction_beating_joy": r["fraction_of_pictures_beating_real_joy"],
                                    "pixel_attack_minus_joy": r["pixel_attack_score"] - r["real_joy_score"]}
        return rows

    return {f"seed{s}": store.cached("probe-vs-supervised", f"seed{s}", config, lambda: one(s), log)
            for s in range(seeds)}


def probe_analyse(results, out_dir):
    runs = list(results.values())
    xs = runs[0]["sizes"]
    series = {v: cis([[r[v][i] for r in runs] for i in range(len(xs))]) for v in ("pixels", "probe")}
    figs = {"label_efficiency": lines(xs, series, "Label efficiency: held-out r with the raters' label",
                                      "labels", "r", out_dir, "label_efficiency", logx=True)}
    ex = {v: {k: bootstrap_ci([r[f"{v}_exploit"][k] for r in runs]) for k in runs[0][f"{v}_exploit"]}
          for v in ("pixels", "probe")}
    text = ("Held-out correlation with the label at " + ", ".join(
        f"{n} labels: CNN {fmt(series['pixels'][i])} vs probe {fmt(series['probe'][i])}" for i, n in enumerate(xs))
        + ". Red team, best screen picture minus a real joyful human's score: CNN "
        f"{ex['pixels']['best_minus_joy'][0]:+.2f} [{ex['pixels']['best_minus_joy'][1]:+.2f}, "
        f"{ex['pixels']['best_minus_joy'][2]:+.2f}], probe {ex['probe']['best_minus_joy'][0]:+.2f} "
        f"[{ex['probe']['best_minus_joy'][1]:+.2f}, {ex['probe']['best_minus_joy'][2]:+.2f}]; the pixel attack "
        f"beats real joy by CNN {ex['pixels']['pixel_attack_minus_joy'][0]:+.2f}, probe "
        f"{ex['probe']['pixel_attack_minus_joy'][0]:+.2f}.")
    from .stats import diff_ci

    d = diff_ci([r["probe"][0] for r in runs], [r["pixels"][0] for r in runs])
    eff = {"fewest": xs[0], "probe_minus_pixels_fewest": as_ci(d)}
    return {"summary": text, "figures": figs, "exploitability": ex, "efficiency": eff}


register(Experiment(name="latent-drift", summary="an IC head on latents, frozen, as self-supervised learning goes on",
                    claims=("C13",), build=None, analyse=drift_analyse, custom=drift_run, default_seeds=16,
                    quick_seeds=2))
register(Experiment(name="probe-vs-supervised", summary="label efficiency and exploitability: SSL probe vs CNN",
                    claims=("C14",), build=None, analyse=probe_analyse, custom=probe_run, default_seeds=16,
                    quick_seeds=2))

