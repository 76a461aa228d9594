"""Wide Residual Networks WRN-d-k for 32x32 images (Zagoruyko & Komodakis, BMVC 2016).

Pre-activation basic blocks (norm-ReLU-conv, twice, optional dropout between
the convolutions) in three stages of (d - 4) / 6 blocks with 16k, 32k and 64k
channels, then norm-ReLU, global average pooling and ``fc``. torchvision has no
pre-activation block, so it is written here.

ABN split: ``conv1``, ``layer1`` and ``layer2`` extract features (16x16 for
32x32 images), the attention branch reads a stride-1 copy of ``layer3`` (its own
norm-ReLU stands in for the final one), and the perception branch is ``layer3``,
``bn``, ``relu``, ``avgpool`` and ``fc``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Unpack

from torch import Tensor, nn

from vision.models.abn import StageSplit
from vision.models.builder import BuildOptions, finish, resolve_options
from vision.norm import NormFactory


class WideBasicBlock(nn.Module):
    """Pre-activation basic block; the shortcut is a 1x1 projection when the shape changes."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, dropout: float, norm: NormFactory
    ) -> None:
        super().__init__()
        self.bn1 = norm(in_channels)
        self.relu = nn.ReLU()  # out of place: with norm="none" it would overwrite the shortcut
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = norm(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.shortcut = (
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
            if stride != 1 or in_channels != out_channels
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        activated = self.relu(self.bn1(x))
        out = self.conv1(activated)
        out = self.conv2(self.dropout(self.relu(self.bn2(out))))
        # The projection reads the activated input, as in the authors' code.
        return out + (x if self.shortcut is None else self.shortcut(activated))


class WideResNet(nn.Module):
    """WRN-``depth``-``widen_factor`` for 32x32 images."""

    # The stages, registered by add_module in __init__.
    layer1: nn.Sequential
    layer2: nn.Sequential
    layer3: nn.Sequential

    def __init__(
        self,
        depth: int,
        widen_factor: int,
        *,
        num_classes: int = 10,
        dropout: float = 0.0,
        norm: NormFactory = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        if depth < 10 or (depth - 4) % 6:
            raise ValueError(f"WRN depth must be 6n + 4 with n >= 1, not {depth}.")
        blocks = (depth - 4) // 6
        widths = [16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False)
        channels = 16
        for index, width in enumerate(widths):
            stage = [
                WideBasicBlock(
                    channels if position == 0 else width,
                    width,
                    2 if index > 0 and position == 0 else 1,
                    dropout,
                    norm,
                )
                for position in range(blocks)
            ]
            self.add_module(f"layer{index + 1}", nn.Sequential(*stage))
            channels = width
        self.bn = norm(channels)
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)

    def forward(self, images: Tensor) -> Tensor:
        x = self.layer3(self.layer2(self.layer1(self.conv1(images))))  # (B, 64k, 8, 8)
        return self.fc(self.avgpool(self.relu(self.bn(x))).flatten(1))


def wide_resnet_split(model: WideResNet) -> StageSplit:
    """ABN split of ``WideResNet``: features through ``layer2``, stage ``layer3``."""
    return StageSplit(
        features=OrderedDict(conv1=model.conv1, layer1=model.layer1, layer2=model.layer2),
        stage_name="layer3",
        stage=model.layer3,
        head=OrderedDict(
            bn=model.bn,
            relu=model.relu,
            avgpool=model.avgpool,
            flatten=nn.Flatten(1),
            fc=model.fc,
        ),
        feature_channels=model.fc.in_features // 2,
        stage_channels=model.fc.in_features,
    )


def cifar_wrn(
    depth: int,
    widen_factor: int,
    *,
    dropout: float = 0.0,
    **options: Unpack[BuildOptions],
) -> nn.Module:
    """WRN-``depth``-``widen_factor`` (e.g. 28-10; the paper adds dropout 0.3 on CIFAR).

    Args:
        depth: d = 6n + 4.
        widen_factor: k, the width multiplier.
        dropout: dropout probability between a block's two convolutions.
        **options: see ``vision.models.builder.BuildOptions``.
    """
    resolved = resolve_options(
        f"cifar_wrn{depth}_{widen_factor}", has_weights=False, default_classes=10, **options
    )
    model = WideResNet(
        depth,
        widen_factor,
        num_classes=resolved.num_classes,
        dropout=dropout,
        norm=resolved.norm_layer(),
    )
    return finish(model, resolved, split=wide_resnet_split)


def cifar_wrn16_8(**options: Unpack[BuildOptions]) -> nn.Module:
    """WRN-16-8."""
    return cifar_wrn(16, 8, **options)


def cifar_wrn28_10(**options: Unpack[BuildOptions]) -> nn.Module:
    """WRN-28-10, the ABN paper's CIFAR WRN."""
    return cifar_wrn(28, 10, **options)


def cifar_wrn40_4(**options: Unpack[BuildOptions]) -> nn.Module:
    """WRN-40-4."""
    return cifar_wrn(40, 4, **options)
