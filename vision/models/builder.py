"""What every model builder shares: options, normalization choice, local weights, ABN wrap."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias, TypedDict, TypeVar
from urllib.parse import urlparse

import torch
import torchvision.models
from torch import nn
from torchvision.models import WeightsEnum

from vision.models.abn import ABN_MAPS, ABNMap, StageSplit, attention_branch_network
from vision.norm import NORM_KINDS, NormFactory, convert_batchnorm, make_norm

Weights: TypeAlias = str | WeightsEnum | None
Model = TypeVar("Model", bound=nn.Module)


class BuildOptions(TypedDict, total=False):
    """Keyword options every builder accepts.

    Attributes:
        num_classes: number of classes K (the family's default: 1000 ImageNet, 10 CIFAR).
        abn: build the Attention Branch Network (returns ``ABNOutput``) instead of
            the plain classifier (returns logits).
        abn_map: the conv that makes the ABN attention map, one of ``ABN_MAPS``:
            ``"positive"`` (3x3 with non-negative weights), ``"3x3"`` (the ABN
            authors', free weights) or ``"1x1"`` (free weights, as models built before
            the choice); only matters with ``abn``.
        norm: ``"bn"``, ``"gn"``, ``"lrn"`` or ``"none"`` for every normalization layer;
            None keeps the published one (LRN for AlexNet, none for plain VGG, else BN).
        groups: upper bound for GroupNorm's group count.
        weights: torchvision weights (an enum member or its name, e.g. ``"DEFAULT"``),
            loaded from the local torch hub cache only; the classifier is left freshly
            initialized when ``num_classes`` differs from the weights' classes.
    """

    num_classes: int
    abn: bool
    abn_map: ABNMap
    norm: str | None
    groups: int
    weights: Weights


@dataclass(frozen=True)
class ResolvedOptions:
    """One builder call's options, checked, with the family's defaults filled in.

    Attributes:
        arch: the model's registry name (and torchvision's, where weights exist).
        num_classes: number of classes K.
        abn: wrap the classifier into an Attention Branch Network.
        abn_map: the conv that makes the ABN attention map (one of ``ABN_MAPS``).
        norm: the normalization kind to build (``norm=None`` resolved to the published one).
        groups: upper bound for GroupNorm's group count.
        weights: torchvision weights to load from the local cache, or None.
    """

    arch: str
    num_classes: int
    abn: bool
    abn_map: ABNMap
    norm: str
    groups: int
    weights: Weights

    def norm_layer(self) -> NormFactory:
        """The factory of the normalization layers to build."""
        return make_norm(self.norm, groups=self.groups)


def resolve_options(
    arch: str,
    *,
    has_weights: bool,
    published_norm: str = "bn",
    default_classes: int = 1000,
    num_classes: int | None = None,
    abn: bool = False,
    abn_map: ABNMap = "positive",
    norm: str | None = None,
    groups: int = 32,
    weights: Weights = None,
) -> ResolvedOptions:
    """Check a builder's options (``BuildOptions``) and fill in the family's defaults.

    Args:
        arch: the model's registry name (and torchvision's, where weights exist).
        has_weights: whether torchvision publishes weights for ``arch``.
        published_norm: the normalization the architecture was published (and its
            weights trained) with; ``norm=None`` builds it.
        default_classes: the number of classes when ``num_classes`` is not given.
        num_classes, abn, abn_map, norm, groups, weights: the builder's options.

    Raises:
        ValueError: an unknown ABN map, unknown normalization, or
            weights that do not exist or do not fit the normalization.
    """
    check_abn_map(abn_map)
    kind = published_norm if norm is None else norm
    if kind not in NORM_KINDS:
        raise ValueError(f"Unknown normalization {kind!r}; choose one of {', '.join(NORM_KINDS)}.")
    if weights is not None:
        if not has_weights:
            raise ValueError(f"No pretrained weights exist for {arch}.")
        if kind != published_norm:
            raise ValueError(
                f"The weights of {arch} need norm={published_norm!r}; build with it, then "
                "convert with vision.norm.convert_batchnorm."
            )
    classes = default_classes if num_classes is None else num_classes
    return ResolvedOptions(arch, classes, abn, abn_map, kind, groups, weights)


def check_abn_map(abn_map: str) -> None:
    """Refuse an ABN attention map other than those of ``ABN_MAPS``.

    Raises:
        ValueError: ``abn_map`` is not one of ``ABN_MAPS``.
    """
    if abn_map not in ABN_MAPS:
        raise ValueError(f"Unknown ABN map {abn_map!r}; choose one of {', '.join(ABN_MAPS)}.")


def finish(
    model: Model, options: ResolvedOptions, *, split: Callable[[Model], StageSplit]
) -> nn.Module:
    """Load weights, set the normalization and wrap in ABN: the common end of every builder.

    Args:
        model: the plain classifier as its constructor built it, with
            ``options.norm_layer()`` or, where the constructor has no choice, with
            BatchNorm, which is converted to ``options.norm`` here.
        options: the call's options from ``resolve_options``.
        split: where the family attaches the attention branch.
    """
    if options.weights is not None:
        load_local_weights(model, options.arch, options.weights)
    # Converts in place: only a bare BatchNorm layer would be replaced, and no classifier is one.
    convert_batchnorm(model, options.norm, groups=options.groups)
    if not options.abn:
        return model
    return attention_branch_network(
        split(model),
        num_classes=options.num_classes,
        norm=options.norm_layer(),
        map_conv=options.abn_map,
    )


def cached_weights(arch: str, weights: str | WeightsEnum) -> WeightsEnum:
    """torchvision's ``weights`` of ``arch``, checked to be in the local torch hub cache.

    Raises:
        FileNotFoundError: the weights file is not in the cache (nothing is downloaded).
        ValueError: ``weights`` names no weights of ``arch``.
    """
    enum = torchvision.models.get_model_weights(arch)
    try:
        chosen = enum.verify(weights)
    except (KeyError, TypeError):
        names = ", ".join(["DEFAULT", *enum.__members__])
        message = f"Unknown weights {weights!r} for {arch}; choose one of {names}."
        raise ValueError(message) from None
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(chosen.url).path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{chosen} is not in the local torch hub cache ({path}); nothing is downloaded, "
            "so put the file there first."
        )
    return chosen


def load_local_weights(model: nn.Module, arch: str, weights: str | WeightsEnum) -> None:
    """Load torchvision's ``weights`` for ``arch`` into ``model`` from the local cache only.

    Tensors whose shape differs from the model's (the classifier, when the model
    has another number of classes) keep the model's initialization.

    Raises:
        FileNotFoundError: the weights file is not in the torch hub cache.
        ValueError: ``weights`` names no weights of ``arch``.
    """
    chosen = cached_weights(arch, weights)
    # torchvision's own builder reads the cached file (no download) and adapts old key names.
    state = torchvision.models.get_model(arch, weights=chosen).state_dict()
    own = model.state_dict()
    resized = {key for key, value in state.items() if key in own and own[key].shape != value.shape}
    result = model.load_state_dict(
        {key: value for key, value in state.items() if key not in resized}, strict=False
    )
    if result.unexpected_keys or set(result.missing_keys) - resized:
        raise RuntimeError(f"The weights {chosen} do not fit this {arch} model.")
