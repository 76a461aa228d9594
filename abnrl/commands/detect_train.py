"""``abnrl vision detect-train``: train an object detector, then score it on held-out data.

Examples::

    abnrl vision detect-train --detector faster_rcnn --backbone resnet18_fpn --steps 2000
    abnrl vision detect-train --detector mask_rcnn --dataset shapes --out-dir runs/shapes
    abnrl vision detect-train --dataset coco --coco-dir my_data --coco-eval-dir my_val
    abnrl vision detect-train --out-dir runs/detect --resume   # continue from last.pt
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from abnrl.breakout_objects import breakout_objects_dataset
from abnrl.errors import UserError
from abnrl.validation import parse_device
from vision.detection import (
    DetectionDataset,
    DetectorSpec,
    TrainSettings,
    evaluate_detector,
    read_checkpoint,
    read_coco,
    shapes_detection_dataset,
    train_detector,
)
from vision.files import write_json_atomic
from vision.models.detection import FRAME_MAX_SIZE, FRAME_MIN_SIZE, detector_backbones

Detector = Literal["faster_rcnn", "mask_rcnn", "ssd300", "ssdlite"]


@dataclass
class DetectTrainConfig:
    """Train a detector; last.pt and metrics.json go to out_dir."""

    detector: Detector = "faster_rcnn"
    """faster_rcnn (with its RPN), mask_rcnn, ssd300 (VGG-16) or ssdlite (MobileNetV3)."""
    backbone: str | None = None
    """R-CNNs: resnet18_fpn, resnet34_fpn, resnet50_fpn (default) or resnet101_fpn."""
    dataset: Literal["breakout", "shapes", "coco"] = "breakout"
    """breakout (Breakout frames labelled from the RAM), shapes (synthetic) or coco (--coco-dir)."""
    frames: int = 1000
    """Training images of breakout or shapes."""
    data_seed: int = 0
    """Seed of the training games (breakout) or images (shapes)."""
    eval_frames: int = 200
    """Held-out images of breakout or shapes scored after training; 0 for none."""
    eval_seed: int = 1000
    """Seed of the held-out games or images; keep it away from --data-seed."""
    coco_dir: Path | None = None
    """COCO-format training folder (annotations.json beside the images)."""
    coco_eval_dir: Path | None = None
    """COCO-format folder scored after training."""
    cache_dir: Path = Path("runs/cache/detection")
    """Where generated Breakout frames are cached as .npz."""
    steps: int = 1000
    """Training steps (batches)."""
    batch_size: int = 4
    """Images per step."""
    lr: float = 0.01
    """Peak SGD learning rate (momentum 0.9, weight decay 1e-4)."""
    warmup_steps: int = 100
    """Steps of linear learning-rate warm-up."""
    min_size: int = FRAME_MIN_SIZE
    """R-CNNs: shorter image side after resizing (630 upscales 210x160 frames 3x)."""
    max_size: int = FRAME_MAX_SIZE
    """R-CNNs: longest image side allowed after resizing."""
    seed: int = 0
    """Seed of the initialization and of the batch order."""
    out_dir: Path = Path("runs/detect")
    """Folder for last.pt (checkpoint) and metrics.json."""
    resume: bool = False
    """Continue from out_dir/last.pt: its detector, weights, optimizer and step."""
    checkpoint_every: int = 100
    """Steps between checkpoints."""
    max_minutes: float | None = None
    """Stop training (and checkpoint) after this many minutes."""
    log_every: int = 10
    """Steps between progress lines."""
    device: str = "auto"
    """auto (CUDA when present), cpu or cuda."""


def run(config: DetectTrainConfig) -> int:
    """Train, score the held-out set, print and save the metrics; returns 0."""
    for name in ("frames", "steps", "batch_size", "checkpoint_every", "log_every"):
        if getattr(config, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1.")
    if config.backbone is not None and config.backbone not in detector_backbones(config.detector):
        choices = ", ".join(detector_backbones(config.detector))
        raise UserError(f"--backbone {config.backbone} does not fit {config.detector}: {choices}.")
    device = parse_device(config.device)
    checkpoint = config.out_dir / "last.pt"
    if config.resume and not checkpoint.is_file():
        raise UserError(f"Nothing to resume: no checkpoint at {checkpoint}.")
    if not config.resume and checkpoint.is_file():
        raise UserError(f"{checkpoint} exists; pass --resume to continue it or choose --out-dir.")
    train_set, eval_set = _datasets(config)
    spec = DetectorSpec(
        config.detector, config.backbone, train_set.classes, config.min_size, config.max_size
    )
    if config.resume:
        spec = _resumed_spec(checkpoint, spec)
    torch.manual_seed(config.seed)
    model = spec.build().to(device)
    settings = TrainSettings(
        steps=config.steps,
        batch_size=config.batch_size,
        lr=config.lr,
        warmup_steps=config.warmup_steps,
        seed=config.seed,
    )

    def progress(step: int, losses: dict[str, float]) -> None:
        if step % config.log_every == 0 or step == config.steps:
            parts = " ".join(f"{k} {v:.3f}" for k, v in losses.items())
            print(f"step {step}/{config.steps} {parts}", flush=True)

    max_seconds = None if config.max_minutes is None else 60 * config.max_minutes
    try:
        result = train_detector(
            model,
            train_set,
            settings,
            spec=spec,
            checkpoint=checkpoint,
            resume=config.resume,
            checkpoint_every=config.checkpoint_every,
            max_seconds=max_seconds,
            progress=progress,
        )
    except FloatingPointError as error:
        raise UserError(str(error)) from error
    metrics: dict[str, object] = {
        "detector": spec.name,
        "backbone": spec.backbone,
        "steps": result.step,
    }
    if eval_set is not None and len(eval_set):
        metrics |= evaluate_detector(model, eval_set)
        metrics["eval_images"] = len(eval_set)
        print(" ".join(f"{k} {v:.3f}" for k, v in metrics.items() if isinstance(v, float)))
    config.out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(config.out_dir / "metrics.json", metrics)
    print(f"checkpoint {checkpoint}")
    return 0


def _datasets(config: DetectTrainConfig) -> tuple[DetectionDataset, DetectionDataset | None]:
    """The training set and the held-out set (None when there is none)."""
    if config.dataset == "breakout":
        train = breakout_objects_dataset(
            config.frames, seed=config.data_seed, cache_dir=config.cache_dir
        )
        held_out = None
        if config.eval_frames:
            held_out = breakout_objects_dataset(
                config.eval_frames, seed=config.eval_seed, cache_dir=config.cache_dir
            )
        return train, held_out
    if config.dataset == "shapes":
        train = shapes_detection_dataset(config.frames, seed=config.data_seed)
        held_out = None
        if config.eval_frames:
            held_out = shapes_detection_dataset(config.eval_frames, seed=config.eval_seed)
        return train, held_out
    if config.coco_dir is None:
        raise UserError("--dataset coco needs --coco-dir.")
    try:
        train = read_coco(config.coco_dir)
        held_out = None if config.coco_eval_dir is None else read_coco(config.coco_eval_dir)
    except ValueError as error:
        raise UserError(str(error)) from error
    if held_out is not None and held_out.classes != train.classes:
        raise UserError(f"{config.coco_eval_dir} has other categories than {config.coco_dir}.")
    return train, held_out


def _resumed_spec(checkpoint: Path, requested: DetectorSpec) -> DetectorSpec:
    """The checkpoint's spec; an error when it differs from the one the flags ask for."""
    try:
        fields = read_checkpoint(checkpoint)["spec"]
    except ValueError as error:
        raise UserError(str(error)) from error
    saved = DetectorSpec(**{**fields, "classes": tuple(fields["classes"])})
    if saved != requested:
        raise UserError(
            f"{checkpoint} holds {saved.name} ({saved.backbone or 'default backbone'}) for "
            f"{', '.join(saved.classes)}, not what the flags ask for; give the same flags."
        )
    return saved
