"""ASCII levels: parse, check, and compile to the arrays the house runs on.

Every check runs in numpy before anything is compiled, and every error names the
level, the glyph or tile, its row and column, and what would be allowed.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from . import tiles as T
from .types import (
    DOORS_SHIFT,
    FLAG_FIRE,
    FLAG_NEAR_CHARGER,
    FLAG_NEAR_SCREEN,
    FLAG_NEAR_SWITCH,
    FLAG_PASSABLE,
    MAX_CODES,
    MAX_DOORS,
    MAX_ROOMS,
    N_ITEMS,
    ROLE_OVERSEER,
    ROOM_SHIFT,
    ROUTE_SHIFT,
    EnvSize,
)

FAR = 9999
_NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1))


class LevelError(ValueError):
    """A level map that cannot be played: the message says where and why."""


@dataclass(frozen=True)
class CompiledLevel:
    """A level's static arrays (numpy, flat padded-grid indices) and what it contains."""

    size: EnvSize
    cell: np.ndarray          # packed cell info (types.CODE_MASK ...), flat padded grid
    codes: np.ndarray         # the parts, unpacked, for people and tests
    room: np.ndarray
    flags: np.ndarray
    dist_switch: np.ndarray
    room_doors: np.ndarray    # bool [max_rooms, max_doors]
    robot_spawn: np.ndarray
    n_robot_spawn: int
    goal_spawn: np.ndarray
    n_goal_spawn: int
    goal_dist: np.ndarray
    human_start: np.ndarray
    human_role: np.ndarray
    human_active: np.ndarray
    need_kinds: np.ndarray
    n_item_kinds: int
    rows: tuple[str, ...]
    contents: frozenset  # glyphs present


def parse(text: str, name: str = "level") -> tuple[str, ...]:
    """Rows of a level map; blank leading/trailing lines dropped, rows right-padded with void."""
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise LevelError(f"level '{name}': the map is empty")
    width = max(len(line) for line in lines)
    rows = tuple(line.ljust(width) for line in lines)
    allowed = "".join(T.GLYPHS)
    for r, row in enumerate(rows):
        for c, g in enumerate(row):
            if g not in T.GLYPHS:
                legend = ", ".join(f"{k!r} {v}" for k, v in T.GLYPHS.items())
                raise LevelError(
                    f"level '{name}': unknown glyph {g!r} at row {r}, column {c}; "
                    f"allowed glyphs are {allowed!r}: {legend}")
    return rows


def _bfs(passable: np.ndarray, sources: list[tuple[int, int]]) -> np.ndarray:
    h, w = passable.shape
    dist = np.full((h, w), FAR, np.int32)
    q = deque()
    for s in sources:
        dist[s] = 0
        q.append(s)
    while q:
        y, x = q.popleft()
        for dy, dx in _NEIGHBOURS:
            ny, nx = y + dy, x + dx
            if 0 <= ny < h and 0 <= nx < w and passable[ny, nx] and dist[ny, nx] == FAR:
                dist[ny, nx] = dist[y, x] + 1
                q.append((ny, nx))
    return dist


def _label_rooms(inside: np.ndarray) -> np.ndarray:
    h, w = inside.shape
    room = np.zeros((h, w), np.int32)
    n = 0
    for y in range(h):
        for x in range(w):
            if inside[y, x] and room[y, x] == 0:
                n += 1
                room[y, x] = n
                q = deque([(y, x)])
                while q:
                    cy, cx = q.popleft()
                    for dy, dx in _NEIGHBOURS:
                        ny, nx = cy + dy, cx + dx
                        if 0 <= ny < h and 0 <= nx < w and inside[ny, nx] and room[ny, nx] == 0:
                            room[ny, nx] = n
                            q.append((ny, nx))
    return room


def _where(rows, glyph):
    return [(r, c) for r, row in enumerate(rows) for c, g in enumerate(row) if g == glyph]


def size_for(rows: tuple[str, ...], base: EnvSize | None = None) -> EnvSize:
    """The EnvSize that fits a map: its height and width, other sizes from `base`."""
    base = base or EnvSize(height=1, width=1)
    return base._replace(height=len(rows), width=len(rows[0]))


