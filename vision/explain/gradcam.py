"""Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization", ICCV 2017)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vision.explain.base import LayerExplainer, gradient, scores_of
from vision.explain.targets import Target


class GradCAM(LayerExplainer):
    """Grad-CAM: ``ReLU(sum_k alpha_k A_k)`` with ``alpha_k`` the spatial mean of dy/dA_k.

    One forward pass and a backward pass that stops at the target layer: nothing
    below the layer keeps a graph, and no parameter gradient is computed.

    Args:
        model: the model to explain.
        target_layer: dotted name or module; None picks the last spatial layer.
    """

    def _attribute(self, model: nn.Module, inputs: Tensor, target: Target) -> Tensor:
        activation, output = self.activation(model, inputs)  # (B, C, h, w)
        grads = gradient(scores_of(target, output, len(inputs)), activation)
        weights = grads.mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
        return torch.relu((weights * activation.detach()).sum(dim=1))  # (B, h, w)
