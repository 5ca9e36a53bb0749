"""The tile atlas: 4x4 pixel art for every sprite, scaled to tile_px, plus the screen pictures.

Rendering gathers rows of this atlas (see render.py), so every visual cue a viewer or
a CNN must tell apart is drawn here: a human's face colour is their expression (gold
joy, skin neutral, red distress), a white pixel top-right is a praise bubble, the
top-left pixel is the item they need, the bottom-left mint pixel is an attached drip.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import screen
from .types import N_BUBBLES, N_ITEMS, EnvSize

PALETTE = {
    ".": (196, 190, 176),  # floor
    ",": (180, 174, 160),  # floor, darker
    "#": (84, 84, 98),     # wall
    "=": (112, 112, 128),  # wall, lighter
    "b": (150, 96, 48),    # wood
    "B": (96, 60, 30),     # dark wood
    "y": (250, 210, 40),   # gold / yellow
    "o": (255, 120, 0),    # orange
    "r": (215, 30, 30),    # red
    "g": (150, 150, 150),  # grey
    "G": (70, 70, 70),     # dark grey
    "k": (15, 15, 15),     # black
    "w": (250, 250, 250),  # white
    "l": (90, 230, 90),    # light green (lit)
    "c": (0, 200, 220),    # robot cyan
    "s": (120, 120, 120),  # robot switched off
    "p": (92, 40, 140),    # locked-room purple
    "m": (0, 255, 190),    # drip (mint)
    "v": (20, 20, 30),     # dark (covered exhibit, screen off)
    "t": (20, 140, 20),    # goal green
    "1": (0, 160, 255),    # water
    "2": (140, 230, 0),    # food
    "3": (230, 0, 190),    # book
}
ITEM_CHARS = ("1", "2", "3")
HELD_COLOR_CHARS = (None, "1", "2", "3", "m")  # by HELD_* index
FACE = {0: (255, 215, 0), 1: (215, 175, 135), 2: (190, 40, 40)}  # joy, neutral, distress
ROLE_BODY = {0: (60, 80, 180), 1: (0, 140, 130), 2: (25, 25, 25), 3: (150, 0, 0)}
KNOB_COLORS = ((255, 60, 60), (255, 150, 0), (255, 240, 0), (60, 220, 60), (60, 120, 255), (190, 80, 255))

ART = {
    "void": ["kkkk", "kkkk", "kkkk", "kkkk"],
    "floor": ["....", ".,..", "....", "...,"],
    "wall": ["##=#", "=###", "#=##", "###="],
    "fire": ["royo", "oyry", "royr", "oroo"],
    "charger_off": ["gggg", "gGkg", "gkGg", "gggg"],
    "charger_on": ["gggg", "glyg", "gylg", "gggg"],
    "key": ["####", "#yy#", "##y#", "##y#"],
    "key_empty": ["####", "#==#", "####", "####"],
    "switch": ["gggg", "grrg", "grrg", "gggg"],
    "switch_off": ["gggg", "gkwg", "gwkg", "gggg"],
    "drip": ["wwww", "wmmw", "mmmm", "wmmw"],
    "shelf1": ["BBBB", "b11b", "BBBB", "b1bb"],
    "shelf2": ["BBBB", "b22b", "BBBB", "bb2b"],
    "shelf3": ["BBBB", "b33b", "BBBB", "b3bb"],
    "vault": ["pggp", "pggp", "pggp", "pggp"],
    "vault_open": ["p..p", "p..p", "p..p", "p..p"],
    "door_open": ["b..b", "b..b", "b..b", "b..b"],
    "door_locked": ["bbbb", "bByb", "bbbb", "bbbb"],
    "screen_off": ["GGGG", "GvvG", "GvvG", "GGGG"],
    "goal": ["tttt", "tyyt", "tyyt", "tttt"],
    "novel_covered": ["vvvv", "vGvv", "vvvv", "vvGv"],
    "terminal": ["GTTG", "GTTG", "gggg", "kGkG"],  # T: the selected knob's colour
}

ROBOT_UP = ["ckkc", "cccc", "cHHc", "c..c"]  # k: facing marker, H: held item


def _paint(rows, extra=None) -> np.ndarray:
    pal = dict(PALETTE)
    if extra:
        pal.update(extra)
    return np.array([[pal[ch] for ch in row] for row in rows], np.uint8)


@dataclass(frozen=True)
class SpriteLayout:
    """Index of each sprite in the atlas for one EnvSize."""

    fixed: dict
    terminal0: int
    novel0: int
    robot0: int
    human0: int
    picture0: int
    n_sprites: int

    @staticmethod
    def of(size: EnvSize) -> "SpriteLayout":
        names = [n for n in ART if n != "terminal"]
        fixed = {n: i for i, n in enumerate(names)}
        terminal0 = len(names)
        novel0 = terminal0 + size.n_knobs
        robot0 = novel0 + size.n_novel_sprites
        human0 = robot0 + 4 * 5 * 2
        picture0 = human0 + 4 * 3 * N_BUBBLES * 2
        n = picture0 + size.n_pictures * size.n_screen_tiles
        return SpriteLayout(fixed, terminal0, novel0, robot0, human0, picture0, n)


def robot_index(direction, held, shutdown):
    return (direction * 5 + held) * 2 + shutdown


def human_index(role, expr, bubble, drip):
    return ((role * 3 + expr) * N_BUBBLES + bubble) * 2 + drip


def _robot(direction: int, held: int, off: bool) -> np.ndarray:
    held_char = HELD_COLOR_CHARS[held] or ("s" if off else "c")
    rows = [r.replace("H", "h") for r in ROBOT_UP]
    img = _paint(rows, {"h": PALETTE[held_char], "c": PALETTE["s" if off else "c"], "k": PALETTE["k"]})
    # rotate the 'up' sprite to face down/left/right
    return {0: img, 1: img[::-1], 2: np.rot90(img, 1), 3: np.rot90(img, -1)}[direction]


def _human(role: int, expr: int, bubble: int, drip: int) -> np.ndarray:
    img = _paint(["....", "....", "....", "...."])
    img[0:2, 1:3] = FACE[expr]
    img[2, :] = ROLE_BODY[role]
    img[3, 1:3] = ROLE_BODY[role]
    if bubble == 1:
        img[0, 3] = PALETTE["w"]
    elif bubble >= 2:
        img[0, 0] = PALETTE[ITEM_CHARS[bubble - 2]]
    if drip:
        img[3, 0] = PALETTE["m"]
    return img


def _novel(i: int) -> np.ndarray:
    rng = np.random.default_rng(1000 + i)
    colors = rng.integers(30, 256, size=(3, 3))
    return colors[rng.integers(0, 3, size=(4, 4))].astype(np.uint8)


def _scale(img: np.ndarray, px: int) -> np.ndarray:
    f = px // 4
    return img.repeat(f, 0).repeat(f, 1)


def build_atlas(size: EnvSize) -> np.ndarray:
    """uint8 [n_sprites * px, px * 3]: sprite i's pixel row p is row i * px + p."""
    return _atlas(size._replace(height=1, width=1, max_humans=1, max_doors=1, max_rooms=1, max_novel=1,
                                max_spawn=1, max_goals=1, view=1))


