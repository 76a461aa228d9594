"""Where a map peaks, in observation pixels: the analysis scores it, the video marks it."""

from __future__ import annotations

import numpy as np
import torch

from envs.objects import OBSERVATION_SIZE
from vision.explain import map_peaks
from vision.explain.base import upsample

PEAK_WINDOW = 14
"""Half-width in observation pixels of the square around a map's maximum whose centre of
mass is its refined peak: a cell and a half of the 9x9 map, whose upsampled maximum is
always a cell's centre and so can sit half a cell from the object it follows."""


def refined_peaks(heat_maps: np.ndarray) -> list[tuple[float, float]]:
    """(x, y) in observation pixels of each (h, w) map's refined peak (``map_peaks``) in a
    (K, h, w) stack, the maps upsampled bilinearly to the observation's size first."""
    maps = torch.from_numpy(np.asarray(heat_maps, np.float32))
    maps = upsample(maps, (OBSERVATION_SIZE, OBSERVATION_SIZE))
    return [(x, y) for x, y in map_peaks(maps, window=PEAK_WINDOW).tolist()]
