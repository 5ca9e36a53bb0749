"""Saving and loading agents: the configuration as JSON, the state's arrays in one .npz.

    save(path, cfg, state, meta)           # state: one agent, or several seeds stacked
    agent, state, meta = load(path)        # an Agent that can act, evaluate, or continue training

Keys are stored as their raw data and rewrapped on load. The state's structure comes from
`Agent.init` of the saved configuration, so a checkpoint holds no pickled code.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import zipfile
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .agent import Agent
from .config import AgentConfig, from_dict, to_dict

FORMAT = 1


def config_hash(cfg: AgentConfig) -> str:
    """Names a run folder: the configuration and the code that trains it, so a run is resumed only by
    the same code (a changed loss with unchanged shapes would otherwise continue old weights)."""
    from ..util import code_fingerprint

    blob = json.dumps({"config": to_dict(cfg), "code": code_fingerprint()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _is_key(x) -> bool:
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def save(path, cfg: AgentConfig, state, meta: dict | None = None) -> Path:
    """Write config.json and state.npz into the folder `path` (atomically: temp file, then rename)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    arrays = state_arrays(state)
    tmp = path / f"state.tmp{os.getpid()}.npz"
    write_npz(tmp, arrays)
    os.replace(tmp, path / "state.npz")
    info = {"format": FORMAT, "config": to_dict(cfg), "hash": config_hash(cfg), "meta": meta or {},
            "seeds": _n_seeds(state)}
    (path / "config.json").write_text(json.dumps(info, indent=1, default=str))
    return path


def save_lean(path, cfg: AgentConfig, state, keep: int = 1024, key=None, meta: dict | None = None) -> Path:
    """A checkpoint small enough to bring back from a device machine (64 MiB for everything there):
    the trained networks and the Intrinsic Cost, with memory cut to `keep` remembered steps drawn at
    random (per seed) and the optimisers' states and the critic's target zeroed. It acts, plans and is
    probed as the trained agent (a probe reads remembered latents as a sample of the training data;
    this is another sample of the same) but cannot continue training: `load` gives an agent whose
    memory holds `keep` steps, and meta {"lean": true}. 16 full-size fetch agents: 3.4 GB -> ~42 MB."""
    seeds = _n_seeds(state)
    mem = state.memory
    keep = min(keep, mem.actions.shape[-1])   # (capacity; the leading axis may be seeds)
    key = jax.random.key(0) if key is None else key

    def cut(m, k):  # `keep` distinct filled entries, at random (filled ones first when fewer)
        idx = m.distinct(k, keep)
        n = jnp.minimum(m.size, keep).astype(jnp.int32)
        out = m._replace(**{f: getattr(m, f)[idx] for f in m._fields if f not in ("ptr", "size")})
        return out._replace(ptr=n % keep, size=n)

    mem = jax.vmap(cut)(mem, jax.random.split(key, seeds)) if seeds else cut(mem, key)
    zero = lambda t: jax.tree.map(lambda x: jnp.zeros_like(x) if eqx.is_array(x) else x, t)  # noqa: E731
    state = state._replace(memory=mem, wm_opt=zero(state.wm_opt), critic_opt=zero(state.critic_opt),
                           policy_opt=zero(state.policy_opt), critic_target=zero(state.critic_target))
    lean = cfg.replace(train=dataclasses.replace(cfg.train, capacity=keep))
    return save(path, lean, state, {**(meta or {}), "lean": True, "trained_config_hash": config_hash(cfg),
                                    "trained_capacity": cfg.train.capacity})


def state_arrays(state) -> dict:
    """The state's leaves as host arrays named a0, a1, ... (keys as their raw data): what state.npz holds."""
    return {f"a{i}": np.asarray(jax.random.key_data(x) if _is_key(x) else x)
            for i, x in enumerate(jax.tree.leaves(state))}


def write_npz(file, arrays: dict, level: int = 1) -> None:
    """`np.savez_compressed` at deflate level 1 instead of its 6: memory's frames (most of a checkpoint,
    3.4 GB for 16 fetch agents) compress 20x instead of 60x but 2.5x faster, and a checkpoint is
    written while training waits (benchmarks/checkpoint.py). `np.load` reads it as any .npz."""
    with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED, compresslevel=level, allowZip64=True) as zf:
        for name, a in arrays.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asarray(a), allow_pickle=False)


def _n_seeds(state) -> int:
    return int(np.asarray(state.env_steps).shape[0]) if np.ndim(state.env_steps) else 0


def read_info(path) -> dict:
    return json.loads((Path(path) / "config.json").read_text())


def finished(path) -> bool:
    """A checkpoint of the whole training is here (not one cut short, nor none), read without loading it."""
    if not (Path(path) / "state.npz").exists():
        return False
    info = read_info(path)
    return info.get("meta", {}).get("iterations", 0) >= info["config"]["train"]["iterations"]


def load(path, extra_terms=()):
    """(agent, state, meta) from a folder written by `save`."""
    path = Path(path)
    info = read_info(path)
    if info.get("format") != FORMAT:
        raise ValueError(f"{path}: checkpoint format {info.get('format')!r}, this aptami reads {FORMAT}")
    cfg = from_dict(info["config"])
    agent = Agent(cfg, extra_terms)
    seeds = info["seeds"]
    init = jax.vmap(agent.init) if seeds else agent.init
    keys = jax.random.split(jax.random.key(0), seeds) if seeds else jax.random.key(0)
    template = jax.eval_shape(init, keys)
    leaves, treedef = jax.tree.flatten(template)
    with np.load(path / "state.npz") as data:
        if len(data.files) != len(leaves):
            raise ValueError(f"{path}: the checkpoint has {len(data.files)} arrays, the configuration needs "
                             f"{len(leaves)}: it was written by another version")
        out = []
        for i, t in enumerate(leaves):
            a = data[f"a{i}"]
            if jnp.issubdtype(t.dtype, jax.dtypes.prng_key):
                out.append(jax.random.wrap_key_data(jnp.asarray(a)))
            else:
                if a.shape != t.shape:
                    raise ValueError(f"{path}: array {i} has shape {a.shape}, expected {t.shape}")
                out.append(jnp.asarray(a, t.dtype))
    return agent, jax.tree.unflatten(treedef, out), info.get("meta", {})
