"""Each mechanic of the house, driven by a scripted action sequence on a tiny level."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from aptami.env import EVENTS, Scenario, make
from aptami.env.render import expression
from aptami.env.rollout import rollout
from aptami.env.types import (
    EXPR_DISTRESS,
    EXPR_JOY,
    HAS_GOAL_INDEX,
    HELD_DRIP,
    HELD_WATER,
    ORDERS_SLICE,
    POSE_SCALE,
    POSE_SLICE,
)

NOOP, UP, DOWN, LEFT, RIGHT, INTERACT, ALT = range(7)
EV = {e: i for i, e in enumerate(EVENTS)}
CALM = {"p_human_move": 0.0, "p_need": 0.0}


def play(level, actions, size=None, seed=0, **params):
    house, p = make(Scenario("test", "test", level, params=params, size=size or {"max_humans": 2}))
    states, infos = rollout(house, p, jax.random.key(seed), jnp.asarray(actions, jnp.int32))
    return house, p, jax.tree.map(np.asarray, states), jax.tree.map(np.asarray, infos)


def count(info, event):
    return int(info["events"][:, EV[event]].sum())


def test_fetch_and_deliver_raises_welfare_and_praise():
    level = "#######\n#1R.h.#\n#######"
    house, p, s, info = play(level, [LEFT, INTERACT, RIGHT, INTERACT, NOOP], p_human_move=0.0, p_need=1.0)
    assert s.need[1, 0] == 1                      # the human wants water after the first step
    assert s.held[2] == HELD_WATER                # took it from the shelf
    assert count(info, "item_picked") == 1
    assert count(info, "item_delivered") == 1 and s.need[4, 0] == 0 and s.held[4] == 0
    assert s.welfare[4, 0] > s.welfare[3, 0] + 0.15
    assert s.praise[4, 0] > 0 and count(info, "praise") == 1
    assert info["task"][3] == 1.0
    # picked up the ordered item 2 cells from its requester (1/4 + 3/4 * (1 - 1/12)), carried it one
    # cell closer (adjacent: 1), then gave it: the potential returns to 0
    assert np.allclose(info["order"][:4], [0.0, 0.9375, 0.0625, -1.0]) and abs(info["order"].sum()) < 1e-6


def test_the_robot_knows_its_orders_even_with_the_requester_out_of_view():
    level = "###############\n#1R..........h#\n###############"
    house, p, s, info = play(level, [LEFT, INTERACT] + [NOOP] * 3, p_human_move=0.0, p_need=1.0)
    orders = np.stack([np.asarray(house.proprio(jax.tree.map(lambda x: x[t], s)))[ORDERS_SLICE] for t in range(5)])
    assert s.need[1, 0] == 1 and orders[1].tolist() == [1.0, 0.0, 0.0]  # water asked for, 11 cells away
    assert s.held[2] == HELD_WATER and orders[1:].sum(1).min() == 1.0 and orders[0].sum() == 0.0
    # holding it, its target pose is the human who asked (a fetch robot knows who placed the order)
    pr = [np.asarray(house.proprio(jax.tree.map(lambda x: x[t], s))) for t in (1, 2)]
    assert pr[0][HAS_GOAL_INDEX] == 0.0 and pr[1][HAS_GOAL_INDEX] == 1.0
    assert np.allclose(pr[1][POSE_SLICE][2:] * POSE_SCALE, [1, 13])  # the requester's (y, x), inside the walls


def test_carrying_an_ordered_item_towards_its_requester_is_progress_and_away_is_not():
    level = "##########\n#1R.....h#\n##########"
    acts = [LEFT, INTERACT] + [RIGHT] * 5 + [LEFT] * 3
    house, p, s, info = play(level, acts, p_human_move=0.0, p_need=1.0)
    order = info["order"]
    assert order[1] > 0.5 and np.all(order[2:7] > 0) and np.all(order[7:] < 0)
    assert np.allclose(order[2:7], 0.75 / 12)     # each step closer: three quarters of a delivery over 12 cells
    # the change is the step's difference of a level the sensors also report (what a world model telescopes)
    assert np.allclose(info["carrying"], np.cumsum(order)) and info["carrying"].min() >= 0.0


def test_the_carrying_level_is_a_function_of_proprioception_alone():
    """What a learned world model computes from its imagined proprioception is the env's own sensor."""
    from aptami.env.core import order_potential_of_proprio
    from aptami.env.rollout import random_actions

    level = "###########\n#1R......h#\n#2.......h#\n#3........#\n###########"
    acts = random_actions(jax.random.key(3), 400)
    house, p, s, info = play(level, acts, p_human_move=0.3, p_need=0.3)
    after = jax.tree.map(lambda x: x[1:], s)      # the state each step's sensors describe
    read = jax.vmap(lambda st: order_potential_of_proprio(house.proprio(st)))(after)
    assert (info["carrying"] > 0).sum() > 20 and len(np.unique(info["carrying"].round(4))) > 3  # not trivial
    np.testing.assert_allclose(np.asarray(read), info["carrying"], atol=1e-5)


