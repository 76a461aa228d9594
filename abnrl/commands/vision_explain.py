"""``abnrl vision explain``: overlay PNGs of where a classifier looks, for its top-k classes.

Examples::

    abnrl vision explain cat.jpg dog.png --checkpoint runs/vision/best.pt --method attention
    abnrl vision explain photo.jpg --model resnet50 --weights DEFAULT --method gradcam --top-k 5
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import torchvision
from PIL import Image
from torch import Tensor
from torchvision.transforms import functional as TF
from tyro.conf import Positional, arg

from abnrl.commands.arguments import choices
from abnrl.errors import UserError
from abnrl.media.images import check_images, read_rgb
from abnrl.validation import check_at_least, check_between, check_choice, parse_device
from vision.checkpoint import TrainedModel, load_trained
from vision.explain import (
    ClassTarget,
    Explainer,
    ExplainerEntry,
    canonical_name,
    get_explainer,
    list_explainers,
)
from vision.models import build, feature_layer, get_spec
from vision.overlay import overlay, panels, save_png

Method = Annotated[str, arg(metavar=choices(list_explainers()))]
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_BATCH = 8


@dataclass
class VisionExplainConfig:
    """Explain a classifier's predictions on images: one overlay PNG per image and method."""

    images: Positional[tuple[Path, ...]]
    """Image files (PNG, JPEG, ...) to explain."""
    checkpoint: Path | None = None
    """A checkpoint of abnrl vision train (last.pt or best.pt); it knows its model, classes
    and preprocessing."""
    model: str | None = None
    """Registered model name; with --weights when there is no checkpoint."""
    weights: str | None = None
    """torchvision ImageNet weights of --model (e.g. DEFAULT), from the local torch hub cache."""
    method: Method = "gradcam"
    """An explainer of vision.explain: attention is the ABN attention map (needs an ABN
    checkpoint; abn is its former name), cam needs global average pooling before one
    linear layer."""
    top_k: int = 3
    """Classes to explain per image, most probable first (attention has one map for all)."""
    out_dir: Path = Path("explanations")
    """Folder for the PNGs, named <image>.<method>.png (the method's registry name)."""
    alpha: float = 0.5
    """Weight of the heat map in the overlay."""
    device: str = "auto"
    """auto (CUDA when present), cpu or cuda."""


def run(config: VisionExplainConfig) -> int:
    """Write the overlays and print each image's top-k classes; returns 0."""
    check_at_least(config, {"top_k": 1})
    check_between(config, {"alpha": (0.0, 1.0)})
    check_choice("method", canonical_name(config.method), list_explainers())
    entry = get_explainer(config.method)
    device = parse_device(config.device)
    check_images(config.images)
    trained = _load(config, device)
    if entry.own_attention and not trained.abn:
        raise UserError(
            f"--method {entry.name} needs an ABN model: a checkpoint trained with --abn."
        )
    if entry.needs_gap_classifier and get_spec(trained.name).family in ("alexnet", "vgg"):
        raise UserError(
            f"{entry.title} needs global average pooling before one linear layer; "
            f"{trained.name} has none."
        )
    top_k = min(config.top_k, len(trained.classes))
    display = max(trained.image_size, 224)
    names = _output_names(config.images, entry.name)
    with _explainer(entry, trained) as explainer:
        for start in range(0, len(config.images), _BATCH):
            paths = config.images[start : start + _BATCH]
            pictures = [read_rgb(path) for path in paths]
            inputs = torch.stack([_model_input(p, trained) for p in pictures]).to(device)
            with torch.no_grad():
                output = trained.model(inputs)
            logits = output.logits if trained.abn else output
            probabilities, classes = logits.softmax(dim=1).topk(top_k, dim=1)  # (B, k)
            maps = _maps(explainer, entry, inputs, classes)  # k x (B, S, S)
            for row, (path, picture) in enumerate(zip(paths, pictures, strict=True)):
                shown = np.asarray(TF.center_crop(TF.resize(picture, display), display))
                labels = [
                    f"{trained.classes[c]} {p:.0%}"
                    for c, p in zip(classes[row].tolist(), probabilities[row].tolist(), strict=True)
                ]
                titles = [f"{entry.title}; top-1 {labels[0]}"] if len(maps) == 1 else labels
                tiles = [overlay(shown, m[row], alpha=config.alpha) for m in maps]
                image = panels([shown, *tiles], ["input", *titles])
                config.out_dir.mkdir(parents=True, exist_ok=True)  # not before there is output
                written = save_png(config.out_dir / names[start + row], image)
                print(f"{path}: {', '.join(labels)} -> {written}")
    return 0


def _load(config: VisionExplainConfig, device: torch.device) -> TrainedModel:
    if config.checkpoint is not None:
        try:
            trained = load_trained(config.checkpoint, device=device)
        except (FileNotFoundError, ValueError) as error:
            raise UserError(str(error)) from error
        if config.model is not None and config.model != trained.name:
            raise UserError(f"The checkpoint holds {trained.name}, not --model {config.model}.")
        return trained
    if config.model is None or config.weights is None:
        raise UserError(
            "Give --checkpoint (a model you trained) or --model with --weights (torchvision's "
            "ImageNet weights); a model with random weights explains nothing."
        )
    try:
        get_spec(config.model)
        weights = torchvision.models.get_model_weights(config.model).verify(config.weights)
        model = build(config.model, num_classes=1000, weights=weights)
    except (ValueError, KeyError, FileNotFoundError) as error:
        raise UserError(str(error).strip("'\"")) from error
    return TrainedModel(
        model=model.to(device).eval(),
        name=config.model,
        abn=False,
        classes=tuple(weights.meta["categories"]),
        image_size=224,
        mean=_IMAGENET_MEAN,
        std=_IMAGENET_STD,
    )


@contextmanager
def _explainer(entry: ExplainerEntry, trained: TrainedModel) -> Iterator[Explainer]:
    layer = feature_layer(trained.model, trained.name)  # Grad-CAM's and CAM's layer
    with entry.build(trained.model, layer=layer) as explainer:
        yield explainer


def _maps(
    explainer: Explainer, entry: ExplainerEntry, inputs: Tensor, classes: Tensor
) -> list[Tensor]:
    """One (B, S, S) map per rank; an ABN's attention is the same for every class."""
    if entry.own_attention:
        return [explainer(inputs).maps]
    return [explainer(inputs, ClassTarget(classes[:, k])).maps for k in range(classes.shape[1])]


def _model_input(picture: Image.Image, trained: TrainedModel) -> Tensor:
    """Resize the shorter side to the model's image size, crop the centre, normalize."""
    size = trained.image_size
    tensor = TF.to_tensor(TF.center_crop(TF.resize(picture, size), size))
    return TF.normalize(tensor, trained.mean, trained.std)


def _output_names(paths: tuple[Path, ...], method: str) -> list[str]:
    """``<stem>.<method>.png``, numbered where two images share a stem."""
    stems = [path.stem for path in paths]
    width = int(math.log10(len(paths))) + 1
    return [
        f"{stem}.{method}.png" if stems.count(stem) == 1 else f"{stem}-{i:0{width}d}.{method}.png"
        for i, stem in enumerate(stems)
    ]
