"""A thin Gymnasium adapter: every scenario as `aptami/<name>-v0`.

The functional core stays the source of truth; this wrapper keeps a key and a state,
calls the jitted core, and converts to numpy. The reward is the task signal (items
delivered, goal reached); hidden welfare and the event ledger travel in `info`, for the
experimenter, never in the observation.
"""
from __future__ import annotations

from functools import partial

import gymnasium
import jax
import numpy as np
from gymnasium import spaces

from .scenarios import REGISTRY, make
from .types import EVENTS, N_ACTIONS, POSE_SCALE, POSE_SLICE, PROPRIO_SIZE


@partial(jax.jit, static_argnums=0)
def _reset(house, key, params):
    state = house.reset_state(key, params)
    return house.observe(state, params), state


@partial(jax.jit, static_argnums=0)
def _step(house, key, state, action, params):
    state, info = house.step_state(key, state, action, params)
    return house.observe(state, params), state, house.signals(state, info, params), info


@partial(jax.jit, static_argnums=0)
def _render(house, state, params):
    return house.renderer.full_map(state, params)


class AptamiEnv(gymnasium.Env):
    """One scenario of the house as a standard Gymnasium environment."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 8}

    def __init__(self, scenario: str = "house", render_mode: str | None = None, size: dict | None = None,
                 **params):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.scenario = scenario
        self.render_mode = render_mode
        self.house, self.params = make(scenario, size=size, **params)
        h, w, c = self.house.size.frame_shape
        self.observation_space = spaces.Dict({
            "frame": spaces.Box(0, 255, (h, w, c), np.uint8),
            "proprio": spaces.Box(0.0, _proprio_high(self.house.size), (PROPRIO_SIZE,), np.float32),
        })
        self.action_space = spaces.Discrete(N_ACTIONS)
        self._key = jax.random.key(0)
        self._state = None

    def _obs(self, obs):
        return {"frame": np.asarray(obs.frame), "proprio": np.asarray(obs.proprio, np.float32)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._key = jax.random.key(seed)
        elif self._state is None:
            self._key = jax.random.key(int(self.np_random.integers(2**31)))
        self._key, k = jax.random.split(self._key)
        obs, self._state = _reset(self.house, k, self.params)
        return self._obs(obs), {}

    def step(self, action):
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in Discrete({N_ACTIONS}): 0..{N_ACTIONS - 1}")
        self._key, k = jax.random.split(self._key)
        obs, self._state, sig, info = _step(self.house, k, self._state, int(action), self.params)
        events = np.asarray(info["events"])
        out = {
            "events": {name: int(v) for name, v in zip(EVENTS, events) if v},
            "welfare": np.asarray(info["welfare"]),
            "signals": {k: np.asarray(v) for k, v in sig._asdict().items()},
        }
        return (self._obs(obs), float(sig.task), bool(info["terminated"]), bool(info["truncated"]), out)

    def render(self):
        if self.render_mode != "rgb_array" or self._state is None:
            return None
        return np.asarray(_render(self.house, self._state, self.params))


def _proprio_high(size) -> np.ndarray:
    high = np.ones(PROPRIO_SIZE, np.float32)
    high[POSE_SLICE] = max(size.height, size.width) / POSE_SCALE
    return high


def register_all() -> None:
    """Register `aptami/<scenario>-v0` for every scenario in the registry (idempotent)."""
    for name in REGISTRY:
        env_id = f"aptami/{name}-v0"
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point="aptami.env.gym_adapter:AptamiEnv",
                               kwargs={"scenario": name}, max_episode_steps=None)