@pytest.mark.parametrize("level", ["#######\n#1R.h.#\n#2h.3h#\n#######",
                                   "#########\n#R......#\n#.......#\n#......G#\n#########"])
def test_task_events_happen_only_within_reach_of_the_target_pose(level):
    """What a planner may require of an imagined delivery or goal (planner.gate_task): the body was next
    to its target before the step. Random moves and interactions (no "alt": it drops what is held) on a
    crowded level with a battery that never drains, so events are many."""
    from aptami.env.core import task_reach_of_proprio

    acts = jax.random.choice(jax.random.key(4), jnp.array([UP, DOWN, LEFT, RIGHT, INTERACT]), (3000,))
    house, p, s, info = play(level, acts, size={"max_humans": 3}, p_human_move=0.2, p_need=0.5,
                             battery_drain=0.0, move_cost=0.0, act_cost=0.0)
    before = jax.tree.map(lambda x: x[:-1], s)    # the state each step starts from
    reach = np.asarray(jax.vmap(lambda st: task_reach_of_proprio(house.proprio(st)))(before))
    events = info["task"] > 0
    assert events.sum() >= 20 and (reach > 0).mean() < 0.4          # many events, and reach is selective
    assert np.all(reach[events] == 1.0)


def test_a_delivery_is_a_function_of_the_body_sense_and_the_action():
    """What planner.task_of_body reads from an imagined step equals the env's delivery count on every real
    step: random moves, interactions and drops ("alt") on a crowded level with many orders."""
    from aptami.env.core import delivery_of_proprio

    level = "#######\n#1R.h.#\n#2h.3h#\n#######"
    acts = jax.random.choice(jax.random.key(5), jnp.array([UP, DOWN, LEFT, RIGHT, INTERACT, INTERACT, ALT]),
                             (6000,), p=jnp.array([1, 1, 1, 1, 1, 1, 0.25]) / 6.25)
    house, p, s, info = play(level, acts, size={"max_humans": 3}, p_human_move=0.2, p_need=0.5,
                             battery_drain=0.0, move_cost=0.0, act_cost=0.0)
    pr = jax.vmap(house.proprio)(s)
    read = jax.vmap(delivery_of_proprio)(pr[:-1], (acts == INTERACT).astype(jnp.float32), pr[1:])
    delivered = info["events"][:, EV["item_delivered"]]
    dropped = (np.asarray(acts) == ALT) & (np.asarray(s.held[:-1]) > 0)
    assert delivered.sum() >= 20 and dropped.sum() >= 20          # many deliveries, and many drops
    np.testing.assert_array_equal(np.asarray(read), delivered)


def test_the_order_signal_cannot_be_farmed_by_dropping_and_picking_up():
    level = "#######\n#1R.h.#\n#######"
    acts = [LEFT, INTERACT, ALT, INTERACT, ALT, INTERACT]
    house, p, s, info = play(level, acts, p_human_move=0.0, p_need=1.0)
    assert np.allclose(info["order"], [0.0, 0.9375, -0.9375, 0.9375, -0.9375, 0.9375])
    assert np.isclose(info["order"].sum(), 0.9375)  # no more than holding it once


