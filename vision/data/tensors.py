"""In-memory image datasets with augmentation that depends only on (seed, epoch, index).

Each sample's random crop and flip come from a generator seeded by the dataset
seed, the epoch and the sample's index, so a sample is augmented the same way
whichever process, worker or batch draws it: a 2-process DistributedDataParallel
run sees exactly the images a 1-process run sees, and a resumed run continues
exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset


@dataclass(frozen=True)
class Augmentation:
    """Random translation by up to ``padding`` pixels (zero-padded crop) and horizontal flip."""

    padding: int = 0
    flip: bool = False


class ImageTensorDataset(Dataset[tuple[Tensor, int]]):
    """uint8 images (N, 3, H, W) and labels; items are normalized float images and labels.

    Args:
        images: (N, 3, H, W) uint8 images.
        labels: (N,) int64 class indices.
        mean: per-channel mean of the [0, 1] images, subtracted.
        std: per-channel standard deviation, divided by.
        augmentation: random crop and flip; None for evaluation.
        seed: seed of the augmentation.
    """

    def __init__(
        self,
        images: Tensor,
        labels: Tensor,
        *,
        mean: Sequence[float],
        std: Sequence[float],
        augmentation: Augmentation | None = None,
        seed: int = 0,
    ) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(
                f"Images must be uint8 (N, 3, H, W), not {images.dtype} {tuple(images.shape)}."
            )
        self.images = images
        self.labels = labels.long()
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
        self.augmentation = augmentation
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose augmentation the items get."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        image = self.images[index]
        if self.augmentation is not None:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            image = _augment(image, self.augmentation, rng)
        image = image.float().div_(255.0)
        return (image - self.mean) / self.std, int(self.labels[index])


def _augment(image: Tensor, augmentation: Augmentation, rng: np.random.Generator) -> Tensor:
    pad = augmentation.padding
    if pad:
        height, width = image.shape[1:]
        top, left = rng.integers(0, 2 * pad + 1, size=2)
        image = F.pad(image, (pad, pad, pad, pad))[:, top : top + height, left : left + width]
    if augmentation.flip and rng.random() < 0.5:
        image = image.flip(-1)
    return image


def channel_statistics(images: Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of uint8 images (N, 3, H, W) scaled to [0, 1]."""
    scaled = images.float().div(255.0)
    mean = scaled.mean(dim=(0, 2, 3))
    std = scaled.std(dim=(0, 2, 3)).clamp_min(1e-3)
    return tuple(mean.tolist()), tuple(std.tolist())
