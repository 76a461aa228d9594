"""Class Activation Mapping (Zhou et al., "Learning Deep Features for Discriminative
Localization", CVPR 2016)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vision.explain.base import LayerExplainer, resolve_layer
from vision.explain.registration import Placement
from vision.explain.targets import LogitTarget, Target


class CAM(LayerExplainer):
    """CAM for networks that end in global average pooling and one linear layer.

    The map of class ``c`` is ``sum_k w[c, k] A_k``, with ``A`` the features that
    are pooled and ``w`` the linear layer's weight. No gradients are needed; the
    map is not clipped at zero. Grad-CAM of the same layer equals
    ``ReLU(CAM) / (h * w)``.

    Args:
        model: the model to explain.
        target_layer: the pooled features' layer, dotted name or module; None
            picks the last spatial layer.
        classifier: the final ``nn.Linear``, dotted name or module; None picks
            the model's last ``nn.Linear``.
        placement: ``registered`` (where the layer's cells look) or ``even``.
    """

    uses_gradients = False

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module | None = None,
        classifier: str | nn.Module | None = None,
        *,
        placement: Placement = "registered",
    ) -> None:
        super().__init__(model, target_layer, placement=placement)
        if classifier is None:
            linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
            if not linears:
                raise ValueError("CAM needs a model whose head is an nn.Linear; found none.")
            classifier = linears[-1]
        layer = resolve_layer(model, classifier)
        if not isinstance(layer, nn.Linear):
            raise ValueError(f"CAM's classifier must be an nn.Linear, not {type(classifier)}.")
        self.classifier = layer

    def _attribute(self, model: nn.Module, inputs: Tensor, target: Target) -> Tensor:
        if not isinstance(target, LogitTarget):
            raise TypeError(
                "CAM needs a class index per sample: use ClassTarget, ActionTarget or "
                f"PredictedTarget, not {target!r}."
            )
        activation, output = self.activation(model, inputs)  # (B, C, h, w)
        weights = self.classifier.weight[target.indices(output)]  # (B, C)
        if weights.shape[1] != activation.shape[1]:
            raise ValueError(
                f"CAM needs a GAP + linear head: the target layer has {activation.shape[1]} "
                f"channels but the classifier reads {weights.shape[1]} features."
            )
        return torch.einsum("bc,bchw->bhw", weights, activation)
