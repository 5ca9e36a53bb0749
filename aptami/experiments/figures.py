"""Figures (matplotlib, headless): bars and lines with 95% intervals, saved as PNG and SVG."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save(fig, out_dir, name: str) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"png": str(out / f"{name}.png"), "svg": str(out / f"{name}.svg")}
    fig.savefig(paths["png"], dpi=110, bbox_inches="tight")
    fig.savefig(paths["svg"], bbox_inches="tight")
    plt.close(fig)
    return paths


def bars(groups: list[str], series: dict[str, list[dict]], title: str, ylabel: str, out_dir, name: str) -> dict:
    """Grouped bars: series[label][i] = {mean, low, high} for group i."""
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(groups) * max(1, len(series)) / 2), 3.4))
    n = len(series)
    width = 0.8 / max(n, 1)
    for j, (label, cis) in enumerate(series.items()):
        xs = [i + (j - (n - 1) / 2) * width for i in range(len(groups))]
        means = [c["mean"] for c in cis]
        err = [[c["mean"] - c["low"] for c in cis], [c["high"] - c["mean"] for c in cis]]
        ax.bar(xs, means, width, yerr=err, capsize=3, label=label)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if n > 1:
        ax.legend(fontsize=8)
    ax.axhline(0, color="k", lw=0.5)
    return save(fig, out_dir, name)


def lines(xs: list, series: dict[str, list[dict]], title: str, xlabel: str, ylabel: str, out_dir, name: str,
          logx: bool = False) -> dict:
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for label, cis in series.items():
        m = [c["mean"] for c in cis]
        ax.plot(xs, m, marker="o", label=label)
        ax.fill_between(xs, [c["low"] for c in cis], [c["high"] for c in cis], alpha=0.2)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return save(fig, out_dir, name)
