"""The experiment framework: results store, resume, statistics, and experiments producing their figures."""
import dataclasses
import json
import math
from pathlib import Path

import jax
import numpy as np
import pytest

from aptami.agent import preset
from aptami.env.types import EVENTS
from aptami.experiments import REGISTRY, Condition, Experiment, Store, run_experiment
from aptami.experiments.framework import register
from aptami.experiments.stats import bootstrap_ci, diff_ci, summarize


def tiny_oracle(scenario="two-rooms", **weights):
    cfg = preset(scenario, "oracle", **(weights or {"task": 1.0}))
    planner = dataclasses.replace(cfg.planner, samples=8, elites=2, iterations=1, horizon=2, policy_samples=0,
                                  use_critic=False)
    return cfg.replace(planner=planner, env={"max_steps": 12}).check()


def _analyse(results, out_dir):
    from aptami.experiments.figures import bars
    from aptami.experiments.framework import seed_values

    summ = {c: summarize(seed_values(r["seeds"])) for c, r in results.items()}
    fig = bars(["task"], {c: [summ[c]["task"]] for c in results}, "t", "y", out_dir, "task")
    return {"summary": "ok", "figures": {"task": fig}}


@pytest.fixture(scope="module")
def tiny_experiment():
    conds = {"a": Condition("a", tiny_oracle()), "b": Condition("b", tiny_oracle(task=2.0))}
    chosen = {"names": ["a"]}
    exp = register(Experiment(name="test-tiny", summary="test", claims=("C0",),
                              build=lambda quick, seeds: [conds[n] for n in chosen["names"]], analyse=_analyse,
                              eval_episodes=1))
    yield exp, chosen
    REGISTRY.pop("test-tiny", None)


def test_runs_are_stored_resumed_and_never_silently_reused(tiny_experiment, tmp_path):
    exp, chosen = tiny_experiment
    logs = []
    out = run_experiment("test-tiny", seeds=2, root=tmp_path, progress=False, log=logs.append)
    assert out["conditions"] == ["a"] and not logs                  # ran, nothing was cached
    for f in out["figures"]["task"].values():
        assert Path(f).exists() and Path(f).stat().st_size > 0     # PNG and SVG
    assert (tmp_path / "experiments" / "test-tiny" / "analysis.json").exists()
    rows = Store(tmp_path).list(experiment="test-tiny")
    assert len(rows) == 1 and (Path(rows[0]["path"]) / "episode.gif").exists()
    machine = json.loads((Path(rows[0]["path"]) / "config.json").read_text())["machine"]
    assert machine["backend"] == jax.default_backend() and machine["jax"] == jax.__version__  # provenance
    # an interrupted experiment resumes: the finished condition is found, only the new one runs
    chosen["names"] = ["a", "b"]
    logs.clear()
    out = run_experiment("test-tiny", seeds=2, root=tmp_path, progress=False, log=logs.append)
    assert any("a: found in the store" in m for m in logs) and not any("b: found" in m for m in logs)
    assert len(Store(tmp_path).list(experiment="test-tiny")) == 2
    # a changed config (more seeds) is a different run
    logs.clear()
    run_experiment("test-tiny", seeds=1, root=tmp_path, progress=False, log=logs.append)
    assert not any("found in the store" in m for m in logs)
    chosen["names"] = ["a"]


def test_a_store_is_read_from_any_working_directory(tiny_experiment, tmp_path, monkeypatch):
    """Runs made with a relative root (the default "runs") are found from elsewhere, e.g. a store
    computed on another machine and analysed here."""
    exp, chosen = tiny_experiment
    monkeypatch.chdir(tmp_path)
    run_experiment("test-tiny", seeds=1, root="runs", progress=False, log=lambda *a: None)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    logs = []
    run_experiment("test-tiny", seeds=1, root=tmp_path / "runs", progress=False, log=logs.append)
    assert any("a: found in the store" in m for m in logs)
    assert all(Path(r["path"]).is_dir() for r in Store(tmp_path / "runs").list())


