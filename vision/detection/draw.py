"""Drawing detections: boxes, labels with scores, and masks, on an upscaled copy of the image."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from torch import Tensor

from vision.overlay import to_rgb

PALETTE = ((255, 215, 0), (0, 200, 255), (50, 255, 50), (255, 0, 255), (255, 128, 0))


def draw_detections(
    image: np.ndarray | Tensor,
    detections: dict[str, Tensor],
    classes: Sequence[str],
    *,
    scale: int = 3,
    mask_alpha: float = 0.4,
) -> np.ndarray:
    """The image, ``scale`` times larger, with each detection's box, label, score and mask.

    Args:
        image: the detector's input, (3, H, W) float in [0, 1] or uint8 (H, W, 3).
        detections: one image's ``boxes``, ``labels``, ``scores`` (and ``masks``),
            in the image's pixels; all are drawn, so filter by score first.
        classes: class names, ``classes[label - 1]``.
        scale: integer upscaling (nearest neighbour) so small objects stay visible.
        mask_alpha: weight of a mask's colour.

    Returns:
        uint8 RGB (scale * H, scale * W, 3).
    """
    canvas = to_rgb(image).repeat(scale, axis=0).repeat(scale, axis=1).astype(np.float32)
    masks = detections.get("masks")
    for index, label in enumerate(detections["labels"].tolist()):
        tint = np.array(PALETTE[(label - 1) % len(PALETTE)], dtype=np.float32)
        if masks is not None:
            mask = (masks[index, 0] > 0.5).numpy().repeat(scale, 0).repeat(scale, 1)
            canvas[mask] = (1 - mask_alpha) * canvas[mask] + mask_alpha * tint
    picture = np.ascontiguousarray(canvas.round().astype(np.uint8))
    boxes = (detections["boxes"] * scale).round().int().tolist()
    for (x0, y0, x1, y1), label, score in zip(
        boxes, detections["labels"].tolist(), detections["scores"].tolist(), strict=True
    ):
        colour = PALETTE[(label - 1) % len(PALETTE)]
        cv2.rectangle(picture, (x0, y0), (x1 - 1, y1 - 1), colour, 1)
        name = classes[label - 1] if 0 < label <= len(classes) else str(label)
        cv2.putText(
            picture,
            f"{name} {score:.2f}",
            (x0, max(y0 - 3, 10)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.35,
            colour,
            1,
            cv2.LINE_AA,
        )
    return picture
