"""Guided Backpropagation (Springenberg et al., "Striving for Simplicity: The All
Convolutional Net", ICLR 2015 workshop)."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import torch
from torch import Tensor, nn

from vision.explain.base import Explainer
from vision.explain.input_gradient import input_gradient
from vision.explain.targets import Target


def _keep_positive_gradient(_module: nn.Module, _args: Any, output: Tensor) -> None:
    # The ReLU's own backward then masks by its input > 0: together the guided rule.
    if output.requires_grad:
        output.register_hook(torch.relu)


class GuidedBackprop(Explainer):
    """Input gradient where every ``nn.ReLU`` passes back only positive gradients.

    A ReLU's gradient flows where both its input and the incoming gradient are
    positive. ReLUs called as functions (``F.relu``) are not modules and keep
    their ordinary gradient, as in Captum. Works with in-place ReLUs.
    """

    def _attribute(self, model: nn.Module, inputs: Tensor, target: Target) -> Tensor:
        with ExitStack() as hooks:
            for module in model.modules():
                if isinstance(module, nn.ReLU):
                    hooks.enter_context(module.register_forward_hook(_keep_positive_gradient))
            return input_gradient(model, inputs, target)
