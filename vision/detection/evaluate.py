"""Detection metrics: per-class average precision at IoU thresholds, VOC all-point style.

torchmetrics and pycocotools are not installed in this project's environment, so
AP is computed here: detections of a class, over all images, are sorted by
score and greedily matched to the unmatched ground-truth object of highest box
(or mask) IoU; AP is the area under the precision envelope of the
precision-recall curve (all-point interpolation, PASCAL VOC 2010+). ``map_50_95`` averages AP over
IoU 0.50:0.05:0.95 like COCO's mAP, but with all-point rather than 101-point
interpolation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader
from torchvision.ops import box_iou

from vision.detection.data import DetectionDataset, Target, check_images, collate

COCO_IOU_THRESHOLDS = tuple(np.round(np.arange(0.5, 0.96, 0.05), 2).tolist())
Kind = Literal["boxes", "masks"]


def mask_iou(predicted: Tensor, truth: Tensor) -> Tensor:
    """(n, m) IoU of masks: predicted (n, 1, H, W) probabilities (> 0.5), truth (m, H, W)."""
    found = (predicted.flatten(1) > 0.5).float()  # (n, H*W)
    real = (truth.flatten(1) > 0.5).float()  # (m, H*W)
    intersection = found @ real.T
    union = found.sum(1)[:, None] + real.sum(1)[None] - intersection
    return intersection / union.clamp(min=1)


def average_precision(
    predictions: Sequence[Target],
    targets: Sequence[Target],
    label: int,
    *,
    iou_threshold: float = 0.5,
    kind: Kind = "boxes",
) -> float:
    """AP of class ``label``; NaN when the class has no ground-truth object.

    Args:
        predictions: per image ``boxes`` (n, 4) or ``masks`` (n, 1, H, W)
            probabilities, ``labels`` (n,) and ``scores`` (n,).
        targets: per image ``boxes`` (m, 4) or ``masks`` (m, H, W), and ``labels`` (m,).
        label: the class scored.
        iou_threshold: the lowest IoU for a detection to be a true positive.
        kind: match by box IoU (``"boxes"``) or by mask IoU (``"masks"``).
    """
    if len(predictions) != len(targets):
        raise ValueError(f"Got {len(predictions)} predictions for {len(targets)} targets.")
    scores, hits = [], []
    positives = 0
    for prediction, target in zip(predictions, targets, strict=True):
        truth = target[kind][target["labels"] == label].float().cpu()
        keep = prediction["labels"] == label
        found = prediction[kind][keep].float().cpu()
        image_scores = prediction["scores"][keep].float().cpu()
        positives += len(truth)
        order = image_scores.argsort(descending=True)
        iou = box_iou if kind == "boxes" else mask_iou
        ious = iou(found[order], truth) if len(truth) else torch.zeros(len(found), 0)
        matched = torch.zeros(len(truth), dtype=torch.bool)
        for row in range(len(order)):
            candidates = ious[row].masked_fill(matched, -1.0)
            best = int(candidates.argmax()) if len(truth) else -1
            hit = best >= 0 and float(candidates[best]) >= iou_threshold
            if hit:
                matched[best] = True
            hits.append(hit)
        scores.extend(image_scores[order].tolist())
    if positives == 0:
        return float("nan")
    ranked = np.asarray(hits, dtype=np.float64)[np.argsort(-np.asarray(scores), kind="stable")]
    true_positives = np.cumsum(ranked)
    recall = np.concatenate([[0.0], true_positives / positives, [1.0]])
    precision = np.concatenate(
        [[1.0], true_positives / np.maximum(np.arange(1, len(ranked) + 1), 1), [0.0]]
    )
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.flatnonzero(recall[1:] != recall[:-1])
    return float(np.sum((recall[steps + 1] - recall[steps]) * envelope[steps + 1]))


def detection_metrics(
    predictions: Sequence[Target],
    targets: Sequence[Target],
    classes: Sequence[str],
    *,
    kind: Kind = "boxes",
) -> dict[str, float]:
    """``ap50/<class>`` per class, ``map50`` (their mean) and ``map_50_95``; for masks
    the same keys prefixed ``mask_``."""
    labels = range(1, len(classes) + 1)
    ap = np.array(  # (thresholds, classes)
        [
            [average_precision(predictions, targets, c, iou_threshold=t, kind=kind) for c in labels]
            for t in COCO_IOU_THRESHOLDS
        ]
    )
    prefix = "mask_" if kind == "masks" else ""
    metrics = {
        f"{prefix}ap50/{name}": float(value) for name, value in zip(classes, ap[0], strict=True)
    }
    metrics[f"{prefix}map50"] = float(np.nanmean(ap[0]))
    metrics[f"{prefix}map_50_95"] = float(np.mean(np.nanmean(ap, axis=1)))
    return metrics


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
    outputs = []
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
