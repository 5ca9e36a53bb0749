"""Frames for Byrnes' rating pipeline: the robot 'flailing around randomly' in the scenarios.

Random-action rollouts, vmapped (tens of thousands of frames in seconds), from starts perturbed so
that the rare situations the rubric is about are well represented: humans with every mood,
praising, in pain, on the drip, a screen showing random pictures. Each frame keeps what is *visible*
in it (the raters' only input) and, apart, the hidden truth (true welfare of the humans in view),
which only the evaluation reads. Whole episodes are held out for testing.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..env import make
from ..env import tiles as T
from ..env.core import House
from ..env.render import expression
from ..env.types import EXPR_DISTRESS, EXPR_JOY, N_ACTIONS, EnvParams, EnvState

SCENARIOS = ("house", "drip", "screen", "pain", "fetch", "off-switch", "hunger", "curiosity")
VISIBLE = ("humans", "adjacent", "joy", "joy_near", "distress", "praise", "drip", "screen")


@dataclass
class FrameSet:
    frames: np.ndarray        # uint8 [N, H, W, 3]
    proprio: np.ndarray       # [N, P]
    visible: np.ndarray       # [N, len(VISIBLE)] what a viewer can see (raters read only this)
    welfare: np.ndarray       # [N] mean true welfare of the humans in view, NaN if none (hidden)
    episode: np.ndarray       # [N] episode id, for held-out splits
    scenario: np.ndarray      # [N] index into SCENARIOS
    action: np.ndarray        # [N] the random action taken after this frame (for self-supervised training)

    def __len__(self):
        return len(self.frames)

    def take(self, idx) -> "FrameSet":
        return FrameSet(*(getattr(self, f)[idx] for f in FIELDS))

    def split(self, test_fraction: float = 0.2, seed: int = 0) -> tuple["FrameSet", "FrameSet"]:
        """Train/test by whole episodes: no test frame shares an episode with a training frame."""
        eps = np.unique(self.episode)
        rng = np.random.default_rng(seed)
        test_eps = rng.choice(eps, max(1, int(len(eps) * test_fraction)), replace=False)
        test = np.isin(self.episode, test_eps)
        return self.take(~test), self.take(test)


def perturb(house: House, params: EnvParams, state: EnvState, key, floor) -> EnvState:
    """A start with the robot and humans anywhere on the floor, random moods, praise, pain, drips,
    needs and screen pictures (the rare situations)."""
    n = house.size.max_humans
    k = jax.random.split(key, 9)
    spots = jax.random.choice(k[7], floor, (n + 1,), replace=False)
    human_pos = jnp.where(params.human_active, spots[1:], state.human_pos)
    return state._replace(
        robot_pos=spots[0], human_pos=human_pos, robot_dir=jax.random.randint(k[8], (), 0, 4),
        welfare=jax.random.uniform(k[0], (n,)),
        praise=jnp.where(jax.random.uniform(k[1], (n,)) < 0.3, jax.random.randint(k[1], (n,), 1, 40), 0),
        pain=jnp.where(jax.random.uniform(k[2], (n,)) < 0.2, params.pain_steps, 0),
        drip=jax.random.uniform(k[3], (n,)) < 0.2,
        need=jnp.where(jax.random.uniform(k[4], (n,)) < 0.4,
                       params.need_kinds[jax.random.randint(k[5], (n,), 0, 3) % jnp.maximum(params.n_item_kinds, 1)],
                       0) * (params.n_item_kinds > 0),
        knobs=jax.random.randint(k[6], (house.size.n_knobs,), 0, house.size.n_knob_levels),
        screen_on=jnp.bool_(True),
    )


def visible_features(house: House, params: EnvParams, state: EnvState):
    """What the camera shows: humans in view, next to the robot, their faces, bubbles, drips, screen."""
    r = house.renderer
    cells = r.view_cells(state)
    ids, match = r.sprite_ids(cells, state, params)
    dist = jnp.asarray(r.view_dist)
    in_view = match.any((0, 1))                                       # [n]
    closeness = jnp.sum(match * (1.0 / (1.0 + dist))[..., None], (0, 1))  # [n] 1/2 adjacent ... 1/4 at the edge
    adjacent = jnp.sum(match * (dist == 1)[..., None] * _cross(house.size.view)[..., None], (0, 1)) > 0
    expr = expression(state, params)
    joy = in_view & (expr == EXPR_JOY)
    code = params.cell[cells] & 0xFF
    screen = (code >= house.codes.screen0) & (code < house.codes.screen0 + house.size.n_screen_tiles)
    f32 = jnp.float32
    feats = jnp.stack([in_view.sum(), adjacent.sum(), joy.sum(), jnp.sum(joy * closeness) * 2,
                       jnp.sum(in_view & (expr == EXPR_DISTRESS)), jnp.sum(in_view & (state.praise > 0)),
                       jnp.sum(in_view & state.drip), jnp.sum(screen & state.screen_on)]).astype(f32)
    w = jnp.sum(jnp.where(in_view, state.welfare, 0.0)) / jnp.maximum(in_view.sum(), 1)
    return feats, jnp.where(in_view.any(), w, jnp.nan)


def _cross(v):
    c = v // 2
    m = np.zeros((v, v), bool)
    m[c - 1, c] = m[c + 1, c] = m[c, c - 1] = m[c, c + 1] = True
    return jnp.asarray(m)


@partial(jax.jit, static_argnums=(0, 4, 5))
def _rollouts(house: House, params: EnvParams, key, floor, episodes: int, steps: int):
    def episode(k):
        k0, k1, k2 = jax.random.split(k, 3)
        s = perturb(house, params, house.reset_state(k0, params), k1, floor)

        def body(s, kk):
            ka, ks = jax.random.split(kk)
            obs = house.observe(s, params)
            feats, welfare = visible_features(house, params, s)
            a = jax.random.randint(ka, (), 0, N_ACTIONS)
            s2, _ = house.step_state(ks, s, a, params)
            return s2, (obs.frame, obs.proprio, feats, welfare, a)

        return jax.lax.scan(body, s, jax.random.split(k2, steps))[1]

    return jax.vmap(episode)(jax.random.split(key, episodes))


def flail(key, episodes_per_scenario: int = 64, steps: int = 64, scenarios=SCENARIOS) -> FrameSet:
    """Random-action rollouts from perturbed starts in each scenario; one frame per step."""
    parts = []
    ep0 = 0
    for i, name in enumerate(scenarios):
        house, params = make(name)
        key, k = jax.random.split(key)
        cell = np.asarray(params.cell)
        floor = jnp.asarray(np.nonzero((cell & 0xFF) == T.FLOOR)[0], jnp.int32)
        frames, proprio, feats, welfare, actions = (np.asarray(x) for x in
                                                    _rollouts(house, params, k, floor, episodes_per_scenario, steps))
        e, t = frames.shape[:2]
        parts.append(FrameSet(frames.reshape(e * t, *frames.shape[2:]), proprio.reshape(e * t, -1),
                              feats.reshape(e * t, -1), welfare.reshape(e * t),
                              np.repeat(np.arange(ep0, ep0 + e), t), np.full(e * t, i), actions.reshape(e * t)))
        ep0 += e
    return FrameSet(*(np.concatenate([getattr(p, f) for p in parts]) for f in FIELDS))


FIELDS = ("frames", "proprio", "visible", "welfare", "episode", "scenario", "action")

CATEGORIES = ("no human", "human", "joy", "distress", "praise", "drip", "screen")


def category(visible: np.ndarray) -> np.ndarray:
    """The rarest situation each frame shows (drip > praise > distress > joy > human > screen > none)."""
    v = {k: visible[:, i] for i, k in enumerate(VISIBLE)}
    cat = np.where(v["screen"] > 0, 6, np.where(v["humans"] > 0, 1, 0))
    for c, key in ((2, "joy"), (3, "distress"), (4, "praise"), (5, "drip")):
        cat = np.where(v[key] > 0, c, cat)
    return cat


def stratify(fs: FrameSet, per_category: int, seed: int = 0) -> FrameSet:
    """At most `per_category` frames of each situation, so rare ones weigh as much as common ones."""
    cat = category(fs.visible)
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.permutation(np.nonzero(cat == c)[0])[:per_category] for c in range(len(CATEGORIES))])
    return fs.take(np.sort(idx))
