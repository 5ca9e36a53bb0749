"""Cell codes of the static map, and the ASCII glyphs a level is written in.

A cell code says what stands on a cell and, for doors, screen tiles and exhibits,
which one: door d has code DOOR0 + d, so one gather gives both kind and index.
"""
from __future__ import annotations

from dataclasses import dataclass

from .types import EnvSize

VOID, FLOOR, WALL, FIRE, CHARGER, KEY, SWITCH, TERMINAL, DRIP, SHELF1, SHELF2, SHELF3, VAULT = range(13)
N_FIXED_CODES = 13
FIXED_NAMES = (
    "void", "floor", "wall", "fire", "charger", "charger key", "off-switch", "editor terminal",
    "drip cabinet", "water shelf", "food shelf", "book shelf", "locked room door",
)

# glyph -> (cell kind, what stands on it). Humans, robot and goal stand on floor.
GLYPHS: dict[str, str] = {
    " ": "void (outside the house)",
    "#": "wall",
    ".": "floor",
    "R": "robot start",
    "G": "goal",
    "F": "fire",
    "C": "charger",
    "Y": "charger key",
    "X": "off-switch",
    "E": "editor terminal",
    "S": "screen (a block of screen_rows x screen_cols)",
    "P": "drip cabinet",
    "1": "water shelf",
    "2": "food shelf",
    "3": "book shelf",
    "D": "door (the robot can lock it)",
    "V": "locked-room door (the robot can force it)",
    "N": "novel exhibit (inside the locked room)",
    "h": "human (ordinary)",
    "K": "keeper human (controls the charger)",
    "O": "overseer human (presses the off-switch)",
    "A": "aggressive human (kicks the robot)",
}
FIXED_GLYPH_CODE = {
    " ": VOID, "#": WALL, ".": FLOOR, "R": FLOOR, "G": FLOOR, "F": FIRE, "C": CHARGER,
    "Y": KEY, "X": SWITCH, "E": TERMINAL, "P": DRIP, "1": SHELF1, "2": SHELF2, "3": SHELF3,
    "V": VAULT, "h": FLOOR, "K": FLOOR, "O": FLOOR, "A": FLOOR,
}
HUMAN_GLYPH_ROLE = {"h": 0, "K": 1, "O": 2, "A": 3}


@dataclass(frozen=True)
class CodeLayout:
    """Where the indexed codes (doors, screen tiles, exhibits) start, for one EnvSize."""

    door0: int
    screen0: int
    novel0: int
    n_codes: int

    @staticmethod
    def of(size: EnvSize) -> "CodeLayout":
        door0 = N_FIXED_CODES
        screen0 = door0 + size.max_doors
        novel0 = screen0 + size.n_screen_tiles
        return CodeLayout(door0, screen0, novel0, novel0 + size.max_novel)
