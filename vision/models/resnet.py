"""ResNet (He et al., CVPR 2016), Wide ResNet (Zagoruyko & Komodakis, BMVC 2016) and
ResNeXt (Xie et al., CVPR 2017) for ImageNet: torchvision's ``ResNet`` with a norm choice.

ABN split: ``conv1`` ... ``layer3`` extract features (stride 16: 14x14 attention
maps for 224x224 images), the attention branch reads a stride-1 copy of ``layer4``,
and the perception branch is ``layer4``, ``avgpool`` and ``fc``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Unpack

from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

from vision.models.abn import StageSplit
from vision.models.builder import BuildOptions, finish, resolve_options


def _resnet(
    arch: str,
    block: type[BasicBlock | Bottleneck],
    layers: list[int],
    *,
    has_weights: bool = True,
    cardinality: int = 1,
    width_per_group: int = 64,
    **options: Unpack[BuildOptions],
) -> nn.Module:
    resolved = resolve_options(arch, has_weights=has_weights, **options)
    model = ResNet(
        block,
        layers,
        num_classes=resolved.num_classes,
        groups=cardinality,
        width_per_group=width_per_group,
        norm_layer=resolved.norm_layer(),
    )
    return finish(model, resolved, split=resnet_split)


def resnet_split(model: ResNet) -> StageSplit:
    """ABN split of a torchvision ``ResNet``: features through ``layer3``, stage ``layer4``."""
    channels = model.fc.in_features
    return StageSplit(
        features=OrderedDict(
            conv1=model.conv1,
            bn1=model.bn1,
            relu=model.relu,
            maxpool=model.maxpool,
            layer1=model.layer1,
            layer2=model.layer2,
            layer3=model.layer3,
        ),
        stage_name="layer4",
        stage=model.layer4,
        head=OrderedDict(avgpool=model.avgpool, flatten=nn.Flatten(1), fc=model.fc),
        feature_channels=channels // 2,
        stage_channels=channels,
    )


def resnet18(**options: Unpack[BuildOptions]) -> nn.Module:
    """ResNet-18."""
    return _resnet("resnet18", BasicBlock, [2, 2, 2, 2], **options)


def resnet34(**options: Unpack[BuildOptions]) -> nn.Module:
    """ResNet-34."""
    return _resnet("resnet34", BasicBlock, [3, 4, 6, 3], **options)


def resnet50(**options: Unpack[BuildOptions]) -> nn.Module:
    """ResNet-50."""
    return _resnet("resnet50", Bottleneck, [3, 4, 6, 3], **options)


def resnet101(**options: Unpack[BuildOptions]) -> nn.Module:
    """ResNet-101."""
    return _resnet("resnet101", Bottleneck, [3, 4, 23, 3], **options)


def resnet152(**options: Unpack[BuildOptions]) -> nn.Module:
    """ResNet-152."""
    return _resnet("resnet152", Bottleneck, [3, 8, 36, 3], **options)


def wide_resnet50_2(**options: Unpack[BuildOptions]) -> nn.Module:
    """Wide ResNet-50-2: ResNet-50 with bottlenecks twice as wide."""
    return _resnet("wide_resnet50_2", Bottleneck, [3, 4, 6, 3], width_per_group=128, **options)


def wide_resnet101_2(**options: Unpack[BuildOptions]) -> nn.Module:
    """Wide ResNet-101-2: ResNet-101 with bottlenecks twice as wide."""
    return _resnet("wide_resnet101_2", Bottleneck, [3, 4, 23, 3], width_per_group=128, **options)


def resnext50_32x4d(**options: Unpack[BuildOptions]) -> nn.Module:
    """ResNeXt-50 (32x4d): cardinality 32, bottleneck width 4 per group."""
    return _resnet(
        "resnext50_32x4d", Bottleneck, [3, 4, 6, 3], cardinality=32, width_per_group=4, **options
    )


def resnext101_32x4d(**options: Unpack[BuildOptions]) -> nn.Module:
    """ResNeXt-101 (32x4d) as in the paper's Table 5; torchvision publishes no weights for it."""
    return _resnet(
        "resnext101_32x4d",
        Bottleneck,
        [3, 4, 23, 3],
        cardinality=32,
        width_per_group=4,
        has_weights=False,
        **options,
    )


def resnext101_32x8d(**options: Unpack[BuildOptions]) -> nn.Module:
    """ResNeXt-101 (32x8d)."""
    return _resnet(
        "resnext101_32x8d", Bottleneck, [3, 4, 23, 3], cardinality=32, width_per_group=8, **options
    )


def resnext101_64x4d(**options: Unpack[BuildOptions]) -> nn.Module:
    """ResNeXt-101 (64x4d)."""
    return _resnet(
        "resnext101_64x4d", Bottleneck, [3, 4, 23, 3], cardinality=64, width_per_group=4, **options
    )
