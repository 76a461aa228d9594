"""Heat maps of a policy's decisions, by explainer name, for videos and reports."""

from __future__ import annotations

from typing import Literal, NamedTuple, get_args

import numpy as np
import torch
from torch import Tensor, nn

from abnrl.errors import UserError
from agents.actor_critic import ABNActorCritic
from agents.maps import as_distributions, normalized_entropy
from envs.objects import OBSERVATION_SIZE
from vision.explain import (
    ABNAttention,
    ActionTarget,
    Explainer,
    GradCAM,
    GuidedGradCAM,
    InputGradient,
    PerturbationSaliency,
    SmoothGrad,
)
from vision.explain.registration import Registration

ExplainerName = Literal[
    "abn", "heads", "gradcam", "guided-gradcam", "smoothgrad", "perturbation", "none"
]
EXPLAINERS: tuple[str, ...] = get_args(ExplainerName)
TITLES = {
    "abn": "attention",
    "heads": "attention heads",
    "gradcam": "Grad-CAM",
    "guided-gradcam": "Guided Grad-CAM",
    "smoothgrad": "SmoothGrad",
    "perturbation": "perturbation saliency",
}


def _vision_explainer(name: str, network: nn.Module) -> Explainer:
    if name == "gradcam":
        return GradCAM(network)
    if name == "guided-gradcam":
        return GuidedGradCAM(network)
    if name == "smoothgrad":
        return SmoothGrad(InputGradient(network), samples=16, seed=0)
    return PerturbationSaliency(network)  # Greydanus et al. (2018): the policy's logits


LEGENDS = {
    name: ("circle: the map's peak",)
    for name in ("abn", "gradcam", "guided-gradcam", "smoothgrad", "perturbation")
} | {"heads": ("heads: dot sharp, ring broad",)}
"""What the video's marks mean, one line each, by explainer."""


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

    ``"abn"`` reads the attention map from the output the agent acted on: no extra
    pass; ``"heads"`` reads every head's map from it (``HeadMaps``), for the video to mark
    where each head looks. The agent's maps are placed by the registration of the
    features they weigh (conv2's cells of the Nature CNN at 9.5 + 8i pixels). The others
    explain the chosen action (perturbation saliency: the whole policy) with
    ``vision.explain``.
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
        self.title = title or TITLES[name]
        self._explainer = explainer
        self.registration = registration
        """Where the agent's own maps' cells sit in the observation (None: other maps)."""
        self._distributions = distributions

    @classmethod
    def create(cls, name: str, network: nn.Module) -> PolicyExplainer:
        if name in ("abn", "heads"):
            if not isinstance(network, ABNActorCritic):
                raise UserError(
                    "The attention map needs an agent with attention; for this agent use "
                    "--explainer gradcam, guided-gradcam, smoothgrad or perturbation."
                )
            registration = agent_registration(network)
            heads = attention_heads(network)
            title = TITLES[name]
            if name == "abn" and heads > 1:
                title = f"attention, mean of {heads} heads"
            elif name == "heads":
                title = f"where each of the {heads} heads looks"
            return cls(
                name,
                None,
                title=title,
                registration=registration,
                distributions=network.attention.maps_are_distributions,
            )
        return cls(name, _vision_explainer(name, network))

    def heat_map(self, observations: Tensor, output, action: int) -> np.ndarray | HeadMaps:
        """The map for the first observation of the batch and the action taken."""
        if self.registration is not None:
            heads = output.attention[0].float()  # (K, h, w)
            if self.name == "heads":
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
    """How many attention maps the agent computes."""
    with torch.no_grad():
        return int(network(_observation_batch(network)).attention.shape[1])


def agent_registration(network: ABNActorCritic) -> Registration:
    """Where the cells of the agent's attention maps sit in its observations."""
    observations = _observation_batch(network)
    with torch.no_grad():
        height, width = network(observations).attention.shape[-2:]
    with ABNAttention(network) as attention:
        return attention.registration(observations, (height, width))
