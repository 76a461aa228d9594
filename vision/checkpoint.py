"""The checkpoints of ``vision.train``: their format, atomic saving and safe loading."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vision.data import DatasetSplits
from vision.files import atomic_file
from vision.models import ABNMap, build
from vision.train_config import EpochRecord, TrainConfig

CHECKPOINT_FORMAT = "abnrl.vision.checkpoint/1"


@dataclass(frozen=True)
class TrainedModel:
    """A model loaded from a checkpoint, with what it needs to read new images."""

    model: nn.Module
    """The classifier, in eval mode."""
    name: str
    """Its registry name."""
    abn: bool
    """Whether it is an Attention Branch Network (returns ``ABNOutput``)."""
    classes: tuple[str, ...]
    """Class names, indexed by label."""
    image_size: int
    """Side of the square images it was trained on."""
    mean: tuple[float, ...]
    """Per-channel mean to subtract from [0, 1] images."""
    std: tuple[float, ...]
    """Per-channel standard deviation to divide by."""


def save_atomically(state: dict[str, Any], path: Path) -> None:
    """``torch.save`` ``state`` to ``path`` atomically: a crash never leaves half a checkpoint."""
    with atomic_file(path) as file:
        torch.save(state, file)


MAX_IMAGE_SIZE = 4096
"""The largest image side a checkpoint may ask inputs to be resized to."""


def load_trained(path: Path | str, *, device: str | torch.device = "cpu") -> TrainedModel:
    """The model of a checkpoint written by ``train``, in eval mode on ``device``.

    A checkpoint saved before ``abn_map`` existed builds the free-weight map conv
    it was trained with: 3x3 where it holds ``abn_map_kernel`` 3, else 1x1.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a vision checkpoint.
    """
    state = read_checkpoint(Path(path), torch.device(device))
    try:
        model = build(
            state["model_name"],
            num_classes=len(state["classes"]),
            abn=state["abn"],
            abn_map=saved_abn_map(state),
            norm=state["norm"],
            groups=state["groups"],
        )
        model.load_state_dict(state["model"])
        trained = TrainedModel(
            model=model.to(device).eval(),
            name=state["model_name"],
            abn=state["abn"],
            classes=tuple(state["classes"]),
            image_size=int(state["image_size"]),
            mean=tuple(float(m) for m in state["mean"]),
            std=tuple(float(s) for s in state["std"]),
        )
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ValueError(damaged_checkpoint(path, error)) from None
    if not 8 <= trained.image_size <= MAX_IMAGE_SIZE:
        raise ValueError(
            f"{path} gives an image size of {trained.image_size}, not one in 8-{MAX_IMAGE_SIZE}."
        )
    if len(trained.std) != len(trained.mean) or not all(
        math.isfinite(v) and v > 0 for v in trained.std
    ):
        raise ValueError(f"{path} gives channel scales {trained.std}, not positive numbers.")
    return trained


def read_checkpoint(path: Path, device: torch.device) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}.")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # torch.load raises many types for a damaged file
        raise ValueError(f"{path} is not a readable checkpoint ({type(error).__name__}).") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a checkpoint of `abnrl vision train`.")
    return state


def damaged_checkpoint(path: Path | str, error: Exception) -> str:
    """One sentence for a checkpoint of the right format whose contents do not fit it
    (PyTorch's own messages run to paragraphs)."""
    detail = f"no {error}" if isinstance(error, KeyError) else type(error).__name__
    return f"{path} is a damaged checkpoint ({detail})."


def saved_abn_map(state: dict[str, Any]) -> ABNMap:
    """The ABN map a checkpoint was trained with.

    Checkpoints saved before ``abn_map`` existed hold the kernel of a free-weight
    conv in ``abn_map_kernel`` (3 or 1) or, older still, nothing: a 1x1 conv.
    """
    if "abn_map" in state:
        return state["abn_map"]
    kernel = state.get("abn_map_kernel", 1)
    return "3x3" if kernel == 3 else "1x1"


def check_same_run(state: dict[str, Any], config: TrainConfig, data: DatasetSplits) -> None:
    saved = (state["model_name"], state["abn"], state["norm"], len(state["classes"]))
    asked = (config.model, config.abn, config.norm, len(data.classes))
    if saved != asked:
        raise ValueError(
            f"The checkpoint holds model, abn, norm, classes = {saved}, not {asked}; "
            "resume with the settings it was trained with."
        )
    abn_map = saved_abn_map(state)
    if config.abn and abn_map != config.abn_map:
        raise ValueError(
            f"The checkpoint's ABN map is {abn_map}, not {config.abn_map}; "
            f"resume with --abn-map {abn_map}."
        )


def plain_values(value: Any) -> Any:
    """A config as plain Python values (paths as strings) that ``weights_only`` loading accepts."""
    if isinstance(value, dict):
        return {key: plain_values(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_values(item) for item in value]
    return str(value) if isinstance(value, Path) else value


def checkpoint_state(
    config: TrainConfig,
    data: DatasetSplits,
    states: dict[str, Any],
    *,
    device: torch.device,
    epochs_done: int,
    global_step: int,
    best_error: float,
    history: list[EpochRecord],
) -> dict[str, Any]:
    """A checkpoint's contents: the format tag, what rebuilds the model and reads images
    for it, the state dicts of ``states`` (model, optimizer, schedule), the RNGs and the
    run's progress."""
    return {
        "format": CHECKPOINT_FORMAT,
        "model_name": config.model,
        "abn": config.abn,
        "abn_map": config.abn_map,
        "norm": config.norm,
        "groups": config.groups,
        "classes": list(data.classes),
        "image_size": data.image_size,
        "mean": list(data.mean),
        "std": list(data.std),
        **{name: module.state_dict() for name, module in states.items()},
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        },
        "epoch": epochs_done,
        "global_step": global_step,
        "best_top1_error": best_error,
        "history": [dataclasses.asdict(record) for record in history],
        "config": plain_values(dataclasses.asdict(config)),
    }
