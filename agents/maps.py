"""Attention maps read as distributions over positions: for the maps' losses, their
analysis and the video."""

from __future__ import annotations

import math

import torch


def as_distributions(maps: torch.Tensor) -> torch.Tensor:
    """(..., h, w) non-negative maps as (..., h * w) distributions over positions."""
    flat = maps.flatten(-2)
    return flat / flat.sum(dim=-1, keepdim=True).clamp_min(1e-12)


def normalized_entropy(distributions: torch.Tensor) -> torch.Tensor:
    """Entropy over the last dim, divided by that of a uniform distribution."""
    entropy = -(distributions * distributions.clamp_min(1e-12).log()).sum(dim=-1)
    return entropy / math.log(distributions.shape[-1])
