"""VGG-11/13/16/19 (Simonyan & Zisserman, ICLR 2015), with and without BatchNorm.

torchvision's ``VGG`` with its layer configurations; ``norm`` puts a normalization
layer after every convolution (``vggNN_bn`` is ``vggNN`` with ``norm="bn"``).

ABN split: the first four conv blocks (through the fourth max-pool, stride 16)
extract features, the attention branch reads a stride-1 copy of the fifth block
(its max-pool dropped), and the perception branch is ``block5``, ``avgpool`` and
``classifier``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Unpack

from torch import nn
from torchvision.models.vgg import VGG, cfgs

from vision.models.abn import StageSplit
from vision.models.builder import BuildOptions, finish, resolve_options
from vision.norm import NormFactory

_CONFIG_OF_DEPTH = {11: "A", 13: "B", 16: "D", 19: "E"}


def _vgg(depth: int, published_norm: str, **options: Unpack[BuildOptions]) -> nn.Module:
    resolved = resolve_options(
        f"vgg{depth}" + ("_bn" if published_norm == "bn" else ""),
        has_weights=True,
        published_norm=published_norm,
        **options,
    )
    norm_layer = None if resolved.norm == "none" else resolved.norm_layer()
    layers = _conv_layers(cfgs[_CONFIG_OF_DEPTH[depth]], norm_layer)
    model = VGG(layers, num_classes=resolved.num_classes)
    return finish(model, resolved, split=vgg_split)


def _conv_layers(config: list[int | str], norm: NormFactory | None) -> nn.Sequential:
    """torchvision's VGG feature layers, with any normalization (or none) after each conv."""
    layers: list[nn.Module] = []
    channels = 3
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(channels, int(item), kernel_size=3, padding=1))
        if norm is not None:
            layers.append(norm(int(item)))
        layers.append(nn.ReLU(inplace=True))
        channels = int(item)
    return nn.Sequential(*layers)


def vgg_split(model: VGG) -> StageSplit:
    """ABN split of a torchvision ``VGG``: features through the fourth pool, stage ``block5``."""
    pools = [i for i, layer in enumerate(model.features) if isinstance(layer, nn.MaxPool2d)]
    cut = pools[-2] + 1
    layers = list(model.features)
    return StageSplit(
        features=OrderedDict((str(i), layer) for i, layer in enumerate(layers[:cut])),
        stage_name="block5",
        stage=nn.Sequential(*layers[cut:]),
        head=OrderedDict(avgpool=model.avgpool, flatten=nn.Flatten(1), classifier=model.classifier),
        feature_channels=512,
        stage_channels=512,
    )


def vgg11(**options: Unpack[BuildOptions]) -> nn.Module:
    """VGG-11 (configuration A)."""
    return _vgg(11, "none", **options)


def vgg11_bn(**options: Unpack[BuildOptions]) -> nn.Module:
    """VGG-11 with BatchNorm."""
    return _vgg(11, "bn", **options)


def vgg13(**options: Unpack[BuildOptions]) -> nn.Module:
    """VGG-13 (configuration B)."""
    return _vgg(13, "none", **options)


def vgg13_bn(**options: Unpack[BuildOptions]) -> nn.Module:
    """VGG-13 with BatchNorm."""
    return _vgg(13, "bn", **options)


def vgg16(**options: Unpack[BuildOptions]) -> nn.Module:
    """VGG-16 (configuration D)."""
    return _vgg(16, "none", **options)


def vgg16_bn(**options: Unpack[BuildOptions]) -> nn.Module:
    """VGG-16 with BatchNorm."""
    return _vgg(16, "bn", **options)


def vgg19(**options: Unpack[BuildOptions]) -> nn.Module:
    """VGG-19 (configuration E)."""
    return _vgg(19, "none", **options)


def vgg19_bn(**options: Unpack[BuildOptions]) -> nn.Module:
    """VGG-19 with BatchNorm."""
    return _vgg(19, "bn", **options)
