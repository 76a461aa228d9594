"""Running a caller's model inside an explainer without changing it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


def model_device(model: nn.Module) -> torch.device | None:
    """The device of the model's first parameter or buffer; None for a stateless model."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return None


@contextmanager
def model_session(model: nn.Module, *, grad: bool) -> Iterator[None]:
    """Run the model in eval mode with frozen parameters, then restore it exactly.

    Args:
        model: the caller's model.
        grad: enable autograd inside (gradient methods) or disable it.
    """
    modes = [(module, module.training) for module in model.modules()]
    requires_grad = [(param, param.requires_grad) for param in model.parameters()]
    try:
        model.eval()
        for param, _ in requires_grad:
            param.requires_grad_(False)
        with torch.set_grad_enabled(grad):
            yield
    finally:
        for module, training in modes:
            module.training = training
        for param, flag in requires_grad:
            param.requires_grad_(flag)


@contextmanager
def layer_outputs(layer: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Record ``layer``'s outputs, as they are, during the forward passes run inside."""
    outputs: list[torch.Tensor] = []
    with layer.register_forward_hook(lambda _m, _a, output: outputs.append(output)):
        yield outputs
