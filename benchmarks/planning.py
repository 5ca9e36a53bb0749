"""Planning speed: Mode-2 CEM through the learned world model, against the same network and budget
in plain PyTorch (CPU), in one process.

    python benchmarks/planning.py [--quick] [--json]

Rows: CEM decisions/s for one agent and vmapped over 16 (JAX), the same in PyTorch (one agent and
a batch of 16), Mode-1 decisions/s, end-to-end training env steps/s, and achieved GFLOP/s against
the dense-matmul peak and against the planner's largest layer alone, both timed between the
contenders in the same run. One decision at the default budget (256 samples x
horizon 12 x 4 iterations) evaluates the predictor, the sensor and proprioception heads and the
Intrinsic Cost at every imagined step, and the critic at every sequence's end. Compile times apart.
Needs torch (pip install torch; the CPU build is enough).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from aptami.agent import Agent, preset, with_overrides  # noqa: E402
from aptami.agent.actor import plan  # noqa: E402
from aptami.util import (
    enable_compilation_cache,  # noqa: E402
    median_time,  # noqa: E402
)


def mlp_flops(mlp) -> int:
    """Multiply-adds x2 of one input through an MLP, from its layers' weights (ensembles: per member)."""
    return 2 * sum(int(np.prod(layer.weight.shape[-2:])) for layer in mlp.layers)


def flops_per_decision(cfg, wm, critic) -> float:
    """Multiply-adds x2 of what one decision executes: at every imagined step the predictor (every
    ensemble member), the sensor head, and the proprioception head once (on the state reached; the
    planner carries it to the next step, where the "order" reading needs it as the level before);
    the critic at every sequence's end; the proprioception head once more at the root. The novelty
    hash (64 x count_bits) is not counted."""
    p = cfg.planner
    head = 0 if cfg.world_model.body_net else mlp_flops(wm.proprio_head)   # a body network: read off the latent
    per_step = cfg.world_model.ensemble * mlp_flops(wm.predictor.net) + mlp_flops(wm.sensor_head) + head
    per_seq_end = mlp_flops(critic.nets) if p.use_critic else 0
    return p.iterations * p.samples * (p.horizon * per_step + per_seq_end) + head


def gflops_timer(f, args, flop: float):
    """A callable timing one call of `f(*args)` (jitted and warmed here): GFLOP/s for `flop`."""
    f = jax.jit(f)
    jax.block_until_ready(f(*args))
    return lambda: flop / median_time(lambda: jax.block_until_ready(f(*args)), 1) / 1e9


def matmul_peak():
    """A callable timing one dense matmul at each of two sizes: the best GFLOP/s of the two. It is
    timed between the contenders, rep by rep, so that the peak and the planner meet the same noise
    (on these machines the peak alone varied 128-164 GFLOP/s between runs)."""
    timers = [gflops_timer(lambda x: x @ x, (jax.random.normal(jax.random.key(0), (n, n), jnp.float32),), 2 * n**3)
              for n in (1024, 2048)]
    return lambda: max(t() for t in timers)


def layer_rate():
    """A callable timing the planner's largest layer alone, [4096, 256] x [256, 256] (16 agents x 256
    samples through a hidden layer): the ceiling its matmul shapes allow on this machine. Four
    distinct products per call (~20 ms), for less timer noise."""
    x = jax.random.normal(jax.random.key(0), (4096, 256), jnp.float32)
    ws = jax.random.normal(jax.random.key(1), (4, 256, 256), jnp.float32)
    return gflops_timer(lambda x, ws: [x @ w for w in ws], (x, ws), 2 * 4096 * 256 * 256 * 4)