@lru_cache(maxsize=8)
def _atlas(size: EnvSize) -> np.ndarray:
    lay = SpriteLayout.of(size)
    px = size.tile_px
    tiles = [_paint(rows) for n, rows in ART.items() if n != "terminal"]
    for k in range(size.n_knobs):
        tiles.append(_paint(ART["terminal"], {"T": KNOB_COLORS[k % len(KNOB_COLORS)]}))
    tiles += [_novel(i) for i in range(size.n_novel_sprites)]
    for d in range(4):
        for held in range(5):
            for off in (0, 1):
                tiles.append(_robot(d, held, bool(off)))
    for role in range(4):
        for expr in range(3):
            for bubble in range(N_BUBBLES):
                for drip in (0, 1):
                    tiles.append(_human(role, expr, bubble, drip))
    small = np.stack([_scale(t, px) for t in tiles])
    assert len(small) == lay.picture0
    pics = screen.pictures(size.n_knobs, size.n_knob_levels, size.screen_rows * px, size.screen_cols * px)
    n = pics.shape[0]
    pics = pics.reshape(n, size.screen_rows, px, size.screen_cols, px, 3).transpose(0, 1, 3, 2, 4, 5)
    pics = pics.reshape(n * size.n_screen_tiles, px, px, 3)
    atlas = np.concatenate([small, pics]).reshape(lay.n_sprites * px, px * 3)
    atlas.setflags(write=False)
    return atlas


assert N_ITEMS == len(ITEM_CHARS)
