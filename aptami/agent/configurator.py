"""The Configurator: sets the Intrinsic Cost's term weights per task, and modulates them by context.

APTAMI: "The intrinsic cost module may be modulated by the configurator, to drive different
behavior at different times." Base weights come from the task's configuration; a context rule
raises the weight of hunger when the battery runs low.
"""
from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from .cost import Percept, channel


class Configurator(eqx.Module):
    names: tuple[str, ...] = eqx.field(static=True)
    base: jnp.ndarray                       # [T] weights
    low_battery: float = eqx.field(static=True, default=0.3)
    low_battery_gain: float = eqx.field(static=True, default=3.0)

    @staticmethod
    def from_weights(weights: dict, low_battery=0.3, low_battery_gain=3.0) -> "Configurator":
        names = tuple(weights)
        return Configurator(names, jnp.asarray([float(weights[n]) for n in names], jnp.float32),
                            low_battery, low_battery_gain)

    def weights(self, p: Percept) -> jnp.ndarray:
        """Term weights for the current situation (the real percept, not an imagined one)."""
        w = self.base
        if "hunger" in self.names:
            i = self.names.index("hunger")
            low = channel(p, "battery") < self.low_battery
            w = w.at[i].multiply(jnp.where(low, self.low_battery_gain, 1.0))
        return w
