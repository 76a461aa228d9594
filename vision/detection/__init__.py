"""Object detection: datasets with boxes and masks, training, evaluation.

Breakout frames labelled from the console RAM are made by ``abnrl.breakout_objects``
(it plays the game, and ``vision`` imports nothing of ours).

The detectors themselves are built by ``vision.models.detection.build_detector``.
"""

from vision.detection.coco import read_coco, write_coco
from vision.detection.data import (
    DetectionDataset,
    box_masks,
    check_image,
    check_images,
    collate,
    to_tensor,
)
from vision.detection.evaluate import (
    detection_metrics,
    evaluate_detector,
    predict,
)
from vision.detection.shapes import shapes_detection_dataset
from vision.detection.train import (
    DetectorSpec,
    TrainResult,
    TrainSettings,
    load_detector,
    read_checkpoint,
    save_detector,
    train_detector,
)

__all__ = [
    "DetectionDataset",
    "DetectorSpec",
    "TrainResult",
    "TrainSettings",
    "box_masks",
    "check_image",
    "check_images",
    "collate",
    "detection_metrics",
    "evaluate_detector",
    "load_detector",
    "predict",
    "read_checkpoint",
    "read_coco",
    "save_detector",
    "shapes_detection_dataset",
    "to_tensor",
    "train_detector",
    "write_coco",
]
