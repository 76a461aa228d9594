"""What a loaded classification dataset gives the trainer and the explainers."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor
from torch.utils.data import Dataset


@dataclass(frozen=True)
class DatasetSplits:
    """A classification dataset's train and test splits and their description.

    Attributes:
        name: the dataset's name (``"digits"``, ``"cifar10"``, ...).
        train: training split; items are (normalized float image (3, S, S), class index).
        test: test split, never augmented.
        classes: class names, indexed by label.
        image_size: the side S of the square images the splits produce.
        mean: per-channel mean the images were normalized with (of [0, 1] pixels).
        std: per-channel standard deviation the images were normalized with.
        regions: (N_test, S, S) bool masks of the object in each test image, where
            the dataset knows them (the shapes set), for the pointing game.
    """

    name: str
    train: Dataset
    test: Dataset
    classes: tuple[str, ...]
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    regions: Tensor | None = None
