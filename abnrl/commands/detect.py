"""``abnrl vision detect``: detect objects in images with a trained detector; one PNG each.

Examples::

    abnrl vision detect frame.png --checkpoint runs/detect/last.pt
    abnrl vision detect frame.png --checkpoint runs/detect/last.pt --explain gradcam --box 0
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from tyro.conf import Positional

from abnrl.errors import UserError
from abnrl.media.images import check_images, read_rgb
from abnrl.validation import parse_device
from vision.detection import load_detector, predict, to_tensor
from vision.detection.draw import draw_detections
from vision.explain import build_explainer, normalize_per_sample
from vision.explain.targets import BoxScoreTarget
from vision.models.detection import detector_feature_layer, detector_registration
from vision.overlay import overlay, panels, save_png


@dataclass
class DetectConfig:
    """Detect objects in images; writes <image>.detect.png with boxes, labels, scores, masks."""

    images: Positional[list[Path]]
    """Image files (PNG, JPEG, ...), e.g. 210x160 Breakout frames."""
    checkpoint: Path = Path("runs/detect/last.pt")
    """A checkpoint of abnrl vision detect-train; it knows its detector and classes."""
    score_threshold: float = 0.5
    """Draw detections scoring at least this."""
    explain: Literal["none", "gradcam"] = "none"
    """gradcam: add a panel with the Grad-CAM map of one detection's score."""
    box: int = 0
    """With --explain: which drawn detection to explain, 0 for the highest-scoring."""
    scale: int = 3
    """Upscale the picture this many times so that small objects stay visible."""
    out_dir: Path = Path("detections")
    """Folder for the PNGs."""
    device: str = "auto"
    """auto (CUDA when present), cpu or cuda."""


def run(config: DetectConfig) -> int:
    """Detect, draw and save; prints each image's detections; returns 0."""
    if not 0 <= config.score_threshold <= 1 or config.scale < 1 or config.box < 0:
        raise UserError("Need --score-threshold in [0, 1], --scale >= 1 and --box >= 0.")
    device = parse_device(config.device)
    check_images(config.images)
    try:
        model, spec = load_detector(config.checkpoint, device=device)
    except (FileNotFoundError, ValueError) as error:
        raise UserError(str(error)) from error
    for path in config.images:
        image = to_tensor(np.asarray(read_rgb(path)))
        detections = predict(model, [image])[0]
        keep = detections["scores"] >= config.score_threshold
        shown = {key: value[keep] for key, value in detections.items()}
        picture = draw_detections(image, shown, spec.classes, scale=config.scale)
        found = ", ".join(
            f"{spec.classes[label - 1]} {score:.2f}"
            for label, score in zip(shown["labels"].tolist(), shown["scores"].tolist(), strict=True)
        )
        if config.explain == "gradcam":
            if config.box >= len(shown["boxes"]):
                raise UserError(f"{path}: no detection number {config.box} to explain.")
            box, label = shown["boxes"][config.box], int(shown["labels"][config.box])
            target = BoxScoreTarget(box[None], label)
            layer = detector_feature_layer(spec.name)
            # The backbone's cells placed where they look in the frame, through the resize.
            where = detector_registration(model, model.get_submodule(layer), image.to(device))
            with build_explainer("gradcam", model, layer=layer) as cam:
                raw = cam.attribute(image[None].to(device), target)  # (1, h, w)
            heat = normalize_per_sample(where.place(raw))[0]  # (H, W)
            highlighted = draw_detections(
                image,
                {key: value[config.box : config.box + 1] for key, value in shown.items()},
                spec.classes,
                scale=config.scale,
            )
            title = f"Grad-CAM of {spec.classes[label - 1]} #{config.box}"
            picture = panels([picture, overlay(highlighted, heat)], ["detections", title])
        config.out_dir.mkdir(parents=True, exist_ok=True)  # not before there is output
        written = save_png(config.out_dir / f"{path.stem}.detect.png", picture)
        print(f"{path}: {found or 'nothing'} -> {written}")
    return 0