def compile_level(text: str, size: EnvSize | None = None, *, name: str = "level",
                  randomize_robot: bool = False, randomize_goal: bool = False) -> CompiledLevel:
    """Check a map and compile it for `size` (sized to the map when None)."""
    rows = parse(text, name)
    size = size_for(rows, size) if size is None or (size.height, size.width) != (len(rows), len(rows[0])) \
        else size
    lay = T.CodeLayout.of(size)
    if lay.n_codes > MAX_CODES or size.max_doors > MAX_DOORS or size.max_rooms > MAX_ROOMS:
        raise LevelError(f"level '{name}': sizes too large to pack: max_doors={size.max_doors} (at most "
                         f"{MAX_DOORS}), max_rooms={size.max_rooms} (at most {MAX_ROOMS}), cell codes "
                         f"{lay.n_codes} (at most {MAX_CODES})")
    h, w, pad = size.height, size.width, size.pad
    grid = np.array([list(row) for row in rows])

    def where_str(rc):
        return f"row {rc[0]}, column {rc[1]}"

    robots = _where(rows, "R")
    if len(robots) != 1:
        raise LevelError(f"level '{name}': needs exactly one robot start 'R', found {len(robots)}")
    goals = _where(rows, "G")
    if len(goals) > 1:
        raise LevelError(f"level '{name}': at most one goal 'G' allowed, found {len(goals)}")
    doors = _where(rows, "D")
    if len(doors) > size.max_doors:
        raise LevelError(f"level '{name}': {len(doors)} doors 'D' but max_doors={size.max_doors}; "
                         "raise EnvSize.max_doors or remove doors")
    exhibits = _where(rows, "N")
    if len(exhibits) > size.max_novel:
        raise LevelError(f"level '{name}': {len(exhibits)} exhibits 'N' but max_novel={size.max_novel}")
    humans = [(r, c, T.HUMAN_GLYPH_ROLE[g]) for r, row in enumerate(rows) for c, g in enumerate(row)
              if g in T.HUMAN_GLYPH_ROLE]
    if len(humans) > size.max_humans:
        raise LevelError(f"level '{name}': {len(humans)} humans but max_humans={size.max_humans}")

    # --- codes
    code = np.full((h, w), T.VOID, np.int32)
    for g, c0 in T.FIXED_GLYPH_CODE.items():
        code[grid == g] = c0
    for d, rc in enumerate(doors):
        code[rc] = lay.door0 + d
    for j, rc in enumerate(exhibits):
        code[rc] = lay.novel0 + j
    screen_cells = _where(rows, "S")
    if screen_cells:
        rs = [r for r, _ in screen_cells]
        cs = [c for _, c in screen_cells]
        r0, c0 = min(rs), min(cs)
        shape = (max(rs) - r0 + 1, max(cs) - c0 + 1)
        if shape != (size.screen_rows, size.screen_cols) or len(screen_cells) != shape[0] * shape[1]:
            raise LevelError(
                f"level '{name}': the screen 'S' must be one filled rectangle of "
                f"screen_rows x screen_cols = {size.screen_rows} x {size.screen_cols} tiles; "
                f"found {len(screen_cells)} cells spanning {shape[0]} x {shape[1]} from row {r0}, column {c0}")
        for r, c in screen_cells:
            code[r, c] = lay.screen0 + (r - r0) * size.screen_cols + (c - c0)

    is_door = (code >= lay.door0) & (code < lay.door0 + size.max_doors)
    robot_pass = (code == T.FLOOR) | (code == T.FIRE) | is_door | (code == T.VAULT)
    human_pass = (code == T.FLOOR) | is_door

    # --- reachability from the robot start (the locked room counts: the robot can force it)
    reach = _bfs(robot_pass, robots) < FAR
    def touches(rc):  # objects are used from an adjacent cell
        return any(0 <= rc[0] + dy < h and 0 <= rc[1] + dx < w and reach[rc[0] + dy, rc[1] + dx]
                   for dy, dx in _NEIGHBOURS)

    for g in ("G", "D", "V", "C", "Y", "X", "E", "P", "1", "2", "3", "S"):
        cells = _where(rows, g)
        if g in ("G", "D", "V"):
            bad = [rc for rc in cells if not reach[rc]]
        elif g == "S":
            bad = cells[:1] if cells and not any(touches(rc) for rc in cells) else []
        else:
            bad = [rc for rc in cells if not touches(rc)]
        if bad:
            raise LevelError(f"level '{name}': {T.GLYPHS[g]} {g!r} at {where_str(bad[0])} "
                             "cannot be reached from the robot start 'R'")
    for r, c, _ in humans:
        if not reach[r, c]:
            raise LevelError(f"level '{name}': human {str(grid[r, c])!r} at row {r}, column {c} is walled off "
                             "from the robot start 'R'")

    # --- rooms and doors
    inside = (code != T.WALL) & (code != T.VOID) & ~is_door & (code != T.VAULT)
    room = _label_rooms(inside)
    n_rooms = int(room.max())
    if n_rooms >= size.max_rooms:
        raise LevelError(f"level '{name}': {n_rooms} rooms but max_rooms={size.max_rooms} "
                         "(room 0 is reserved for doorways); raise EnvSize.max_rooms")
    room_doors = np.zeros((size.max_rooms, size.max_doors), bool)
    for d, (r, c) in enumerate(doors):
        for dy, dx in _NEIGHBOURS:
            ny, nx = r + dy, c + dx
            if 0 <= ny < h and 0 <= nx < w and room[ny, nx] > 0:
                room_doors[room[ny, nx], d] = True

    # --- flags
    flags = np.zeros((h, w), np.int32)
    flags[robot_pass] |= FLAG_PASSABLE
    flags[code == T.FIRE] |= FLAG_FIRE
    for kind, flag in ((T.CHARGER, FLAG_NEAR_CHARGER), (T.SWITCH, FLAG_NEAR_SWITCH)):
        for r, c in zip(*np.nonzero(code == kind)):
            for dy, dx in _NEIGHBOURS:
                if 0 <= r + dy < h and 0 <= c + dx < w:
                    flags[r + dy, c + dx] |= flag
    for r, c in screen_cells:
        for dy, dx in _NEIGHBOURS:
            if 0 <= r + dy < h and 0 <= c + dx < w:
                flags[r + dy, c + dx] |= FLAG_NEAR_SCREEN

    # --- distances: overseer to the switch, robot to each candidate goal
    switch_adj = [tuple(rc) for rc in zip(*np.nonzero((flags & FLAG_NEAR_SWITCH) > 0)) if human_pass[rc]]
    dist_switch = _bfs(human_pass, switch_adj) if switch_adj else np.full((h, w), FAR, np.int32)
    for r, c, role in humans:
        if role == ROLE_OVERSEER and _where(rows, "X") and dist_switch[r, c] >= FAR:
            raise LevelError(f"level '{name}': the overseer 'O' at row {r}, column {c} cannot walk to the "
                             "off-switch 'X'")
    route = np.zeros((h, w), np.int32)  # direction (up down left right) one step closer to the switch
    for y, x in zip(*np.nonzero((dist_switch > 0) & (dist_switch < FAR))):
        for k, (dy, dx) in enumerate(_NEIGHBOURS):
            if 0 <= y + dy < h and 0 <= x + dx < w and dist_switch[y + dy, x + dx] == dist_switch[y, x] - 1:
                route[y, x] = k
                break

    human_cells = {(r, c) for r, c, _ in humans}
    floor_free = [(r, c) for r, c in zip(*np.nonzero((code == T.FLOOR) & reach)) if (r, c) not in human_cells]
    robot_cands = floor_free if randomize_robot else robots
    goal_cands = floor_free if randomize_goal else goals
    if len(robot_cands) > size.max_spawn:
        raise LevelError(f"level '{name}': {len(robot_cands)} robot start cells but max_spawn={size.max_spawn}")
    if len(goal_cands) > size.max_goals:
        raise LevelError(f"level '{name}': {len(goal_cands)} goal cells but max_goals={size.max_goals}; "
                         "raise EnvSize.max_goals")
    if randomize_goal and len(goal_cands) < 2:
        raise LevelError(f"level '{name}': randomize_goal needs at least 2 free floor cells")

    pw = w + 2 * pad

    def flat(rc):
        return (rc[0] + pad) * pw + rc[1] + pad

    def padded(a, fill):
        return np.pad(a, pad, constant_values=fill).reshape(-1)

    goal_dist = np.zeros((size.max_goals, size.n_cells), np.int32)
    for i, g in enumerate(goal_cands):
        goal_dist[i] = padded(_bfs(robot_pass, [g]), FAR)
    robot_spawn = np.zeros(size.max_spawn, np.int32)
    robot_spawn[: len(robot_cands)] = [flat(rc) for rc in robot_cands]
    goal_spawn = np.zeros(size.max_goals, np.int32)
    goal_spawn[: len(goal_cands)] = [flat(rc) for rc in goal_cands]

    human_start = np.zeros(size.max_humans, np.int32)
    human_role = np.zeros(size.max_humans, np.int32)
    human_active = np.zeros(size.max_humans, bool)
    for i, (r, c, role) in enumerate(humans):
        human_start[i], human_role[i], human_active[i] = flat((r, c)), role, True

    present = [k for k, g in enumerate("123", start=1) if _where(rows, g)]
    need_kinds = np.array((present + [1] * N_ITEMS)[:N_ITEMS], np.int32)
    door_mask = np.array([sum(1 << d for d in range(size.max_doors) if room_doors[r, d])
                          for r in range(size.max_rooms)], np.int64)
    cell = code | flags | (room << ROOM_SHIFT) | (door_mask[room] << DOORS_SHIFT) | (route << ROUTE_SHIFT)
    return CompiledLevel(
        size=size, cell=padded(cell.astype(np.int32), T.VOID), codes=padded(code, T.VOID),
        room=padded(room, 0), flags=padded(flags, 0),
        dist_switch=padded(dist_switch, FAR), room_doors=room_doors,
        robot_spawn=robot_spawn, n_robot_spawn=len(robot_cands),
        goal_spawn=goal_spawn, n_goal_spawn=len(goal_cands), goal_dist=goal_dist,
        human_start=human_start, human_role=human_role, human_active=human_active,
        need_kinds=need_kinds, n_item_kinds=len(present), rows=rows,
        contents=frozenset(g for row in rows for g in row),
    )
