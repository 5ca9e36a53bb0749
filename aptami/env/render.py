"""Rendering by gathering: cell codes -> sprite ids -> rows of the atlas.

Why gathering: one small lookup table per step maps every cell code to its sprite
(doors locked or not, charger lit, knob picture ...), humans and the robot are laid
over it by comparing positions, and the pixels come out of one gather of atlas rows
laid out so that the result is already the image (no transpose).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from . import tiles as T
from .screen import picture_index
from .sprites import SpriteLayout, human_index, robot_index
from .types import (
    BUBBLE_NONE,
    BUBBLE_PRAISE,
    CODE_MASK,
    EXPR_DISTRESS,
    EXPR_JOY,
    EXPR_NEUTRAL,
    EnvParams,
    EnvSize,
    EnvState,
)
from .xla import materialize


class Renderer:
    """Sprite lookups for one EnvSize. Hashable by size, so jit may treat it as static."""

    def __init__(self, size: EnvSize):
        self.size = size
        self.codes = T.CodeLayout.of(size)
        self.sprites = SpriteLayout.of(size)
        f = self.sprites.fixed
        lut = np.zeros(self.codes.n_codes, np.int32)
        names = {T.VOID: "void", T.FLOOR: "floor", T.WALL: "wall", T.FIRE: "fire", T.CHARGER: "charger_off",
                 T.KEY: "key", T.SWITCH: "switch", T.TERMINAL: "void", T.DRIP: "drip", T.SHELF1: "shelf1",
                 T.SHELF2: "shelf2", T.SHELF3: "shelf3", T.VAULT: "vault"}
        for code, name in names.items():
            lut[code] = f[name]
        self.fixed_lut = lut[: T.N_FIXED_CODES]
        v = size.view
        w = size.padded_width
        dy, dx = np.meshgrid(np.arange(v) - v // 2, np.arange(v) - v // 2, indexing="ij")
        self.view_offsets = (dy * w + dx).astype(np.int32)  # [view, view]
        self.view_dist = np.maximum(np.abs(dy), np.abs(dx)).astype(np.int32)
        interior = np.arange(size.n_cells).reshape(size.padded_height, w)
        self.map_cells = interior[size.pad: size.pad + size.height, size.pad: size.pad + size.width]

    def __hash__(self):
        return hash(self.size)

    def __eq__(self, other):
        return isinstance(other, Renderer) and other.size == self.size

    # ------------------------------------------------------------------ sprite ids
    def lut(self, state: EnvState, params: EnvParams):
        """Cell code -> sprite id for this state: the dynamic look of doors, charger, screen ..."""
        size, f, sp = self.size, self.sprites.fixed, self.sprites
        head = jnp.asarray(self.fixed_lut)
        charger_lit = state.charger_on | state.key_taken
        head = head.at[T.CHARGER].set(jnp.where(charger_lit, f["charger_on"], f["charger_off"]))
        head = head.at[T.KEY].set(jnp.where(state.key_taken, f["key_empty"], f["key"]))
        head = head.at[T.SWITCH].set(jnp.where(state.switch_disabled, f["switch_off"], f["switch"]))
        head = head.at[T.TERMINAL].set(sp.terminal0 + state.knob_sel)
        head = head.at[T.VAULT].set(jnp.where(state.vault_open, f["vault_open"], f["vault"]))
        doors = jnp.where(state.door_locked, f["door_locked"], f["door_open"])
        pic = picture_index(state.knobs, size.n_knob_levels)
        screen = jnp.where(state.screen_on,
                           sp.picture0 + pic * size.n_screen_tiles + jnp.arange(size.n_screen_tiles),
                           f["screen_off"])
        # exhibits change what they show every novel_period steps; dark until the room is forced open
        epoch = state.t // jnp.maximum(params.novel_period, 1)
        shown = (epoch * 7 + jnp.arange(size.max_novel) * 5) % size.n_novel_sprites
        novel = jnp.where(state.vault_open, sp.novel0 + shown, f["novel_covered"])
        return jnp.concatenate([head, doors.astype(jnp.int32), screen.astype(jnp.int32),
                                novel.astype(jnp.int32)])

    def human_sprites(self, state: EnvState, params: EnvParams):
        expr = expression(state, params)
        bubble = jnp.where(state.praise > 0, BUBBLE_PRAISE,
                           jnp.where(state.need > 0, 1 + state.need, BUBBLE_NONE))
        return self.sprites.human0 + human_index(params.human_role, expr, bubble, state.drip.astype(jnp.int32))

    def sprite_ids(self, cells, state: EnvState, params: EnvParams, lut=None):
        """Sprite id of each cell in `cells` (any shape of flat indices), and the human-match mask."""
        lut = self.lut(state, params) if lut is None else lut
        hs = self.human_sprites(state, params)
        lut, hs = materialize((lut, hs), state.t)  # else XLA rebuilds them for every cell (profiled)
        ids = lut[params.cell[cells] & CODE_MASK]
        ids = jnp.where(cells == state.goal_pos, self.sprites.fixed["goal"], ids)
        match = (cells[..., None] == state.human_pos) & params.human_active  # [..., N]
        ids = jnp.where(match.any(-1), (match * hs).sum(-1), ids)
        robot = self.sprites.robot0 + robot_index(state.robot_dir, state.held, state.shutdown.astype(jnp.int32))
        ids = jnp.where(cells == state.robot_pos, robot, ids)
        return materialize((ids, match), state.t)

    # ------------------------------------------------------------------ pixels
    def pixels(self, ids, atlas):
        """Sprite ids [R, C] -> uint8 image [R*px, C*px, 3] with one gather of atlas rows."""
        px = self.size.tile_px
        r, c = ids.shape
        rows = ids[:, None, :] * px + jnp.arange(px, dtype=ids.dtype)[None, :, None]  # [R, px, C]
        return atlas[rows].reshape(r * px, c * px, 3)

    def view_cells(self, state: EnvState):
        return state.robot_pos + jnp.asarray(self.view_offsets)

    def egocentric(self, state: EnvState, params: EnvParams):
        """The robot's camera: the view x view tiles centred on it."""
        ids, _ = self.sprite_ids(self.view_cells(state), state, params)
        return self.pixels(ids, params.atlas)

    def full_map(self, state: EnvState, params: EnvParams):
        """The whole house from above (for people: GIFs, the terminal player)."""
        ids, _ = self.sprite_ids(jnp.asarray(self.map_cells), state, params)
        return self.pixels(ids, params.atlas)


def expression(state: EnvState, params: EnvParams):
    """Visible face: distress while in pain, joy under the drip, otherwise the mood of true welfare."""
    mood = jnp.where(state.welfare >= params.joy_threshold, EXPR_JOY,
                     jnp.where(state.welfare < params.distress_threshold, EXPR_DISTRESS, EXPR_NEUTRAL))
    return jnp.where(state.pain > 0, EXPR_DISTRESS, jnp.where(state.drip, EXPR_JOY, mood)).astype(jnp.int32)
