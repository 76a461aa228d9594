"""Detectors on Breakout frames: inference throughput, and AP of a trained checkpoint.

Throughput (``throughput``): eval-mode images/s of each detector on 210x160
Breakout frames at our input scales, back to back in one process with the peer,
torchvision's stock ``fasterrcnn_resnet50_fpn`` (random weights, its default
800-pixel input and anchors from 32 px).

Accuracy (``accuracy``): AP@0.5 per class, mAP@0.5 and mAP@[.5:.95] (all-point
interpolation, ``vision.detection.evaluate``) of a checkpoint of
``abnrl vision detect-train`` on frames of held-out games (other seeds).

    python benchmarks/detectors.py throughput --frames 8
    python benchmarks/detectors.py accuracy runs/detect/last.pt --frames 200 --seed 1000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torchvision.models.detection import fasterrcnn_resnet50_fpn

from abnrl.breakout_objects import breakout_objects_dataset
from vision.detection import evaluate_detector, load_detector, predict
from vision.models.detection import build_detector

CONFIGURATIONS = (
    ("faster_rcnn", "resnet18_fpn"),
    ("faster_rcnn", "resnet50_fpn"),
    ("mask_rcnn", "resnet18_fpn"),
    ("ssd300", None),
    ("ssdlite", None),
)


def images_per_second(model: torch.nn.Module, images: list[torch.Tensor]) -> float:
    """Eval-mode images/s over ``images``, one at a time, after one warm-up image."""
    predict(model, images[:1], batch_size=1)
    start = time.perf_counter()
    predict(model, images, batch_size=1)
    return len(images) / (time.perf_counter() - start)


def throughput(frames: int) -> dict[str, float]:
    images = [breakout_objects_dataset(frames, seed=0)[i][0] for i in range(frames)]
    results = {}
    for name, backbone in CONFIGURATIONS:
        model = build_detector(name, num_classes=4, backbone=backbone)
        results[f"{name}/{backbone or 'default'}"] = images_per_second(model, images)
    peer = fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=4)
    results["peer torchvision fasterrcnn_resnet50_fpn (800 px)"] = images_per_second(peer, images)
    return results


def accuracy(checkpoint: Path, frames: int, seed: int) -> dict[str, float]:
    model, _ = load_detector(checkpoint)
    return evaluate_detector(model, breakout_objects_dataset(frames, seed=seed), batch_size=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    speed = commands.add_parser("throughput")
    speed.add_argument("--frames", type=int, default=8)
    score = commands.add_parser("accuracy")
    score.add_argument("checkpoint", type=Path)
    score.add_argument("--frames", type=int, default=200)
    score.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.command == "throughput":
        results = throughput(args.frames)
    else:
        results = accuracy(args.checkpoint, args.frames, args.seed)
    for key, value in results.items():
        print(f"{key}: {value:.3f}")
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
