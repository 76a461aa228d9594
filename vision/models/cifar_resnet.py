"""ResNet-(6n+2) for 32x32 images (He et al., CVPR 2016, Section 4.2).

A 3x3 convolution to 16 channels, three stages of n basic blocks with 16, 32
and 64 channels (stride 2 at the start of stages 2 and 3), global average
pooling and ``fc``. Shortcuts that change shape are 1x1 projections (option B),
as in the ABN authors' code. ``CifarResNet`` takes any torchvision residual block
and also builds ResNeXt-29 (``vision.models.cifar_resnext``).

ABN split: ``conv1`` ... ``layer2`` extract features (16x16 attention maps for
32x32 images), the attention branch reads a stride-1 copy of ``layer3``, and the
perception branch is ``layer3``, ``avgpool`` and ``fc``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Unpack

from torch import Tensor, nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from vision.models.abn import StageSplit
from vision.models.builder import BuildOptions, finish, resolve_options
from vision.norm import NormFactory


class CifarResNet(nn.Module):
    """A three-stage residual network for 32x32 images, from torchvision's blocks.

    Args:
        block: ``BasicBlock`` or ``Bottleneck`` from ``torchvision.models.resnet``.
        blocks_per_stage: number of blocks in each of the three stages.
        planes: the blocks' ``planes`` per stage (outputs are ``planes * block.expansion``).
        stem_channels: output channels of the first 3x3 convolution.
        num_classes: number of classes.
        cardinality: groups of the 3x3 convolutions (ResNeXt's C).
        width_per_group: bottleneck width per group at ``planes=64`` (ResNeXt's d).
        norm: normalization factory.
    """

    # The stages, registered by add_module in __init__.
    layer1: nn.Sequential
    layer2: nn.Sequential
    layer3: nn.Sequential

    def __init__(
        self,
        block: type[BasicBlock | Bottleneck],
        blocks_per_stage: Sequence[int],
        planes: Sequence[int],
        *,
        stem_channels: int,
        num_classes: int = 10,
        cardinality: int = 1,
        width_per_group: int = 64,
        norm: NormFactory = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem_channels, kernel_size=3, padding=1, bias=False)
        self.bn1 = norm(stem_channels)
        self.relu = nn.ReLU(inplace=True)
        channels = stem_channels
        for index, (count, width) in enumerate(zip(blocks_per_stage, planes, strict=True)):
            stage = []
            for position in range(count):
                stride = 2 if index > 0 and position == 0 else 1
                out_channels = width * block.expansion
                downsample = None
                if stride != 1 or channels != out_channels:
                    downsample = nn.Sequential(
                        nn.Conv2d(channels, out_channels, kernel_size=1, stride=stride, bias=False),
                        norm(out_channels),
                    )
                stage.append(
                    block(
                        channels,
                        width,
                        stride,
                        downsample,
                        groups=cardinality,
                        base_width=width_per_group,
                        norm_layer=norm,
                    )
                )
                channels = out_channels
            self.add_module(f"layer{index + 1}", nn.Sequential(*stage))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, images: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(images)))  # (B, stem, 32, 32)
        x = self.layer3(self.layer2(self.layer1(x)))  # (B, C, 8, 8)
        return self.fc(self.avgpool(x).flatten(1))


def cifar_resnet_split(model: CifarResNet) -> StageSplit:
    """ABN split of ``CifarResNet``: features through ``layer2``, stage ``layer3``."""
    return StageSplit(
        features=OrderedDict(
            conv1=model.conv1,
            bn1=model.bn1,
            relu=model.relu,
            layer1=model.layer1,
            layer2=model.layer2,
        ),
        stage_name="layer3",
        stage=model.layer3,
        head=OrderedDict(avgpool=model.avgpool, flatten=nn.Flatten(1), fc=model.fc),
        feature_channels=model.fc.in_features // 2,
        stage_channels=model.fc.in_features,
    )


def build_cifar_resnet(
    arch: str,
    block: type[BasicBlock | Bottleneck],
    blocks_per_stage: Sequence[int],
    planes: Sequence[int],
    *,
    stem_channels: int,
    cardinality: int = 1,
    width_per_group: int = 64,
    **options: Unpack[BuildOptions],
) -> nn.Module:
    """Build a ``CifarResNet`` (plain or ABN) with the registry's options."""
    resolved = resolve_options(arch, has_weights=False, default_classes=10, **options)
    model = CifarResNet(
        block,
        blocks_per_stage,
        planes,
        stem_channels=stem_channels,
        num_classes=resolved.num_classes,
        cardinality=cardinality,
        width_per_group=width_per_group,
        norm=resolved.norm_layer(),
    )
    return finish(model, resolved, split=cifar_resnet_split)


def cifar_resnet(depth: int, **options: Unpack[BuildOptions]) -> nn.Module:
    """ResNet-``depth`` for CIFAR, with depth = 6n + 2 (20, 32, 44, 56, 110, 1202)."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"CIFAR ResNet depth must be 6n + 2 with n >= 1, not {depth}.")
    n = (depth - 2) // 6
    return build_cifar_resnet(
        f"cifar_resnet{depth}", BasicBlock, (n, n, n), (16, 32, 64), stem_channels=16, **options
    )


def cifar_resnet20(**options: Unpack[BuildOptions]) -> nn.Module:
    """ResNet-20 for CIFAR."""
    return cifar_resnet(20, **options)


def cifar_resnet32(**options: Unpack[BuildOptions]) -> nn.Module:
    """ResNet-32 for CIFAR."""
    return cifar_resnet(32, **options)


def cifar_resnet44(**options: Unpack[BuildOptions]) -> nn.Module:
    """ResNet-44 for CIFAR."""
    return cifar_resnet(44, **options)


def cifar_resnet56(**options: Unpack[BuildOptions]) -> nn.Module:
    """ResNet-56 for CIFAR."""
    return cifar_resnet(56, **options)


def cifar_resnet110(**options: Unpack[BuildOptions]) -> nn.Module:
    """ResNet-110 for CIFAR, the ABN paper's CIFAR ResNet."""
    return cifar_resnet(110, **options)
