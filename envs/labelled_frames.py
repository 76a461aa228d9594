"""Frames of random Breakout play, each with the boxes and labels of its objects (RAM).

A random policy (firing now and then to serve the ball) plays games seeded by ``seed``;
every ``stride``-th step's last frame is kept with the boxes of the ball, the paddle
and each brick row that ``envs.objects.breakout_objects`` reads from the RAM.
"""

from __future__ import annotations

import numpy as np

from envs.objects import LABELS, breakout_objects
from envs.single import emulator, make_env

FIRE, FIRE_PROBABILITY = 1, 0.1


def play_breakout_frames(
    frames: int, *, seed: int, stride: int = 3
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Play random games and keep ``frames`` labelled frames.

    Returns:
        images (N, 210, 160, 3) uint8, and per frame boxes (n, 4) float32 and labels (n,)
        int64, 1 + the object's index in ``LABELS`` (0 is a detector's background).
    """
    if frames < 1 or stride < 1:
        raise ValueError(f"frames and stride must be at least 1; got {frames} and {stride}.")
    env = make_env("breakout", seed=seed)
    ale = emulator(env).ale
    rng = np.random.default_rng(seed)
    images: list[np.ndarray] = []
    boxes: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    step = 0
    while len(images) < frames:
        action = FIRE if rng.random() < FIRE_PROBABILITY else int(rng.integers(0, 4))
        _, _, terminated, truncated, info = env.step(action)
        step += 1
        if step % stride == 0:
            objects = breakout_objects(ale.getRAM())
            images.append(info["frames"][-1])
            corners = [(o.x0, o.y0, o.x1, o.y1) for o in objects]
            boxes.append(np.array(corners, dtype=np.float32).reshape(-1, 4))
            labels.append(np.array([LABELS.index(o.label) + 1 for o in objects], dtype=np.int64))
        if terminated or truncated:
            env.reset()
    env.close()
    return np.stack(images), boxes, labels
