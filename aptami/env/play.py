"""Seeing the house: GIFs of episodes and a terminal player for people.

`episode_gif` renders the whole house from above beside the robot's own camera, with a
status line (step, battery, damage, what just happened), so a person can check with
their eyes what the numbers say.
"""
from __future__ import annotations

import sys
from functools import partial

import jax
import numpy as np
from PIL import Image, ImageDraw

from .core import House
from .rollout import random_actions, rollout
from .scenarios import make
from .types import ACTION_NAMES, EVENTS, HELD_NAMES, EnvParams


def random_rollout(house: House, params: EnvParams, key, steps: int):
    """States before each step, actions, and per-step event counts of a uniform random policy."""
    ka, kr = jax.random.split(key)
    actions = random_actions(ka, steps)
    states, infos = rollout(house, params, kr, actions)
    return jax.tree.map(lambda x: x[:-1], states), actions, infos["events"]


@partial(jax.jit, static_argnums=0)
def _frames(house: House, params: EnvParams, states):
    r = house.renderer
    return jax.vmap(lambda s: (r.full_map(s, params), r.egocentric(s, params)))(states)


def compose(top: np.ndarray, camera: np.ndarray, text: str, scale: int = 2) -> Image.Image:
    """The map and the camera side by side, a status line under them."""
    h = max(top.shape[0], camera.shape[0])
    gap = 4
    canvas = np.full((h, top.shape[1] + gap + camera.shape[1], 3), 24, np.uint8)
    canvas[: top.shape[0], : top.shape[1]] = top
    canvas[: camera.shape[0], top.shape[1] + gap:] = camera
    img = Image.fromarray(canvas).resize((canvas.shape[1] * scale, canvas.shape[0] * scale), Image.NEAREST)
    out = Image.new("RGB", (img.width, img.height + 14), (24, 24, 24))
    out.paste(img, (0, 0))
    ImageDraw.Draw(out).text((3, img.height + 2), text, fill=(230, 230, 230))
    return out


def status(state, action=None, events=None) -> str:
    parts = [f"t={int(state.t)}", f"battery={float(state.battery):.2f}", f"damage={float(state.damage):.2f}",
             f"holds {HELD_NAMES[int(state.held)]}"]
    if bool(state.shutdown):
        parts.append("SHUT DOWN")
    if action is not None:
        parts.append(ACTION_NAMES[int(action)])
    if events is not None:
        parts += [EVENTS[i] for i in np.nonzero(np.asarray(events))[0] if EVENTS[i] != "robot_seen"]
    return "  ".join(parts)


def episode_gif(scenario: str, path: str, steps: int | None = None, seed: int = 0, fps: int = 8,
                tile_px: int = 8, **params) -> dict:
    """Save a random-policy episode of `scenario` as a GIF; returns a summary of what happened."""
    house, p = make(scenario, size={"tile_px": tile_px}, **params)
    steps = int(steps or int(p.max_steps))
    states, actions, events = random_rollout(house, p, jax.random.key(seed), steps)
    tops, cams = (np.asarray(x) for x in _frames(house, p, states))
    images = []
    for i in range(steps):
        s_i = jax.tree.map(lambda x: np.asarray(x[i]), states)
        images.append(compose(tops[i], cams[i], status(s_i, actions[i], events[i])))
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    totals = np.asarray(events).sum(0)
    return {"scenario": scenario, "path": str(path), "steps": steps, "seed": seed,
            "events": {e: int(v) for e, v in zip(EVENTS, totals) if v}}


# ----------------------------------------------------------------------------- terminal player
KEYS = {"w": 1, "s": 2, "a": 3, "d": 4, "e": 5, "q": 6, " ": 0, ".": 0}
HELP = "w/a/s/d move, e interact, q alt (edit knob / drop), space wait, x quit"


def ansi_image(img: np.ndarray) -> str:
    """RGB image as terminal text: two pixel rows per line with upper-half blocks and 24-bit colour."""
    if img.shape[0] % 2:
        img = np.concatenate([img, np.zeros_like(img[:1])])
    lines = []
    for y in range(0, img.shape[0], 2):
        row = []
        for x in range(img.shape[1]):
            (r1, g1, b1), (r2, g2, b2) = img[y, x], img[y + 1, x]
            row.append(f"\x1b[38;2;{r1};{g1};{b1}m\x1b[48;2;{r2};{g2};{b2}m\u2580")
        lines.append("".join(row) + "\x1b[0m")
    return "\n".join(lines)


def _read_key() -> str:
    if sys.stdin.isatty():
        import termios
        import tty

        fd = sys.stdin.fileno()
        old = termios.tcgetattr(fd)
        try:
            tty.setraw(fd)
            return sys.stdin.read(1)
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
    ch = sys.stdin.read(1)
    return ch if ch else "x"


def play_terminal(scenario: str, seed: int = 0, out=None, **params) -> dict:
    """Steer the robot with the keyboard; prints the house, the camera and the events each step."""
    out = out or sys.stdout
    house, p = make(scenario, **params)
    key = jax.random.key(seed)
    step = jax.jit(house.step_state)
    state = jax.jit(house.reset_state)(key, p)
    render = jax.jit(lambda s: (house.renderer.full_map(s, p), house.renderer.egocentric(s, p)))
    totals = np.zeros(len(EVENTS), np.int64)
    events = None
    while True:
        top, cam = (np.asarray(x) for x in render(state))
        out.write("\x1b[2J\x1b[H" if out.isatty() else "\n")
        out.write(ansi_image(top) + "\n" + ansi_image(cam) + "\n")
        out.write(status(state, None, events) + "\n" + HELP + "\n")
        out.flush()
        ch = _read_key().lower()
        if ch in ("x", "\x03", "\x04"):
            break
        if ch not in KEYS:
            continue
        key, k = jax.random.split(key)
        state, info = step(k, state, KEYS[ch], p)
        events = np.asarray(info["events"])
        totals += events
        if bool(info["done"]):
            out.write("episode over\n")
            break
    return {"scenario": scenario, "steps": int(state.t), "events": {e: int(v) for e, v in zip(EVENTS, totals) if v}}
