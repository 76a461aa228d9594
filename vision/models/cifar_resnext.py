"""ResNeXt-29 (C x dd) for 32x32 images (Xie et al., CVPR 2017, Section 5.3).

A 3x3 convolution to 64 channels and three stages of three bottleneck blocks
(outputs 256, 512, 1024; 3x3 group convolutions of width C*d, 2C*d, 4C*d): a
``CifarResNet`` of torchvision ``Bottleneck`` blocks, with its ABN split
(16x16 attention maps for 32x32 images; perception from ``layer3``).
"""

from __future__ import annotations

from typing import Unpack

from torch import nn
from torchvision.models.resnet import Bottleneck

from vision.models.builder import BuildOptions
from vision.models.cifar_resnet import build_cifar_resnet


def cifar_resnext29(
    cardinality: int, width_per_group: int, **options: Unpack[BuildOptions]
) -> nn.Module:
    """ResNeXt-29 with ``cardinality`` C groups of ``width_per_group`` d channels."""
    return build_cifar_resnet(
        f"cifar_resnext29_{cardinality}x{width_per_group}d",
        Bottleneck,
        (3, 3, 3),
        (64, 128, 256),
        stem_channels=64,
        cardinality=cardinality,
        width_per_group=width_per_group,
        **options,
    )


def cifar_resnext29_8x64d(**options: Unpack[BuildOptions]) -> nn.Module:
    """ResNeXt-29 (8x64d)."""
    return cifar_resnext29(8, 64, **options)


def cifar_resnext29_16x64d(**options: Unpack[BuildOptions]) -> nn.Module:
    """ResNeXt-29 (16x64d)."""
    return cifar_resnext29(16, 64, **options)
