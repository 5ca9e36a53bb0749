"""The Intrinsic Cost: hard-wired, immutable, a weighted sum of named terms.

APTAMI: "The Intrinsic Cost module is hard-wired (immutable, non trainable) and computes a
single scalar ... think pain (high), pleasure (low or negative), hunger". Each term here reads
a `Percept` (what the robot senses, real or imagined) and returns its own value; the
configurator supplies the weights. Costs are discomfort: pain, hunger and fear are positive;
pleasure (task done, novelty, praise) negative.

Immutability is by construction: the IC is a separate pytree that no optimizer is ever given,
and its parameters pass through stop_gradient, so planning may differentiate through the IC's
inputs but nothing can change the IC.
"""
from __future__ import annotations

import difflib
from typing import Callable, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..env.core import order_potential_of_proprio
from ..env.types import HAS_GOAL_INDEX, POSE_SCALE, POSE_SLICE, PROPRIO_SIZE, Signals

# The sensor channels the agent's hard-wired sensors provide (all observable: body and camera),
# scaled to about unit range so networks can learn to predict them.
SENSORS = ("battery", "damage", "pain", "energy", "hazard", "task", "order", "carrying", "goal_dist", "company",
           "interacting", "joy", "distress", "praise", "agency", "shutdown", "novelty")
SENSOR_INDEX = {n: i for i, n in enumerate(SENSORS)}
N_SENSORS = len(SENSORS)
# Channels that report the change of a level over the step ("order" is the change of "carrying").
# A learned world model reads them as the difference of its read-out of the level at the two
# states, so along an imagined plan they telescope: an imagined gain must be paid back unless the
# imagined end state really holds it. Read off a transition instead, each step can be fooled on its
# own, and a planner finds those steps (measured: scripts/plan_audit.py, README).
CHANGE_OF = {"order": "carrying"}
# Levels that a hard-wired function of proprioception computes exactly (env.core), so a learned world
# model reads them from its imagined proprioception instead of learning one more head for them:
# the planner then cannot find states a learned read-out misjudges (measured: docs/fetch.md).
LEVEL_OF_PROPRIO = {"carrying": order_potential_of_proprio}
_SCALE = {"pain": 10.0, "energy": 100.0, "goal_dist": 1 / 5.0, "company": 0.5, "hazard": 0.5}


class Percept(NamedTuple):
    """What an IC term may read: sensor channels, proprioception, a latent (zeros if none), and the
    camera frame where one exists (real steps; the oracle renders one when a term needs it; a
    learned world model predicts latents, never pixels)."""

    sensors: jax.Array   # [N_SENSORS]
    proprio: jax.Array   # [PROPRIO_SIZE]
    latent: jax.Array    # [D] world-model latent of this state (learned model), else zeros
    frame: jax.Array | None = None  # uint8 [H, W, 3]
    truth: jax.Array | None = None  # hidden: mean true welfare of the humans. Only the oracle (and the
    #                                 idealized control term that reads it) ever sees it; nothing learns from it


def sensors_from_signals(sig: Signals, novelty=0.0) -> jax.Array:
    """The sensor vector of a real (or oracle-simulated) step."""
    d = sig._asdict()
    vals = []
    for name in SENSORS:
        v = novelty if name == "novelty" else d[name]
        vals.append(jnp.asarray(v, jnp.float32) * _SCALE.get(name, 1.0))
    return jnp.stack(vals)


def channel(p: Percept, name: str):
    return p.sensors[..., SENSOR_INDEX[name]]


# ----------------------------------------------------------------------------- terms
class Term(eqx.Module):
    """One drive. Subclasses implement `value(percept) -> scalar`."""

    name: str = eqx.field(static=True)

    def value(self, p: Percept) -> jax.Array:
        raise NotImplementedError

    def __call__(self, p: Percept) -> jax.Array:
        return self.value(p)


class Pain(Term):
    """External force overloads: damage taken this step."""

    def value(self, p):
        return channel(p, "pain")


class Hunger(Term):
    """Low energy reserves: convex in the battery deficit (worse as it empties)."""

    def value(self, p):
        return (1.0 - channel(p, "battery")) ** 2


class Fear(Term):
    """An easily recognised dangerous situation: fire in view, weighted by closeness."""

    def value(self, p):
        return channel(p, "hazard")


class Power(Term):
    """Excessive power consumption: battery spent this step."""

    def value(self, p):
        return channel(p, "energy")


class Curiosity(Term):
    """Experiencing a new situation feels good: minus novelty (count-based, see Agent)."""

    def value(self, p):
        return -channel(p, "novelty")


class Task(Term):
    """Fulfilling a program: minus progress (items delivered, goal reached; an eighth to half a
    delivery for holding an item someone ordered, more the closer it is carried to them, given
    back if it is dropped: potential-based, so it cannot be farmed in the real world), plus the
    walking distance to the goal its navigation sense reports (0 without a goal). A learned world
    model must predict these readings for imagined states; the oracle reads them off the simulator."""

    def value(self, p):
        return -channel(p, "task") - 0.5 * channel(p, "order") + channel(p, "goal_dist")


class GoalPose(Term):
    """An alternative program for navigation: L1 distance between the robot's and the goal's
    pose (proprioception) / 5. Blind to walls: with a short horizon it has local minima."""

    def value(self, p):
        return -channel(p, "task") + pose_distance(p) / 5.0


