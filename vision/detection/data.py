"""Detection samples: images with boxes, labels and instance masks, in torchvision's format."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

Target = dict[str, Tensor]
"""torchvision's detection target: ``boxes`` (n, 4) float, ``labels`` (n,) int64, ``masks``."""


def check_image(image: Tensor | np.ndarray) -> None:
    """Raise a ValueError unless ``image`` is a non-empty RGB image, (3, H, W) or (H, W, 3)."""
    shape = tuple(image.shape)
    if len(shape) != 3:
        raise ValueError(f"Expected an RGB image (3, H, W) or (H, W, 3); got shape {shape}.")
    channels = shape[0] if isinstance(image, Tensor) else shape[2]
    height, width = (shape[1], shape[2]) if isinstance(image, Tensor) else (shape[0], shape[1])
    if channels != 3:
        raise ValueError(f"Expected an image with 3 channels (RGB); got {channels} ({shape}).")
    if height == 0 or width == 0:
        raise ValueError(f"Expected an image of non-zero size; got {height}x{width}.")


def check_images(images: Sequence[Tensor]) -> None:
    """Raise a ValueError unless ``images`` is a non-empty list of (3, H, W) images."""
    if len(images) == 0:
        raise ValueError("Expected at least one image; got none.")
    for image in images:
        check_image(image)


def to_tensor(image: np.ndarray) -> Tensor:
    """A uint8 (H, W, 3) image as the float (3, H, W) in [0, 1] that detectors take."""
    check_image(image)
    return torch.tensor(image).permute(2, 0, 1).float() / 255


def box_masks(image: np.ndarray, boxes: np.ndarray, background: Sequence[int]) -> np.ndarray:
    """(n, H, W) bool masks: the pixels inside each box that differ from the background colour."""
    foreground = (image != np.asarray(background, dtype=image.dtype)).any(axis=-1)  # (H, W)
    masks = np.zeros((len(boxes), *image.shape[:2]), dtype=bool)
    for mask, (x0, y0, x1, y1) in zip(masks, np.asarray(boxes).round().astype(int), strict=True):
        mask[y0:y1, x0:x1] = foreground[y0:y1, x0:x1]
    return masks


@dataclass
class DetectionDataset(Dataset):
    """Images with their objects; item ``i`` is ``(image (3, H, W) float in [0, 1], target)``.

    Attributes:
        images: uint8 (H, W, 3) RGB images.
        boxes: per image, (n, 4) float32 boxes (x0, y0, x1, y1) in pixels, edges exclusive.
        labels: per image, (n,) int64 class indices, 1-based (0 is the background).
        classes: the class names; ``classes[label - 1]`` names ``label``.
        masks: per image, (n, H, W) bool instance masks; None to take the pixels
            inside each box that differ from ``background``.
        background: the background colour for masks taken from boxes.
    """

    images: list[np.ndarray]
    boxes: list[np.ndarray]
    labels: list[np.ndarray]
    classes: tuple[str, ...]
    masks: list[np.ndarray] | None = None
    background: tuple[int, int, int] = (0, 0, 0)

    def __post_init__(self) -> None:
        counts = {len(self.images), len(self.boxes), len(self.labels)}
        if self.masks is not None:
            counts.add(len(self.masks))
        if len(counts) != 1:
            raise ValueError(f"Images, boxes, labels and masks differ in number: {sorted(counts)}.")

    def __len__(self) -> int:
        return len(self.images)

    def instance_masks(self, index: int) -> np.ndarray:
        """(n, H, W) bool masks of image ``index``'s objects."""
        if self.masks is not None:
            return self.masks[index]
        return box_masks(self.images[index], self.boxes[index], self.background)

    def __getitem__(self, index: int) -> tuple[Tensor, Target]:
        target = {
            "boxes": torch.as_tensor(self.boxes[index], dtype=torch.float32).reshape(-1, 4),
            "labels": torch.as_tensor(self.labels[index], dtype=torch.int64),
            "masks": torch.from_numpy(self.instance_masks(index)).to(torch.uint8),
        }
        return to_tensor(self.images[index]), target

    def subset(self, indices: Sequence[int]) -> DetectionDataset:
        """The samples at ``indices``, as a dataset of the same classes."""
        pick = list(indices)
        return DetectionDataset(
            images=[self.images[i] for i in pick],
            boxes=[self.boxes[i] for i in pick],
            labels=[self.labels[i] for i in pick],
            classes=self.classes,
            masks=None if self.masks is None else [self.masks[i] for i in pick],
            background=self.background,
        )


def collate(batch: list[tuple[Tensor, Target]]) -> tuple[list[Tensor], list[Target]]:
    """A DataLoader ``collate_fn``: the lists of images and targets detectors take."""
    images, targets = zip(*batch, strict=True)
    return list(images), list(targets)
