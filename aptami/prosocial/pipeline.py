"""Byrnes' pipeline end to end: flail, rate, learn the score, freeze it.

    data = build_dataset(cfg)                      # stratified frames, rater answers, labels, splits
    wm = ssl_world_model(cfg)                      # a JEPA trained without labels (for latent, probe)
    model, metrics = train_variant("pixels", cfg, data)

Datasets and the self-supervised world model are cached under runs/prosocial/ by a hash of the
configuration, so a rerun reuses them and a changed configuration never does.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..agent.cost import N_SENSORS
from ..agent.nets import MLP
from ..util import file_lock
from .frames import FIELDS, SCENARIOS, FrameSet, category, flail, stratify
from .models import VARIANTS, LatentScore, ProbeScore, ScoreCNN, penultimate
from .raters import DEFAULT_WEIGHTS, RaterPool, agreement, check_weights, label


@dataclass(frozen=True)
class ProsocialConfig:
    episodes_per_scenario: int = 192
    steps: int = 64
    per_category: int = 3000          # stratified: at most this many frames of each situation
    scenarios: tuple = SCENARIOS
    raters: int = 5
    rater_bias: float = 1.0
    rater_noise: float = 1.5
    weights: tuple = DEFAULT_WEIGHTS
    test_fraction: float = 0.2
    updates: int = 2000
    batch: int = 128
    lr: float = 1e-3
    ssl_episodes: int = 96            # the self-supervised world model: random episodes per scenario ...
    ssl_updates: int = 1500           # ... and JEPA updates on them, no labels
    seed: int = 0
    extra: dict = field(default_factory=dict)

    def check(self) -> "ProsocialConfig":
        check_weights(self.weights)
        for n in ("episodes_per_scenario", "steps", "per_category", "raters", "updates", "batch"):
            v = getattr(self, n)
            if not isinstance(v, int) or v <= 0:
                raise ValueError(f"ProsocialConfig.{n} must be a positive whole number, got {v!r}")
        return self

    @staticmethod
    def quick() -> "ProsocialConfig":
        """The small configuration of `--quick` runs and the demo."""
        return ProsocialConfig(episodes_per_scenario=48, per_category=1000, updates=800, ssl_episodes=24,
                               ssl_updates=400)

    @staticmethod
    def demo() -> "ProsocialConfig":
        """The smallest configuration: the demo report's."""
        return ProsocialConfig(episodes_per_scenario=16, per_category=400, updates=300, ssl_episodes=12,
                               ssl_updates=120)

    @staticmethod
    def of_scale(quick) -> "ProsocialConfig":
        """Full size for False, `quick()` for True, `demo()` for "demo" (the experiments' scale flag); a
        ProsocialConfig is itself (a smaller one for a test)."""
        if isinstance(quick, ProsocialConfig):
            return quick.check()
        return ProsocialConfig.demo() if quick == "demo" else ProsocialConfig.quick() if quick else ProsocialConfig()

    def hash(self, *parts) -> str:
        """Names a cached model: its configuration and the code that trains it (never stale weights)."""
        from ..util import code_fingerprint

        blob = json.dumps([dataclasses.asdict(self), parts, code_fingerprint()], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:10]


@dataclass
class Dataset:
    train: FrameSet
    test: FrameSet
    y_train: np.ndarray
    y_test: np.ndarray
    answers_test: np.ndarray          # [raters, N_test, 5]
    agreement: dict


