"""A generated set of shapes on clutter, with the object's mask for every image.

Each 32x32 RGB image holds one filled shape (circle, square, triangle, cross
or ring) of random size, position and colour, mostly brighter than its noisy
background, with two random lines through the image as clutter. The class is
the shape, never its colour or place, and the mask says where it is, so the
pointing game can score where a model looks.
Generation is deterministic in the seed.
"""

from __future__ import annotations

import numpy as np
import torch

from vision.data.splits import DatasetSplits
from vision.data.tensors import Augmentation, ImageTensorDataset, channel_statistics

CLASSES = ("circle", "square", "triangle", "cross", "ring")
IMAGE_SIZE = 32


def shape_mask(kind: str, size: int, center: tuple[float, float], radius: float) -> np.ndarray:
    """(size, size) bool mask of the shape ``kind`` centred at ``center`` (y, x)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    dy, dx = y - center[0], x - center[1]
    if kind == "circle":
        return dx**2 + dy**2 <= radius**2
    if kind == "square":
        side = 0.8 * radius
        return (np.abs(dx) <= side) & (np.abs(dy) <= side)
    if kind == "triangle":  # apex up, base at the bottom
        height = (dy + radius) / (2 * radius)
        return (height >= 0) & (height <= 1) & (np.abs(dx) <= height * radius)
    if kind == "cross":
        arm = radius / 3
        return ((np.abs(dx) <= arm) & (np.abs(dy) <= radius)) | (
            (np.abs(dy) <= arm) & (np.abs(dx) <= radius)
        )
    if kind == "ring":
        distance = np.sqrt(dx**2 + dy**2)
        return (distance <= radius) & (distance >= 0.55 * radius)
    raise ValueError(f"Unknown shape {kind!r}; choose one of {', '.join(CLASSES)}.")


def generate_shapes(count: int, *, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``count`` images, balanced over the classes.

    Returns:
        images (N, 3, 32, 32) uint8, labels (N,) int64 and masks (N, 32, 32) bool.
    """
    rng = np.random.default_rng(seed)
    images = np.empty((count, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    masks = np.empty((count, IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
    labels = rng.permutation(np.arange(count) % len(CLASSES))
    for index, label in enumerate(labels):
        radius = rng.uniform(5.0, 9.0)
        center = tuple(rng.uniform(radius, IMAGE_SIZE - radius, size=2))
        mask = shape_mask(CLASSES[label], IMAGE_SIZE, center, radius)
        background = rng.uniform(0, 140, size=3)  # mostly darker than the object
        canvas = background + rng.normal(0, 25, size=(IMAGE_SIZE, IMAGE_SIZE, 3))
        for _ in range(2):
            canvas[_random_line(rng)] = rng.uniform(100, 255, size=3)
        canvas[mask] = rng.uniform(100, 255, size=3) + rng.normal(0, 10, size=(int(mask.sum()), 3))
        images[index] = np.clip(canvas, 0, 255).astype(np.uint8)
        masks[index] = mask
    return (
        torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
        torch.from_numpy(labels).long(),
        torch.from_numpy(masks),
    )


def _random_line(rng: np.random.Generator) -> np.ndarray:
    """A 1-pixel straight line across the image, as clutter."""
    start, end = rng.uniform(0, IMAGE_SIZE, size=(2, 2))
    steps = np.linspace(0, 1, 4 * IMAGE_SIZE)[:, None]
    points = np.clip((start + steps * (end - start)).astype(int), 0, IMAGE_SIZE - 1)
    line = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
    line[points[:, 0], points[:, 1]] = True
    return line


def load_shapes(
    *,
    train_size: int = 4000,
    test_size: int = 1000,
    data_seed: int = 0,
    seed: int = 0,
    augment: bool = True,
) -> DatasetSplits:
    """The shapes set; the test split comes with the objects' masks (``regions``).

    Args:
        train_size: number of training images.
        test_size: number of test images.
        data_seed: generation seed (the test set uses ``data_seed + 1``); the
            default gives everyone the same images.
        seed: seed of the training augmentation.
        augment: flip and translate training images by up to 2 pixels.
    """
    train_images, train_labels, _ = generate_shapes(train_size, seed=data_seed)
    test_images, test_labels, test_masks = generate_shapes(test_size, seed=data_seed + 1)
    mean, std = channel_statistics(train_images)
    augmentation = Augmentation(padding=2, flip=True) if augment else None
    return DatasetSplits(
        name="shapes",
        train=ImageTensorDataset(
            train_images, train_labels, mean=mean, std=std, augmentation=augmentation, seed=seed
        ),
        test=ImageTensorDataset(test_images, test_labels, mean=mean, std=std),
        classes=CLASSES,
        image_size=IMAGE_SIZE,
        mean=mean,
        std=std,
        regions=test_masks,
    )
