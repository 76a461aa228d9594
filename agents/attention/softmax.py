"""Spatial-softmax attention: heads that must spend a budget to see anything.

Each head scores every position of ``[g, B]`` (features with a fixed spatial basis
``B``), standardizes its scores over the positions, turns them into a distribution
with a softmax at a learned temperature, and pools ``[g, B]`` with it. The
standardization is what keeps heads alive: with raw scores, heads of an RL agent
grew one-hot on fixed places (a wall, a corner) within 100k steps, where the
softmax's gradient vanishes; standardized, a head sharpens only as fast as its
temperature is learned. The pooled vectors are the heads'
only input, so the weights are exactly what the policy sees: a head that spreads
out sees a blur, a head that picks a place sees it and, through ``B``, where it is
(Mott et al., "Towards Interpretable Reinforcement Learning Using Attention
Augmented Agents", NeurIPS 2019; the budget is also Free-Lunch Saliency's idea,
Nikulin et al., 2019).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from agents.attention.output import AttentionOutput, MapEdit
from agents.backbones import Backbone

BASIS_FREQUENCIES = (0.5, 1.0, 2.0)
"""Frequencies of the spatial basis, in half-periods over the map (0.5: monotonic)."""


def spatial_basis(size: int, frequencies: tuple[float, ...] = BASIS_FREQUENCIES) -> Tensor:
    """(4 * len(frequencies), size, size): sin and cos of pi * f * x and of pi * f * y."""
    coordinates = torch.linspace(-1.0, 1.0, size)
    x, y = coordinates[None, :].expand(size, size), coordinates[:, None].expand(size, size)
    channels = []
    for frequency in frequencies:
        for axis in (x, y):
            angle = math.pi * frequency * axis
            channels += [torch.sin(angle), torch.cos(angle)]
    return torch.stack(channels)


class SpatialSoftmaxAttention(nn.Module):
    """``heads`` spatial-softmax distributions pool the features; a linear layer reads them.

    Args:
        parts: the backbone (channels and map size of ``g``).
        n_actions: unused; every design takes it.
        heads: number of attention heads, each with its own map.
        hidden: size of the latent vector the policy and value heads read.
    """

    maps_are_distributions = True
    """Whether each map sums to 1 over positions (rather than holding values in [0, 1])."""

    def __init__(self, parts: Backbone, n_actions: int, *, heads: int = 4, hidden: int = 512):
        super().__init__()
        basis = spatial_basis(parts.map_size)
        channels = parts.channels + basis.shape[0]
        self.register_buffer("basis", basis, persistent=False)
        self.to_scores = nn.Sequential(
            nn.Conv2d(channels, 64, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(64, heads, kernel_size=1),
            # Each head's scores standardized over the positions of each sample.
            nn.GroupNorm(heads, heads, affine=False),
        )
        # One learned inverse temperature per head, log-parametrised (starts at 1).
        self.log_sharpness = nn.Parameter(torch.zeros(heads))
        self.readout = nn.Sequential(nn.Linear(heads * channels, hidden), nn.ReLU())

    def forward(self, features: Tensor, edit_maps: MapEdit | None = None) -> AttentionOutput:
        batch = features.shape[0]
        keys = torch.cat([features, self.basis.expand(batch, -1, -1, -1)], dim=1)  # (B, C', h, w)
        scores = self.to_scores(keys) * self.log_sharpness.exp()[:, None, None]  # (B, K, h, w)
        weights = scores.flatten(2).softmax(dim=-1).view_as(scores)  # each head sums to 1
        if edit_maps is not None:
            weights = edit_maps(weights)
        pooled = torch.einsum("bkn,bcn->bkc", weights.flatten(2), keys.flatten(2))  # (B, K, C')
        latent = self.readout(pooled.flatten(1))  # (B, hidden)
        return AttentionOutput(latent, latent, weights, None)