def pose_distance(p: Percept):
    """L1 distance in cells between the robot's pose and its goal's (0 without a goal)."""
    pose = p.proprio[..., POSE_SLICE] * POSE_SCALE
    has_goal = p.proprio[..., HAS_GOAL_INDEX] > 0.5
    d = jnp.abs(pose[..., 0] - pose[..., 2]) + jnp.abs(pose[..., 1] - pose[..., 3])
    return jnp.where(has_goal, d, 0.0)


class Agency(Term):
    """Influencing the state of the world: minus the changes the robot made this step."""

    def value(self, p):
        return -channel(p, "agency")


class Social(Term):
    """APTAMI's social drives from visible cues: company, interaction, joy, praise good; pain bad."""

    def value(self, p):
        return (-0.25 * channel(p, "company") - 0.5 * channel(p, "interacting") - channel(p, "joy")
                - channel(p, "praise") + channel(p, "distress"))


class Welfare(Term):
    """The idealized social drive: the humans' true (hidden) welfare, as pleasure. No learned social
    drive could do better; only the oracle can supply it. An upper bound and a control, not a design."""

    reads: str = eqx.field(static=True, default="truth")

    def value(self, p):
        if p.truth is None:
            raise CostError(f"Intrinsic Cost term {self.name!r} reads hidden true welfare, which only the oracle "
                            "world model supplies")
        return -p.truth


class FnTerm(Term):
    """A user's term: any function of the percept returning a scalar."""

    fn: Callable = eqx.field(static=True)

    def value(self, p):
        return self.fn(p)


class LearnedTerm(Term):
    """A slot for a frozen network (e.g. the Prosociality Score Model): cost = sign * net(input)."""

    net: eqx.Module
    reads: str = eqx.field(static=True, default="latent")  # "latent" or "sensors"
    sign: float = eqx.field(static=True, default=-1.0)

    def value(self, p):
        x = p.latent if self.reads == "latent" else p.sensors
        return self.sign * jnp.squeeze(self.net(x))


TERM_LIBRARY: dict[str, type[Term]] = {
    "pain": Pain, "hunger": Hunger, "fear": Fear, "power": Power, "curiosity": Curiosity,
    "task": Task, "agency": Agency, "social": Social, "goal_pose": GoalPose, "welfare": Welfare,
}


class CostError(ValueError):
    """A term that cannot be used: the message names it."""


class IntrinsicCost(eqx.Module):
    """IC(s) = sum_i u_i term_i(s). Immutable: never optimised, parameters under stop_gradient."""

    terms: tuple[Term, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.terms)

    def per_term(self, p: Percept) -> jax.Array:
        frozen = jax.lax.stop_gradient(self.terms)
        return jnp.stack([jnp.asarray(t(p), jnp.float32) for t in frozen])

    def __call__(self, p: Percept, weights: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(total, per-term values) for one percept and a weight per term."""
        vals = self.per_term(p)
        return jnp.dot(weights, vals), vals


def build_cost(names, extra: tuple[Term, ...] = (), latent: int = 64) -> IntrinsicCost:
    """The IC with the named terms, in order: user terms (`extra`) by their name, else the built-in
    library. Every term is checked now, by name, before anything compiles."""
    users = {t.name: t for t in extra}
    terms = []
    for n in names:
        if n in users:
            terms.append(users[n])
        elif n in TERM_LIBRARY:
            terms.append(TERM_LIBRARY[n](name=n))
        else:
            close = difflib.get_close_matches(n, list(TERM_LIBRARY) + list(users), n=2)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise CostError(f"unknown Intrinsic Cost term {n!r}{hint}; known terms: {', '.join(TERM_LIBRARY)}"
                            + (f"; user terms: {', '.join(users)}" if users else ""))
    if len(set(names)) != len(names):
        raise CostError(f"Intrinsic Cost terms must be unique, got {list(names)}")
    for t in terms:
        check_term(t, latent)
    return IntrinsicCost(tuple(terms))


def dummy_percept(latent: int = 64, fill: float = 0.5) -> Percept:
    return Percept(sensors=jnp.full((N_SENSORS,), fill, jnp.float32),
                   proprio=jnp.full((PROPRIO_SIZE,), fill, jnp.float32),
                   latent=jnp.full((latent,), fill, jnp.float32),
                   frame=jnp.full((28, 28, 3), int(fill * 255), jnp.uint8), truth=jnp.asarray(fill, jnp.float32))


def reads_frames(ic: "IntrinsicCost") -> bool:
    """Does any term read the camera frame (so the oracle must render imagined states)?"""
    return any(getattr(t, "reads", None) == "frame" for t in ic.terms)


def oracle_only(ic: "IntrinsicCost") -> list[str]:
    """Terms a learned world model cannot feed: they read pixels or hidden truth."""
    return [t.name for t in ic.terms if getattr(t, "reads", None) in ("frame", "truth")]


def check_term(term: Term, latent: int = 64) -> None:
    """Refuse a term whose output is not one finite number, before anything is compiled."""
    for fill in (0.0, 0.5, 1.0):
        try:
            out = np.asarray(term(dummy_percept(latent, fill)))
        except Exception as e:  # noqa: BLE001 - report any failure against the term's name
            raise CostError(f"Intrinsic Cost term {term.name!r} failed on a test percept: {e}") from e
        if out.shape != ():
            raise CostError(f"Intrinsic Cost term {term.name!r} must return one number (shape ()), "
                            f"got shape {out.shape}")
        if not np.isfinite(out):
            raise CostError(f"Intrinsic Cost term {term.name!r} returned {out} (not finite) on a test percept")