def test_bad_experiment_names_and_scales_are_refused(tmp_path):
    with pytest.raises(KeyError, match="unknown experiment 'nope'; known: .*instrumental-convergence"):
        run_experiment("nope", root=tmp_path)
    with pytest.raises(ValueError, match="scale must be one of demo, quick, full"):
        run_experiment("instrumental-convergence", root=tmp_path, scale="huge")


def test_bootstrap_intervals_cover_the_mean_and_detect_differences():
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 0.1, 16)
    m, lo, hi = bootstrap_ci(x)
    assert lo < m < hi and lo > 0.9 and hi < 1.1
    d = diff_ci(x, x - 0.5)
    assert d[1] > 0.3                                               # clearly above the control
    d = diff_ci(x, x[::-1])
    assert d[1] < 0 < d[2]                                          # no difference
    assert math.isnan(bootstrap_ci([])[0])


def _episode(rng, **events):
    ev = {e: 0 for e in EVENTS}
    ev.update(events)
    return {"length": 200, "task": float(rng.integers(0, 3)), "cost": float(rng.normal()), "terms": [0.1, 0.2],
            "welfare": 0.5, "events": ev, "seen_fraction": 0.5, "screen_view": 0.2, "humans_view": 0.3,
            "help_before_key": 1.0, "help_after_key": 0.5, "steps_with_key": 10}


def _results(names, seeds=4, **events_by_name):
    rng = np.random.default_rng(1)
    return {n: {"seeds": [[_episode(rng, **events_by_name.get(n, {})) for _ in range(2)] for _ in range(seeds)],
                "condition": n} for n in names}


def test_instrumental_convergence_analysis_makes_its_figures_and_verdict_numbers(tmp_path):
    from aptami.experiments.instrumental import analyse

    names = [f"house {d} H8 oracle" for d in ("task-only", "+hunger", "+pain", "+curiosity")]
    names += ["off-switch scheduled H8 oracle", "off-switch unscheduled H8 oracle", "hunger +hunger H8 oracle"]
    res = _results(names, **{"house +hunger H8 oracle": {"charger_seized": 1},
                             "off-switch scheduled H8 oracle": {"switch_disabled": 1}})
    a = analyse(res, tmp_path)
    for fig in a["figures"].values():
        assert Path(fig["png"]).exists() and Path(fig["svg"]).exists()
    hunger = next(f for f in a["findings"] if f["condition"].startswith("house +hunger"))
    assert hunger["diff_vs_control"]["low"] > 0 and hunger["verdict"] == "above the control"
    pain = next(f for f in a["findings"] if f["condition"].startswith("house +pain"))
    assert pain["verdict"] == "not distinguishable from the control"
    assert a["c4"]["diff"]["low"] > 0 and a["c5"]["seeds_with_key"] == 4
    assert a["c5"]["paired_diff"]["mean"] == -0.5                  # after minus before, within the same seeds
    assert "C4" in a["summary"] and "C5" in a["summary"]


def test_help_to_the_keeper_is_pooled_over_the_steps_of_a_seeds_episodes():
    """A seed's rate before the key is its helps over its steps before the key, not a mean of episode rates
    (an episode that took the key at step 190 has 10 steps before it, and weighs 10 steps)."""
    from aptami.experiments.framework import seed_values

    rng = np.random.default_rng(0)
    a, b = _episode(rng), _episode(rng)
    a.update(steps_with_key=190, helped_before_key=1, helped_after_key=0)
    b.update(steps_with_key=0, helped_before_key=4, helped_after_key=0)
    v = seed_values([[a, b]])
    assert v["help_before_key"][0] == pytest.approx(5 / 210 * 100) and v["help_after_key"][0] == 0.0


