"""Heat maps of a policy's decisions, by explainer name, for videos and reports."""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
from torch import Tensor, nn

from abnrl.errors import UserError
from agents.actor_critic import ABNActorCritic
from vision.explain import (
    ActionTarget,
    Explainer,
    GradCAM,
    GuidedGradCAM,
    InputGradient,
    PerturbationSaliency,
    SmoothGrad,
)

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


class PolicyExplainer:
    """One heat map per agent step, in [0, 1], at the observation's 84x84 (or the map's) size.

    ``"abn"`` reads the attention map from the output the agent acted on: no extra
    pass; ``"heads"`` reads every head's map from it, (K, h, w), for the video to mark
    where each head looks. The others explain the chosen action (perturbation saliency:
    the whole policy) with ``vision.explain``.
    """

    def __init__(
        self, name: str, explainer: Explainer | None, *, distributions: bool = False
    ) -> None:
        self.name = name
        self.title = TITLES[name]
        self._explainer = explainer
        self._distributions = distributions

    @classmethod
    def create(cls, name: str, network: nn.Module) -> PolicyExplainer:
        if name in ("abn", "heads"):
            if not isinstance(network, ABNActorCritic):
                raise UserError(
                    "The attention map needs an agent with attention; for this agent use "
                    "--explainer gradcam, guided-gradcam, smoothgrad or perturbation."
                )
            return cls(name, None, distributions=network.attention.maps_are_distributions)
        return cls(name, _vision_explainer(name, network))

    def heat_map(self, observations: Tensor, output, action: int) -> np.ndarray:
        """The map for the first observation of the batch and the action taken."""
        if self.name == "heads":
            return output.attention[0].float().cpu().numpy()
        if self._explainer is None:
            return self._attention_map(output.attention[0]).float().cpu().numpy()
        explanation = self._explainer(observations.float(), ActionTarget(action))
        return explanation.maps[0].float().cpu().numpy()

    def _attention_map(self, heads: Tensor) -> Tensor:
        # Heads averaged, as the analysis scores them. Sigmoid maps keep their absolute
        # level (a flat map shows as flat); a distribution's peak is scaled to 1.
        attention = heads.mean(dim=0)  # (h, w)
        return attention / attention.max() if self._distributions else attention

    def close(self) -> None:
        if self._explainer is not None:
            self._explainer.close()
