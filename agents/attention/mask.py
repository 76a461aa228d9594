"""Mask-Attention A3C's attention (Itaya et al., IJCNN 2021) in an actor-critic."""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from agents.attention.output import AttentionOutput, MapEdit
from agents.attention.spec import Design
from agents.backbones import Backbone


class MaskAttention(nn.Module):
    """Two sigmoid masks, one for the policy and one for the value, multiply ``g``.

    ``M_pi * g`` feeds the perception trunk of the policy, ``M_v * g`` a copy of it
    for the value: no residual, so what a mask lowers the head does not see. The
    masks have no loss of their own.

    Args:
        parts: the backbone (its perception trunk and sizes).
        n_actions: unused; every design takes it.
    """

    def __init__(self, parts: Backbone, n_actions: int) -> None:
        super().__init__()
        channels = parts.channels
        self.to_masks = nn.Sequential(
            nn.Conv2d(channels, channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, 2, kernel_size=1),
        )
        self.policy_perception = parts.perception
        self.value_perception = copy.deepcopy(parts.perception)

    def forward(self, features: Tensor, edit_maps: MapEdit | None = None) -> AttentionOutput:
        masks = torch.sigmoid(self.to_masks(features))  # (B, 2, h, w): policy, value
        if edit_maps is not None:
            masks = edit_maps(masks)
        policy_latent = self.policy_perception(features * masks[:, :1])  # (B, D)
        value_latent = self.value_perception(features * masks[:, 1:])  # (B, D)
        return AttentionOutput(policy_latent, value_latent, masks, None)


MASK = Design(
    build=lambda parts, n_actions, spec: MaskAttention(parts, n_actions),
    summary="Mask-Attention A3C's sigmoid masks, one for the policy, one for the value",
    maps="gates",
    maps_per_step=lambda spec: 2,
)