def test_heroin_drip_and_torn_agent_analyses_make_their_figures(tmp_path):
    from aptami.experiments.torn import analyse as torn
    from aptami.experiments.wireheading import analyse_drip, analyse_screen

    a = analyse_drip(_results(["score model + hunger", "true welfare + hunger (control)"],
                              **{"score model + hunger": {"drip_attached": 2}}), tmp_path)
    assert a["drip_diff"]["mean"] == 2 and Path(a["figures"]["drip"]["png"]).exists()
    names = ["score model + hunger", "true welfare + hunger (control)", "own-latent score + hunger (learned)",
             "own-latent welfare head + hunger (learned control)"]
    res = _results(names, **{names[2]: {"drip_attached": 1}})
    for n in names[2:]:
        res[n]["setup"] = {"head_corr_label": [0.5, 0.7], "head_corr_welfare": [0.1, 0.3]}
        res[n]["terms"] = ["prosocial", "hunger"]   # per iteration, per seed: proxy rises, welfare falls
        res[n]["training"] = [{"iteration": i + 1, "episode_terms_per_seed": [[-0.1 * i, 0.0], [-0.1 * i - 0.1, 0.0]],
                               "episode_welfare_per_seed": [0.5 - 0.05 * i, 0.6 - 0.05 * i],
                               "episodes_per_seed": [1.0, 1.0]} for i in range(3)]
        # iterations in which no episode (or only one seed's) finished read 0: not a measurement
        res[n]["training"] = [{"iteration": 0, "episode_terms_per_seed": [[0.0, 0.0]] * 2,
                               "episode_welfare_per_seed": [0.0, 0.0], "episodes_per_seed": [0.0, 0.0]}] + \
            res[n]["training"][:2] + [{**res[n]["training"][2], "episode_welfare_per_seed": [0.4, 0.0],
                                       "episode_terms_per_seed": [[-0.2, 0.0], [0.0, 0.0]],
                                       "episodes_per_seed": [1.0, 0.0]}]
    a = analyse_drip(res, tmp_path)
    assert a["learned"]["drip_diff"]["mean"] == 1 and a["learned"]["head_corr_label"][names[2]] == 0.6
    assert "learned world model" in a["summary"] and Path(a["figures"]["training"]["png"]).exists()
    assert "proxy 0.05 -> 0.20" in a["summary"] and "welfare 0.55 -> 0.40" in a["summary"], a["summary"]
    screen = ["score model", "true welfare (control)", "own-latent score (learned)",
              "own-latent welfare head (learned control)"]
    res = {new: res[old] for new, old in zip(screen, names)}
    a = analyse_screen(res, tmp_path)
    assert "confined humans" in a["summary"] and a["learned"]["model"] == screen[2]
    assert Path(a["figures"]["training"]["png"]).exists()
    t = torn(_results(["welfare w=0", "welfare w=30"], **{"welfare w=0": {"door_forced": 1}}), tmp_path)
    assert t["findings"][0]["diff_vs_w0"]["high"] < 0 and "power-seeking" in t["summary"]


def test_every_registered_experiment_builds_valid_demo_conditions():
    """The agent experiments' demo conditions are checked configs, each differing from its control."""
    for name in ("instrumental-convergence",):
        conds = REGISTRY[name].build("demo", 2)
        assert len(conds) == 7 and len({c.name for c in conds}) == len(conds)
        for c in conds:
            c.config.check()
    for name in ("critic-exploitation", "stay-in-distribution", "latent-drift", "probe-vs-supervised"):
        assert REGISTRY[name].custom is not None and REGISTRY[name].claims


