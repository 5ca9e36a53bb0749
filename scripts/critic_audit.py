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

from aptami.agent import checkpoint  # noqa: E402
from aptami.agent.agent import critic_calibration  # noqa: E402
from aptami.util import enable_compilation_cache  # noqa: E402


def audit(folder, chunk: int = 1000) -> dict:
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
    return {"run": str(folder), "segments": out}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    a = ap.parse_args(argv)
    enable_compilation_cache()
    print(json.dumps(audit(a.run), indent=1))


if __name__ == "__main__":
    main()
