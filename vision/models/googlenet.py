"""GoogLeNet, Inception v1 (Szegedy et al., CVPR 2015): torchvision's ``GoogLeNet``.

torchvision's version has BatchNorm after every convolution (its weights were
trained so); ``norm`` converts those layers. The auxiliary classifiers are left
out so the model returns plain logits like every other family.

ABN split: everything through ``inception4e`` extracts features (stride 16:
14x14 for 224x224 images), the attention branch reads a stride-1 copy of
``inception5`` (``maxpool4``, ``inception5a``, ``inception5b``), and the
perception branch is ``inception5``, ``avgpool``, ``dropout`` and ``fc``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Unpack

import torch
from torch import Tensor, nn
from torchvision.models.googlenet import GoogLeNet

from vision.models.abn import StageSplit
from vision.models.builder import BuildOptions, finish, resolve_options

# The per-channel affine map GoogLeNet's torchvision weights apply to ImageNet-normalized
# input, turning it into the [-1, 1] scaling those (ported) weights were trained on.
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageNetToUnitRange(nn.Module):
    """Maps ImageNet-normalized images to the [-1, 1] scaling of GoogLeNet's weights."""

    # Registered as buffers in __init__.
    scale: Tensor
    shift: Tensor

    def __init__(self) -> None:
        super().__init__()
        std = torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1)
        mean = torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
        self.register_buffer("scale", std / 0.5, persistent=False)
        self.register_buffer("shift", (mean - 0.5) / 0.5, persistent=False)

    def forward(self, images: Tensor) -> Tensor:
        return images * self.scale + self.shift


def googlenet_split(model: GoogLeNet) -> StageSplit:
    """ABN split of torchvision's ``GoogLeNet``: features through ``inception4e``."""
    names = [
        "conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b",
        "maxpool3", "inception4a", "inception4b", "inception4c", "inception4d", "inception4e",
    ]  # fmt: skip
    features = OrderedDict((name, getattr(model, name)) for name in names)
    if model.transform_input:
        features = OrderedDict(transform_input=ImageNetToUnitRange(), **features)
    return StageSplit(
        features=features,
        stage_name="inception5",
        stage=nn.Sequential(
            OrderedDict(
                maxpool4=model.maxpool4,
                inception5a=model.inception5a,
                inception5b=model.inception5b,
            )
        ),
        head=OrderedDict(
            avgpool=model.avgpool, flatten=nn.Flatten(1), dropout=model.dropout, fc=model.fc
        ),
        feature_channels=832,
        stage_channels=1024,
    )


def googlenet(**options: Unpack[BuildOptions]) -> nn.Module:
    """GoogLeNet (Inception v1) without auxiliary classifiers.

    Args: see ``vision.models.builder.BuildOptions``.
    """
    resolved = resolve_options("googlenet", has_weights=True, **options)
    model = GoogLeNet(
        num_classes=resolved.num_classes,
        aux_logits=False,
        transform_input=resolved.weights is not None,
        init_weights=True,
    )
    return finish(model, resolved, split=googlenet_split)
