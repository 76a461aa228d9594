"""Image classifiers of the survey, each with an Attention Branch Network variant.

``build(name, num_classes=..., abn=True)`` builds any registered model; the
builder functions (``resnet50(num_classes=..., abn=..., norm=..., weights=...)``)
are importable too. Plain models return logits (B, K); ABN models return an
``ABNOutput`` (logits, attention_logits, attention) to train with ``abn_loss``.

Building never touches the network: ``weights`` load from the local torch hub cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from vision.models.abn import ABN_MAPS, ABNMap, ABNOutput, AttentionBranchNetwork, abn_loss
from vision.models.alexnet import alexnet
from vision.models.attention_branch import AttentionBranch, AttentionBranchOutput, apply_attention
from vision.models.builder import Weights
from vision.models.cifar_densenet import (
    cifar_densenet_bc,
    cifar_densenet_bc22_12,
    cifar_densenet_bc100_12,
    cifar_densenet_bc190_40,
    cifar_densenet_bc250_24,
)
from vision.models.cifar_resnet import (
    cifar_resnet,
    cifar_resnet20,
    cifar_resnet32,
    cifar_resnet44,
    cifar_resnet56,
    cifar_resnet110,
)
from vision.models.cifar_resnext import (
    cifar_resnext29,
    cifar_resnext29_8x64d,
    cifar_resnext29_16x64d,
)
from vision.models.cifar_wrn import cifar_wrn, cifar_wrn16_8, cifar_wrn28_10, cifar_wrn40_4
from vision.models.densenet import densenet121, densenet169, densenet201
from vision.models.detection import build_detector, list_detectors
from vision.models.googlenet import googlenet
from vision.models.resnet import (
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
    resnext50_32x4d,
    resnext101_32x4d,
    resnext101_32x8d,
    resnext101_64x4d,
    wide_resnet50_2,
    wide_resnet101_2,
)
from vision.models.vgg import (
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
)


@dataclass(frozen=True)
class ModelSpec:
    """A registered model.

    Attributes:
        name: registry name.
        family: the architecture family (``"resnet"``, ``"cifar_wrn"``, ...).
        input_size: the side of the square images it was designed for (224 or 32).
        feature_layer: dotted name of the module whose output feeds the plain
            model's head (its last feature maps; the usual Grad-CAM layer).
        builder: the builder function.
    """

    name: str
    family: str
    input_size: int
    feature_layer: str
    builder: Callable[..., nn.Module]


def _specs() -> dict[str, ModelSpec]:
    families: list[tuple[str, int, str, list[Callable[..., nn.Module]]]] = [
        ("alexnet", 224, "features", [alexnet]),
        ("vgg", 224, "features", [vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19,
                                  vgg19_bn]),
        ("googlenet", 224, "inception5b", [googlenet]),
        ("resnet", 224, "layer4", [resnet18, resnet34, resnet50, resnet101, resnet152]),
        ("wide_resnet", 224, "layer4", [wide_resnet50_2, wide_resnet101_2]),
        ("resnext", 224, "layer4", [resnext50_32x4d, resnext101_32x4d, resnext101_32x8d,
                                    resnext101_64x4d]),
        ("densenet", 224, "features", [densenet121, densenet169, densenet201]),
        ("cifar_resnet", 32, "layer3", [cifar_resnet20, cifar_resnet32, cifar_resnet44,
                                        cifar_resnet56, cifar_resnet110]),
        ("cifar_wrn", 32, "layer3", [cifar_wrn16_8, cifar_wrn28_10, cifar_wrn40_4]),
        ("cifar_densenet", 32, "features", [cifar_densenet_bc22_12, cifar_densenet_bc100_12,
                                            cifar_densenet_bc250_24, cifar_densenet_bc190_40]),
        ("cifar_resnext", 32, "layer3", [cifar_resnext29_8x64d, cifar_resnext29_16x64d]),
    ]  # fmt: skip
    return {
        builder.__name__: ModelSpec(builder.__name__, family, size, layer, builder)
        for family, size, layer, builders in families
        for builder in builders
    }


_MODELS = _specs()


def list_models() -> list[str]:
    """Names of every registered model, sorted; each builds with ``abn=True`` as well."""
    return sorted(_MODELS)


def get_spec(name: str) -> ModelSpec:
    """The registry entry of ``name``.

    Raises:
        ValueError: ``name`` is not registered.
    """
    if name not in _MODELS:
        raise ValueError(f"Unknown model {name!r}; vision.models.list_models() names them all.")
    return _MODELS[name]


def feature_layer(model: nn.Module, name: str) -> nn.Module:
    """The module whose output feeds the classifier head of ``model`` built as ``name``.

    For a plain model, ``ModelSpec.feature_layer``; for an ABN model, the last stage
    at the start of its perception branch (e.g. ``perception.layer4``).
    """
    if isinstance(model, AttentionBranchNetwork):
        return model.perception[0]
    return model.get_submodule(get_spec(name).feature_layer)


def build(
    name: str,
    *,
    num_classes: int,
    abn: bool = False,
    abn_map: ABNMap = "positive",
    norm: str | None = None,
    groups: int = 32,
    weights: Weights = None,
) -> nn.Module:
    """Build the registered model ``name``.

    Args:
        name: a name from ``list_models()``.
        num_classes: number of classes K.
        abn: build its Attention Branch Network (returns ``ABNOutput``).
        abn_map: the conv that makes the ABN attention map, one of ``ABN_MAPS``:
            ``"positive"`` (3x3 with non-negative weights), ``"3x3"`` (the ABN
            authors', free weights) or ``"1x1"`` (free weights, as models built before
            the choice); only matters with ``abn``.
        norm: ``"bn"``, ``"gn"``, ``"lrn"`` or ``"none"``; None keeps the published one.
        groups: upper bound for GroupNorm's group count.
        weights: torchvision weights (name or enum) from the local torch hub cache.

    Raises:
        ValueError: unknown model, ABN map, normalization or weights.
        FileNotFoundError: the weights are not in the local cache.
    """
    return get_spec(name).builder(
        num_classes=num_classes,
        abn=abn,
        abn_map=abn_map,
        norm=norm,
        groups=groups,
        weights=weights,
    )


__all__ = [
    "build_detector",
    "list_detectors",
    "ABN_MAPS",
    "ABNMap",
    "ABNOutput",
    "AttentionBranch",
    "AttentionBranchNetwork",
    "AttentionBranchOutput",
    "ModelSpec",
    "abn_loss",
    "apply_attention",
    "build",
    "feature_layer",
    "get_spec",
    "list_models",
    "cifar_densenet_bc",
    "cifar_resnet",
    "cifar_resnext29",
    "cifar_wrn",
    "alexnet",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "googlenet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "wide_resnet50_2",
    "wide_resnet101_2",
    "resnext50_32x4d",
    "resnext101_32x4d",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "densenet121",
    "densenet169",
    "densenet201",
    "cifar_resnet20",
    "cifar_resnet32",
    "cifar_resnet44",
    "cifar_resnet56",
    "cifar_resnet110",
    "cifar_wrn16_8",
    "cifar_wrn28_10",
    "cifar_wrn40_4",
    "cifar_densenet_bc22_12",
    "cifar_densenet_bc100_12",
    "cifar_densenet_bc250_24",
    "cifar_densenet_bc190_40",
    "cifar_resnext29_8x64d",
    "cifar_resnext29_16x64d",
]
