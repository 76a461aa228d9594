"""BreakoutObjects: a detection dataset of real Breakout frames labelled from the console
RAM (``envs.labelled_frames``). Masks are the non-black pixels inside each box. The frames
are cached as one ``.npz`` per (seed, frames, stride), so a second load plays nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from envs.labelled_frames import play_breakout_frames
from envs.objects import LABELS
from vision.detection.data import DetectionDataset
from vision.files import atomic_file

CLASSES = LABELS  # ball, paddle, bricks: labels 1, 2, 3
_CACHE_VERSION = 1


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
            with atomic_file(cache) as file:
                np.savez_compressed(
                    file,
                    images=images,
                    counts=np.array([len(b) for b in boxes]),
                    boxes=np.concatenate(boxes),
                    labels=np.concatenate(labels),
                )
    return DetectionDataset(list(images), list(boxes), list(labels), CLASSES)
