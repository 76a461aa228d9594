"""The attention branch of an Attention Branch Network (Fukui et al., CVPR 2019).

One module serves every ABN in the project: the image classifiers of
``vision.models`` and the RL policies of ``agents``. Given features ``g(x)`` of
shape (B, C, H, W) it produces

* K response maps, one per output (a class, an action, the value), whose global
  average pools are the attention branch's own outputs, trained with their own loss;
* one attention map ``M(x)`` in [0, 1], shape (B, 1, H, W), which the perception
  branch applies as ``g'(x) = (1 + M(x)) * g(x)`` (``apply_attention``).

Layout as in the paper's reference models: ``body`` (for classifiers a stride-1
copy of the next stage) -> norm -> ReLU -> 1x1 conv to K -> norm -> ReLU, then
1x1 conv K->K -> GAP for the outputs, and a conv K->1 -> sigmoid for M.

The map's own layer: the authors use a 3x3 conv followed by BatchNorm. At
inference BatchNorm is an affine map, which a conv with bias already is, so
``normalize_map=False`` (conv with bias, no norm) gives the authors' inference-time
layer and the same output in training and acting. ``normalize_map=True`` puts the
``norm`` layer on the one-channel map instead; a per-sample norm there (GroupNorm,
LayerNorm) pins each map's mean and spread, so a peak cannot stand out.

``positive_map=True`` makes the map conv's weights non-negative (``softplus`` of
the stored ones). The response maps it reads are ReLU'd, non-negative class
evidence: with non-negative weights M rises wherever the evidence does, while
with free weights the map's sign is arbitrary and M often points at the
background. On the shapes set (ResNet-20, 3 epochs, 3 seeds) the pointing game
went from 61.2 +- 17.0 % (3x3, free weights) to 88.7 +- 9.2 % and the top-1
error from 1.50 to 0.90 %.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vision.norm import NormFactory


class AttentionBranchOutput(NamedTuple):
    """What the attention branch computes for a batch."""

    logits: Tensor
    """(B, K) global average pools of the response maps."""
    attention: Tensor
    """(B, 1, H, W) attention map M in [0, 1]."""
    maps: Tensor
    """(B, K, H, W) response maps, one per output."""


class AttentionBranch(nn.Module):
    """ABN attention branch: response maps, their GAP outputs, and the attention map.

    Args:
        in_channels: channels of the features it reads.
        num_outputs: K, the number of response maps and outputs.
        body: layers applied first (a stride-1 copy of the next stage in the
            paper's classifiers); identity when None.
        body_channels: channels ``body`` produces; ``in_channels`` when None.
        norm: factory ``channels -> module`` for the normalization layers.
        map_kernel_size: kernel of the conv that makes M (the authors': 3).
        normalize_map: put ``norm`` on M's logits (see the module's notes).
        positive_map: give the conv that makes M non-negative weights, ``softplus``
            of the stored ``to_attention.weight`` (see the module's notes).
    """

    def __init__(
        self,
        in_channels: int,
        num_outputs: int,
        *,
        body: nn.Module | None = None,
        body_channels: int | None = None,
        norm: NormFactory = nn.BatchNorm2d,
        map_kernel_size: int = 1,
        normalize_map: bool = True,
        positive_map: bool = False,
    ) -> None:
        super().__init__()
        channels = body_channels or in_channels
        self.body = body if body is not None else nn.Identity()
        self.body_norm = norm(channels)
        self.to_maps = nn.Conv2d(channels, num_outputs, kernel_size=1, bias=False)
        self.maps_norm = norm(num_outputs)
        self.scores = nn.Conv2d(num_outputs, num_outputs, kernel_size=1, bias=False)
        self.to_attention = (SoftplusConv2d if positive_map else nn.Conv2d)(
            num_outputs,
            1,
            kernel_size=map_kernel_size,
            padding=map_kernel_size // 2,
            bias=not normalize_map,
        )
        self.attention_norm = norm(1) if normalize_map else nn.Identity()

    def forward(self, features: Tensor) -> AttentionBranchOutput:
        h = torch.relu(self.body_norm(self.body(features)))
        h = torch.relu(self.maps_norm(self.to_maps(h)))  # (B, K, H, W)
        maps = self.scores(h)  # (B, K, H, W)
        attention = torch.sigmoid(self.attention_norm(self.to_attention(h)))  # (B, 1, H, W)
        return AttentionBranchOutput(maps.mean(dim=(2, 3)), attention, maps)


class SoftplusConv2d(nn.Conv2d):
    """A conv whose effective weights are ``softplus(weight)``: never negative.

    The stored parameter keeps its name ``weight`` (it holds the raw values), so a
    state dict has the same keys as a plain ``nn.Conv2d``'s (``torch.nn.utils.parametrize``
    would store it as ``parametrizations.weight.original``); the bias stays free.
    """

    @property
    def effective_weight(self) -> Tensor:
        """The weights the conv applies, ``softplus(weight)``."""
        return F.softplus(self.weight)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.effective_weight, self.bias)


def apply_attention(features: Tensor, attention: Tensor) -> Tensor:
    """The perception branch's input ``(1 + M) * g``: attention highlights, never erases."""
    return features * (1.0 + attention)
