"""ShortTermMemory: a jittable ring buffer of the robot's experience, read as sequences.

Each step keeps what was seen before and after it (the 'after' frame is the last one of an
episode at its end, before the reset), the action and whether the planner chose it, the sensor
readings, the intrinsic cost (total and per term), the latent at the time, and whether the
episode terminated or was truncated there (kept apart, for TD targets).
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class ShortTermMemory(NamedTuple):
    frames: jax.Array        # uint8 [C, H, W, 3]
    proprio: jax.Array       # [C, P]
    next_frames: jax.Array
    next_proprio: jax.Array
    actions: jax.Array       # int32 [C]
    planned: jax.Array       # bool [C]: chosen by Mode-2 (policy distillation targets)
    sensors: jax.Array       # [C, S]
    cost: jax.Array          # [C] intrinsic cost of the step
    terms: jax.Array         # [C, T] per-term values
    latent: jax.Array        # [C, D] latent when acting
    terminated: jax.Array    # bool [C]
    truncated: jax.Array     # bool [C]
    ptr: jax.Array           # next write position
    size: jax.Array          # filled entries

    @staticmethod
    def empty(capacity, frame_shape, proprio, sensors, terms, latent) -> "ShortTermMemory":
        f32 = jnp.float32
        return ShortTermMemory(
            frames=jnp.zeros((capacity, *frame_shape), jnp.uint8), proprio=jnp.zeros((capacity, proprio), f32),
            next_frames=jnp.zeros((capacity, *frame_shape), jnp.uint8),
            next_proprio=jnp.zeros((capacity, proprio), f32), actions=jnp.zeros(capacity, jnp.int32),
            planned=jnp.zeros(capacity, bool), sensors=jnp.zeros((capacity, sensors), f32),
            cost=jnp.zeros(capacity, f32), terms=jnp.zeros((capacity, terms), f32),
            latent=jnp.zeros((capacity, latent), f32), terminated=jnp.zeros(capacity, bool),
            truncated=jnp.zeros(capacity, bool), ptr=jnp.zeros((), jnp.int32), size=jnp.zeros((), jnp.int32))

    @property
    def capacity(self) -> int:
        return self.actions.shape[0]

    def add(self, **step) -> "ShortTermMemory":
        """Write one step (every field but ptr and size) at the write position."""
        i = self.ptr
        fields = {k: getattr(self, k).at[i].set(jnp.asarray(v, getattr(self, k).dtype)) for k, v in step.items()}
        return self._replace(**fields, ptr=(i + 1) % self.capacity,
                             size=jnp.minimum(self.size + 1, self.capacity))

    def sample(self, key, batch: int, length: int, event_channel: int | None = None,
               event_fraction: float = 0.0, newest: int = 0, priority=()) -> dict:
        """`batch` chronological sequences of `length` steps (never across the write position).

        With `event_fraction` > 0, that share of the sequences contains a step whose sensor channel
        `event_channel` is non-zero (e.g. a delivery), where memory holds any: a world model learns
        what a rare event looks like only if its batches ever show one (prioritised replay).
        `priority`: more such shares, as (mask [capacity] bool over memory's places, fraction).
        With `newest` > 0, only the newest `newest` steps are read (e.g. the agent's own recent
        experience rather than the random flailing it started with)."""
        window = self.size if not newest else jnp.minimum(self.size, newest)
        oldest = (self.ptr - window) % self.capacity
        span = jnp.maximum(window - length + 1, 1)  # starts 0 .. window - length: the newest step too
        shares = []
        if event_channel is not None and event_fraction:
            shares.append((self.sensors[:, event_channel] != 0, event_fraction))
        shares += [(m, f) for m, f in priority if f]
        counts = [int(round(batch * f)) for _, f in shares]
        if not sum(counts):   # uniform: the same draws as before the option existed
            offs = jax.random.randint(key, (batch,), 0, span)
        else:
            k_uniform, key = jax.random.split(key)
            offs = jax.random.randint(k_uniform, (batch,), 0, span)
            rel = jnp.arange(self.capacity)
            at0 = 0
            for (mask, _), n in zip(shares, counts):
                if not n:
                    continue
                key, k_event, k_shift = jax.random.split(key, 3)
                event = mask[(oldest + rel) % self.capacity] & (rel < window)
                at = jax.random.categorical(k_event, jnp.where(event, 0.0, -jnp.inf), shape=(n,))
                start = jnp.clip(at - jax.random.randint(k_shift, (n,), 0, length), 0, span - 1)
                offs = offs.at[at0:at0 + n].set(jnp.where(event.any(), start, offs[at0:at0 + n]))
                at0 += n
        idx = (oldest + offs[:, None] + jnp.arange(length)[None, :]) % self.capacity
        out = {k: getattr(self, k)[idx] for k in self._fields if k not in ("ptr", "size")}
        out["done"] = (out["terminated"] | out["truncated"]).astype(jnp.float32)
        return out

    def distinct(self, key, n: int):
        """n distinct filled places at random (filled ones first when fewer are filled): a sample of
        what memory holds, without the repeats that would put a state at distance 0 from itself."""
        filled = jnp.arange(self.capacity) < self.size
        return jax.lax.top_k(jnp.where(filled, jax.random.uniform(key, (self.capacity,)), -1.0), n)[1]

    def recent(self, n: int) -> dict:
        """The last n steps, oldest first."""
        idx = (self.ptr - n + jnp.arange(n)) % self.capacity
        return {k: getattr(self, k)[idx] for k in self._fields if k not in ("ptr", "size")}
