"""Normalization layers by name: BatchNorm, GroupNorm, Local Response Normalization, none.

Group Normalization (Wu & He, ECCV 2018) normalizes each sample on its own, so a
model behaves the same for a batch of one (an RL rollout step) and a batch of
hundreds (an update); BatchNorm's statistics depend on the batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, get_args

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

NormFactory = Callable[[int], nn.Module]

NormKind = Literal["bn", "gn", "lrn", "none"]
NORM_KINDS: tuple[str, ...] = get_args(NormKind)


def group_norm(channels: int, groups: int = 32) -> nn.GroupNorm:
    """GroupNorm with the largest group count <= ``groups`` that divides ``channels``."""
    return nn.GroupNorm(math.gcd(channels, groups), channels)


def local_response_norm(
    size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0
) -> nn.LocalResponseNorm:
    """The AlexNet paper's LRN: ``b_i = a_i / (k + alpha * sum_j a_j^2) ** beta``.

    The sum runs over the ``size`` channels centred on ``i`` (Krizhevsky et al.,
    NIPS 2012, Section 3.3). PyTorch's ``LocalResponseNorm`` divides ``alpha`` by
    ``size``, so it gets ``alpha * size`` to compute the paper's formula.
    """
    return nn.LocalResponseNorm(size=size, alpha=alpha * size, beta=beta, k=k)


def make_norm(kind: str, *, groups: int = 32) -> NormFactory:
    """Return a factory ``channels -> nn.Module`` for the normalization ``kind``.

    ``"lrn"`` is the AlexNet paper's Local Response Normalization (k=2, n=5,
    alpha=1e-4, beta=0.75); it has no parameters and ignores ``channels``.
    """
    if kind == "bn":
        return nn.BatchNorm2d
    if kind == "gn":
        return lambda channels: group_norm(channels, groups)
    if kind == "lrn":
        return lambda channels: local_response_norm()
    if kind == "none":
        return lambda channels: nn.Identity()
    raise ValueError(f"Unknown normalization {kind!r}; choose one of {', '.join(NORM_KINDS)}.")


BATCH_NORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def convert_batchnorm(module: nn.Module, kind: str = "gn", *, groups: int = 32) -> nn.Module:
    """Replace every BatchNorm layer in ``module`` by the normalization ``kind``, in place.

    GroupNorm inherits each BatchNorm's ``eps`` and learned scale and shift, so a
    trained model keeps its per-channel affine transform; the running statistics,
    which GroupNorm does not use, are dropped.

    Args:
        module: a model or any module; a bare BatchNorm layer is replaced too.
        kind: ``"gn"``, ``"lrn"``, ``"none"`` or ``"bn"`` (which changes nothing).
        groups: upper bound for the GroupNorm group count (see ``group_norm``).

    Returns:
        ``module`` itself, or its replacement when ``module`` is a BatchNorm layer.
    """
    factory = make_norm(kind, groups=groups)
    if kind == "bn":
        return module
    if isinstance(module, BATCH_NORM_TYPES):
        return _replacement(module, factory)
    for name, child in module.named_children():
        converted = convert_batchnorm(child, kind, groups=groups)
        if converted is not child:
            setattr(module, name, converted)
    return module


def batchnorm_to_groupnorm(module: nn.Module, *, groups: int = 32) -> nn.Module:
    """Convert a model's BatchNorm layers to GroupNorm in place (``convert_batchnorm``)."""
    return convert_batchnorm(module, "gn", groups=groups)


def _replacement(batch_norm: _BatchNorm, factory: NormFactory) -> nn.Module:
    replacement = factory(batch_norm.num_features)
    if isinstance(replacement, nn.GroupNorm):
        replacement.eps = batch_norm.eps
        if batch_norm.affine:
            with torch.no_grad():
                replacement.weight.copy_(batch_norm.weight)
                replacement.bias.copy_(batch_norm.bias)
    tensors = [
        t for t in (*batch_norm.parameters(), *batch_norm.buffers()) if t.is_floating_point()
    ]
    return replacement.to(tensors[0].device, tensors[0].dtype) if tensors else replacement
