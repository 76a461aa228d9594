"""Attention Branch Network around any staged classifier (Fukui et al., CVPR 2019).

Every family in ``vision.models`` describes where it splits (a ``StageSplit``):
the feature extractor (all stages but the last), the last stage, and the head
(pooling and classifier). ``attention_branch_network`` turns that split into

* ``features``: the feature extractor, giving ``g(x)``;
* ``attention_branch``: an ``AttentionBranch`` whose body is a stride-1 copy of the
  last stage, so the attention map ``M(x)`` keeps the resolution of ``g(x)``
  (14x14 for a 224x224 ResNet input, 16x16 for a 32x32 CIFAR ResNet input);
* ``perception``: the last stage and head, applied to ``(1 + M(x)) * g(x)``.

The copy starts from the last stage's current weights, so with pretrained
weights the attention branch starts pretrained too.

The attention map's conv is one of ``ABN_MAPS``: ``"positive"`` (3x3 with
non-negative weights, the default: its map follows the class evidence instead
of often pointing at the background; see ``vision.models.attention_branch``),
``"3x3"`` (the ABN authors' conv, free weights) or ``"1x1"`` (free weights, as
models built before the choice existed).
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal, NamedTuple, get_args

import torch.nn.functional as F
from torch import Tensor, nn

from vision.models.attention_branch import AttentionBranch, apply_attention
from vision.norm import NormFactory

ABNMap = Literal["positive", "3x3", "1x1"]
ABN_MAPS: tuple[str, ...] = get_args(ABNMap)
"""The choices of the attention map's conv (see the module's notes)."""

_MAP_CONVS: dict[str, tuple[int, bool]] = {
    "positive": (3, True),
    "3x3": (3, False),
    "1x1": (1, False),
}
"""Each of ``ABN_MAPS`` as (kernel size, non-negative weights)."""


class ABNOutput(NamedTuple):
    """What an Attention Branch Network computes for a batch."""

    logits: Tensor
    """(B, K) class scores of the perception branch: the model's prediction."""
    attention_logits: Tensor
    """(B, K) class scores of the attention branch, trained with their own loss."""
    attention: Tensor
    """(B, 1, h, w) attention map M in [0, 1] at the feature extractor's resolution."""


def abn_loss(output: ABNOutput, target: Tensor) -> Tensor:
    """The ABN training loss: cross-entropy of the attention branch plus the perception branch."""
    return F.cross_entropy(output.attention_logits, target) + F.cross_entropy(output.logits, target)


@dataclass
class StageSplit:
    """A classifier cut where the attention branch attaches.

    Attributes:
        features: named modules of the feature extractor, in order.
        stage_name: name of the last stage (``layer4`` for a ResNet).
        stage: the last stage; the attention branch gets a stride-1 copy of it.
        head: named modules after the last stage (pooling, flatten, classifier).
        feature_channels: channels of the feature extractor's output.
        stage_channels: channels of the last stage's output.
    """

    features: OrderedDict[str, nn.Module]
    stage_name: str
    stage: nn.Module
    head: OrderedDict[str, nn.Module]
    feature_channels: int
    stage_channels: int


class AttentionBranchNetwork(nn.Module):
    """Feature extractor, attention branch and perception branch; returns ``ABNOutput``."""

    def __init__(
        self, features: nn.Module, attention_branch: AttentionBranch, perception: nn.Sequential
    ) -> None:
        super().__init__()
        self.features = features
        self.attention_branch = attention_branch
        self.perception = perception

    def forward(self, images: Tensor) -> ABNOutput:
        features = self.features(images)  # (B, C, h, w)
        branch = self.attention_branch(features)
        logits = self.perception(apply_attention(features, branch.attention))
        return ABNOutput(logits, branch.logits, branch.attention)


def attention_branch_network(
    split: StageSplit, *, num_classes: int, norm: NormFactory, map_conv: ABNMap = "positive"
) -> AttentionBranchNetwork:
    """Build the ABN of a classifier from its ``split``.

    The attention map is made as the ABN authors make it, a conv followed by
    ``norm`` and a sigmoid, with the conv ``map_conv`` names.

    Args:
        split: where the classifier splits; its modules are reused, not copied.
        num_classes: K, the attention branch's number of class maps.
        norm: normalization factory for the attention branch's own layers, the
            attention map's included.
        map_conv: one of ``ABN_MAPS``: ``"positive"`` (3x3, non-negative weights),
            ``"3x3"`` (the ABN authors') or ``"1x1"`` (models built before the choice).
    """
    map_kernel_size, positive_map = _MAP_CONVS[map_conv]
    branch = AttentionBranch(
        split.feature_channels,
        num_classes,
        body=stride_one_copy(split.stage),
        body_channels=split.stage_channels,
        norm=norm,
        map_kernel_size=map_kernel_size,
        normalize_map=True,
        positive_map=positive_map,
    )
    perception = nn.Sequential(OrderedDict([(split.stage_name, split.stage), *split.head.items()]))
    return AttentionBranchNetwork(nn.Sequential(split.features), branch, perception)


def stride_one_copy(stage: nn.Module) -> nn.Module:
    """A deep copy of ``stage`` that keeps its input resolution.

    Strided convolutions get stride 1 and strided pooling layers are dropped, so
    the copy computes the same kind of features as the stage without downsampling.
    Its ReLUs work out of place: the copy shares its input with the perception branch.
    """
    copied = copy.deepcopy(stage)
    _adapt_copy(copied)
    return copied


def _adapt_copy(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.Conv2d):
            child.stride = (1, 1)
        elif isinstance(child, (nn.MaxPool2d, nn.AvgPool2d)) and _is_strided(child.stride):
            setattr(module, name, nn.Identity())
        elif isinstance(child, nn.ReLU):
            child.inplace = False
        else:
            _adapt_copy(child)


def _is_strided(stride: int | tuple[int, ...]) -> bool:
    return any(s > 1 for s in (stride if isinstance(stride, tuple) else (stride,)))