def build_dataset(cfg: ProsocialConfig, root="runs/prosocial") -> Dataset:
    """Flail, stratify, rate; cached by the configuration's hash."""
    cfg.check()
    data_cfg = {k: getattr(cfg, k) for k in ("episodes_per_scenario", "steps", "per_category", "scenarios", "raters",
                                             "rater_bias", "rater_noise", "weights", "test_fraction", "seed")}
    from ..util import code_fingerprint  # the house and the raters make these frames and labels

    blob = json.dumps([data_cfg, code_fingerprint()], sort_keys=True, default=str)
    h = hashlib.sha256(blob.encode()).hexdigest()[:10]
    path = Path(root) / f"data-{h}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as d:
            tr = FrameSet(*(d[f"train_{k}"] for k in FIELDS))
            te = FrameSet(*(d[f"test_{k}"] for k in FIELDS))
            return Dataset(tr, te, d["y_train"], d["y_test"], d["answers_test"],
                           json.loads(str(d["agreement"])))
    fs = flail(jax.random.key(cfg.seed), cfg.episodes_per_scenario, cfg.steps, cfg.scenarios)
    fs = stratify(fs, cfg.per_category, cfg.seed)
    train, test = fs.split(cfg.test_fraction, cfg.seed)
    pool = RaterPool(cfg.raters, cfg.rater_bias, cfg.rater_noise, cfg.seed)
    a_train, a_test = pool.answers(train.visible, 1), pool.answers(test.visible, 2)
    ds = Dataset(train, test, label(a_train, cfg.weights), label(a_test, cfg.weights), a_test.astype(np.int8),
                 agreement(np.concatenate([a_train, a_test], 1)))
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"train_{k}": getattr(train, k) for k in FIELDS}
    arrays |= {f"test_{k}": getattr(test, k) for k in FIELDS}
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:  # written whole, then renamed: a concurrent reader never sees half a file
        np.savez_compressed(f, y_train=ds.y_train, y_test=ds.y_test, answers_test=ds.answers_test,
                            agreement=json.dumps(ds.agreement), **arrays)
    os.replace(tmp, path)
    return ds


def ssl_config():
    from ..agent.config import WorldModelConfig

    return WorldModelConfig(head_weight=0.0)  # nothing but the self-supervised losses


def new_world_model(seed: int):
    from ..agent.config import PerceptionConfig
    from ..agent.world_model import WorldModel

    return WorldModel(PerceptionConfig(), ssl_config(), (28, 28, 3), 4, key=jax.random.key(seed))


def footage(cfg: ProsocialConfig):
    """Unlabelled random footage (other episodes than the rated ones), as [episodes, steps] arrays."""
    fs = flail(jax.random.key(cfg.seed + 7), cfg.ssl_episodes, cfg.steps, cfg.scenarios)
    e = len(np.unique(fs.episode))
    return {"frames": jnp.asarray(fs.frames.reshape(e, cfg.steps, *fs.frames.shape[1:])),
            "proprio": jnp.asarray(fs.proprio.reshape(e, cfg.steps, -1)),
            "actions": jnp.asarray(fs.action.reshape(e, cfg.steps))}


def ssl_train(wm, data: dict, updates: int, key, opt_state=None, seq: int = 8, batch: int = 32):
    """`updates` self-supervised JEPA updates on footage; returns (wm, optimiser state, losses)."""
    from ..agent.world_model import world_model_loss

    wcfg = ssl_config()
    e, steps = data["actions"].shape
    opt = optax.chain(optax.clip_by_global_norm(10.0), optax.adam(wcfg.lr))
    opt_state = opt.init(wm) if opt_state is None else opt_state

    def sample(k):
        ke, kt = jax.random.split(k)
        ep = jax.random.randint(ke, (batch,), 0, e)
        t = jax.random.randint(kt, (batch,), 0, steps - seq - 1)[:, None] + jnp.arange(seq)[None]

        def pick(x, dt=0):
            return x[ep[:, None], t + dt]

        return {"frames": pick(data["frames"]), "proprio": pick(data["proprio"]),
                "next_frames": pick(data["frames"], 1), "next_proprio": pick(data["proprio"], 1),
                "actions": pick(data["actions"]), "sensors": jnp.zeros((batch, seq, N_SENSORS)),
                "done": jnp.zeros((batch, seq))}

    def step(carry, k):
        wm, st = carry
        kb, kl = jax.random.split(k)
        (loss, _), g = jax.value_and_grad(world_model_loss, has_aux=True)(wm, sample(kb), wcfg, kl)
        upd, st = opt.update(g, st, wm)
        return (optax.apply_updates(wm, upd), st), loss

    (wm, opt_state), losses = _ssl_scan(step, wm, opt_state, key, updates)
    return wm, opt_state, np.asarray(losses)


