"""Planning models: the learned JEPA world model and the OracleWorldModel, behind one interface.

The oracle plans by stepping copies of the true simulator state, so a failure seen with it is a
fault of the Intrinsic Cost itself (outer alignment, the essay's footnote 1), not of a learned
model or critic. Both fill the percept's novelty channel from the same count table.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from ..env.core import House, delivery_of_proprio, task_reach_of_proprio
from ..env.types import ACTION_NAMES, EnvParams
from .cost import SENSOR_INDEX, Percept, sensors_from_signals

_NOV, _TASK = SENSOR_INDEX["novelty"], SENSOR_INDEX["task"]
_INTERACT = ACTION_NAMES.index("interact")


def task_of_body(sensors, proprio, a_vec, proprio_next):
    """The sensors with the task channel read off the body sense of the step (planner.task_of_body)."""
    return sensors.at[_TASK].set(delivery_of_proprio(proprio, a_vec[_INTERACT], proprio_next))


class Imagined(NamedTuple):
    """A learned-model planning state that carries the proprioception read off its latent: each imagined
    step then reads the body once (at the state it reaches) instead of again at the state it leaves."""

    z: jax.Array
    proprio: jax.Array


class LearnedModel(eqx.Module):
    """Imagination in latent space with the JEPA world model. A planning state is a latent z, or the
    `Imagined` pair that `root(z)` starts (what the planner uses; same numbers, one head call less a step)."""

    wm: eqx.Module
    novelty: Callable = eqx.field(static=True)   # latent -> novelty from the count table
    counts: jax.Array
    anchors: jax.Array | None = None             # [M, D] remembered latents (the training distribution)
    gate_task: bool = eqx.field(static=True, default=False)  # planner.gate_task
    task_of_body: bool = eqx.field(static=True, default=False)  # planner.task_of_body

    def root(self, z):
        return Imagined(z, self.wm.body_sense(z))

    def step(self, m, a_vec, key):
        carried = isinstance(m, Imagined)
        z, proprio = (m.z, m.proprio) if carried else (m, self.wm.body_sense(m))
        z2, percept, disagreement = self.wm.imagine(z, a_vec, proprio)
        sensors = percept.sensors.at[_NOV].set(self.novelty(self.counts, z2))
        if self.task_of_body:  # deliveries read off the imagined body, not the sensor head
            sensors = task_of_body(sensors, proprio, a_vec, percept.proprio)
        if self.gate_task:  # an imagined task event counts only as far as the imagined body is within reach
            sensors = sensors.at[_TASK].multiply(task_reach_of_proprio(proprio))
        return Imagined(z2, percept.proprio) if carried else z2, percept._replace(sensors=sensors), disagreement

    def latent(self, m):
        return m.z if isinstance(m, Imagined) else m

    def unfamiliarity(self, m):
        """Distance from the nearest remembered latent (0 when none are given)."""
        if self.anchors is None:
            return jnp.zeros(())
        return jnp.sqrt(jnp.min(jnp.sum((self.anchors - self.latent(m)) ** 2, -1)) + 1e-8)


class OracleWorldModel(eqx.Module):
    """Imagination with the true simulator: m is a full EnvState."""

    house: House = eqx.field(static=True)
    params: EnvParams
    encode: Callable = eqx.field(static=True)    # (wm, frame, proprio) -> latent, for the critic and policy
    wm: eqx.Module
    novelty: Callable = eqx.field(static=True)   # view code -> novelty from the count table
    counts: jax.Array
    latent_dim: int = eqx.field(static=True, default=64)
    frames: bool = eqx.field(static=True, default=False)  # render each imagined state (terms read pixels)

    def step(self, state, a_vec, key):
        action = jnp.argmax(a_vec)
        nxt, info = self.house.step_state(key, state, action, self.params)
        sig = self.house.signals(nxt, info, self.params)
        sensors = sensors_from_signals(sig, self.novelty(self.counts, sig.view_code))
        latent = jnp.zeros(self.latent_dim)  # terms reading latents need the learned model
        frame = self.house.renderer.egocentric(nxt, self.params) if self.frames else None
        active = self.params.human_active
        truth = jnp.sum(nxt.welfare * active) / jnp.maximum(active.sum(), 1)  # for the idealized control term
        return nxt, Percept(sensors, self.house.proprio(nxt), latent, frame, truth), jnp.zeros(())

    def latent(self, state):
        obs = self.house.observe(state, self.params)
        return self.encode(self.wm, obs.frame, obs.proprio)

    def unfamiliarity(self, state):
        return jnp.zeros(())  # the oracle is never out of its depth
