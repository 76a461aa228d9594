"""Detection metrics with pycocotools' COCOeval: COCO mAP and per-class AP@0.5.

Boxes (and masks, for models that predict them) of every image are handed to
COCOeval as in-memory COCO datasets: ``map_50_95`` is COCO's mAP (IoU 0.50:0.05:0.95,
101-point interpolation, up to 100 detections per image), ``map50`` its AP at IoU 0.5,
and ``ap50/<class>`` the AP at IoU 0.5 of each class.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from torch import Tensor, nn
from torch.utils.data import DataLoader

from vision.detection.data import DetectionDataset, Target, check_images, collate

Kind = Literal["boxes", "masks"]


def detection_metrics(
    predictions: Sequence[Target],
    targets: Sequence[Target],
    classes: Sequence[str],
    *,
    kind: Kind = "boxes",
) -> dict[str, float]:
    """``ap50/<class>`` per class (NaN for a class with no ground truth), ``map50`` and
    ``map_50_95``; for masks the same keys prefixed ``mask_``.

    Args:
        predictions: per image ``boxes`` (n, 4) xyxy, ``labels`` (n,), ``scores`` (n,)
            and for masks ``masks`` (n, 1, H, W) probabilities (> 0.5 is the object).
        targets: per image ``boxes`` (m, 4), ``labels`` (m,) and for masks ``masks`` (m, H, W).
        classes: class names of labels 1, 2, ...
        kind: score boxes or masks.
    """
    if len(predictions) != len(targets):
        raise ValueError(f"Got {len(predictions)} predictions for {len(targets)} targets.")
    truth = COCO()
    truth.dataset = {
        "images": [{"id": i, **_size(t, kind)} for i, t in enumerate(targets)],
        "categories": [{"id": c, "name": n} for c, n in enumerate(classes, start=1)],
        "annotations": [
            {**a, "id": n, "iscrowd": 0}
            for n, a in enumerate(_annotations(targets, kind, truth=True), start=1)
        ],
    }
    found = list(_annotations(predictions, kind, truth=False))
    prefix = "mask_" if kind == "masks" else ""
    with contextlib.redirect_stdout(io.StringIO()):  # COCO's progress messages
        truth.createIndex()
        if not found:  # COCO cannot load an empty result list: nothing found scores 0
            present = {a["category_id"] for a in truth.dataset["annotations"]}
            per_class = [0.0 if c in present else float("nan") for c in range(1, len(classes) + 1)]
            return _named(prefix, classes, per_class, 0.0, 0.0)
        evaluation = COCOeval(truth, truth.loadRes(found), "segm" if kind == "masks" else "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    precision = evaluation.eval["precision"][0, :, :, 0, -1]  # IoU 0.5, all areas, 100 dets
    per_class = [
        float(column[column > -1].mean()) if (column > -1).any() else float("nan")
        for column in precision.T
    ]
    return _named(prefix, classes, per_class, evaluation.stats[1], evaluation.stats[0])


def _named(prefix, classes, per_class, map50, map_50_95) -> dict[str, float]:
    metrics = {f"{prefix}ap50/{n}": v for n, v in zip(classes, per_class, strict=True)}
    return metrics | {f"{prefix}map50": float(map50), f"{prefix}map_50_95": float(map_50_95)}


def _size(target: Target, kind: Kind) -> dict[str, int]:
    """The image size COCO needs to read masks."""
    if kind != "masks":
        return {}
    height, width = target["masks"].shape[-2:]
    return {"height": int(height), "width": int(width)}


def _annotations(images: Sequence[Target], kind: Kind, *, truth: bool):
    """COCO annotations (without ids) of every object in ``images``."""
    for image_id, objects in enumerate(images):
        boxes = objects["boxes"].float().cpu().reshape(-1, 4)
        labels = objects["labels"].cpu().tolist()
        scores = [1.0] * len(labels) if truth else objects["scores"].float().cpu().tolist()
        masks: np.ndarray | None = None
        if kind == "masks":
            object_masks = objects["masks"].cpu()
            if not truth:  # (n, 1, H, W) probabilities
                object_masks = object_masks[:, 0] > 0.5
            masks = object_masks.numpy().astype(np.uint8)
        for index, (x0, y0, x1, y1) in enumerate(boxes.tolist()):
            label, score = labels[index], scores[index]
            annotation = {"image_id": image_id, "category_id": label, "score": score}
            if masks is None:
                annotation |= {"bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0)}
            else:
                rle = coco_mask.encode(np.asfortranarray(masks[index]))
                annotation |= {"segmentation": rle, "area": float(coco_mask.area(rle))}
                annotation["bbox"] = coco_mask.toBbox(rle).tolist()
            yield annotation


@torch.no_grad()
def predict(
    model: nn.Module, images: Sequence[Tensor], *, batch_size: int = 4
) -> list[dict[str, Tensor]]:
    """The model's detections for ``images`` in eval mode, on the CPU; restores the model's mode.

    Raises:
        ValueError: no images, or one that is not a non-empty (3, H, W) image.
    """
    check_images(images)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    outputs: list[dict[str, Tensor]] = []
    try:
        for start in range(0, len(images), batch_size):
            batch = [image.to(device) for image in images[start : start + batch_size]]
            outputs.extend({k: v.cpu() for k, v in o.items()} for o in model(batch))
    finally:
        model.train(was_training)
    return outputs


def evaluate_detector(
    model: nn.Module, dataset: DetectionDataset, *, batch_size: int = 4
) -> dict[str, float]:
    """AP metrics of ``model`` on ``dataset`` (``detection_metrics``; mask metrics too for
    models that predict masks) and ``images_per_s``."""
    images, targets = [], []
    for batch_images, batch_targets in DataLoader(
        dataset, batch_size=batch_size, collate_fn=collate
    ):
        images.extend(batch_images)
        targets.extend(batch_targets)
    start = time.perf_counter()
    predictions = predict(model, images, batch_size=batch_size)
    seconds = time.perf_counter() - start
    metrics = detection_metrics(predictions, targets, dataset.classes)
    if all("masks" in prediction for prediction in predictions):
        metrics |= detection_metrics(predictions, targets, dataset.classes, kind="masks")
    return {**metrics, "images_per_s": len(images) / seconds}