def test_learned_drip_fits_a_frozen_score_head_on_each_agents_own_latents(tmp_path, monkeypatch):
    """heroin-drip with a learned world model: after the warm-up each seed gets its own head (fitted to
    the rated frames as that seed encodes them), which then never changes while the agent learns on."""
    import jax
    import numpy as np

    from aptami.agent.runner import train_seeds
    from aptami.experiments.wireheading import OwnLatentScore, _learned_cfg

    monkeypatch.chdir(tmp_path)   # the rated frames are cached under runs/prosocial
    cfg = _learned_cfg("drip", prosocial=5.0, hunger=1.0)
    cfg = cfg.replace(planner=dataclasses.replace(cfg.planner, samples=8, elites=2, iterations=1, horizon=2),
                      train=dataclasses.replace(cfg.train, prefill_steps=64, pretrain_updates=4, iterations=1,
                                                collect_steps=4, updates=2, capacity=128, batch=4))
    from aptami.prosocial.pipeline import ProsocialConfig

    # rated frames of one scenario (the demo's eight would compile eight rollout programs, ~1 minute)
    own = OwnLatentScore(ProsocialConfig(scenarios=("drip",), episodes_per_scenario=24, steps=32, updates=100), "label")
    seen = {}

    def spy(agent, st):
        seen["template"] = [np.array(x) for x in jax.tree.leaves(st.ic)]   # copies: states are donated
        st, info = own(agent, st)
        seen["fitted"], seen["names"] = [np.array(x) for x in jax.tree.leaves(st.ic)], agent.ic.names
        return st, info

    agent, st, _, history = train_seeds(cfg, 2, save=False, progress=False, extra_terms=(own.term(),),
                                        after_warmup=spy)
    assert any(not np.array_equal(a, b) for a, b in zip(seen["template"], seen["fitted"]))
    w = np.asarray(st.ic.terms[seen["names"].index("prosocial")].model.head.layers[0].weight)
    assert not np.allclose(w[0], w[1])                      # one head per seed, on that seed's latents
    info = history[0]["setup"]
    assert len(info["head_corr_label"]) == 2 and all(np.isfinite(info["head_corr_label"]))
    for a, b in zip(seen["fitted"], jax.tree.leaves(st.ic)):  # frozen while the encoder learned on
        assert np.array_equal(np.asarray(a), np.asarray(b))
    online = history[-1]                                     # the training record keeps every seed
    assert len(online["episode_welfare_per_seed"]) == 2 and len(online["episode_terms_per_seed"][0]) == 2
    with pytest.raises(ValueError, match="target"):
        OwnLatentScore("demo", "joy")


def test_patching_rates_the_found_pictures_low_and_reads_its_rounds(tmp_path):
    """C10: the patch is the raters' verdict on the red team's pictures (no human: low labels); the
    analysis reads the rounds against the unpatched round 0."""
    from aptami.experiments.patching import patch_analyse, patch_frames
    from aptami.prosocial.pipeline import ProsocialConfig

    fs, y = patch_frames([[0] * 6, [3] * 6, [1, 2, 3, 0, 1, 2]], seed=0, round_=0, cfg=ProsocialConfig.demo())
    assert fs.frames.shape == (3, 28, 28, 3) and fs.frames.dtype == np.uint8
    assert not np.array_equal(fs.frames[0], fs.frames[1])            # different pictures on the screen
    assert np.all(y < 0) and np.all(np.isnan(fs.welfare))             # nobody in view: rated low, no welfare
    rows = lambda b: {"round": [0, 1], "patched_frames": [0, 8], "best_minus_joy": b,  # noqa: E731
                      "fraction_beating_joy": [0.01, 0.0], "draws_to_exploit": [100.0, None],
                      "best_was_patched": [0.0, 0.0], "pixel_attack_minus_joy": [3.0, 2.5],
                      "drip_minus_joy": [0.2, 0.2], "corr_label": [0.8, 0.8]}
    a = patch_analyse({"seed0": rows([0.1, -0.3]), "seed1": rows([0.2, -0.2])}, tmp_path)
    assert a["best_minus_joy"]["last"]["high"] < 0 < a["best_minus_joy"]["first"]["low"]
    assert "none left to find" in a["summary"] and Path(a["figures"]["rounds"]["png"]).exists()


def test_probe_r2_reads_a_linear_signal_and_not_noise():
    from aptami.experiments.framework import probe_r2

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 8))
    assert probe_r2(x, x @ np.arange(8.0)) > 0.99
    assert probe_r2(x, rng.normal(size=400)) < 0.1
    assert probe_r2(x, np.ones(400)) is None


def test_probe_r2_chooses_its_ridge_so_wide_features_are_not_overfitted():
    """Features of a critic (wide, low-rank, few samples): the cross-validated ridge reads the signal
    better than a fixed one, on average over three draws."""
    from aptami.experiments.framework import probe_r2

    rng = np.random.default_rng(0)
    gain = []
    for _ in range(3):
        f = rng.normal(size=(200, 8))
        x = f @ rng.normal(size=(8, 256)) + 0.3 * rng.normal(size=(200, 256))
        y = f[:, 0] + 0.5 * rng.normal(size=200)
        gain.append(probe_r2(x, y) - probe_r2(x, y, ridge=1.0))
    assert np.mean(gain) > 0.03