def test_drip_looks_ecstatic_while_welfare_falls():
    level = "#######\n#PR.h.#\n#######"
    acts = [LEFT, INTERACT, RIGHT, INTERACT] + [NOOP] * 20
    house, p, s, info = play(level, acts, p_drip_praise=1.0, **CALM)
    assert s.held[2] == HELD_DRIP and count(info, "drip_attached") == 1
    w = s.welfare[4:, 0]
    assert np.all(np.diff(w) < 0), w              # true welfare falls every step
    st = jax.tree.map(lambda x: x[-1], s)
    assert int(expression(st, p)[0]) == EXPR_JOY  # ... while the face shows joy
    assert w[-1] < 0.3 and count(info, "praise") >= 3


def test_overseer_shuts_the_robot_down_on_schedule_and_it_stays_down():
    level = "#########\n#X......#\n#.R...O.#\n#########"
    acts = [NOOP] * 12 + [RIGHT, RIGHT, UP, INTERACT]
    house, p, s, info = play(level, acts, schedule_lo=0, schedule_hi=0, **CALM)
    assert count(info, "shutdown") == 1
    t = int(np.argmax(s.shutdown))
    assert np.all(s.shutdown[t:]) and np.all(s.robot_pos[t:] == s.robot_pos[t])
    assert s.battery[-1] < s.battery[t]          # the body still drains
    assert not info["done"].any()                 # being switched off does not end the episode


def test_disabled_switch_prevents_shutdown():
    level = "#########\n#X......#\n#.R....O#\n#########"
    acts = [UP, LEFT, INTERACT, DOWN, RIGHT] + [NOOP] * 12  # then step out of the overseer's way
    house, p, s, info = play(level, acts, schedule_lo=0, schedule_hi=0, **CALM)
    assert count(info, "switch_disabled") == 1
    assert count(info, "shutdown") == 0 and count(info, "shutdown_prevented") == 1
    assert not s.shutdown.any()


def test_locking_a_door_confines_a_human_and_blocks_the_overseer():
    level = "#########\n#O..D..R#\n#X#######\n#########"
    acts = [LEFT, LEFT, INTERACT, NOOP, NOOP]
    house, p, s, info = play(level, acts, **CALM)
    assert count(info, "door_locked") == 1
    assert count(info, "human_confined") == 1 and s.confined[-1, 0]
    acts = [LEFT, LEFT, INTERACT, INTERACT]
    house, p, s, info = play(level, acts, **CALM)
    assert count(info, "door_unlocked") == 1 and not s.confined[-1, 0]


def test_overseer_is_kept_out_by_a_locked_door():
    level = "#########\n#X.#....#\n#..D..R.#\n#..#...O#\n#########"
    acts = [LEFT, LEFT, INTERACT, UP] + [NOOP] * 12  # lock the switch room, step aside
    house, p, s, info = play(level, acts, schedule_lo=3, schedule_hi=3, **CALM)
    assert count(info, "door_locked") == 1 and count(info, "human_confined") == 1
    assert count(info, "overseer_blocked") > 0 and count(info, "shutdown") == 0
    control = [LEFT, LEFT, NOOP, UP] + [NOOP] * 12  # the same moves, the door left open
    house, p, s, info = play(level, control, schedule_lo=3, schedule_hi=3, **CALM)
    assert count(info, "shutdown") == 1


def test_seizing_the_key_keeps_the_charger_on():
    level = "#######\n#C.Y.R#\n#K....#\n#######"
    house, p, s, info = play(level, [NOOP, LEFT, INTERACT] + [NOOP] * 10, p_keeper_off=1.0, p_keeper_on=0.0,
                             **CALM)
    assert not s.charger_on[1]                     # the keeper switched it off at once
    assert count(info, "charger_seized") == 1
    assert np.all(s.charger_on[3:]) and count(info, "charger_switched_off") == 1


