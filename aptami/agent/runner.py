"""Host-side orchestration: train several seeds at once (vmapped), in chunks, with checkpoints.

The heavy work stays in jitted, scanned programs; Python only loops over chunks of iterations
to show progress and to save checkpoints, so an interrupted run resumes. A checkpoint of 16 fetch
agents is 3.4 GB of remembered frames before compression (31 s with np.savez_compressed on a 2-core
CPU), while an H200 trained them at 14 s per chunk with a checkpoint after each: checkpoints are
written at most every `checkpoint_s` seconds, after the warm-up, at the end, and on an interruption
(Ctrl-C, SIGINT), after the chunk in flight finishes. A changed configuration gets a different run
folder (its hash), never old results.
"""
from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import jax
import numpy as np

from ..util import file_lock
from . import checkpoint
from .agent import Agent
from .config import AgentConfig


def run_dir(root, cfg: AgentConfig, seeds: int, extra_terms=()) -> Path:
    terms = "".join(f"+{t.name}" for t in extra_terms)  # user terms are part of what was trained
    return Path(root) / f"{cfg.scenario}-{cfg.train.world_model}-s{seeds}-{checkpoint.config_hash(cfg)}{terms}"


def _summ(m: dict) -> dict:
    return {k: float(np.mean(np.asarray(v))) for k, v in m.items() if np.ndim(v) <= 2 and k != "z"}


def train_seeds(cfg: AgentConfig, seeds: int, root="runs/agents", chunk: int = 5, progress: bool = True,
                seed0: int = 0, save: bool = True, log=print, extra_terms=(), after_warmup=None,
                checkpoint_s: float = 120.0):
    """Train `seeds` agents in one vmapped program; resume from `root` when a checkpoint exists.
    Processes that ask for the same run (experiments side by side) take turns: the first trains it,
    the others then resume its finished checkpoint instead of writing the same files at once.

    `after_warmup(agent, state) -> (state, info)`, if given, runs once between the warm-up and the
    online iterations (e.g. to fit an IC term on the agent's own latents, then frozen); `info` goes
    into the warm-up row of the history. `checkpoint_s`: least seconds between checkpoints (0: each chunk).

    Returns (agent, state with a leading seed axis, run folder, list of per-iteration metrics).
    """
    folder = run_dir(root, cfg, seeds, extra_terms)
    with file_lock(folder) if save else contextlib.nullcontext():
        return _train_seeds(cfg, seeds, folder, chunk, progress, seed0, save, log, extra_terms, after_warmup,
                            checkpoint_s)


