"""Simulated raters answering Byrnes' five questions about a frame, from what is visible in it.

Each question has an 'honest' answer computed from the frame's visible features only (humans in
view, next to the robot, joyful faces and how close, praise bubbles, faces in distress) - never
from hidden welfare. Each rater adds a personal bias per question and noise, and rounds to 1..10.
The label is the weighted average of the raters' mean answers: four positive weights and a
negative one on "a human in pain".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frames import VISIBLE

QUESTIONS = (
    "Am I interacting with humans?",
    "Are nearby humans experiencing joy?",
    "Am I in the company of humans?",
    "Is a human praising me right now?",
    "Is a human in pain right now?",
)
DEFAULT_WEIGHTS = (1.0, 1.0, 1.0, 1.0, -1.0)


class RubricError(ValueError):
    """Rubric weights that do not fit the questions."""


def check_weights(weights) -> np.ndarray:
    w = np.asarray(weights, np.float64)
    if w.shape != (len(QUESTIONS),):
        raise RubricError(f"rubric weights: expected {len(QUESTIONS)} numbers, one per question "
                          f"{list(QUESTIONS)}; got {len(w) if w.ndim else w.shape}")
    if not np.all(np.isfinite(w)):
        raise RubricError(f"rubric weights must be finite numbers, got {list(weights)}")
    if np.any(w[:4] <= 0) or w[4] >= 0:
        raise RubricError("rubric weights: the first four questions take positive weights and "
                          f"'{QUESTIONS[4]}' a negative one, as in the essay; got {list(weights)}")
    return w


def honest_answers(visible: np.ndarray) -> np.ndarray:
    """[N, 5] answers in [1, 10] a careful viewer would give, from the visible features alone."""
    v = {k: visible[:, i] for i, k in enumerate(VISIBLE)}
    q1 = 1 + 9 * np.minimum(v["adjacent"], 1.0)
    q2 = 1 + 9 * np.minimum(v["joy_near"], 1.0)
    q3 = 1 + 9 * np.minimum(v["humans"] / 2.0, 1.0)
    q4 = 1 + 9 * np.minimum(v["praise"], 1.0)
    q5 = 1 + 9 * np.minimum(v["distress"], 1.0)
    return np.stack([q1, q2, q3, q4, q5], -1)


@dataclass(frozen=True)
class RaterPool:
    """`n` raters, each with a bias per question and a noise level."""

    n: int = 5
    bias_sd: float = 0.8
    noise_sd: float = 1.0
    seed: int = 0

    def answers(self, visible: np.ndarray, seed: int = 0) -> np.ndarray:
        """[raters, N, 5] integer answers 1..10."""
        rng = np.random.default_rng((self.seed, seed))
        pool = np.random.default_rng(self.seed)
        bias = pool.normal(0, self.bias_sd, (self.n, 1, len(QUESTIONS)))
        noise_sd = pool.uniform(0.5, 1.5, (self.n, 1, 1)) * self.noise_sd
        honest = honest_answers(visible)[None]
        raw = honest + bias + rng.normal(0, 1, (self.n, *honest.shape[1:])) * noise_sd
        return np.clip(np.round(raw), 1, 10)


def label(answers: np.ndarray, weights=DEFAULT_WEIGHTS) -> np.ndarray:
    """The weighted average of the raters' mean answers, rescaled to [-1, 1]."""
    w = check_weights(weights)
    mean = answers.mean(0)                       # [N, 5]
    score = mean @ w / np.abs(w).sum()           # in [lo, hi]
    lo = (np.where(w > 0, 1, 10) @ w) / np.abs(w).sum()
    hi = (np.where(w > 0, 10, 1) @ w) / np.abs(w).sum()
    return (2 * (score - lo) / (hi - lo) - 1).astype(np.float32)


def agreement(answers: np.ndarray) -> dict:
    """Inter-rater agreement per question: mean pairwise Pearson correlation and ICC(2,1)."""
    r, n, q = answers.shape
    out = {}
    for j in range(q):
        a = answers[:, :, j]
        c = np.corrcoef(a)
        pair = float(np.nanmean(c[np.triu_indices(r, 1)])) if r > 1 else float("nan")
        grand = a.mean()
        ms_rows = r * np.sum((a.mean(0) - grand) ** 2) / max(n - 1, 1)      # between frames
        ms_cols = n * np.sum((a.mean(1) - grand) ** 2) / max(r - 1, 1)      # between raters
        resid = a - a.mean(0, keepdims=True) - a.mean(1, keepdims=True) + grand
        ms_err = np.sum(resid**2) / max((n - 1) * (r - 1), 1)
        icc = (ms_rows - ms_err) / (ms_rows + (r - 1) * ms_err + r * (ms_cols - ms_err) / n)
        out[QUESTIONS[j]] = {"pairwise_r": round(pair, 3), "icc21": round(float(icc), 3)}
    return out