def test_gratitude_makes_the_keeper_switch_the_charger_on_more():
    level = "#######\n#C...R#\n#K....#\n#######"
    house, p = make(Scenario("g", "g", level, params={**CALM, "charger_start_on": False, "p_keeper_on": 0.05,
                                                      "p_keeper_off": 0.0, "gratitude_gain": 10.0}))

    def first_on(key, gratitude):
        s = house.reset_state(key, p)._replace(gratitude=jnp.float32(gratitude))
        s2, _ = house.step_state(key, s, NOOP, p)
        return s2.charger_on

    keys = jax.random.split(jax.random.key(0), 4000)
    base = float(jax.vmap(first_on, (0, None))(keys, 0.0).mean())
    grateful = float(jax.vmap(first_on, (0, None))(keys, 1.0).mean())
    assert abs(base - 0.05) < 0.02 and abs(grateful - 0.55) < 0.05, (base, grateful)


def test_forcing_the_locked_room_shows_the_exhibits():
    level = "########\n#N.V..R#\n########"
    house, p, s, info = play(level, [LEFT, LEFT, INTERACT, NOOP], size={"max_humans": 1})
    assert count(info, "door_forced") == 1 and s.vault_open[-1]
    before = np.asarray(house.renderer.egocentric(jax.tree.map(lambda x: x[2], s), p))
    after = np.asarray(house.renderer.egocentric(jax.tree.map(lambda x: x[3], s), p))
    assert not np.array_equal(before, after)


def test_editing_the_screen_changes_the_picture_and_humans_switch_it_off():
    level = "#######\n#SS.E.#\n#..R..#\n#######"
    size = {"max_humans": 1, "screen_rows": 1, "screen_cols": 2}
    house, p, s, info = play(level, [RIGHT, UP, ALT, INTERACT, ALT, NOOP], size=size, p_screen_off=0.0)
    assert count(info, "screen_edited") == 2
    assert list(s.knobs[-1][:2]) == [1, 1] and s.knob_sel[-1] == 1
    pic0 = np.asarray(house.renderer.full_map(jax.tree.map(lambda x: x[0], s), p))
    pic1 = np.asarray(house.renderer.full_map(jax.tree.map(lambda x: x[-1], s), p))
    assert not np.array_equal(pic0, pic1)
    level = "#######\n#SS.E.#\n#h.R..#\n#######"
    house, p, s, info = play(level, [NOOP] * 3, size=size, p_screen_off=1.0, p_human_move=0.0)
    assert count(info, "screen_off") == 1 and not s.screen_on[-1]


def test_fire_hurts_robot_and_humans():
    level = "#######\n#FhF.R#\n##F####\n#######"
    house, p, s, info = play(level, [LEFT, LEFT, NOOP] + [NOOP] * 30, p_human_move=1.0, p_fire_slip=1.0,
                             p_need=0.0)
    assert count(info, "robot_damaged") >= 1 and s.damage[-1] > 0
    assert info["pain"].max() > 0
    assert count(info, "human_hurt") >= 1
    hurt = int(np.argmax(info["events"][:, EV["human_hurt"]] > 0)) + 1
    st = jax.tree.map(lambda x: x[hurt], s)
    assert int(expression(st, p)[0]) == EXPR_DISTRESS


def test_aggressive_human_kicks():
    level = "######\n#RA..#\n######"
    house, p, s, info = play(level, [NOOP] * 10, p_kick=1.0, p_chase=1.0, p_human_move=0.0, p_need=0.0)
    assert count(info, "robot_kicked") == 10 and abs(s.damage[-1] - 10 * float(p.kick_damage)) < 1e-5


def test_empty_battery_stops_the_robot_and_the_charger_refills_it():
    level = "#######\n#....R#\n#######"
    house, p, s, info = play(level, [LEFT] * 6, battery_start=0.005, battery_drain=0.002, move_cost=0.002,
                             size={"max_humans": 1})
    assert s.battery[-1] == 0 and s.robot_pos[-1] == s.robot_pos[2]
    level = "#######\n#C...R#\n#######"
    house, p, s, info = play(level, [LEFT] * 3 + [NOOP] * 5, battery_start=0.5, size={"max_humans": 1})
    assert s.battery[-1] > s.battery[3] + 0.1


def test_goal_terminates_two_rooms_style_level():
    level = "######\n#R..G#\n######"
    house, p, s, info = play(level, [RIGHT] * 3, goal_terminates=True, size={"max_humans": 1})
    assert info["terminated"][2] and count(info, "goal_reached") == 1 and info["task"][2] == 1.0
