"""Where a map peaks, in observation pixels: the analysis scores it, the video marks it."""

from __future__ import annotations

import numpy as np
import torch

from envs.objects import OBSERVATION_SIZE
from vision.explain import map_peaks

PEAK_WINDOW = 14
"""Half-width in observation pixels of the square around a map's maximum whose centre of
mass is its refined peak: a cell and a half of the 9x9 map, whose placed maximum is
always a cell's centre and so can sit half a cell from the object it follows."""


def refined_peaks(heat_maps: np.ndarray) -> list[tuple[float, float]]:
    """(x, y) in observation pixels of each map's refined peak (``map_peaks``) in a
    (K, 84, 84) stack of maps placed on the observation."""
    maps = torch.from_numpy(np.asarray(heat_maps, np.float32))
    if tuple(maps.shape[-2:]) != (OBSERVATION_SIZE, OBSERVATION_SIZE):
        raise ValueError(f"Expected maps placed on the observation, not {tuple(maps.shape)}.")
    return [(x, y) for x, y in map_peaks(maps, window=PEAK_WINDOW).tolist()]
