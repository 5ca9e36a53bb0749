"""Does the critic rank the imagined states the planner asks it about as well as states it saw?

    python scripts/critic_imagined.py RUN_FOLDER [--steps 1000] [--k 0 1 3 6 12] [--set planner.KEY=VALUE]

The planner adds the critic's value of the latent its world model imagines at the end of each action
sequence, `planner.horizon` steps from now; the critic learns only on latents encoded from what the robot
saw. For trained agents (a run folder of `aptami train`, or a lean copy), act with the planner for
`steps` from a fresh episode, without learning, and for each k compare the critic's prediction at step
t + k with the discounted intrinsic cost realised from t + k on (`agent.calibration_targets`: only steps
whose realised sum is their whole future), twice:
  - "encoded": on the encoding of what the robot saw at t + k (what `eval --json`'s critic_corr reads);
  - "imagined": on the latent the world model imagines k steps on from the encoding at t, with the
    actions that were then taken (what the planner's horizon value reads, for k = horizon);
with `agent.calibration_stats` (R^2, Pearson r, mean offset, steps), over the steps whose t .. t + k lie
in one episode, and the imagined latent's distance from the encoded one in units of the encodings'
typical spread. If "imagined" ranks far worse than "encoded", the planner's horizon value is read off
states the critic never learned on (the essay's problem 2 begins there); if both are poor, the critic
itself does not rank.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from aptami.agent import checkpoint  # noqa: E402
from aptami.agent.agent import calibration_stats, calibration_targets  # noqa: E402
from aptami.agent.critic import steps_left  # noqa: E402
from aptami.cli import replan  # noqa: E402
from aptami.util import enable_compilation_cache  # noqa: E402

STATS = ("r2", "corr", "bias", "steps")


def audit(folder, steps: int, ks=(0, 1, 3, 6, 12), sets=()):
    agent, state, _ = checkpoint.load(folder)
    if sets:
        agent, state = replan(agent, state, list(sets))
    gamma = agent.cfg.critic.gamma

    def one(st, key):
        st = agent.fresh_episode(st, *jax.random.split(key))
        st, tr = agent.collect(st, steps, "plan", explore=False, keep=("z", "action", "cost", "done", "truncated"),
                               remember=False)
        realised, whole = calibration_targets(tr["cost"], tr["done"], tr["truncated"], gamma)
        z, a_vec = tr["z"], jax.nn.one_hot(tr["action"], agent.n_actions)
        spread = jnp.sqrt(jnp.mean(jnp.sum((z - z.mean(0)) ** 2, -1)))
        left = steps_left(tr["done"])    # t .. t + k lie in one episode where left[t] > k

        def imagine(zz, j):   # one more imagined step from every encoded state at once
            zz = jax.vmap(st.wm.predict)(zz, jax.lax.dynamic_slice_in_dim(a_pad, j, steps))
            return zz, zz

        a_pad = jnp.concatenate([a_vec, jnp.zeros((max(ks), agent.n_actions))])   # past the end: never read
        _, ahead = jax.lax.scan(imagine, z, jnp.arange(max(ks)))                  # [k - 1]: k steps ahead
        rows = {}
        for k in ks:
            n = steps - k
            zz = z[:n] if k == 0 else ahead[k - 1, :n]
            same = (left[:n] > k).astype(jnp.float32)
            w = whole[k:] * same
            enc = calibration_stats(jax.vmap(st.critic)(z[k:]), realised[k:], w)
            img = calibration_stats(jax.vmap(st.critic)(zz), realised[k:], w)
            drift = jnp.sum(w * jnp.sqrt(jnp.sum((zz - z[k:]) ** 2, -1))) / jnp.maximum(w.sum(), 1.0) / spread
            rows[k] = (enc, img, drift)
        return rows

    seeds = int(np.asarray(state.env_steps).shape[0])
    out = jax.device_get(jax.jit(jax.vmap(one))(state, jax.random.split(jax.random.key(13), seeds)))
    res = {"seeds": seeds, "steps": steps, "horizon": agent.cfg.planner.horizon, "gamma": gamma,
           "planner": {k: getattr(agent.cfg.planner, k) for k in ("samples", "iterations", "use_critic")}, "k": {}}
    for k, (enc, img, drift) in out.items():
        def per_seed(stats):
            return {name: [None if not np.isfinite(v) else float(v) for v in np.asarray(x)]
                    for name, x in zip(STATS, stats)}

        res["k"][str(k)] = {"encoded": per_seed(enc), "imagined": per_seed(img),
                            "drift_in_spreads": [float(x) for x in np.asarray(drift)]}
    return res


def summary(res) -> str:
    """Per k: Pearson r on encoded and on imagined latents, and imagined minus encoded (paired by seed),
    means with 95% bootstrap intervals over seeds; the mean drift."""
    from aptami.experiments.stats import bootstrap_ci

    def corr(row, side):
        return np.array([np.nan if x is None else x for x in row[side]["corr"]])

    def ci(x):
        m, lo, hi = bootstrap_ci(x[np.isfinite(x)])
        return f"{m:+.2f} [{lo:+.2f}, {hi:+.2f}]"

    return "\n".join(f"k={k:>3}  r encoded {ci(corr(row, 'encoded'))}  r imagined {ci(corr(row, 'imagined'))}  "
                     f"difference {ci(corr(row, 'imagined') - corr(row, 'encoded'))}  "
                     f"drift {np.mean(row['drift_in_spreads']):.2f} spreads" for k, row in res["k"].items())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="a run folder, or with --summarise a JSON this script printed")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--k", type=int, nargs="+", default=[0, 1, 3, 6, 12])
    ap.add_argument("--set", action="append", default=[], metavar="planner.KEY=VALUE",
                    help="other planner settings")
    ap.add_argument("--summarise", action="store_true", help="only print the summary of a stored JSON")
    a = ap.parse_args(argv)
    if a.summarise:
        print(summary(json.loads(Path(a.run).read_text())))
        return
    if a.steps <= 0 or min(a.k) < 0 or max(a.k) >= a.steps:
        raise SystemExit("--steps must be positive and every --k in 0 .. steps - 1")
    enable_compilation_cache()
    res = audit(a.run, a.steps, tuple(a.k), a.set)
    print(summary(res), file=sys.stderr)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
