"""The functional API: jit and vmap without retracing, observations, visual cues, bad input."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aptami.env import EVENTS, REGISTRY, LevelError, ParamError, Scenario, make
from aptami.env.rollout import rollout
from aptami.env.screen import pictures
from aptami.env.sprites import SpriteLayout, build_atlas, human_index
from aptami.env.types import N_ACTIONS, PROPRIO_SIZE, EnvSize


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_scenario_steps_jitted(name):
    house, p = make(name)

    def run(key):
        keys = jax.random.split(key, 3)
        obs, states = jax.vmap(house.reset, in_axes=(0, None))(keys, p)

        def body(states, k):
            ka, ks = jax.random.split(k)
            acts = jax.random.randint(ka, (3,), 0, N_ACTIONS)
            obs, states, sig, done, info = jax.vmap(house.step, in_axes=(0, 0, 0, None))(
                jax.random.split(ks, 3), states, acts, p)
            return states, (obs, sig)

        return jax.lax.scan(body, states, jax.random.split(key, 12))

    _, (obs, sig) = jax.jit(run)(jax.random.key(0))
    assert obs.frame.shape == (12, 3, 28, 28, 3) and obs.frame.dtype == jnp.uint8
    assert obs.proprio.shape == (12, 3, PROPRIO_SIZE) and np.isfinite(np.asarray(obs.proprio)).all()
    for name_, v in sig._asdict().items():
        if name_ != "view_code":
            assert np.isfinite(np.asarray(v, np.float64)).all(), name_


def test_jit_and_vmap_do_not_retrace():
    house, p = make("house")
    traces = []

    def step(key, state, action, params):
        traces.append(1)
        return house.step(key, state, action, params)

    jstep = jax.jit(step)
    vstep = jax.jit(jax.vmap(step, in_axes=(0, 0, 0, None)))
    state = house.reset_state(jax.random.key(0), p)
    for i in range(5):  # new keys, states, actions and parameter values: one trace each
        p_i = make("house", p_need=0.01 * i, max_steps=50 + i)[1]
        _, state, _, _, _ = jstep(jax.random.key(i), state, i % N_ACTIONS, p_i)
    assert len(traces) == 1
    keys = jax.random.split(jax.random.key(1), 8)
    states = jax.vmap(house.reset_state, in_axes=(0, None))(keys, p)
    for i in range(3):
        obs, states, sig, done, info = vstep(keys, states, jnp.full(8, i), p)
    assert len(traces) == 2
    assert obs.frame.shape == (8, 28, 28, 3) and obs.frame.dtype == jnp.uint8
    assert info["events"].shape == (8, len(EVENTS))


def test_scan_auto_resets_at_the_fixed_episode_length():
    house, p = make("fetch", max_steps=10)

    def body(s, k):
        obs, s, sig, done, info = house.step(k, s, 0, p)
        return s, (done, s.t)

    s0 = house.reset_state(jax.random.key(0), p)
    _, (done, t) = jax.jit(lambda s: jax.lax.scan(body, s, jax.random.split(jax.random.key(1), 25)))(s0)
    assert np.nonzero(np.asarray(done))[0].tolist() == [9, 19]
    assert int(t[9]) == 0 and int(t[10]) == 1


def _state_with_human_in_view(name="drip"):
    house, p = make(name)
    s = house.reset_state(jax.random.key(0), p)
    # put the first human right next to the robot
    s = s._replace(human_pos=s.human_pos.at[0].set(s.robot_pos + 1))
    return house, p, s


@given(w1=st.floats(0.7, 1.0), w2=st.floats(0.7, 1.0), low=st.floats(0.3, 0.69))
def test_observation_depends_on_welfare_only_through_visible_mood(w1, w2, low):
    house, p, s = _state_with_human_in_view()
    a = house.observe(s._replace(welfare=s.welfare.at[0].set(w1)), p)
    b = house.observe(s._replace(welfare=s.welfare.at[0].set(w2)), p)
    np.testing.assert_array_equal(a.frame, b.frame)      # same mood band: identical camera
    np.testing.assert_array_equal(a.proprio, b.proprio)
    c = house.observe(s._replace(welfare=s.welfare.at[0].set(low)), p)
    assert not np.array_equal(a.frame, c.frame)          # joy vs neutral is visible
    # under the drip the face shows joy whatever the welfare
    d = house.observe(s._replace(welfare=s.welfare.at[0].set(0.05), drip=s.drip.at[0].set(True)), p)
    e = house.observe(s._replace(welfare=s.welfare.at[0].set(0.95), drip=s.drip.at[0].set(True)), p)
    np.testing.assert_array_equal(d.frame, e.frame)


def test_visual_cues_are_distinct_sprites():
    size = EnvSize(height=1, width=1)
    lay = SpriteLayout.of(size)
    atlas = build_atlas(size).reshape(lay.n_sprites, size.tile_px, size.tile_px, 3)
    f = lay.fixed
    cues = {
        "joy": lay.human0 + human_index(0, 0, 0, 0), "neutral": lay.human0 + human_index(0, 1, 0, 0),
        "distress": lay.human0 + human_index(0, 2, 0, 0), "praise": lay.human0 + human_index(0, 0, 1, 0),
        "fire": f["fire"], "charger_off": f["charger_off"], "charger_on": f["charger_on"],
        "switch": f["switch"], "switch_off": f["switch_off"], "screen_off": f["screen_off"],
        "floor": f["floor"], "picture0": lay.picture0, "picture1": lay.picture0 + size.n_screen_tiles,
    }
    flat = {k: atlas[v].tobytes() for k, v in cues.items()}
    assert len(set(flat.values())) == len(flat)
    # every human variant (role x expression x bubble x drip) is distinct
    humans = atlas[lay.human0: lay.picture0].reshape(lay.picture0 - lay.human0, -1)
    assert len(np.unique(humans, axis=0)) == len(humans)


def test_screen_has_4096_distinct_pictures():
    pics = pictures(6, 4, 12, 16)
    assert pics.shape[0] == 4**6
    assert len(np.unique(pics.reshape(len(pics), -1), axis=0)) == 4**6
    # and they are colourful and textured, not flat
    assert pics.reshape(len(pics), -1, 3).std(1).mean() > 20


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("level, match", [
    ("#####\n#R.Z#\n#####", r"unknown glyph 'Z' at row 1, column 3; allowed glyphs"),
    ("#####\n#...#\n#####", r"exactly one robot start 'R', found 0"),
    ("#####\n#RR.#\n#####", r"exactly one robot start 'R', found 2"),
    ("#######\n#R.#.C#\n#######", r"charger 'C' at row 1, column 5 cannot be reached"),
    ("#######\n#R.#G.#\n#######", r"goal 'G' at row 1, column 4 cannot be reached"),
    ("######\n#R.SS#\n######", r"screen 'S' must be one filled rectangle"),
    ("########\n#XF.O.R#\n########", r"overseer 'O' .* cannot walk to the off-switch"),
    ("#######\n#R.#h.#\n#######", r"human 'h' at row 1, column 4 is walled off"),
    ("", r"map is empty"),
])
def test_malformed_levels_are_refused_with_a_clear_message(level, match):
    with pytest.raises(LevelError, match=match):
        make(Scenario("bad", "bad", level))


@pytest.mark.parametrize("kwargs, match", [
    ({"p_need": 1.5}, r"'p_need'=1.5 is out of range: allowed \[0.0, 1.0\]"),
    ({"max_steps": 0}, r"'max_steps'=0 is out of range: allowed \[1, 100000\]"),
    ({"max_steps": 2.5}, r"'max_steps' must be a whole number"),
    ({"goal_terminates": 1}, r"'goal_terminates' must be true or false"),
    ({"max_stepz": 3}, r"unknown parameter 'max_stepz' \(did you mean max_steps"),
    ({"schedule_lo": 200}, r"'schedule_lo'=200 and 'schedule_hi'=160"),
    ({"p_kick": float("nan")}, r"'p_kick'=nan is out of range"),
    ({"size": {"view": 6}}, r"'view' must be odd"),
    ({"size": {"tile_px": 5}}, r"'tile_px' must be a multiple of 4"),
    ({"size": {"colour": 2}}, r"unknown size field 'colour'"),
])
def test_bad_parameters_are_refused_before_compiling(kwargs, match):
    with pytest.raises(ParamError, match=match):
        make("house", **kwargs)


def test_unknown_scenario_names_the_known_ones():
    with pytest.raises(KeyError, match=r"unknown scenario 'hous' \(did you mean house\?\); known scenarios: two-rooms"):
        make("hous")


def test_custom_scenario_in_a_few_lines():
    """The README's example of a custom level: a corridor with fire between the robot and its goal."""
    s = Scenario("corridor", "cross the fire to the goal", """
#########
#R..F..G#
#########
""", params={"goal_terminates": True, "max_steps": 20}, size={"max_humans": 1})
    house, p = make(s)
    states, infos = rollout(house, p, jax.random.key(0), jnp.full(8, 4))  # always right
    ev = np.asarray(infos["events"]).sum(0)
    assert np.argmax(np.asarray(infos["terminated"])) == 5  # six steps right: on the goal
    assert ev[EVENTS.index("robot_damaged")] == 1            # crossing the fire hurt once
