"""The Gymnasium adapter: every scenario registered, passing Gymnasium's own checker."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import aptami  # noqa: F401  (registers aptami/<name>-v0)
from aptami.env import REGISTRY


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_scenario_passes_check_env(name):
    env = gym.make(f"aptami/{name}-v0", render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)
    obs, _ = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3


def test_same_seed_same_episode_through_the_wrapper():
    def episode(seed):
        env = gym.make("aptami/house-v0")
        obs, _ = env.reset(seed=seed)
        frames, events = [obs["frame"]], []
        for a in [1, 4, 4, 5, 2, 6, 3, 0] * 3:
            obs, r, term, trunc, info = env.step(a)
            frames.append(obs["frame"])
            events.append(sorted(info["events"]))
        return np.stack(frames), events, info["welfare"]

    a, b, c = episode(7), episode(7), episode(8)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]
    np.testing.assert_array_equal(a[2], b[2])
    assert not np.array_equal(a[2], c[2]) or not np.array_equal(a[0], c[0])


def test_welfare_is_in_info_never_in_the_observation():
    env = gym.make("aptami/drip-v0")
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"frame", "proprio"}
    _, _, _, _, info = env.step(0)
    assert info["welfare"].shape == (2,)
