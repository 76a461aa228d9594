"""Guided Grad-CAM (Selvaraju et al., ICCV 2017): Guided Backpropagation weighted by Grad-CAM."""

from __future__ import annotations

from torch import Tensor, nn

from vision.explain.base import Explainer
from vision.explain.gradcam import GradCAM
from vision.explain.guided_backprop import GuidedBackprop
from vision.explain.registration import Placement, place
from vision.explain.targets import Target


class GuidedGradCAM(Explainer):
    """Guided Backpropagation gradients times the Grad-CAM map placed on the input
    (where its cells look, or stretched evenly with ``placement="even"``).

    ``attribute`` returns the (B, C, H, W) product; the map is its largest
    absolute value over channels.

    Args:
        model: the model to explain.
        target_layer: Grad-CAM's layer, dotted name or module; None picks the
            last spatial layer.
        placement: how Grad-CAM's map is placed on the input.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module | None = None,
        *,
        placement: Placement = "registered",
    ) -> None:
        super().__init__(model, placement=placement)
        self.gradcam = GradCAM(model, target_layer, placement=placement)
        self.guided_backprop = GuidedBackprop(model)

    def _parts(self) -> tuple[Explainer, ...]:
        return (self.gradcam, self.guided_backprop)

    def _attribute(self, model: nn.Module, inputs: Tensor, target: Target) -> Tensor:
        coarse = self.gradcam.attribute(inputs, target)  # (B, h, w)
        registration = self.gradcam.registration(inputs, tuple(coarse.shape[-2:]))  # type: ignore[arg-type]
        cam = place(coarse, tuple(inputs.shape[-2:]), registration)  # (B, H, W)
        return self.guided_backprop.attribute(inputs, target) * cam[:, None]
