"""Does the critic rank states in its own training memory, and on fresh episodes? A check of generalisation.

    python scripts/critic_audit.py RUN_FOLDER

For a trained run (`aptami train`), re-encode every remembered step with the current encoder and compare
the critic's prediction with the discounted intrinsic cost that the behaviour which made the memory then
realised, per segment of memory: the random prefill, the watched demonstrations (train.demo_steps) and the
agent's own planned steps (the online iterations), with the calibration of `aptami eval --json`
(`agent.critic_calibration`: R^2, Pearson r, mean offset, steps compared). A critic that ranks its own
training steps (r well above 0) but not held-out evaluation episodes (`eval --json`'s `critic_corr`) has
learned the memory, not the value. Needs the whole memory in order (a full checkpoint whose memory never
wrapped; a lean copy keeps too little).

    python scripts/critic_audit.py RUN_FOLDER --mc

also asks how much of the realised cost is readable from the latent at all: on the agent's own planned
steps, an MLP of the critic's shape is fitted by plain regression to the realised discounted cost (Monte
Carlo targets, no bootstrapping) on the first 70% of the episodes, stopped early on the next 10%, and
graded on the last 20%, beside the critic on the same steps. If the regressor does no better than the
critic, the critic is not underfitting what the latent holds: the realised sum is a noisy sample of the
value (humans' orders arrive at random), and r's ceiling is below 1.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from aptami.agent import checkpoint  # noqa: E402
from aptami.agent.agent import calibration_stats, calibration_targets, critic_calibration  # noqa: E402
from aptami.agent.nets import MLP  # noqa: E402
from aptami.util import enable_compilation_cache  # noqa: E402


def audit(folder, chunk: int = 1000, mc: bool = False) -> dict:
    agent, state, _ = checkpoint.load(folder)
    t, gamma = agent.cfg.train, agent.cfg.critic.gamma
    online = t.iterations * t.collect_steps
    segments = {"random prefill": (0, t.prefill_steps),
                "watched demos": (t.prefill_steps, t.prefill_steps + t.demo_steps),
                "own planned steps": (t.prefill_steps + t.demo_steps, t.prefill_steps + t.demo_steps + online)}
    end = max(b for _, b in segments.values())
    encode = eqx.filter_jit(lambda wm, f, p: jax.vmap(wm.encode)(f, p))   # one program for every seed and chunk
    out = {}
    for s in range(int(np.asarray(state.env_steps).shape[0])):
        st = jax.tree.map(lambda x: x[s], state)
        mem = st.memory
        if int(mem.size) < end or int(mem.ptr) != end % mem.capacity or end > mem.capacity:
            raise SystemExit(f"{folder}: seed {s}'s memory does not hold the whole training in order "
                             f"(size {int(mem.size)}, write position {int(mem.ptr)}, capacity {mem.capacity}, "
                             f"steps written {end}): a full checkpoint whose memory never wrapped is needed")
        for name, (a, b) in segments.items():
            if b <= a:
                continue
            z = jnp.concatenate([encode(st.wm, mem.frames[i:min(i + chunk, b)], mem.proprio[i:min(i + chunk, b)])
                                 for i in range(a, b, chunk)])
            done = mem.terminated[a:b] | mem.truncated[a:b]
            r2, r, bias, n = critic_calibration(st.critic, z, mem.cost[a:b], done, mem.truncated[a:b], gamma)
            out.setdefault(name, []).append({"r2": float(r2), "r": float(r), "bias": float(bias), "steps": int(n)})
            if mc and name == "own planned steps":
                out.setdefault("monte-carlo regressor", []).append(
                    _mc(st.critic, z, mem.cost[a:b], done, mem.truncated[a:b], gamma, agent.cfg.critic.hidden, s))
    return {"run": str(folder), "segments": out}


def _mc(critic, z, cost, done, truncated, gamma, hidden, seed, updates: int = 4000, batch: int = 256):
    """The regressor's and the critic's calibration on the last 20% of the episodes (see the docstring)."""
    realised, w = calibration_targets(cost, done, truncated, gamma)
    episode = jnp.cumsum(jnp.concatenate([jnp.zeros(1, jnp.int32), done[:-1].astype(jnp.int32)]))
    n_ep = int(episode[-1]) + 1
    cut1, cut2 = int(0.7 * n_ep), int(0.8 * n_ep)
    train = np.nonzero(np.asarray((episode < cut1) & (w > 0)))[0]
    val = np.nonzero(np.asarray((episode >= cut1) & (episode < cut2) & (w > 0)))[0]
    test = episode >= cut2
    k_net, k_fit = jax.random.split(jax.random.fold_in(jax.random.key(7), seed))
    net = MLP((z.shape[-1], hidden, hidden, 1), key=k_net)
    opt = optax.adam(1e-3)

    params, static = eqx.partition(net, eqx.is_array)

    def loss(p, idx):
        return jnp.mean((jax.vmap(eqx.combine(p, static))(z[idx])[:, 0] - realised[idx]) ** 2)

    @jax.jit
    def fit(params, key):
        def step(carry, k):   # Adam on random batches of the training steps; keep the best on validation
            p, o, best, best_err = carry
            g = jax.grad(loss)(p, jnp.asarray(train)[jax.random.randint(k, (batch,), 0, len(train))])
            u, o = opt.update(g, o, p)
            p = optax.apply_updates(p, u)
            err = loss(p, jnp.asarray(val))
            best = jax.tree.map(lambda a, b: jnp.where(err < best_err, a, b), p, best)
            return (p, o, best, jnp.minimum(err, best_err)), None

        last, _, best, _ = jax.lax.scan(step, (params, opt.init(params), params, jnp.inf),
                                        jax.random.split(key, updates))[0]
        return best, last

    best, last = (eqx.combine(p, static) for p in fit(params, k_fit))

    def graded(f, mask):
        r2, r, bias, n = calibration_stats(jax.vmap(f)(z), realised, w * mask)
        return {"r2": float(r2), "r": float(r), "bias": float(bias), "steps": int(n)}

    return {"regressor": graded(lambda x: best(x)[0], test), "critic": graded(critic, test),
            "regressor_on_its_training_steps": graded(lambda x: best(x)[0], episode < cut1),
            # without early stopping: all the updates, whether or not the validation episodes agree
            "regressor_last": graded(lambda x: last(x)[0], test),
            "regressor_last_on_its_training_steps": graded(lambda x: last(x)[0], episode < cut1)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--mc", action="store_true", help="also fit a Monte-Carlo regressor of the critic's shape")
    a = ap.parse_args(argv)
    enable_compilation_cache()
    print(json.dumps(audit(a.run, mc=a.mc), indent=1))


if __name__ == "__main__":
    main()
