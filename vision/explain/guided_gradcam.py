"""Guided Grad-CAM (Selvaraju et al., ICCV 2017): Guided Backpropagation weighted by Grad-CAM."""

from __future__ import annotations

from torch import Tensor, nn

from vision.explain.base import Explainer, upsample
from vision.explain.gradcam import GradCAM
from vision.explain.guided_backprop import GuidedBackprop
from vision.explain.targets import Target


class GuidedGradCAM(Explainer):
    """Guided Backpropagation gradients times the Grad-CAM map upsampled to the input.

    ``attribute`` returns the (B, C, H, W) product; the map is its largest
    absolute value over channels.

    Args:
        model: the model to explain.
        target_layer: Grad-CAM's layer, dotted name or module; None picks the
            last spatial layer.
    """

    def __init__(self, model: nn.Module, target_layer: str | nn.Module | None = None) -> None:
        super().__init__(model)
        self.gradcam = GradCAM(model, target_layer)
        self.guided_backprop = GuidedBackprop(model)

    def _parts(self) -> tuple[Explainer, ...]:
        return (self.gradcam, self.guided_backprop)

    def _attribute(self, model: nn.Module, inputs: Tensor, target: Target) -> Tensor:
        cam = upsample(self.gradcam.attribute(inputs, target), inputs.shape[-2:])  # (B, H, W)
        return self.guided_backprop.attribute(inputs, target) * cam[:, None]
