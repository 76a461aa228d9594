"""DenseNet-BC (L, k) for 32x32 images (Huang et al., CVPR 2017, Section 4).

torchvision's ``DenseNet`` with the CIFAR stem: one 3x3 convolution to 2k
channels and no pooling, then three dense blocks of (L - 4) / 6 bottleneck
layers joined by transitions with compression 0.5. The ABN split is DenseNet's
(``vision.models.densenet``), as in the ABN authors' code: the attention map is
8x8 for 32x32 images and the perception branch starts with ``denseblock3``.
"""

from __future__ import annotations

from typing import Unpack

from torch import nn
from torchvision.models.densenet import DenseNet

from vision.models.builder import BuildOptions, finish, resolve_options
from vision.models.densenet import densenet_split


def cifar_densenet_bc(depth: int, growth_rate: int, **options: Unpack[BuildOptions]) -> nn.Module:
    """DenseNet-BC with ``depth`` L (100, 190, 250, ...; L = 6n + 4) and growth rate k.

    Args:
        depth: L, the number of layers; (L - 4) must be divisible by 6.
        growth_rate: k, the channels each layer adds.
        **options: see ``vision.models.builder.BuildOptions``.
    """
    if depth < 10 or (depth - 4) % 6:
        raise ValueError(f"DenseNet-BC depth must be 6n + 4 with n >= 1, not {depth}.")
    resolved = resolve_options(
        f"cifar_densenet_bc{depth}_{growth_rate}", has_weights=False, default_classes=10, **options
    )
    layers_per_block = (depth - 4) // 6
    stem = 2 * growth_rate
    model = DenseNet(
        growth_rate, (layers_per_block,) * 3, stem, bn_size=4, num_classes=resolved.num_classes
    )
    model.features.conv0 = nn.Conv2d(3, stem, kernel_size=3, padding=1, bias=False)
    nn.init.kaiming_normal_(model.features.conv0.weight)
    for name in ("norm0", "relu0", "pool0"):
        delattr(model.features, name)
    return finish(model, resolved, split=densenet_split)


def cifar_densenet_bc22_12(**options: Unpack[BuildOptions]) -> nn.Module:
    """DenseNet-BC (L=22, k=12), the default of the ABN authors' CIFAR DenseNet code."""
    return cifar_densenet_bc(22, 12, **options)


def cifar_densenet_bc100_12(**options: Unpack[BuildOptions]) -> nn.Module:
    """DenseNet-BC (L=100, k=12), the ABN paper's CIFAR DenseNet."""
    return cifar_densenet_bc(100, 12, **options)


def cifar_densenet_bc250_24(**options: Unpack[BuildOptions]) -> nn.Module:
    """DenseNet-BC (L=250, k=24)."""
    return cifar_densenet_bc(250, 24, **options)


def cifar_densenet_bc190_40(**options: Unpack[BuildOptions]) -> nn.Module:
    """DenseNet-BC (L=190, k=40)."""
    return cifar_densenet_bc(190, 40, **options)
