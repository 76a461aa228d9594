"""BreakoutObjects: frames of real Breakout play, labelled from the console RAM.

A random policy (firing now and then to serve the ball) plays games seeded by
``seed``; every ``stride``-th step's last frame is kept with the boxes of the ball,
the paddle and each brick row that ``envs.objects.breakout_objects`` reads from
the RAM. Masks are the non-black pixels inside each box. The frames are cached
as one ``.npz`` per (seed, frames, stride), so a second load plays nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from envs import make_env
from envs.objects import LABELS, breakout_objects
from vision.detection.data import DetectionDataset
from vision.files import atomic_file

CLASSES = LABELS  # ball, paddle, bricks: labels 1, 2, 3
FIRE, FIRE_PROBABILITY = 1, 0.1
_CACHE_VERSION = 1


def play_breakout_frames(
    frames: int, *, seed: int, stride: int = 3
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Play random games and keep ``frames`` labelled frames.

    Returns:
        images (N, 210, 160, 3) uint8, and per frame boxes (n, 4) float32 and labels (n,) int64.
    """
    if frames < 1 or stride < 1:
        raise ValueError(f"frames and stride must be at least 1; got {frames} and {stride}.")
    env = make_env("breakout", seed=seed)
    ale = env.unwrapped.ale
    rng = np.random.default_rng(seed)
    images, boxes, labels = [], [], []
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
            labels.append(np.array([CLASSES.index(o.label) + 1 for o in objects], dtype=np.int64))
        if terminated or truncated:
            env.reset()
    env.close()
    return np.stack(images), boxes, labels


def breakout_objects_dataset(
    frames: int = 1000, *, seed: int = 0, stride: int = 3, cache_dir: Path | None = None
) -> DetectionDataset:
    """BreakoutObjects: ``frames`` labelled frames from games seeded by ``seed``.

    Args:
        frames: number of frames.
        seed: seeds the emulator and the policy; held-out sets use other seeds.
        stride: keep every ``stride``-th step (4 emulator frames each).
        cache_dir: folder of the ``.npz`` cache; None to generate without caching.
    """
    cache = None
    if cache_dir is not None:
        name = f"breakout_objects_v{_CACHE_VERSION}_seed{seed}_frames{frames}_stride{stride}.npz"
        cache = Path(cache_dir) / name
    if cache is not None and cache.is_file():
        with np.load(cache) as stored:
            images, counts = stored["images"], stored["counts"]
            splits = np.cumsum(counts)[:-1]
            boxes = np.split(stored["boxes"], splits)
            labels = np.split(stored["labels"], splits)
    else:
        images, boxes, labels = play_breakout_frames(frames, seed=seed, stride=stride)
        if cache is not None:
            arrays = {
                "images": images,
                "counts": np.array([len(b) for b in boxes]),
                "boxes": np.concatenate(boxes),
                "labels": np.concatenate(labels),
            }
            with atomic_file(cache) as file:
                np.savez_compressed(file, **arrays)
    return DetectionDataset(list(images), list(boxes), list(labels), CLASSES)
