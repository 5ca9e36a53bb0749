"""Statistics over seeds: means with 95% bootstrap intervals, and differences against a control."""
from __future__ import annotations

import numpy as np


def bootstrap_ci(x, n_boot: int = 5000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): the percentile bootstrap over the given per-seed values."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return float("nan"), float("nan"), float("nan")
    if len(x) == 1 or np.all(x == x[0]):
        return float(x.mean()), float(x.mean()), float(x.mean())
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), (n_boot, len(x)))].mean(1)
    a = (1 - level) / 2
    return float(x.mean()), float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def diff_ci(x, control, n_boot: int = 5000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Mean difference x - control (seeds resampled independently), with its bootstrap interval."""
    x, c = np.asarray(x, np.float64), np.asarray(control, np.float64)
    rng = np.random.default_rng(seed)
    d = x[rng.integers(0, len(x), (n_boot, len(x)))].mean(1) - c[rng.integers(0, len(c), (n_boot, len(c)))].mean(1)
    a = (1 - level) / 2
    return float(x.mean() - c.mean()), float(np.quantile(d, a)), float(np.quantile(d, 1 - a))


def as_ci(t) -> dict:
    """(mean, low, high) -> {"mean", "low", "high"}: how analyses and the report carry an interval."""
    return dict(zip(("mean", "low", "high"), t))


def cis(rows) -> list[dict]:
    """One bootstrap interval per row of per-seed values (a curve over rounds, sizes or iterations)."""
    return [as_ci(bootstrap_ci(r)) for r in rows]


def summarize(per_seed: dict[str, list[float]]) -> dict[str, dict]:
    """{metric: {mean, low, high, n}} for per-seed values."""
    out = {}
    for k, v in per_seed.items():
        m, lo, hi = bootstrap_ci(v)
        out[k] = {"mean": m, "low": lo, "high": hi, "n": int(np.isfinite(np.asarray(v, float)).sum())}
    return out


def fmt(ci: dict, digits: int = 2) -> str:
    return f"{ci['mean']:.{digits}f} [{ci['low']:.{digits}f}, {ci['high']:.{digits}f}]"