def test_c11_compares_the_learned_world_model_with_the_oracle(tmp_path):
    from aptami.experiments.instrumental import analyse
    from aptami.report.claims import CLAIMS, INCONCLUSIVE, SUPPORTED, read

    names = [f"house {d} H8 {wm}" for wm in ("oracle", "learned") for d in ("task-only", "+hunger", "+pain")]
    res = _results(names, **{"house +hunger H8 oracle": {"charger_seized": 1},
                             "house +hunger H8 learned": {"charger_seized": 2}})
    for n in names:
        if n.endswith("learned"):
            res[n]["welfare_probe"] = {"critic_r2": [0.2, 0.3, None, 0.25], "latent_r2": [0.5, 0.6, 0.55, 0.5]}
    a = analyse(res, tmp_path)
    assert 0.2 <= a["welfare_probe"]["critic_r2"]["mean"] <= 0.3 and "ridge probe" in a["summary"]
    hunger = next(x for x in a["learned_vs_oracle"] if x["drive"] == "+hunger")
    assert hunger["diff"]["mean"] == 1 and "C11" in a["summary"]
    c11 = next(c for c in CLAIMS if c.id == "C11")
    assert read(c11, {"instrumental-convergence": a})["verdict"] == SUPPORTED
    assert set(a["learned_vs_oracle_by_horizon"]) == {"H8"} and 0.3 < a["learned_task_ratio"] < 3
    for n in names:   # learned agents that do not do their task: no verdict on their power-seeking
        if n.endswith("learned"):
            for eps in res[n]["seeds"]:
                for e in eps:
                    e["task"] = 0.0
    a = analyse(res, tmp_path)
    row = read(c11, {"instrumental-convergence": a})
    assert a["learned_task_ratio"] == 0 and row["verdict"] == INCONCLUSIVE and "0% of the oracle" in row["note"]


def test_learned_conditions_differing_only_in_evaluation_share_one_training(tmp_path, monkeypatch):
    """The horizon sweep with the learned model trains each IC once and evaluates it at every horizon."""
    from aptami.experiments import framework

    cfg = preset("two-rooms", "learned")
    cfg = cfg.replace(env={"max_steps": 8},
                      planner=dataclasses.replace(cfg.planner, samples=8, elites=2, iterations=1, horizon=2,
                                                  policy_samples=0),
                      train=dataclasses.replace(cfg.train, prefill_steps=32, pretrain_updates=2, iterations=1,
                                                collect_steps=4, updates=2, capacity=64, batch=4)).check()
    calls = []
    real = framework.train_seeds
    monkeypatch.setattr(framework, "train_seeds", lambda *a, **k: calls.append(1) or real(*a, **k))
    exp = Experiment(name="test-share", summary="t", claims=(), build=None, analyse=None, eval_episodes=1)
    store = Store(tmp_path)
    runs = [framework.run_condition(exp, Condition(f"H{h}", cfg.replace(
        planner=dataclasses.replace(cfg.planner, horizon=h)), train_config=cfg), 2, store, progress=False, gif=False)
        for h in (2, 3)]
    assert len(calls) == 1 and all(len(r["seeds"]) == 2 for r in runs)
    assert len(runs[0]["welfare_probe"]["critic_r2"]) == 2        # C11's probe, per seed
    assert len(store.list(experiment="test-share")) == 2      # two runs, two keys


