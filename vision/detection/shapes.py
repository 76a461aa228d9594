"""Synthetic shapes for detection: a few filled shapes per image, with boxes and masks.

Each image holds 1 to ``max_objects`` shapes (the classes of
``vision.data.shapes``) of random size, place and colour on a dark noisy
background; later shapes may cover earlier ones, so masks are what stays
visible and boxes are fitted to the masks. Deterministic in the seed.
"""

from __future__ import annotations

import numpy as np

from vision.data.shapes import CLASSES, shape_mask
from vision.detection.data import DetectionDataset


def shapes_detection_dataset(
    count: int = 500, *, seed: int = 0, image_size: int = 64, max_objects: int = 3
) -> DetectionDataset:
    """``count`` images of ``image_size`` pixels with up to ``max_objects`` shapes each."""
    if count < 1 or image_size < 16 or max_objects < 1:
        raise ValueError(
            f"Need count >= 1, image_size >= 16 and max_objects >= 1; "
            f"got {count}, {image_size} and {max_objects}."
        )
    rng = np.random.default_rng(seed)
    images, boxes, labels, masks = [], [], [], []
    for _ in range(count):
        canvas = rng.uniform(0, 60, size=3) + rng.normal(0, 10, size=(image_size, image_size, 3))
        kinds = rng.integers(0, len(CLASSES), size=rng.integers(1, max_objects + 1))
        layers: list[np.ndarray] = []
        for kind in kinds:
            radius = rng.uniform(0.1, 0.25) * image_size
            center = tuple(rng.uniform(radius, image_size - radius, size=2))
            mask = shape_mask(CLASSES[kind], image_size, center, radius)
            canvas[mask] = rng.uniform(120, 255, size=3)
            layers = [m & ~mask for m in layers] + [mask]
        visible = [i for i, m in enumerate(layers) if m.any()]
        image_masks = np.stack([layers[i] for i in visible])
        images.append(np.clip(canvas, 0, 255).astype(np.uint8))
        boxes.append(np.stack([_mask_box(m) for m in image_masks]).astype(np.float32))
        labels.append(kinds[visible].astype(np.int64) + 1)
        masks.append(image_masks)
    return DetectionDataset(images, boxes, labels, CLASSES, masks=masks)


def _mask_box(mask: np.ndarray) -> np.ndarray:
    """The tightest box (x0, y0, x1, y1), edges exclusive, around a mask's pixels."""
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
