"""Attention designs of the actor-critic: each turns the backbone's features into the
latent vectors its heads read, and into one attention map per head.

Every design returns an ``AttentionOutput`` and accepts ``edit_maps``, a function
applied to its maps before they act on the features: the dependence tests replace
the maps (by their spatial mean, by another frame's maps) through it.

* ``abn``: the Attention Branch Network (Fukui et al., CVPR 2019) with the authors'
  3x3 map conv and no per-sample normalization of the map;
* ``abn-groupnorm``: the same branch with a 1x1 map conv and GroupNorm on the map,
  as agents were built before the designs existed (checkpoints without a design
  name load as this one);
* ``mask``: Mask-Attention A3C (Itaya et al., 2021), sigmoid masks multiplying the
  features, one for the policy, one for the value;
* ``softmax``: spatial-softmax heads whose weights are the only route from the
  features to the heads (Mott et al., 2019; Nikulin et al., 2019's budget idea).
"""

from __future__ import annotations

from typing import Literal, get_args

from agents.attention.abn import BranchAttention
from agents.attention.mask import MaskAttention
from agents.attention.output import AttentionOutput, MapEdit
from agents.attention.softmax import SpatialSoftmaxAttention

AttentionName = Literal["abn", "abn-groupnorm", "mask", "softmax"]
ATTENTIONS: tuple[str, ...] = get_args(AttentionName)
DEFAULT_ATTENTION: AttentionName = "softmax"
"""The design new agents get: the one whose maps the policy depends on (benchmarks/RESULTS.md,
"Attention designs")."""
DEFAULT_HEADS = 8
"""Heads of a new ``softmax`` agent (8 learned faster than 4 at equal steps)."""
DEFAULT_MOTION = True
"""Whether a new ``softmax`` agent's heads see the motion channel (at 2M steps its heads
found the ball twice as often, and it learned faster; benchmarks/RESULTS.md)."""


def default_motion(attention: str) -> bool:
    """Whether a new agent of the ``attention`` design gets the motion channel."""
    return DEFAULT_MOTION and attention == "softmax"


AttentionDesign = BranchAttention | MaskAttention | SpatialSoftmaxAttention
LEGACY_ATTENTION: AttentionName = "abn-groupnorm"
"""The design of checkpoints saved without a design name."""

__all__ = [
    "ATTENTIONS",
    "BranchAttention",
    "AttentionDesign",
    "AttentionOutput",
    "DEFAULT_ATTENTION",
    "DEFAULT_HEADS",
    "DEFAULT_MOTION",
    "LEGACY_ATTENTION",
    "MapEdit",
    "default_motion",
    "MaskAttention",
    "SpatialSoftmaxAttention",
]
