"""AlexNet as published (Krizhevsky, Sutskever & Hinton, NIPS 2012).

torchvision's ``alexnet`` is the later single-GPU variant ("One weird trick",
Krizhevsky 2014) without Local Response Normalization; this is the paper's:
96-256-384-384-256 filters, conv2/conv4/conv5 split into two groups (the two
GPUs), LRN (k=2, n=5, alpha=1e-4, beta=0.75) after the ReLUs of conv1 and conv2,
overlapping 3x3/2 max-pooling, and dropout 0.5 after fc6 and fc7. Weights start
from N(0, 0.01), biases at 1 in conv2, conv4, conv5, fc6 and fc7 and 0 elsewhere
(Section 5). The adaptive pool before fc6 is the identity for 224x224 inputs and
lets other sizes through (at least 63x63).

``norm`` replaces the two LRN layers where they stand (``"none"`` removes them).

ABN split: conv1 and conv2 blocks extract features (13x13 for 224x224 images), the
attention branch reads a stride-1 copy of ``block3`` (conv3 to conv5, without
the last pool), and the perception branch is ``block3``, ``avgpool`` and ``classifier``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Unpack, cast

from torch import Tensor, nn

from vision.models.abn import StageSplit
from vision.models.builder import BuildOptions, finish, resolve_options
from vision.norm import NormFactory, make_norm


class AlexNet(nn.Module):
    """The published AlexNet; ``norm`` builds the layers that stand where LRN stood."""

    def __init__(
        self, *, num_classes: int = 1000, norm: NormFactory | None = None, dropout: float = 0.5
    ) -> None:
        super().__init__()
        norm = norm or make_norm("lrn")
        self.features = nn.Sequential(
            OrderedDict(
                conv1=nn.Conv2d(3, 96, kernel_size=11, stride=4, padding=2),
                relu1=nn.ReLU(inplace=True),
                norm1=norm(96),
                pool1=nn.MaxPool2d(kernel_size=3, stride=2),
                conv2=nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2),
                relu2=nn.ReLU(inplace=True),
                norm2=norm(256),
                pool2=nn.MaxPool2d(kernel_size=3, stride=2),
                conv3=nn.Conv2d(256, 384, kernel_size=3, padding=1),
                relu3=nn.ReLU(inplace=True),
                conv4=nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2),
                relu4=nn.ReLU(inplace=True),
                conv5=nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2),
                relu5=nn.ReLU(inplace=True),
                pool5=nn.MaxPool2d(kernel_size=3, stride=2),
            )
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            OrderedDict(
                fc6=nn.Linear(256 * 6 * 6, 4096),
                relu6=nn.ReLU(inplace=True),
                drop6=nn.Dropout(dropout),
                fc7=nn.Linear(4096, 4096),
                relu7=nn.ReLU(inplace=True),
                drop7=nn.Dropout(dropout),
                fc8=nn.Linear(4096, num_classes),
            )
        )
        self._init_as_published()

    def _init_as_published(self) -> None:
        biased_one = {"conv2", "conv4", "conv5", "fc6", "fc7"}
        for name, module in [*self.features.named_children(), *self.classifier.named_children()]:
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                bias = cast(Tensor, module.bias)  # every layer above is built with one
                nn.init.normal_(module.weight, mean=0.0, std=0.01)
                nn.init.constant_(bias, 1.0 if name in biased_one else 0.0)

    def forward(self, images: Tensor) -> Tensor:
        features = self.avgpool(self.features(images))  # (B, 256, 6, 6)
        return self.classifier(features.flatten(1))


def alexnet_split(model: AlexNet) -> StageSplit:
    """ABN split of ``AlexNet``: features through pool2, stage ``block3`` (conv3 to pool5)."""
    layers = OrderedDict(model.features.named_children())
    names = list(layers)
    cut = names.index("conv3")
    return StageSplit(
        features=OrderedDict((name, layers[name]) for name in names[:cut]),
        stage_name="block3",
        stage=nn.Sequential(OrderedDict((name, layers[name]) for name in names[cut:])),
        head=OrderedDict(avgpool=model.avgpool, flatten=nn.Flatten(1), classifier=model.classifier),
        feature_channels=256,
        stage_channels=256,
    )


def alexnet(**options: Unpack[BuildOptions]) -> nn.Module:
    """AlexNet as published, with LRN (see the module docstring); no pretrained weights exist.

    Args: see ``vision.models.builder.BuildOptions``.
    """
    resolved = resolve_options("alexnet", has_weights=False, published_norm="lrn", **options)
    model = AlexNet(num_classes=resolved.num_classes, norm=resolved.norm_layer())
    return finish(model, resolved, split=alexnet_split)