# ----------------------------------------------------------------------------- the PyTorch twin
def torch_planner(agent, state, batch: int):
    """The same CEM, the same networks (weights copied), the same budget, written in PyTorch."""
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    cfg = agent.cfg.planner
    n, hzn, iters, elites, a_n = cfg.samples, cfg.horizon, cfg.iterations, cfg.elites, 7

    def lin(layer):
        w = torch.tensor(np.asarray(layer.weight))
        b = torch.tensor(np.asarray(layer.bias))
        return w, b

    def mlp_params(mlp, member=None):
        layers = mlp.layers
        out = []
        for layer in layers:
            w, b = lin(layer)
            if member is not None:
                w, b = w[member], b[member]
            out.append((w, b))
        return out

    wm = state.wm
    pred = mlp_params(wm.predictor.net, member=0)
    sens = mlp_params(wm.sensor_head)
    prop = mlp_params(wm.proprio_head)
    crit = mlp_params(state.critic.nets, member=0)
    weights = torch.tensor(np.asarray(agent.configurator.base))
    simhash = torch.tensor(np.asarray(agent._simhash))
    counts = torch.zeros(2**agent.cfg.cost.count_bits)
    pow2 = torch.tensor(2 ** np.arange(agent.cfg.cost.count_bits), dtype=torch.int64)
    from aptami.agent.cost import SENSOR_INDEX

    task_i, order_i, carry_i = SENSOR_INDEX["task"], SENSOR_INDEX["order"], SENSOR_INDEX["carrying"]
    goal_i, nov_i = SENSOR_INDEX["goal_dist"], SENSOR_INDEX["novelty"]

    from aptami.env.core import ORDER_HOLD, ORDER_REACH
    from aptami.env.types import HELD_SLICE, N_ITEMS, ORDERS_SLICE, POSE_SCALE, POSE_SLICE

    def carrying(p):  # env.core.order_potential_of_proprio, as the JAX planner reads it
        want = (p[..., HELD_SLICE][..., 1:1 + N_ITEMS] * p[..., ORDERS_SLICE]).sum(-1).clamp(0, 1)
        pose = p[..., POSE_SLICE] * POSE_SCALE
        d = (pose[..., 0] - pose[..., 2]).abs() + (pose[..., 1] - pose[..., 3]).abs()
        return want * (ORDER_HOLD + (1 - ORDER_HOLD) * (1 - (d - 1) / ORDER_REACH).clamp(0, 1))

    def run(params, x):
        for w, b in params[:-1]:
            x = torch.nn.functional.silu(x @ w.T + b)
        w, b = params[-1]
        return x @ w.T + b

    @torch.no_grad()
    def decide(z0, probs):
        # z0: [batch, D]; probs: [batch, H, A]
        best_cost = torch.full((batch,), float("inf"))
        lv0 = carrying(run(prop, z0))            # at the root, once per decision
        best = probs.argmax(-1)
        for _ in range(iters):
            seqs = torch.distributions.Categorical(probs=probs[:, None].expand(batch, n, hzn, a_n)).sample()
            seqs[:, -1] = best
            z = z0[:, None].expand(batch, n, -1)
            lv = lv0[:, None].expand(batch, n)   # carried from step to step, as in JAX
            acc = torch.zeros(batch, n)
            disc = 1.0
            for t in range(hzn):
                a = torch.nn.functional.one_hot(seqs[:, :, t], a_n).float()
                z2 = z + run(pred, torch.cat([z, a], -1))
                s = run(sens, torch.cat([z, a, z2], -1))
                lv2 = carrying(run(prop, z2))
                s[..., carry_i], s[..., order_i] = lv2, lv2 - lv
                code = ((z2 @ simhash.T > 0).long() * pow2).sum(-1)
                nov = torch.rsqrt(1 + counts[code])
                s[..., nov_i] = nov
                cost = weights[0] * (-s[..., task_i] - 0.5 * s[..., order_i] + s[..., goal_i])
                acc = acc + disc * cost
                disc *= cfg.gamma
                z, lv = z2, lv2
            if cfg.use_critic:
                acc = acc + disc * run(crit, z)[..., 0]
            idx = torch.topk(-acc, elites, dim=1).indices
            el = torch.gather(seqs, 1, idx[..., None].expand(-1, -1, hzn))
            freq = torch.nn.functional.one_hot(el, a_n).float().mean(1)
            probs = (1 - cfg.smoothing) * probs + cfg.smoothing * freq
            probs = probs.clamp_min(1e-3)
            probs = probs / probs.sum(-1, keepdim=True)
            i = acc.argmin(1)
            c = acc.gather(1, i[:, None])[:, 0]
            better = c < best_cost
            best = torch.where(better[:, None], seqs[torch.arange(batch), i], best)
            best_cost = torch.minimum(c, best_cost)
        return best[:, 0], probs

    z0 = torch.randn(batch, agent.cfg.perception.latent)
    probs = torch.full((batch, hzn, a_n), 1.0 / a_n)
    return lambda: decide(z0, probs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--set", action="append", default=[], help="config overrides, e.g. planner.samples=128")
    args = ap.parse_args(argv)
    enable_compilation_cache()
    reps = 3 if args.quick else 7
    # the default predictor and budget; the critic on, as the paper's actor uses it
    cfg = with_overrides(preset("two-rooms", "learned"), ["planner.use_critic=true", "planner.policy_samples=0",
                                                          *args.set])
    wmc, pc = cfg.world_model, cfg.planner
    twin = {"world_model.ensemble": wmc.ensemble == 1, "world_model.body_net": not wmc.body_net,
            "planner.method": pc.method == "cem", "planner.policy_samples": pc.policy_samples == 0,
            "planner.gate_task": not pc.gate_task, "planner.pessimism": pc.pessimism == 0,
            "planner.density_weight": pc.density_weight == 0}
    if not all(twin.values()):
        raise SystemExit(f"--set {', '.join(k for k, ok in twin.items() if not ok)}: the PyTorch twin plans with one "
                         "predictor, the proprioception head, CEM, no Mode-1 seeding, gate or penalties; leave "
                         "these at ensemble 1, body_net false, cem, 0, false, 0, 0")
    agent = Agent(cfg)
    state = jax.jit(agent.init)(jax.random.key(0))
    model = agent.planning_model(state)
    w = agent.configurator.base
    z = jax.random.normal(jax.random.key(1), (cfg.perception.latent,))

    def decide(key, z, probs):
        return plan(key, model, z, probs, lambda p: state.ic(p, w)[0], state.critic, None, cfg.planner)[0]

    rows = {}
    one = jax.jit(decide)
    t0 = time.perf_counter()
    one = one.lower(jax.random.key(0), z, state.plan_probs).compile()
    rows["compile_one_s"] = time.perf_counter() - t0
    many = jax.jit(jax.vmap(decide))
    zs = jnp.tile(z, (16, 1))
    ps = jnp.tile(state.plan_probs, (16, 1, 1))
    ks = jax.random.split(jax.random.key(0), 16)
    t0 = time.perf_counter()
    many = many.lower(ks, zs, ps).compile()
    rows["compile_vmap16_s"] = time.perf_counter() - t0
    one(jax.random.key(0), z, state.plan_probs).block_until_ready()
    many(ks, zs, ps).block_until_ready()

    torch_one = torch_planner(agent, state, 1)
    torch_many = torch_planner(agent, state, 16)
    torch_one()
    torch_many()

    policy = jax.jit(lambda s, o: jnp.argmax(s.policy(s.wm.encode(o.frame, o.proprio))))
    policy(state, state.obs).block_until_ready()

    # interleave the contenders
    peak_now, layer_now = matmul_peak(), layer_rate()
    t = {k: [] for k in ("jax_one", "jax_many", "torch_one", "torch_many", "mode1")}
    peaks, layers = [], []
    for r in range(reps):
        t["jax_one"].append(median_time(lambda: one(jax.random.key(r), z, state.plan_probs).block_until_ready(), 1))
        t["jax_many"].append(median_time(lambda: many(ks, zs, ps).block_until_ready(), 1))
        t["torch_one"].append(median_time(torch_one, 1))
        t["torch_many"].append(median_time(torch_many, 1))
        t["mode1"].append(median_time(lambda: policy(state, state.obs).block_until_ready(), 5))
        peaks.append(peak_now())
        layers.append(layer_now())
    med = {k: float(np.median(v)) for k, v in t.items()}
    flop = flops_per_decision(cfg, state.wm, state.critic)
    peak = float(np.median(peaks))
    out = {
        "cem_budget": {"samples": cfg.planner.samples, "horizon": cfg.planner.horizon,
                       "iterations": cfg.planner.iterations, "gflop_per_decision": flop / 1e9},
        "jax_decisions_per_s": 1 / med["jax_one"], "jax_vmap16_decisions_per_s": 16 / med["jax_many"],
        "torch_decisions_per_s": 1 / med["torch_one"], "torch_batch16_decisions_per_s": 16 / med["torch_many"],
        "mode1_decisions_per_s": 1 / med["mode1"],
        "jax_gflops": flop / med["jax_one"] / 1e9, "jax_vmap16_gflops": 16 * flop / med["jax_many"] / 1e9,
        "matmul_peak_gflops": peak, "layer_matmul_gflops": float(np.median(layers)),
        "compile_s": {k: round(v, 2) for k, v in rows.items()},
    }
    out["cem_vs_torch"] = out["jax_decisions_per_s"] / out["torch_decisions_per_s"]
    out["cem_vs_torch_batch16"] = out["jax_vmap16_decisions_per_s"] / out["torch_batch16_decisions_per_s"]
    out["fraction_of_peak"] = max(out["jax_gflops"], out["jax_vmap16_gflops"]) / peak
    # the same against the rate of the planner's own largest layer shape (its matmuls cannot beat it)
    out["fraction_of_layer_rate"] = out["jax_vmap16_gflops"] / out["layer_matmul_gflops"]

    # end-to-end: one online iteration (collect with planning + learn), env steps per second
    small = with_overrides(cfg, ["train.prefill_steps=0", "train.pretrain_updates=0", "train.capacity=4000",
                                 f"train.collect_steps={20 if args.quick else 50}",
                                 f"train.updates={20 if args.quick else 50}"])
    a2 = Agent(small)
    st = jax.jit(a2.init)(jax.random.key(3))
    st, _ = jax.jit(lambda s: a2.collect(s, 64, "random"))(st)
    it = jax.jit(lambda s: a2.iterate(s, 1))
    t0 = time.perf_counter()
    it = it.lower(st).compile()
    out["compile_s"]["train_iteration"] = round(time.perf_counter() - t0, 2)
    st2, _ = it(st)
    jax.block_until_ready(st2.env_steps)
    tt = median_time(lambda: jax.block_until_ready(it(st)[0].env_steps), max(1, reps // 2))
    out["train_env_steps_per_s"] = small.train.collect_steps / tt
    out["train_updates_per_s"] = small.train.updates / tt

    for k, v in out.items():
        if not isinstance(v, dict):
            print(f"{k:32s} {v:10.3f}")
    print(f"{'compile (s)':32s} {out['compile_s']}")
    print(f"\ncem_vs_torch = {out['cem_vs_torch']:.2f} (target >= 1.0); fraction_of_peak = "
          f"{out['fraction_of_peak']:.2f} (target >= 0.7)")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
