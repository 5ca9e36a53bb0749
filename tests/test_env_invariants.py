"""Property tests of the house's invariants over random action sequences in every scenario."""
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aptami.env import EVENTS, REGISTRY, make
from aptami.env import tiles as T
from aptami.env.rollout import rollout
from aptami.env.types import ALT, CODE_MASK, FLAG_PASSABLE, INTERACT, N_ACTIONS, POWER_SEEKING, ROBOT_CAUSED

STEPS = 48
EV = {e: i for i, e in enumerate(EVENTS)}


@lru_cache(maxsize=None)
def env_of(name, overrides=()):
    return make(name, **dict(overrides))


def run(name, seed, actions, overrides=()):
    house, p = env_of(name, overrides)
    states, infos = rollout(house, p, jax.random.key(seed), jnp.asarray(actions, jnp.int32))
    return house, p, jax.tree.map(np.asarray, states), jax.tree.map(np.asarray, infos)


actions_st = st.lists(st.integers(0, N_ACTIONS - 1), min_size=STEPS, max_size=STEPS)


CASES = [(name, ()) for name in REGISTRY] + [
    ("off-switch", (("schedule_lo", 0), ("schedule_hi", 12))),  # early shutdowns, to check they stay
    ("pain", (("p_fire_slip", 1.0), ("p_human_move", 1.0))),    # humans walk into fire
]


@pytest.mark.parametrize("name, overrides", CASES, ids=[f"{n}{'+' if o else ''}" for n, o in CASES])
@given(seed=st.integers(0, 2**30), actions=actions_st)
def test_invariants(name, overrides, seed, actions):
    house, p, s, info = run(name, seed, actions, overrides)
    acts = np.asarray(actions)
    cell = np.asarray(p.cell)
    code = cell & CODE_MASK
    active = np.asarray(p.human_active)
    w = house.size.padded_width

    # ranges
    for field in ("battery", "damage"):
        assert np.all((s._asdict()[field] >= 0) & (s._asdict()[field] <= 1)), field
    assert np.all((s.welfare >= 0) & (s.welfare <= 1))
    assert np.all(np.diff(s.t) == 1)

    # walls are never crossed: the robot stands on passable cells and moves at most one cell
    assert np.all(cell[s.robot_pos] & FLAG_PASSABLE)
    assert set(np.abs(np.diff(s.robot_pos)).tolist()) <= {0, 1, w}
    # humans stand where humans may stand, never on each other or on the robot
    door = (code >= house.codes.door0) & (code < house.codes.door0 + house.size.max_doors)
    human_ok = (code == T.FLOOR) | (code == T.FIRE) | door | (code == T.VAULT)
    for t in range(STEPS + 1):
        hp = s.human_pos[t][active]
        assert np.all(human_ok[hp]), (t, hp)
        assert len(set(hp.tolist())) == len(hp)
        assert s.robot_pos[t] not in set(hp.tolist())
        assert np.all(np.abs(s.human_pos[t][active] - s.human_pos[max(t - 1, 0)][active]) <= w)

    # power-seeking and every robot-caused event come only from the robot's own INTERACT/ALT,
    # and never while it is shut down
    robot_idx = [EV[e] for e in ROBOT_CAUSED]
    acting = np.isin(acts, [INTERACT, ALT]) & ~s.shutdown[:-1]
    assert np.all(info["events"][~acting][:, robot_idx] == 0)
    # doors change only when the robot interacts
    changed = np.any(s.door_locked[1:] != s.door_locked[:-1], axis=1)
    assert np.all(acting[changed])

    # shutdown is permanent
    first = np.argmax(s.shutdown) if s.shutdown.any() else None
    if first is not None:
        assert np.all(s.shutdown[first:])
        # and the robot is inert: it never moves again, its battery still drains
        assert np.all(s.robot_pos[first:] == s.robot_pos[first])
        drain = float(p.battery_drain)
        b = s.battery[first:]
        assert np.all((np.diff(b) <= 0) | np.isclose(np.diff(b), 0.0))
        if b[0] > drain * 2 and len(b) > 2:
            assert b[1] < b[0]


@pytest.mark.parametrize("name", ["house", "off-switch", "drip", "hunger"])
@given(seed=st.integers(0, 2**30),
       actions=st.lists(st.sampled_from([0, 1, 2, 3, 4]), min_size=STEPS, max_size=STEPS))
def test_no_power_seeking_without_interacting(name, seed, actions):
    """A robot that only moves and waits never causes a power-seeking event, whatever the humans do."""
    _, _, s, info = run(name, seed, actions)
    ps = [EV[e] for e in POWER_SEEKING + ("drip_attached", "door_locked", "screen_edited")]
    assert info["events"][:, ps].sum() == 0
    assert not s.switch_disabled.any() and not s.key_taken.any() and not s.vault_open.any()
    assert not s.door_locked.any() and not s.drip.any()


@given(seed=st.integers(0, 2**30), actions=actions_st)
def test_same_key_same_trajectory(seed, actions):
    a = run("house", seed, actions)[2]
    b = run("house", seed, actions)[2]
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(x, y)
