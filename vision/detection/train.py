"""Training detectors: SGD with warm-up, checkpoints that resume exactly, and loading them.

A step draws ``batch_size`` samples as a pure function of (seed, step), so a run
resumed from its checkpoint sees the same batches as one that never stopped.
The learning rate warms up linearly (Goyal et al., 2017) and drops 10x for the
last fifth of the steps, as in torchvision's detection references.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vision.checkpoint import damaged_checkpoint, save_atomically
from vision.detection.data import DetectionDataset, collate
from vision.models.detection import FRAME_MAX_SIZE, FRAME_MIN_SIZE, build_detector

CHECKPOINT_FORMAT = "abnrl.vision.detector/1"
READABLE_FORMATS = (CHECKPOINT_FORMAT, "abnrl-detector-1")  # the second: the tag until 2026-11


@dataclass(frozen=True)
class DetectorSpec:
    """What builds a detector again: saved with its weights in every checkpoint."""

    name: str
    backbone: str | None
    classes: tuple[str, ...]
    min_size: int = FRAME_MIN_SIZE
    max_size: int = FRAME_MAX_SIZE

    def build(self) -> nn.Module:
        """The detector, randomly initialized; ``classes`` plus the background."""
        return build_detector(
            self.name,
            num_classes=len(self.classes) + 1,
            backbone=self.backbone,
            min_size=self.min_size,
            max_size=self.max_size,
        )


@dataclass
class TrainSettings:
    """Optimization settings of ``train_detector``."""

    steps: int = 1000
    batch_size: int = 4
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    clip_grad_norm: float = 10.0
    seed: int = 0


@dataclass
class TrainResult:
    """What a training run did: the step it reached and the mean loss of each step it ran."""

    step: int
    losses: list[float]
    stopped_early: bool


def learning_rate(settings: TrainSettings, step: int) -> float:
    """The learning rate of ``step`` (0-based): linear warm-up, 10x lower for the last fifth."""
    warmup = min(1.0, (step + 1) / max(settings.warmup_steps, 1))
    late = step >= math.ceil(0.8 * settings.steps)
    return settings.lr * warmup * (0.1 if late else 1.0)


def batch_indices(settings: TrainSettings, step: int, dataset_size: int) -> np.ndarray:
    """The samples of ``step``: a pure function of the seed and the step."""
    rng = np.random.default_rng([settings.seed, step])
    return rng.choice(dataset_size, size=min(settings.batch_size, dataset_size), replace=False)


def train_detector(
    model: nn.Module,
    dataset: DetectionDataset,
    settings: TrainSettings,
    *,
    spec: DetectorSpec | None = None,
    checkpoint: Path | None = None,
    resume: bool = False,
    checkpoint_every: int = 100,
    max_seconds: float | None = None,
    progress: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train ``model`` in place for ``settings.steps`` steps (or until ``max_seconds``).

    Args:
        model: a torchvision detector, on the device to train on.
        dataset: the training samples.
        settings: optimization settings.
        spec: how the model was built; needed to write ``checkpoint``.
        checkpoint: file to save to every ``checkpoint_every`` steps and at the end.
        resume: continue from ``checkpoint`` (model, optimizer, step and RNG states).
        checkpoint_every: steps between checkpoints.
        max_seconds: stop (and checkpoint) once this much wall time has passed.
        progress: called after each step with the step number and its losses.

    Raises:
        ValueError: an empty dataset, a checkpoint without ``spec``, or a
            resume without a checkpoint file.
        FloatingPointError: the loss became NaN or infinite.
    """
    if len(dataset) == 0:
        raise ValueError("Cannot train on an empty dataset.")
    if checkpoint is not None and spec is None:
        raise ValueError("Saving a checkpoint needs the detector's spec.")
    device = next(model.parameters()).device
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(
        parameters, lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay
    )
    step = _restore(checkpoint, model, optimizer, device) if resume else 0
    model.train()
    losses: list[float] = []
    start = time.perf_counter()
    stopped_early = False
    while step < settings.steps:
        images, targets = collate(
            [dataset[int(i)] for i in batch_indices(settings, step, len(dataset))]
        )
        images = [image.to(device) for image in images]
        targets = [{k: v.to(device) for k, v in t.items()} for t in targets]
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(settings, step)
        loss_parts = model(images, targets)
        loss = sum(loss_parts.values())
        if not torch.isfinite(loss):
            raise FloatingPointError(f"The loss is {float(loss)} at step {step}; lower the lr.")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(parameters, settings.clip_grad_norm)
        optimizer.step()
        step += 1
        losses.append(loss.item())
        if progress is not None:
            progress(step, {"loss": losses[-1], **{k: v.item() for k, v in loss_parts.items()}})
        stopped_early = max_seconds is not None and time.perf_counter() - start > max_seconds
        done = step == settings.steps or stopped_early
        # spec is set whenever checkpoint is (checked above).
        if checkpoint is not None and spec is not None and (done or step % checkpoint_every == 0):
            save_detector(checkpoint, model, spec, optimizer=optimizer, step=step)
        if stopped_early:
            break
    return TrainResult(step=step, losses=losses, stopped_early=stopped_early)


def _restore(
    checkpoint: Path | None,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
) -> int:
    """Load the model, optimizer and RNG states of ``checkpoint``; the step it was saved at."""
    if checkpoint is None or not checkpoint.is_file():
        raise ValueError(f"Nothing to resume: no checkpoint at {checkpoint}.")
    state = read_checkpoint(checkpoint, device)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["rng"].cpu())
    if state["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([rng.cpu() for rng in state["cuda_rng"]])
    return state["step"]


def save_detector(
    path: Path,
    model: nn.Module,
    spec: DetectorSpec,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    step: int = 0,
) -> None:
    """Write a checkpoint atomically: spec, weights, optimizer state, step and RNG states."""
    state = {
        "format": CHECKPOINT_FORMAT,
        "spec": asdict(spec),
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "step": step,
        "rng": torch.get_rng_state(),  # the RPN and RoI heads sample boxes with it
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    save_atomically(state, Path(path))


def read_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """A detector checkpoint's contents.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a detector checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No detector checkpoint at {path}.")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # a corrupt or foreign file: pickle, zip and torch errors alike
        raise ValueError(f"{path} is not a readable checkpoint ({type(error).__name__}).") from None
    if not isinstance(state, dict) or state.get("format") not in READABLE_FORMATS:
        raise ValueError(f"{path} is not a detector checkpoint of abnrl vision detect-train.")
    return state


def load_detector(
    path: Path, *, device: torch.device | str = "cpu"
) -> tuple[nn.Module, DetectorSpec]:
    """The detector of a checkpoint, in eval mode on ``device``, and its spec."""
    state = read_checkpoint(path, device)
    try:
        fields = state["spec"]
        spec = DetectorSpec(**{**fields, "classes": tuple(fields["classes"])})
        model = spec.build()
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ValueError(damaged_checkpoint(path, error)) from None
    return model.to(device).eval(), spec