def _train_seeds(cfg, seeds, folder, chunk, progress, seed0, save, log, extra_terms, after_warmup, checkpoint_s):
    from tqdm import tqdm

    agent = Agent(cfg, extra_terms)
    history_file = folder / "metrics.jsonl"
    done_iters, state, history = 0, None, []
    if save and (folder / "state.npz").exists():
        agent, state, meta = checkpoint.load(folder, extra_terms)
        done_iters = int(meta.get("iterations", 0))
        if history_file.exists():
            history = [json.loads(line) for line in history_file.read_text().splitlines() if line.strip()]
        log(f"resuming {folder} at iteration {done_iters}/{cfg.train.iterations}")
    total = cfg.train.iterations
    pre = cfg.train.pretrain_updates
    pre_chunk = max(1, min(pre, 250)) if pre else 0
    pre_chunks = -(-pre // pre_chunk) if pre else 0
    bar = tqdm(total=total + pre_chunks + 1, initial=done_iters + (pre_chunks + 1 if state is not None else 0),
               disable=not progress, desc=f"train {cfg.scenario} ({cfg.train.world_model}, {seeds} seeds)",
               unit="chunk")
    if state is None:
        t0 = time.time()
        keys = jax.random.split(jax.random.key(seed0), seeds)
        state = jax.jit(jax.vmap(agent.prefill), donate_argnums=0)(jax.jit(jax.vmap(agent.init))(keys))
        bar.update(1)
        m = {}
        for i in range(pre_chunks):
            n = min(pre_chunk, pre - i * pre_chunk)
            state, m = _pretrain_fn(agent, n)(state)
            bar.update(1)
            bar.set_postfix(wm_loss=f"{float(np.mean(np.asarray(m['wm_loss']))):.3f}")
        row = {"iteration": 0, "stage": "warmup", "seconds": round(time.time() - t0, 1), **_summ(m)}
        if after_warmup is not None:
            state, row["setup"] = after_warmup(agent, state)
        history.append(row)
        if save:
            _save(folder, cfg, state, 0, history)
    step = jax.jit(jax.vmap(lambda s: agent.iterate(s, chunk)), donate_argnums=0)
    last = jax.jit(jax.vmap(lambda s: agent.iterate(s, (total - done_iters) % chunk or chunk)), donate_argnums=0)
    saved_iters, saved_at, in_flight = done_iters, time.time(), None

    def record():  # waits for the chunk in flight, then appends its rows at once
        nonlocal done_iters, in_flight
        m, n, t0 = in_flight
        rows = []
        for i in range(n):
            row = {}
            for k, v in m.items():
                a = np.asarray(v)[:, i]                     # [seeds] or [seeds, terms]
                row[k] = float(a.mean()) if a.ndim == 1 else a.mean(0).tolist()
                if k in PER_SEED:  # a few curves keep every seed (intervals over seeds as training proceeds)
                    row[f"{k}_per_seed"] = a.tolist()
            rows.append({"iteration": done_iters + i + 1, "stage": "online",
                         "seconds": round((time.time() - t0) / n, 2), **row})
        history.extend(rows)
        done_iters, in_flight = done_iters + n, None

    try:
        while done_iters < total:
            n = min(chunk, total - done_iters)
            t0 = time.time()
            state, m = (step if n == chunk else last)(state)
            in_flight = (m, n, t0)
            record()
            bar.update(n)
            bar.set_postfix(success=f"{history[-1].get('success_rate', 0):.2f}",
                            cost=f"{history[-1].get('episode_cost', 0):.2f}")
            if save and (done_iters == total or time.time() - saved_at >= checkpoint_s):
                _save(folder, cfg, state, done_iters, history)
                saved_iters, saved_at = done_iters, time.time()
    except KeyboardInterrupt:
        if save and (in_flight is not None or done_iters > saved_iters):
            log(f"interrupted: finishing the chunk in flight and saving {folder}")
            try:
                if in_flight is not None:
                    record()
                _save(folder, cfg, state, done_iters, history)
            except RuntimeError as e:  # interrupted while dispatching: the state's buffers were donated
                log(f"could not save ({e}); the run resumes from iteration {saved_iters}")
        raise
    bar.close()
    return agent, state, folder, history


PER_SEED = ("episode_welfare", "episode_terms", "episodes")
_PRETRAIN = {}


def _pretrain_fn(agent, n):
    key = (id(agent), n)
    if key not in _PRETRAIN:
        _PRETRAIN[key] = jax.jit(jax.vmap(lambda s: agent.pretrain(s, n)), donate_argnums=0)
    return _PRETRAIN[key]


def _save(folder, cfg, state, iterations, history):
    checkpoint.save(folder, cfg, state, {"iterations": iterations})
    (folder / "metrics.jsonl").write_text("".join(json.dumps(h) + "\n" for h in history))


def _defined(per_seed):
    """The mean over the seeds where a figure is defined (None if it is nowhere: e.g. R^2 where the
    realised cost never varied, as for an agent that never did anything)."""
    x = np.asarray(per_seed, np.float64)
    return float(np.nanmean(x)) if np.isfinite(x).any() else None


def evaluate_seeds(agent: Agent, state, steps: int, key=None, mode: str = "plan") -> dict:
    """Evaluate every seed (vmapped) for `steps` steps; per-seed results and their means."""
    key = jax.random.key(12345) if key is None else key
    seeds = np.asarray(state.env_steps).shape[0]
    ev = jax.jit(jax.vmap(lambda s, k: agent.evaluate(s, k, steps, mode)))(state, jax.random.split(key, seeds))
    ev = jax.tree.map(np.asarray, ev)
    from ..env.types import EVENTS

    names = agent.ic.names
    per_seed = [{"success_rate": float(ev["success_rate"][i]), "mean_return": float(ev["mean_return"][i]),
                 "episodes": int(ev["episodes"][i])} for i in range(seeds)]
    sr = ev["success_rate"]
    return {
        "scenario": agent.cfg.scenario, "world_model": agent.cfg.train.world_model, "seeds": int(seeds),
        "steps_per_seed": steps, "episodes": int(ev["episodes"].sum()),
        "success_rate": float(sr.mean()), "success_rate_min_seed": float(sr.min()),
        "mean_return": float(ev["mean_return"].mean()), "mean_cost": float(ev["mean_cost"].mean()),
        "terms": {n: float(v) for n, v in zip(names, ev["terms"].mean(0))},
        "events": {e: float(v) for e, v in zip(EVENTS, ev["events"].mean(0)) if v},
        "welfare": float(ev["welfare"].mean()), "episode_length": float(ev["length"].mean()),
        "critic_r2": _defined(ev["critic_r2"]), "critic_corr": _defined(ev["critic_corr"]),
        "critic_bias": float(np.mean(ev["critic_bias"])), "critic_steps": int(np.sum(ev["critic_steps"])),
        "ssl_health": {k[len("latent_"):]: float(np.mean(v)) for k, v in ev.items() if k.startswith("latent_")},
        "per_seed": per_seed,
    }
