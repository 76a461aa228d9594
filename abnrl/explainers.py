"""Heat maps of a policy's decisions, by explainer name, for videos and reports."""

from __future__ import annotations

import numpy as np
from torch import Tensor, nn

from abnrl.errors import UserError
from agents.network import ABNActorCritic
from vision.explain import (
    ActionTarget,
    Explainer,
    GradCAM,
    GuidedGradCAM,
    InputGradient,
    PerturbationSaliency,
    SmoothGrad,
)

EXPLAINERS = ("abn", "gradcam", "guided-gradcam", "smoothgrad", "perturbation", "none")
TITLES = {
    "abn": "ABN attention",
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
    pass. The others explain the chosen action (perturbation saliency: the whole
    policy) with ``vision.explain``.
    """

    def __init__(self, name: str, explainer: Explainer | None) -> None:
        self.name = name
        self.title = TITLES[name]
        self._explainer = explainer

    @classmethod
    def create(cls, name: str, network: nn.Module) -> PolicyExplainer:
        if name == "abn":
            if not isinstance(network, ABNActorCritic):
                raise UserError(
                    "The ABN attention map needs an ABN agent; for this agent use "
                    "--explainer gradcam, guided-gradcam, smoothgrad or perturbation."
                )
            return cls(name, None)
        return cls(name, _vision_explainer(name, network))

    def heat_map(self, observations: Tensor, output, action: int) -> np.ndarray:
        """The map for the first observation of the batch and the action taken."""
        if self._explainer is None:
            return output.attention[0].mean(dim=0).float().cpu().numpy()  # heads averaged
        explanation = self._explainer(observations.float(), ActionTarget(action))
        return explanation.maps[0].float().cpu().numpy()

    def close(self) -> None:
        if self._explainer is not None:
            self._explainer.close()