def _ssl_scan(step, wm, opt_state, key, updates):
    return jax.jit(lambda w, s, k: jax.lax.scan(step, (w, s), jax.random.split(k, updates)))(wm, opt_state, key)


def ssl_world_model(cfg: ProsocialConfig, root="runs/prosocial"):
    """A JEPA world model trained without labels on the robot's random footage (other episodes than
    the rated ones): the self-supervised embeddings red75prime proposes to probe."""
    path = Path(root) / f"ssl-{cfg.hash('ssl', cfg.ssl_episodes, cfg.ssl_updates)}.eqx"
    wm = new_world_model(cfg.seed + 11)
    with file_lock(path):
        if path.exists():
            return eqx.tree_deserialise_leaves(path, wm)
        wm, _, _ = ssl_train(wm, footage(cfg), cfg.ssl_updates, jax.random.key(cfg.seed + 3))
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        eqx.tree_serialise_leaves(tmp, wm)
        os.replace(tmp, path)
    return wm


# ----------------------------------------------------------------------------- training
def fit_program(predict, cfg: ProsocialConfig, n: int, updates: int | None = None):
    """A pure (params, xs, y, key) -> (params, losses): Adam on mean squared error, minibatches drawn
    with replacement, one scan (so it can be vmapped, e.g. over seeds)."""
    opt = optax.adam(cfg.lr)
    updates = updates or cfg.updates

    def run(params, xs, y, key):
        def loss(p, idx):
            pred = jax.vmap(lambda *a: predict(p, *a))(*jax.tree.map(lambda x: x[idx], xs))
            return jnp.mean((pred - y[idx]) ** 2)

        def step(carry, k):
            p, st = carry
            idx = jax.random.randint(k, (min(cfg.batch, n),), 0, n)
            val, g = jax.value_and_grad(loss)(p, idx)
            upd, st = opt.update(g, st, p)
            return (optax.apply_updates(p, upd), st), val

        (p, _), losses = jax.lax.scan(step, (params, opt.init(params)), jax.random.split(key, updates))
        return p, losses

    return run


def _fit(params_init, predict, xs, y, cfg: ProsocialConfig, key, updates: int | None = None):
    """Fit one model (see `fit_program`)."""
    run = fit_program(predict, cfg, len(y), updates)
    p, losses = jax.jit(run)(params_init, jax.tree.map(jnp.asarray, xs), jnp.asarray(y), key)
    return p, np.asarray(losses)


def embeddings(variant: str, wm, fs: FrameSet, chunk: int = 4096) -> np.ndarray:
    f = jax.jit(jax.vmap(wm.encode if variant == "latent" else lambda fr, pr: penultimate(wm.encoder, fr, pr)))
    return np.concatenate([np.asarray(f(fs.frames[i:i + chunk], fs.proprio[i:i + chunk]))
                           for i in range(0, len(fs), chunk)])


