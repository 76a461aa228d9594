"""scikit-learn's handwritten digits (UCI optdigits test set): 1,797 8x8 images, 10 classes.

Real data that ships with scikit-learn, so it needs no download. The 8x8
images (16 grey levels) are upsampled bilinearly to 32x32 and repeated over
three channels; a fixed, stratified 80/20 split gives 1,438 training and 359
test images.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from vision.data.splits import DatasetSplits
from vision.data.tensors import Augmentation, ImageTensorDataset, channel_statistics

IMAGE_SIZE = 32
TEST_FRACTION = 0.2


def load_digits(*, seed: int = 0, augment: bool = True) -> DatasetSplits:
    """The digits dataset at 32x32, augmented with 2-pixel translations when ``augment``.

    Raises:
        ModuleNotFoundError: scikit-learn is not installed.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ModuleNotFoundError:
        message = "The digits dataset needs scikit-learn (pip install scikit-learn)."
        raise ModuleNotFoundError(message) from None

    digits = sklearn_digits()
    pixels = torch.from_numpy(digits.images).float().unsqueeze(1) / 16.0  # (N, 1, 8, 8)
    upsampled = F.interpolate(pixels, size=IMAGE_SIZE, mode="bilinear", align_corners=False)
    images = (upsampled.clamp(0, 1) * 255).round().to(torch.uint8).repeat(1, 3, 1, 1)
    labels = torch.from_numpy(digits.target).long()
    train_index, test_index = _stratified_split(digits.target, TEST_FRACTION)
    mean, std = channel_statistics(images[train_index])
    augmentation = Augmentation(padding=2) if augment else None
    return DatasetSplits(
        name="digits",
        train=ImageTensorDataset(
            images[train_index],
            labels[train_index],
            mean=mean,
            std=std,
            augmentation=augmentation,
            seed=seed,
        ),
        test=ImageTensorDataset(images[test_index], labels[test_index], mean=mean, std=std),
        classes=tuple(str(label) for label in digits.target_names),
        image_size=IMAGE_SIZE,
        mean=mean,
        std=std,
    )


def _stratified_split(labels: np.ndarray, test_fraction: float) -> tuple[list[int], list[int]]:
    """The same split on every machine: a fixed random 20% of each class is the test set."""
    train, test = [], []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        permuted = np.random.default_rng(int(label)).permutation(members)
        count = round(len(members) * test_fraction)
        test.extend(permuted[:count].tolist())
        train.extend(permuted[count:].tolist())
    return sorted(train), sorted(test)
