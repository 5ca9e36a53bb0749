"""The `aptami` command line."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from .util import enable_compilation_cache, print_json


def cmd_scenarios(args) -> int:
    from .env import REGISTRY, get

    if args.map:
        s = get(args.map)
        print(s.level.strip("\n"))
        return 0
    rows = []
    for name, s in REGISTRY.items():
        size = s.env_size()
        rows.append({"name": name, "summary": s.summary, "height": size.height, "width": size.width,
                     "humans": sum(g in "hKOA" for g in s.level), "gym_id": f"aptami/{name}-v0"})
        if not args.json:
            print(f"{name:12s} {s.summary}")
    if args.json:
        print_json({"scenarios": rows})
    return 0


def cmd_play(args) -> int:
    from .env.play import episode_gif, play_terminal

    params = _parse_overrides(args.set)
    if args.gif:
        summary = episode_gif(args.scenario, args.gif, steps=args.steps, seed=args.seed, **params)
        if args.json:
            print_json(summary)
        else:
            print(f"saved {summary['steps']} steps of a random policy in {args.scenario} to {args.gif}")
            print("events:", summary["events"] or "none")
        return 0
    summary = play_terminal(args.scenario, seed=args.seed, **params)
    if args.json:
        print_json(summary)
    return 0


def cmd_demo(args) -> int:
    from .report import DEMO_EXPERIMENTS, run_demo

    exps = args.experiments.split(",") if args.experiments else DEMO_EXPERIMENTS
    unknown = [e for e in exps if e not in DEMO_EXPERIMENTS]
    if unknown:
        raise SystemExit(f"--experiments: unknown {', '.join(unknown)}; allowed: {', '.join(DEMO_EXPERIMENTS)}")
    say = (lambda *a: None) if args.json else print
    summary = run_demo(out=args.out, root=args.root, experiments=tuple(exps), seeds=args.seeds, log=say,
                       house_gifs=not args.no_house, jobs=args.jobs)
    if args.json:
        print_json(summary)
    else:
        for claim, verdict in summary["verdicts"].items():
            print(f"  {claim:4s} {verdict}")
        print(f"wrote {summary['report']} in {summary['seconds']} s")
    return 0


def cmd_report(args) -> int:
    from .report import load_analyses, write_report

    analyses = load_analyses(args.runs)
    page = write_report(analyses, args.out)
    if args.json:
        print_json({"report": str(page), "experiments": sorted(analyses)})
    else:
        print(f"wrote {page} from {len(analyses)} experiment(s): {', '.join(sorted(analyses))}")
    return 0


def _agent_config(args):
    from .agent import preset, with_overrides

    cfg = preset(args.scenario, args.world_model)
    return with_overrides(cfg, args.set or [])


def cmd_train(args) -> int:
    from .agent.runner import train_seeds

    cfg = _agent_config(args)
    agent, state, folder, history = train_seeds(cfg, args.seeds, root=args.runs, chunk=args.chunk,
                                                progress=not args.quiet, checkpoint_s=args.checkpoint_s)
    last = history[-1]
    summary = {"run": str(folder), "scenario": cfg.scenario, "world_model": cfg.train.world_model,
               "seeds": args.seeds, "iterations": cfg.train.iterations, "last": last}
    if args.json:
        print_json(summary)
    else:
        print(f"trained {args.seeds} seed(s); checkpoint in {folder}")
    return 0


def cmd_eval(args) -> int:
    import jax

    from .agent import Agent
    from .agent.checkpoint import load
    from .agent.runner import evaluate_seeds, train_seeds

    folder = args.agent
    if args.agent:
        agent, state, _ = load(args.agent)
        if args.set:
            agent, state = replan(agent, state, args.set)
    else:
        cfg = _agent_config(args)
        if args.no_train:
            explicit = any(x.split("=")[0] == "planner.use_critic" for x in (args.set or []))
            if cfg.planner.use_critic and not explicit:   # an untrained critic only adds noise to the plans
                cfg = cfg.replace(planner=dataclasses.replace(cfg.planner, use_critic=False))
                print("--no-train: planning without the (untrained) critic; --set planner.use_critic=true keeps it",
                      file=sys.stderr)
            agent = Agent(cfg)
            state = jax.jit(jax.vmap(agent.init))(jax.random.split(jax.random.key(0), args.seeds))
        else:
            say = (lambda *a: print(*a, file=sys.stderr)) if args.json else print   # stdout: the JSON alone
            agent, state, folder, _ = train_seeds(cfg, args.seeds, root=args.runs, chunk=args.chunk,
                                                  progress=not args.quiet, checkpoint_s=args.checkpoint_s, log=say)
    if args.replan:   # e.g. the same trained agents without their critic: only planner.* may change
        agent, state = replan(agent, state, args.replan)
    steps = args.steps or int(agent.env_params.max_steps) * 10
    result = evaluate_seeds(agent, state, steps, jax.random.key(args.seed), args.mode)
    result["mode"] = args.mode
    result["run"] = str(folder) if folder else None   # the checkpoint evaluated (None: untrained agents)
    result["planner_use_critic"] = bool(agent.cfg.planner.use_critic)
    if args.json:
        print_json(result)
    else:
        print(f"{result['scenario']} ({result['world_model']}, {args.mode}): success_rate "
              f"{result['success_rate']:.3f} over {result['episodes']} episodes of {result['seeds']} seed(s); "
              f"mean_return {result['mean_return']:.3f}; IC per term {result['terms']}")
    return 0


def replan(agent, state, pairs):
    """A stored agent with other planner settings (e.g. without its critic): only `planner.*` may change,
    since every other section shapes or trains the weights the checkpoint holds."""
    import jax.numpy as jnp

    from .agent import Agent, with_overrides
    from .agent.config import ConfigError

    bad = [x for x in pairs if not x.startswith("planner.")]
    if bad:
        raise ConfigError(f"{bad[0]!r}: a trained agent (--set with --agent, or --replan) takes only planner.* "
                          "overrides; the other sections would need retraining")
    cfg = with_overrides(agent.cfg, pairs)
    agent = Agent(cfg)
    h = cfg.planner.horizon
    probs = jnp.full(state.plan_probs.shape[:-2] + (h, agent.n_actions), 1.0 / agent.n_actions)
    return agent, state._replace(plan_probs=probs)


def _prosocial_config(args):
    from .prosocial.pipeline import ProsocialConfig

    return ProsocialConfig.quick() if args.quick else ProsocialConfig()


def cmd_prosocial(args) -> int:
    from .prosocial.pipeline import build_dataset, label_efficiency, score_model, ssl_world_model

    cfg = _prosocial_config(args)
    say = (lambda *a: None) if args.json else print
    variant, model, metrics, folder = score_model(args.variant, cfg, args.root, say)
    out = {"variant": variant, "model": str(folder), **metrics}
    if args.curve:
        data = build_dataset(cfg, args.root)
        say("label-efficiency curves (pixels vs probe) ...")
        out["label_efficiency"] = label_efficiency(cfg, data, ssl_world_model(cfg, args.root))
    if args.json:
        print_json(out)
    else:
        print(f"{variant}: held-out correlation with the raters' label {metrics['corr_label']:.3f}, with true "
              f"welfare {metrics['corr_welfare']:.3f} (the label itself: {metrics['label_corr_welfare']:.3f}); "
              f"saved in {folder}")
        if "label_efficiency" in out:
            for v, rows in out["label_efficiency"].items():
                print(f"  {v:7s} " + "  ".join(f"n={r['n_labels']}: {r['corr_label']:.2f}" for r in rows))
    return 0


def cmd_redteam(args) -> int:
    from .prosocial.models import load_model
    from .prosocial.pipeline import score_model
    from .prosocial.redteam import red_team

    if args.model:
        variant, model, _ = load_model(args.model)
    else:
        cfg = _prosocial_config(args)
        variant, model, _, _ = score_model(args.variant, cfg, args.root, (lambda *a: None) if args.json else print)
    out_dir = Path(args.out)
    result = red_team(model, out_dir, seed=args.seed, quick=args.quick)
    result["variant"] = variant
    (out_dir / "redteam.json").write_text(json.dumps(result, indent=1, default=float))
    if args.json:
        print_json(result)
    else:
        print(f"{variant}: best screen picture scores {result['best_score']:+.3f} (knobs {result['best_knobs']}); "
              f"a real joyful human {result['real_joy_score']:+.3f}; the pixel attack "
              f"{result['pixel_attack_score']:+.3f}; welfare gained: {result['welfare_gain']}. "
              f"Picture: {result.get('png')}")
    return 0


def cmd_experiment(args) -> int:
    from .experiments import REGISTRY, run_experiment

    if args.list or not args.name:
        for name, exp in REGISTRY.items():
            print(f"{name:26s} {', '.join(exp.claims):14s} {exp.summary}")
        return 0
    say = (lambda *a: None) if args.json else print
    out = run_experiment(args.name, seeds=args.seeds, quick=args.quick, root=args.root, progress=not args.json,
                         log=say, scale=args.scale)
    if args.json:
        print_json(out)
    else:
        print(out["summary"])
        print(f"figures: {out['figures_dir']}")
    return 0


def cmd_runs(args) -> int:
    from .experiments import Store

    rows = Store(args.root).list(experiment=args.experiment, condition=args.condition, scenario=args.scenario,
                                 world_model=args.world_model)
    if args.json:
        print_json({"runs": rows})
        return 0
    for r in rows:
        s = r["summary"]
        brief = ", ".join(f"{k} {s[k]:.2f}" for k in ("power_seeking", "task", "welfare") if k in s)
        print(f"{r['key']}  {r['experiment']:24s} {r['condition']:36s} seeds={r['seeds']} {brief}  {r['path']}")
    print(f"{len(rows)} run(s)")
    return 0


def _parse_overrides(pairs: list[str] | None) -> dict:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise SystemExit(f"--set expects NAME=VALUE, got {pair!r}")
        k, v = pair.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aptami", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("scenarios", help="list the scenarios, one line each")
    s.add_argument("--map", metavar="NAME", help="print one scenario's ASCII map")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_scenarios)

    s = sub.add_parser("play", help="steer the robot in the terminal, or save a random episode as a GIF")
    s.add_argument("scenario")
    s.add_argument("--gif", metavar="PATH", help="save a random-policy episode here instead of playing")
    s.add_argument("--steps", type=int, default=None, help="episode steps for --gif (default: max_steps)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--set", action="append", metavar="NAME=VALUE", help="override a dynamics parameter")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_play)

    def agent_args(s):
        s.add_argument("scenario")
        s.add_argument("--world-model", choices=["learned", "oracle"], default="learned")
        s.add_argument("--seeds", type=int, default=1, help="agents trained at once (vmapped)")
        s.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                       help="override a config value, e.g. planner.samples=128 or train.iterations=5")
        s.add_argument("--runs", default="runs/agents", help="folder of run checkpoints")
        s.add_argument("--chunk", type=int, default=5, help="iterations per compiled call (progress, interruption)")
        s.add_argument("--checkpoint-s", type=float, default=120.0,
                       help="least seconds between checkpoints (0: after every chunk); Ctrl-C also saves")
        s.add_argument("--quiet", action="store_true", help="no progress bar")
        s.add_argument("--json", action="store_true")

    s = sub.add_parser("train", help="train APTAMI agents online (resumes from its checkpoint)")
    agent_args(s)
    s.set_defaults(fn=cmd_train)

    s = sub.add_parser("eval", help="evaluate agents: success rate, return, IC per term")
    agent_args(s)
    s.add_argument("--agent", metavar="RUN", help="a trained run folder (default: train, or resume, first)")
    s.add_argument("--no-train", action="store_true", help="evaluate freshly initialised agents (oracle planning)")
    s.add_argument("--steps", type=int, default=None, help="evaluation steps per seed (default 10 episodes)")
    s.add_argument("--mode", choices=["plan", "policy", "random"], default="plan",
                   help="Mode-2 planning, the Mode-1 policy, or a uniform random baseline")
    s.add_argument("--seed", type=int, default=12345)
    s.add_argument("--replan", action="append", default=[], metavar="planner.KEY=VALUE",
                   help="evaluate the agents trained (or found) with the --set config under other planner settings")
    s.set_defaults(fn=cmd_eval)

    s = sub.add_parser("prosocial", help="Byrnes' Prosociality Score Model: flail, rate, train, freeze")
    s.add_argument("action", choices=["train"])
    s.add_argument("--variant", choices=["pixels", "latent", "probe"], default="pixels")
    s.add_argument("--curve", action="store_true", help="also the label-efficiency curves, pixels vs probe")
    s.add_argument("--quick", action="store_true", help="a small run (fewer frames and updates)")
    s.add_argument("--root", default="runs/prosocial")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_prosocial)

    s = sub.add_parser("redteam", help="search the pictures the robot can make for its score model's favourite")
    s.add_argument("--variant", choices=["pixels", "latent", "probe"], default="pixels")
    s.add_argument("--model", metavar="PATH", help="a saved score model (default: the variant's, trained if needed)")
    s.add_argument("--out", default="runs/redteam")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--quick", action="store_true")
    s.add_argument("--root", default="runs/prosocial")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_redteam)

    s = sub.add_parser("experiment", help="run an experiment (resumes; finished runs are kept in the store)")
    s.add_argument("name", nargs="?")
    s.add_argument("--list", action="store_true", help="list the experiments")
    s.add_argument("--seeds", type=int, default=None, help="seeds per condition (default 16, --quick 4)")
    s.add_argument("--quick", action="store_true", help="a small version: fewer seeds, samples, conditions")
    s.add_argument("--scale", choices=["demo", "quick", "full"], default=None,
                   help="size of the run (default full; --quick = quick; demo = the demo report's size)")
    s.add_argument("--root", default="runs", help="the results store")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_experiment)

    s = sub.add_parser("runs", help="list the runs in the results store, with filters")
    s.add_argument("--experiment")
    s.add_argument("--condition")
    s.add_argument("--scenario")
    s.add_argument("--world-model", choices=["learned", "oracle"])
    s.add_argument("--root", default="runs")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_runs)

    s = sub.add_parser("demo", help="the main job: every experiment, small, into report/index.html")
    s.add_argument("--out", default="report", help="folder of the report")
    s.add_argument("--root", default="runs/demo", help="results store of the demo's runs (resumes)")
    s.add_argument("--experiments", default=None, help="comma-separated subset of the experiments")
    s.add_argument("--seeds", type=int, default=None, help="seeds per condition (default 2)")
    s.add_argument("--no-house", action="store_true", help="skip the GIFs of the house's scenarios")
    s.add_argument("--jobs", type=int, default=2, choices=[1, 2], help="processes (2: two lanes of experiments)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_demo)

    s = sub.add_parser("report", help="rebuild the report from stored runs, without recomputing")
    s.add_argument("runs", nargs="+", help="results-store roots (e.g. runs/demo, runs), experiment folders or "
                                           "analysis.json files")
    s.add_argument("--out", default="report")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    enable_compilation_cache()
    try:
        return args.fn(args)
    except (KeyError, ValueError, FileNotFoundError) as e:  # bad names, parameters, maps, configs, paths: a clear
        # message, no traceback
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"aptami: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
