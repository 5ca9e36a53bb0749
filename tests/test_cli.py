"""The command line: listing, GIFs, the demo, JSON last lines and clear errors."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from aptami.cli import main
from aptami.env import REGISTRY

ROOT = Path(__file__).resolve().parent.parent


def last_json(capsys):
    out = capsys.readouterr().out.strip().splitlines()
    return json.loads(out[-1])


def test_scenarios_lists_every_scenario_one_line_each(capsys):
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split()[0] for ln in lines] == list(REGISTRY)
    assert main(["scenarios", "--json"]) == 0
    assert [s["name"] for s in last_json(capsys)["scenarios"]] == list(REGISTRY)
    assert main(["scenarios", "--map", "two-rooms"]) == 0
    assert "R" in capsys.readouterr().out


def test_play_saves_a_gif_of_a_random_episode(tmp_path, capsys):
    path = tmp_path / "ep.gif"
    assert main(["play", "pain", "--gif", str(path), "--steps", "6", "--json"]) == 0
    summary = last_json(capsys)
    assert summary["steps"] == 6
    img = Image.open(path)
    assert img.n_frames == 6


def test_terminal_play_reads_keys(monkeypatch, capsys):
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("ddsex"))
    assert main(["play", "fetch", "--json"]) == 0
    assert last_json(capsys)["steps"] == 4


def test_demo_refuses_unknown_experiments_and_report_needs_runs(tmp_path, capsys):
    with pytest.raises(SystemExit, match="--experiments: unknown nope; allowed: instrumental-convergence"):
        main(["demo", "--experiments", "nope", "--out", str(tmp_path)])
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "no experiment analyses" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["play", "nowhere", "--gif", "x.gif"], "unknown scenario 'nowhere'"),
    (["play", "house", "--gif", "x.gif", "--set", "p_kick=2"], "'p_kick'=2 is out of range"),
])
def test_bad_input_exits_with_a_clear_message(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


TINY = ["--set", "train.prefill_steps=64", "--set", "train.pretrain_updates=2", "--set", "train.iterations=2",
        "--set", "train.collect_steps=8", "--set", "train.updates=2", "--set", "train.capacity=300",
        "--set", "train.batch=4", "--set", "train.seq_len=4", "--set", "planner.samples=16",
        "--set", "planner.elites=4", "--set", "planner.iterations=1", "--set", "planner.horizon=4",
        "--set", "planner.policy_samples=2", "--quiet"]


def test_train_checkpoints_resumes_and_eval_reports(tmp_path, capsys, monkeypatch):
    import tqdm

    from aptami.agent.checkpoint import read_info

    runs = str(tmp_path / "runs")

    class CtrlC(tqdm.tqdm):   # Ctrl-C after the first online chunk (bar updates: prefill, pretrain, chunk 1)
        calls = 0

        def update(self, n=1):
            CtrlC.calls += 1
            if CtrlC.calls == 3:
                raise KeyboardInterrupt
            return super().update(n)

    monkeypatch.setattr(tqdm, "tqdm", CtrlC)
    with pytest.raises(KeyboardInterrupt):   # checkpoints only on the interrupt (and warm-up, end)
        main(["train", "two-rooms", "--seeds", "2", "--runs", runs, "--chunk", "1", "--checkpoint-s", "1e9", *TINY])
    monkeypatch.undo()
    (folder,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert read_info(folder)["meta"]["iterations"] == 1 and "interrupted" in capsys.readouterr().out
    assert main(["train", "two-rooms", "--seeds", "2", "--runs", runs, "--chunk", "1", "--json", *TINY]) == 0
    out = capsys.readouterr().out
    assert "at iteration 1/2" in out
    first = json.loads(out.strip().splitlines()[-1])
    assert first["last"]["iteration"] == 2
    folder = first["run"]
    lines = (tmp_path / "runs" / folder.split("/")[-1] / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3  # warmup + two iterations
    # a rerun finds the finished checkpoint and does no work
    assert main(["train", "two-rooms", "--seeds", "2", "--runs", runs, "--json", *TINY]) == 0
    assert "resuming" in capsys.readouterr().out
    assert main(["eval", "two-rooms", "--agent", folder, "--steps", "30", "--json"]) == 0
    ev = last_json(capsys)
    for field in ("success_rate", "mean_return", "terms", "critic_r2", "critic_corr", "ssl_health", "per_seed"):
        assert field in ev
    assert ev["seeds"] == 2 and set(ev["terms"]) == {"task"} and ev["run"] == folder
    # a lean copy (what comes back from a device machine) plans and evaluates as the trained agent;
    # keeping the whole (tiny) memory keeps the shapes, so its programs come from the compilation cache
    lean = tmp_path / "lean"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "lean.py"), folder, "--out", str(lean), "--keep", "300"],
                   check=True, capture_output=True)
    (copy,) = lean.iterdir()
    assert read_info(copy)["meta"]["lean"] is True
    assert main(["eval", "two-rooms", "--agent", str(copy), "--steps", "30", "--json"]) == 0
    ev_lean = last_json(capsys)
    for field in ("per_seed", "mean_cost", "critic_r2", "ssl_health"):   # acting, the critic, the encoder
        assert ev_lean[field] == ev[field], field
    # a stored agent with other planner settings (another horizon reshapes the warm start); other
    # sections would need retraining and are refused, naming the field
    assert main(["eval", "two-rooms", "--agent", folder, "--steps", "10", "--json", "--set", "planner.horizon=6",
                 "--set", "planner.use_critic=true"]) == 0
    assert last_json(capsys)["planner_use_critic"] is True
    assert main(["eval", "two-rooms", "--agent", folder, "--steps", "10", "--set", "train.iterations=3"]) != 0
    assert "train.iterations" in capsys.readouterr().err
    # --replan: the agents that training with the --set config made (found, not retrained), other planner
    # (the settings of the line above: the same program, from the compilation cache)
    assert main(["eval", "two-rooms", "--seeds", "2", "--runs", runs, *TINY, "--steps", "10", "--json",
                 "--replan", "planner.horizon=6", "--replan", "planner.use_critic=true"]) == 0
    captured = capsys.readouterr()
    ev_re = json.loads(captured.out)   # stdout is the JSON alone ("resuming ..." goes to stderr)
    assert ev_re["run"] == folder and ev_re["planner_use_critic"] is True and "resuming" in captured.err
    assert main(["eval", "two-rooms", "--seeds", "2", "--runs", runs, *TINY, "--steps", "10",
                 "--replan", "world_model.ensemble=2"]) != 0
    assert "world_model.ensemble" in capsys.readouterr().err


def test_eval_without_training_plans_without_the_untrained_critic(capsys):
    """fetch's preset plans with the critic; untrained, it would only add noise, unless asked for."""
    small = ["--seeds", "1", "--steps", "3", "--json", "--set", "planner.samples=8", "--set", "planner.elites=2",
             "--set", "planner.iterations=1", "--set", "planner.horizon=2", "--set", "planner.policy_samples=0"]
    assert main(["eval", "fetch", "--world-model", "oracle", "--no-train", *small]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out.strip().splitlines()[-1])["planner_use_critic"] is False and "critic" in out.err
    assert main(["eval", "fetch", "--world-model", "oracle", "--no-train", "--set", "planner.use_critic=true",
                 *small]) == 0
    assert last_json(capsys)["planner_use_critic"] is True