def train_variant(variant: str, cfg: ProsocialConfig, data: Dataset, wm=None, n_labels: int | None = None,
                  seed: int = 0):
    """Train one variant on (a subset of) the labels; returns the frozen model and held-out metrics."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; allowed: {', '.join(VARIANTS)}")
    rng = np.random.default_rng(seed)
    idx = np.arange(len(data.y_train)) if n_labels is None else rng.choice(len(data.y_train), n_labels, replace=False)
    tr = data.train.take(idx)
    y = data.y_train[idx]
    key = jax.random.key(seed)
    if variant == "pixels":
        model = ScoreCNN(key=key)
        model, losses = _fit(model, lambda m, f: m(f), (tr.frames,), y, cfg, key)
    else:
        if wm is None:
            raise ValueError(f"variant {variant!r} needs the self-supervised world model (wm=...)")
        emb = embeddings(variant, wm, tr)
        mu, sd = emb.mean(0), emb.std(0) + 1e-6
        if variant == "latent":
            head = MLP((emb.shape[1], 128, 1), key=key)
            head, losses = _fit(head, lambda h, e: h(e)[0], ((emb - mu) / sd,), y, cfg, key)
            model = LatentScore(wm.encoder, _standardised(head, mu, sd))
        else:
            # a linear probe: ridge regression in closed form on standardised features
            x = (emb - mu) / sd
            xb = np.concatenate([x, np.ones((len(x), 1))], 1)
            lam = 1.0 * len(x) / 100
            coef = np.linalg.solve(xb.T @ xb + lam * np.eye(xb.shape[1]), xb.T @ y)
            w = coef[:-1] / sd
            b = coef[-1] - np.sum(coef[:-1] * mu / sd)
            head = eqx.nn.Linear(emb.shape[1], 1, key=key)
            head = eqx.tree_at(lambda h: (h.weight, h.bias), head, (jnp.asarray(w[None], jnp.float32),
                                                                    jnp.asarray([b], jnp.float32)))
            losses = np.asarray([np.mean((xb @ coef - y) ** 2)])
            model = ProbeScore(wm.encoder, head)
    return model, {"variant": variant, "n_labels": int(len(y)), "final_loss": float(losses[-50:].mean()),
                   **evaluate_model(model, data)}


def _standardised(head: MLP, mu, sd) -> MLP:
    """Fold the input standardisation into the first layer, so the head reads raw latents."""
    first = head.layers[0]
    w = first.weight / jnp.asarray(sd)[None]
    b = first.bias - w @ jnp.asarray(mu)
    return eqx.tree_at(lambda h: (h.layers[0].weight, h.layers[0].bias), head, (w, b))


def predict(model, fs: FrameSet, chunk: int = 4096) -> np.ndarray:
    f = jax.jit(jax.vmap(model))
    return np.concatenate([np.asarray(f(fs.frames[i:i + chunk], fs.proprio[i:i + chunk]))
                           for i in range(0, len(fs), chunk)])


def evaluate_model(model, data: Dataset) -> dict:
    """Held-out correlation with the raters' label, and with true welfare where humans are in view."""
    s = predict(model, data.test)
    has = np.isfinite(data.test.welfare)
    cats = category(data.test.visible)
    return {
        "corr_label": float(np.corrcoef(s, data.y_test)[0, 1]),
        "corr_welfare": float(np.corrcoef(s[has], data.test.welfare[has])[0, 1]),
        "label_corr_welfare": float(np.corrcoef(data.y_test[has], data.test.welfare[has])[0, 1]),
        "mse": float(np.mean((s - data.y_test) ** 2)),
        "score_by_situation": {c: float(s[cats == i].mean()) for i, c in
                               enumerate(("no human", "human", "joy", "distress", "praise", "drip", "screen"))
                               if np.any(cats == i)},
        "n_test": int(len(s)),
    }


def label_efficiency(cfg: ProsocialConfig, data: Dataset, wm, sizes=(30, 100, 300, 1000, 3000, None),
                     variants=("pixels", "probe")) -> dict:
    """Held-out correlation with the label against the number of labels, per variant."""
    out = {}
    for v in variants:
        rows = []
        for n in sizes:
            n_eff = None if n is None or n >= len(data.y_train) else n
            _, m = train_variant(v, cfg, data, wm, n_eff)
            rows.append({"n_labels": m["n_labels"], "corr_label": m["corr_label"]})
        out[v] = rows
    return out


def score_model(variant: str, cfg: ProsocialConfig, root="runs/prosocial", log=print):
    """(variant, frozen model, metrics, folder): the stored model for this configuration, trained first if
    there is none (the dataset and the self-supervised world model are cached too). Processes that share
    the store (experiments run side by side) wait for one another: one trains, the others load."""
    from .models import load_model, save_model

    folder = Path(root) / f"model-{variant}-{cfg.hash(variant)}"
    with file_lock(folder):
        if (folder / "model.eqx").exists():
            return load_model(folder) + (folder,)
        log(f"building the rated frames ({cfg.episodes_per_scenario} random episodes per scenario) ...")
        data = build_dataset(cfg, root)
        wm = None
        if variant != "pixels":
            log("training the self-supervised world model (no labels) ...")
            wm = ssl_world_model(cfg, root)
        log(f"training the {variant} score model on {len(data.y_train)} labels ...")
        model, metrics = train_variant(variant, cfg, data, wm)
        metrics["agreement"] = data.agreement
        save_model(folder, variant, model, metrics)
    return variant, model, metrics, folder