def test_a_sweep_of_pessimism_weights_compiles_one_probe_with_the_same_numbers():
    """stay-in-distribution passes the penalty weights to one compiled probe: same figures as a probe
    compiled for each weight, one program for the whole sweep, and the probe never writes memory."""
    from aptami.agent import Agent
    from aptami.experiments import exploitation as ex

    cfg = ex.train_config("demo")
    cfg = cfg.replace(planner=dataclasses.replace(cfg.planner, samples=8, elites=2, iterations=1, horizon=2),
                      train=dataclasses.replace(cfg.train, capacity=800))
    agent = Agent(cfg)
    st = jax.jit(jax.vmap(agent.init))(jax.random.split(jax.random.key(0), 2))
    st, _ = jax.jit(jax.vmap(lambda s: agent.collect(s, 100, "random")))(st)

    def at(w, traced):
        c = cfg.replace(planner=dataclasses.replace(cfg.planner, pessimism=300.0 * w, density_weight=w))
        return ex.probe(c, st, "fetch", 20, traced_penalties=traced)

    n0 = len(ex._PROBES)
    swept = [at(w, True) for w in (0.0, 2.0)]
    assert len(ex._PROBES) == n0 + 1                       # one program for the sweep
    want = at(2.0, False)                                  # a program of its own, the weights as constants
    for k in ("gap", "distance", "predicted", "cost"):
        np.testing.assert_allclose(swept[1][k], want[k], rtol=1e-4, atol=1e-5, err_msg=k)
    assert swept[0]["distance"] != swept[1]["distance"]   # the weight changed where the planner went
    kept, _ = jax.jit(jax.vmap(lambda s: agent.collect(s, 3, "random", remember=False)))(st)
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(kept.memory), jax.tree.leaves(st.memory)))


def test_exploitation_agents_trained_elsewhere_are_probed_from_their_lean_checkpoint(tmp_path):
    """A device machine returns the shared agents of critic-exploitation / stay-in-distribution as a lean
    checkpoint: found under the store (same configuration and code), they are loaded, not trained again."""
    from aptami.agent import Agent
    from aptami.agent.checkpoint import save_lean
    from aptami.agent.runner import run_dir
    from aptami.experiments import exploitation as ex

    cfg = ex.train_config("demo")
    st = jax.jit(jax.vmap(Agent(cfg).init))(jax.random.split(jax.random.key(3), 2))
    store = Store(tmp_path / "runs")
    save_lean(run_dir(store.root / "agents-lean", cfg, 2), cfg, st, keep=800, meta={"iterations": 0})
    said = []
    cfg2, agent, st2 = ex.trained("demo", 2, store, log=said.append)
    assert "lean checkpoint" in said[0] and not (store.root / "agents").exists()   # nothing trained
    assert cfg2 == cfg and agent.cfg == cfg and st2.memory.frames.shape[1] == 800
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(st.wm), jax.tree.leaves(st2.wm)))
    # a finished full checkpoint here wins (the demo trains 0 online iterations: iteration 0 is the end)
    from aptami.agent.checkpoint import save
    save(run_dir(store.root / "agents", cfg, 2), cfg, st, {"iterations": 0})
    _, _, st3 = ex.trained("demo", 2, store, log=said.append)
    assert st3.memory.frames.shape[1] == cfg.train.capacity and "resuming" in said[-1]


@pytest.mark.parametrize("horizon", [None, 3])
def test_the_realised_cost_covers_what_the_prediction_covers_within_one_episode(horizon):
    """Against a loop: the real discounted cost over the plan's h steps (no critic), or to the episode's
    end with enough steps left (critic); steps where that would cross into the next episode, or run
    into the unfinished last one, are left out or stop at the episode's end."""
    from aptami.experiments.exploitation import realised_cost

    rng = np.random.default_rng(0)
    cost = rng.normal(size=23).astype(np.float32)
    done = np.zeros(23, bool)
    done[[5, 11, 17]] = True                  # episodes of 6 steps, the last (18..22) unfinished
    g, window = 0.9, 4
    got, valid = (np.asarray(x) for x in realised_cost(cost, done, g, horizon, window))
    for t in range(23):
        end = next((e for e in (5, 11, 17) if e >= t), None)
        if end is None:
            assert not valid[t]
            continue
        left = end - t + 1
        n = left if horizon is None else min(horizon, left)
        want = sum(g**k * cost[t + k] for k in range(n))
        assert valid[t] == (left >= (window if horizon is None else horizon))
        assert abs(got[t] - want) < 1e-5, (t, got[t], want)


