"""DenseNet-121/169/201 (Huang et al., CVPR 2017): torchvision's ``DenseNet`` (DenseNet-BC).

torchvision builds BatchNorm into its dense layers; ``norm`` converts them.

ABN split, as in the ABN authors' DenseNet: everything through the last
transition extracts features (stride 32: 7x7 for 224x224 images), the attention
branch reads a copy of the last dense block (which has no stride to remove), and
the perception branch is that block (``denseblock4``), ``norm5``, ReLU, pooling
and ``classifier``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Unpack

from torch import nn
from torchvision.models.densenet import DenseNet

from vision.models.abn import StageSplit
from vision.models.builder import BuildOptions, finish, resolve_options


def densenet_split(model: DenseNet) -> StageSplit:
    """ABN split of a torchvision ``DenseNet``: its last dense block is the stage."""
    layers = OrderedDict(model.features.named_children())
    names = list(layers)
    block = f"denseblock{max(int(n.removeprefix('denseblock')) for n in names if 'dense' in n)}"
    cut = names.index(block)
    return StageSplit(
        features=OrderedDict((name, layers[name]) for name in names[:cut]),
        stage_name=block,
        stage=layers[block],
        head=OrderedDict(
            norm5=layers["norm5"],
            relu=nn.ReLU(inplace=True),
            avgpool=nn.AdaptiveAvgPool2d(1),
            flatten=nn.Flatten(1),
            classifier=model.classifier,
        ),
        feature_channels=layers[names[cut - 1]].conv.out_channels,
        stage_channels=model.classifier.in_features,
    )


def _densenet(
    arch: str,
    growth_rate: int,
    block_config: tuple[int, int, int, int],
    num_init_features: int,
    **options: Unpack[BuildOptions],
) -> nn.Module:
    resolved = resolve_options(arch, has_weights=True, **options)
    model = DenseNet(growth_rate, block_config, num_init_features, num_classes=resolved.num_classes)
    return finish(model, resolved, split=densenet_split)


def densenet121(**options: Unpack[BuildOptions]) -> nn.Module:
    """DenseNet-121 (k=32)."""
    return _densenet("densenet121", 32, (6, 12, 24, 16), 64, **options)


def densenet169(**options: Unpack[BuildOptions]) -> nn.Module:
    """DenseNet-169 (k=32)."""
    return _densenet("densenet169", 32, (6, 12, 32, 32), 64, **options)


def densenet201(**options: Unpack[BuildOptions]) -> nn.Module:
    """DenseNet-201 (k=32)."""
    return _densenet("densenet201", 32, (6, 12, 48, 32), 64, **options)
