"""Spatial-softmax attention: heads that must spend a budget to see anything.

Each head scores every position of ``[g, B]`` (features with a fixed spatial basis
``B``) by the cosine similarity between the position's key and the head's learned
query, times the head's learned temperature; a softmax over the positions turns the
scores into a distribution, which pools ``[g, B]``. The pooled vectors are the
heads' only input, so the weights are exactly what the policy sees: a head that
spreads out sees a blur, a head that picks a place sees it and, through ``B``, where
it is (Mott et al., "Towards Interpretable Reinforcement Learning Using Attention
Augmented Agents", NeurIPS 2019; the budget is also Free-Lunch Saliency's idea,
Nikulin et al., 2019).

Why cosine scores (scaled cosine attention, as in Liu et al.'s Swin Transformer V2,
2022): they lie in [-1, 1], so a head is only as sharp as its temperature. With
unbounded scores (a conv's output, even standardized over the positions, where one
outlier still reaches sqrt(h * w - 1)) the heads of an RL agent went one-hot on
fixed places (a wall, a corner) within 100k steps, where the softmax's gradient
vanishes and a head can no longer move.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agents.attention.output import AttentionOutput, MapEdit
from agents.attention.spec import Design
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
        heads: number of attention heads, each with its own query and map.
        key_dim: length of the keys and queries.
        temperature: every head's initial inverse temperature (score of a perfect match).
    """

    basis: Tensor
    """(C_basis, h, w) the spatial basis appended to the features (a buffer)."""

    def __init__(
        self,
        parts: Backbone,
        n_actions: int,
        *,
        heads: int = 4,
        key_dim: int = 32,
        temperature: float = 5.0,
    ) -> None:
        super().__init__()
        basis = spatial_basis(parts.map_size)
        channels = parts.channels + basis.shape[0]
        self.register_buffer("basis", basis, persistent=False)
        self.to_keys = nn.Sequential(
            nn.Conv2d(channels, 64, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(64, key_dim, kernel_size=1),
        )
        self.queries = nn.Parameter(torch.randn(heads, key_dim))
        # One learned inverse temperature per head, log-parametrised.
        self.log_temperature = nn.Parameter(torch.full((heads,), math.log(temperature)))
        # The latent vector the policy and value heads read: the backbone's own width.
        self.readout = nn.Sequential(nn.Linear(heads * channels, parts.features_dim), nn.ReLU())

    def forward(self, features: Tensor, edit_maps: MapEdit | None = None) -> AttentionOutput:
        batch = features.shape[0]
        values = torch.cat([features, self.basis.expand(batch, -1, -1, -1)], dim=1)  # (B, C', h, w)
        keys = F.normalize(self.to_keys(values).flatten(2), dim=1)  # (B, d, h * w)
        queries = F.normalize(self.queries, dim=1)  # (K, d)
        cosines = torch.einsum("kd,bdn->bkn", queries, keys)  # (B, K, h * w) in [-1, 1]
        scores = cosines * self.log_temperature.exp()[:, None]
        weights = scores.softmax(dim=-1).view(batch, -1, *features.shape[2:])  # each sums to 1
        if edit_maps is not None:
            weights = edit_maps(weights)
        pooled = torch.einsum("bkn,bcn->bkc", weights.flatten(2), values.flatten(2))  # (B, K, C')
        latent = self.readout(pooled.flatten(1))  # (B, features_dim)
        return AttentionOutput(latent, latent, weights, None)


SOFTMAX = Design(
    build=lambda parts, n_actions, spec: SpatialSoftmaxAttention(
        parts, n_actions, heads=spec.option("heads")
    ),
    summary="spatial-softmax heads that pool the features: the policy sees only what they weight",
    maps="distributions",
    # 8 heads learned faster than 4 at equal steps; with the motion channel the heads
    # found the ball twice as often at 2M steps; pooled on even tiles rather than over
    # the cells' receptive fields, the map was on the ball more often at 2M steps
    # (seed 0: 33.7% against 18.8%; docs/results/attention.md).
    options={"heads": 8, "motion": True, "motion_pooling": "even"},
    maps_per_step=lambda spec: spec.option("heads"),
)
