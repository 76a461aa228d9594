"""Plain input gradients, the saliency maps of Simonyan et al. ("Deep Inside Convolutional
Networks: Visualising Image Classification Models and Saliency Maps", ICLR 2014 workshop)."""

from __future__ import annotations

from torch import Tensor, nn

from vision.explain.base import Explainer, gradient, scores_of
from vision.explain.targets import Target


def input_gradient(model: nn.Module, inputs: Tensor, target: Target) -> Tensor:
    """d target / d inputs, (B, C, H, W); integer inputs (uint8 frames) are made float."""
    inputs = inputs.float().requires_grad_(True)
    scores = scores_of(target, model(inputs), len(inputs))
    return gradient(scores, inputs)


class InputGradient(Explainer):
    """The gradient of the target with respect to the input pixels.

    ``attribute`` returns the (B, C, H, W) gradient; the map is its largest
    absolute value over channels.
    """

    def _attribute(self, model: nn.Module, inputs: Tensor, target: Target) -> Tensor:
        return input_gradient(model, inputs, target)
