"""What every attention design returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from torch import Tensor

MapEdit = Callable[[Tensor], Tensor]
"""A function ``(B, K, h, w) maps -> (B, K, h, w) maps`` applied before the maps act."""


class AttentionOutput(NamedTuple):
    """A design's latent vectors for the two heads, its maps, and its own outputs."""

    policy_latent: Tensor
    """(B, D) what the policy head reads."""
    value_latent: Tensor
    """(B, D) what the value head reads (the same tensor when the design shares it)."""
    maps: Tensor
    """(B, K, h, w) one map per head, each in [0, 1], as they acted on the features."""
    branch_logits: Tensor | None
    """(B, A + 1) an attention branch's own action logits and value; None without one."""
