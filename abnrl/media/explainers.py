"""Heat maps of a policy's decisions, by explainer name, for videos and reports."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from abnrl.errors import UserError
from agents.actor_critic import ABNActorCritic
from agents.attention import design
from agents.maps import as_distributions, normalized_entropy
from envs.objects import OBSERVATION_SIZE
from vision.explain import (
    EXPLAINERS,
    ABNAttention,
    ActionTarget,
    Explainer,
    canonical_name,
    get_explainer,
)
from vision.explain.registration import Registration

HEADS = "heads"
"""Not an explainer of ``vision.explain``: a marker where each of the agent's heads looks."""
NONE = "none"
"""No heat map."""
POLICY_MAPS: tuple[str, ...] = tuple(
    name for name, entry in EXPLAINERS.items() if not entry.needs_gap_classifier
)
"""The explainers of ``vision.explain`` that explain a policy's actions (not CAM, which
needs a classifier on pooled features)."""
POLICY_EXPLAINERS: tuple[str, ...] = (*POLICY_MAPS, HEADS, NONE)
"""What ``abnrl watch --explainer`` takes (and ``abn``, the old name of ``attention``)."""
LEGENDS = {name: ("circle: the map's peak",) for name in POLICY_MAPS} | {
    HEADS: ("heads: dot sharp, ring broad",)
}
"""What the video's marks mean, one line each, by explainer."""


def needs_own_maps(name: str) -> bool:
    """Whether the heat map ``name`` (an alias too) is drawn from the agent's own attention."""
    name = canonical_name(name)
    return name == HEADS or (name in EXPLAINERS and EXPLAINERS[name].own_attention)


class HeadMaps(NamedTuple):
    """Every attention head's map of one agent step, for the video to mark."""

    maps: np.ndarray
    """(K, 84, 84) each head's map placed on the observation (its cells where they look)."""
    sharp: list[bool]
    """Per head: its map's entropy on its own grid is below ``SHARP_ENTROPY`` of a flat map's."""


SHARP_ENTROPY = 0.6
"""A head whose map's entropy is below this share of a flat map's is marked by a filled
dot; a broader one, whose peak says little about where it looks, by a ring."""


class PolicyExplainer:
    """One heat map per agent step, in [0, 1], placed on the 84x84 observation.

    ``"attention"`` reads the attention map from the output the agent acted on: no extra
    pass; ``"heads"`` reads every head's map from it (``HeadMaps``), for the video to mark
    where each head looks. The agent's maps are placed by the registration of the
    features they weigh (conv2's cells of the Nature CNN at 9.5 + 8i pixels). The others
    are ``vision.explain``'s, built by its registry, and explain the chosen action.
    """

    def __init__(
        self,
        name: str,
        explainer: Explainer | None,
        *,
        title: str | None = None,
        registration: Registration | None = None,
        distributions: bool = False,
    ) -> None:
        self.name = name
        self.title = title or get_explainer(name).title
        self._explainer = explainer
        self.registration = registration
        """Where the agent's own maps' cells sit in the observation (None: other maps)."""
        self._distributions = distributions

    @classmethod
    def create(cls, name: str, network: nn.Module) -> PolicyExplainer:
        """The heat map ``name`` (a name of ``POLICY_EXPLAINERS`` but none, or an alias).

        Raises:
            UserError: the agent's own maps of an agent without attention.
            ValueError: an unknown name.
        """
        name = canonical_name(name)
        if not needs_own_maps(name):
            return cls(name, get_explainer(name).build(network))
        if not isinstance(network, ABNActorCritic):
            others = [n for n in POLICY_MAPS if not needs_own_maps(n)]
            raise UserError(
                "The attention map needs an agent with attention; for this agent use "
                f"--explainer {', '.join(others[:-1])} or {others[-1]}."
            )
        heads = attention_heads(network)
        if name == HEADS:
            title = f"where each of the {heads} heads looks"
        else:
            title = get_explainer(name).title
            title += f", mean of {heads} heads" if heads > 1 else ""
        return cls(
            name,
            None,
            title=title,
            registration=agent_registration(network),
            distributions=design(network.spec.design).maps == "distributions",
        )

    def heat_map(self, observations: Tensor, output, action: int) -> np.ndarray | HeadMaps:
        """The map for the first observation of the batch and the action taken."""
        if self.registration is not None:
            heads = output.attention[0].float()  # (K, h, w)
            if self.name == HEADS:
                entropy = normalized_entropy(as_distributions(heads.clamp_min(0)))
                placed = self.registration.place(heads).cpu().numpy()
                return HeadMaps(placed, (entropy < SHARP_ENTROPY).tolist())
            return self._attention_map(heads).cpu().numpy()
        assert self._explainer is not None
        explanation = self._explainer(observations.float(), ActionTarget(action))
        return explanation.maps[0].float().cpu().numpy()

    def _attention_map(self, heads: Tensor) -> Tensor:
        # Heads averaged, as the analysis scores them. Sigmoid maps keep their absolute
        # level (a flat map shows as flat); a distribution's peak is scaled to 1.
        assert self.registration is not None
        attention = self.registration.place(heads.mean(dim=0))  # (84, 84)
        return attention / attention.max() if self._distributions else attention

    def close(self) -> None:
        if self._explainer is not None:
            self._explainer.close()


def _observation_batch(network: nn.Module) -> Tensor:
    device = next(network.parameters()).device
    return torch.zeros(1, 4, OBSERVATION_SIZE, OBSERVATION_SIZE, device=device)


def attention_heads(network: ABNActorCritic) -> int:
    """How many attention maps the agent computes (its design's registry entry says)."""
    return design(network.spec.design).maps_per_step(network.spec)


def agent_registration(network: ABNActorCritic) -> Registration:
    """Where the cells of the agent's attention maps sit in its observations."""
    observations = _observation_batch(network)
    with torch.no_grad():
        height, width = network(observations).attention.shape[-2:]
    with ABNAttention(network) as attention:
        return attention.registration(observations, (height, width))
