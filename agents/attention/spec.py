"""What a design is (``Design``, one registry entry) and what an agent's attention is
(``AttentionSpec``, a design with every option it takes resolved)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from torch import nn

from agents.backbones import Backbone

MotionPooling = Literal["receptive-field", "even"]
MOTION_POOLINGS: tuple[str, ...] = get_args(MotionPooling)

MapKind = Literal["distributions", "gates"]
"""``distributions``: each map sums to 1 over its positions (a budget the design spends);
``gates``: each position holds a weight in [0, 1] of its own."""

OPTIONS: tuple[str, ...] = ("heads", "groups", "motion", "motion_pooling")
"""Every option any design can take; a design's ``Design.options`` is a subset."""


@dataclass(frozen=True)
class AttentionSpec:
    """A design and the resolved value of each option it takes (None for the others).

    Made by ``agents.attention.attention_spec``, which fills the design's defaults and
    refuses options the design does not take.
    """

    design: str
    heads: int | None = None
    """Maps per agent step (``softmax``: one per head)."""
    groups: int | None = None
    """GroupNorm groups of an attention branch."""
    motion: bool | None = None
    """The features the design reads carry ``agents.actor_critic.motion_channel``."""
    motion_pooling: MotionPooling | None = None
    """How the motion channel is pooled into the map's cells (``ABNActorCritic``)."""

    def options(self) -> dict[str, Any]:
        """The options this spec sets, by name (the ones its design takes)."""
        values = {name: getattr(self, name) for name in OPTIONS}
        return {name: value for name, value in values.items() if value is not None}

    def option(self, name: str) -> Any:
        """The value of an option the design takes (a builder reads its own options)."""
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"The {self.design} design takes no {name} option.")
        return value


@dataclass(frozen=True)
class Design:
    """One attention design: how to build it, what it takes, what its maps are."""

    build: Callable[[Backbone, int, AttentionSpec], nn.Module]
    """(backbone parts, number of actions, spec) -> the design's module, which returns
    an ``AttentionOutput`` and takes ``edit_maps``."""
    summary: str
    """One line for ``--help`` and the README's design table."""
    maps: MapKind
    options: Mapping[str, Any] = field(default_factory=dict)
    """The options the design takes (names from ``OPTIONS``) and their defaults for new
    agents."""
    maps_per_step: Callable[[AttentionSpec], int] = lambda spec: 1
    """How many maps it draws for one observation."""