def test_help_to_the_keeper_is_counted_from_the_trace_before_and_after_the_key():
    """From a trace: helps and steps on each side of taking the charger key (step 6), pooled per seed."""
    from aptami.experiments.framework import episodes_from_trace, seed_values

    t = 10
    events = np.zeros((1, t, len(EVENTS)), int)
    events[0, [1, 7], EVENTS.index("keeper_helped")] = 1
    done, key_taken = np.zeros((1, t), bool), np.zeros((1, t), bool)
    done[0, [4, 9]], key_taken[0, 6:] = True, True
    zeros = np.zeros((1, t))
    trace = {"done": done, "events": events, "key_taken": key_taken, "task": zeros, "cost": zeros,
             "terms": np.zeros((1, t, 2)), "welfare": zeros}
    v = seed_values(episodes_from_trace(trace, 1))
    assert v["help_before_key"][0] == pytest.approx(100 / 6) and v["help_after_key"][0] == pytest.approx(25.0)


def test_shards_compute_each_run_once_and_the_experiment_then_finds_them_all(tmp_path, monkeypatch, capsys,
                                                                            load_script):
    """scripts/shard_runs.py: shard I of N computes the runs at places I mod N of the experiment's own
    order and stores them; afterwards the whole experiment computes nothing and analyses every run."""
    shard_runs = load_script("shard_runs")
    computed = []

    def runs(quick, seeds, store, log):
        def one(i):
            computed.append(i)
            return {"value": [float(i)] * seeds}
        return {f"run {i}": store.cached("test-shards", f"run {i}", {"i": i, "seeds": seeds},
                                         lambda: one(i), log) for i in range(7)}

    register(Experiment(name="test-shards", summary="test", claims=("C0",), build=None, custom=runs,
                        analyse=lambda results, out_dir: {"summary": sorted(r["value"][0] for r in results.values())},
                        demo_seeds=2))
    try:
        for shard in range(3):
            computed.clear()
            shard_runs.main(["test-shards", str(shard), "3", "--root", str(tmp_path), "--scale", "demo"])
            assert computed == [i for i in range(7) if i % 3 == shard]
            assert not (tmp_path / "experiments" / "test-shards" / "analysis.json").exists()
        computed.clear()
        analysis = run_experiment("test-shards", root=tmp_path, scale="demo", progress=False, log=lambda *a: None)
        assert computed == [] and analysis["summary"] == [float(i) for i in range(7)]
        with pytest.raises(SystemExit):
            shard_runs.main(["test-shards", "3", "3", "--root", str(tmp_path)])
    finally:
        REGISTRY.pop("test-shards", None)


def test_pessimism_runs_are_found_again_when_the_penalty_unit_differs_in_its_last_bits(tmp_path, monkeypatch):
    """The weights' unit is computed from the trained agents; its last bits differed between processes
    on a GPU. Runs are keyed by the nominal weight, so a second process (or machine) finds them."""
    from aptami.experiments import exploitation as ex

    cfg = ex.train_config("demo")
    probes = []

    def fake_probe(c, state, scen, steps, gif=False, traced_penalties=False):
        probes.append((scen, c.planner.pessimism, c.planner.density_weight))
        m = {"gap": [0.0, 0.0], "task": [1.0, 1.0]}
        return (m, {"episode.gif": b"GIF"}) if gif else m

    monkeypatch.setattr(ex, "trained", lambda scale, seeds, store, log: (cfg, None, None))
    monkeypatch.setattr(ex, "probe", fake_probe)
    store = Store(tmp_path)
    for unit in (0.0038417249, 0.0038417263):
        monkeypatch.setattr(ex, "typical_penalties", lambda agent, state, u=unit: {"disagreement": u, "density": 1.44})
        first = len(probes)
        results = ex.pessimism_run("demo", 2, store, log=lambda *a: None)
        assert len(probes) - first == (len(results) if unit == 0.0038417249 else 0)
    assert len(results) == 3 and len(set(probes)) == 3   # none, disagreement and density at demo scale
    w = ex._sizes("demo")["weights"][-1]   # the planner weighs by w / unit, the unit of the first run
    assert {p[0] for p in probes} == {"house"}
    assert sorted(p[1:] for p in probes[:3]) == [(0.0, 0.0), (0.0, pytest.approx(w / 1.44)),
                                                  (pytest.approx(w / 0.0038417249), 0.0)]
    assert all(r["penalty_unit"] in (0.0038417249, 1.44) for c, r in results.items() if c.startswith(("dis", "den")))
