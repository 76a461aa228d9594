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

A new design is one module that defines its ``Design`` and one line in ``DESIGNS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from agents.attention.abn import ABN, ABN_GROUPNORM, BranchAttention
from agents.attention.mask import MASK, MaskAttention
from agents.attention.output import AttentionOutput, MapEdit
from agents.attention.softmax import SOFTMAX, SpatialSoftmaxAttention
from agents.attention.spec import (
    MOTION_POOLINGS,
    OPTIONS,
    AttentionSpec,
    Design,
    MotionPooling,
)

DESIGNS: dict[str, Design] = {
    "abn": ABN,
    "abn-groupnorm": ABN_GROUPNORM,
    "mask": MASK,
    "softmax": SOFTMAX,
}
ATTENTIONS: tuple[str, ...] = tuple(DESIGNS)
if TYPE_CHECKING:
    AttentionName = str
else:  # the registry's names, for the command line's choices
    AttentionName = Literal[ATTENTIONS]
DEFAULT_ATTENTION: AttentionName = "softmax"
"""The design new agents get: the one whose maps the policy depends on (docs/results/attention.md,
"Attention designs")."""
LEGACY_ATTENTION: AttentionName = "abn-groupnorm"
"""The design of checkpoints saved without a design name."""
LEGACY_OPTIONS: dict[str, Any] = {"heads": 4, "motion": False, "motion_pooling": "even"}
"""What agents saved before each option was stored in their file had."""


def design(name: str) -> Design:
    """The registry entry of the design ``name``."""
    if name not in DESIGNS:
        raise ValueError(f"Unknown attention {name!r}; choose one of {', '.join(DESIGNS)}.")
    return DESIGNS[name]


def attention_spec(name: str = DEFAULT_ATTENTION, **given: Any) -> AttentionSpec:
    """The design ``name`` with the options ``given`` (None: not given) and its defaults
    for the rest.

    Raises:
        ValueError: an unknown design, an option it does not take, or a bad value.
    """
    entry = design(name)
    given = {option: value for option, value in given.items() if value is not None}
    for option in given:
        if option not in OPTIONS:
            raise ValueError(f"{option!r} is not an attention option ({', '.join(OPTIONS)}).")
        if option not in entry.options:
            takes = ", ".join(entry.options) or "no options"
            raise ValueError(f"The {name} design takes no {option} option (it takes {takes}).")
    options = {**entry.options, **given}
    if "heads" in options and (type(options["heads"]) is not int or options["heads"] < 1):
        raise ValueError(f"heads must be a positive whole number, not {options['heads']!r}.")
    if options.get("motion_pooling", MOTION_POOLINGS[0]) not in MOTION_POOLINGS:
        raise ValueError(
            f"Unknown motion pooling {options['motion_pooling']!r}; choose one of "
            f"{', '.join(MOTION_POOLINGS)}."
        )
    return AttentionSpec(name, **options)


def saved_attention_spec(name: str, options: dict[str, Any]) -> AttentionSpec:
    """The spec of an agent or run saved with ``options``: older files stored some options
    for every design (heads for all), so the ones the design does not take are dropped."""
    taken = design(name).options
    return attention_spec(name, **{k: v for k, v in options.items() if k in taken})


__all__ = [
    "ATTENTIONS",
    "AttentionName",
    "AttentionOutput",
    "AttentionSpec",
    "BranchAttention",
    "DEFAULT_ATTENTION",
    "DESIGNS",
    "Design",
    "LEGACY_ATTENTION",
    "LEGACY_OPTIONS",
    "MOTION_POOLINGS",
    "OPTIONS",
    "MapEdit",
    "MaskAttention",
    "MotionPooling",
    "SpatialSoftmaxAttention",
    "attention_spec",
    "design",
    "saved_attention_spec",
]
