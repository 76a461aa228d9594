"""The attention map of an Attention Branch Network (Fukui et al., "Attention Branch
Network: Learning of Attention Mechanism for Visual Explanation", CVPR 2019)."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import torch
from torch import Tensor, nn

from vision.explain.base import Explainer, resolve_layer
from vision.explain.registration import Placement, Registration, layer_registration
from vision.explain.targets import Target


class ABNAttention(Explainer):
    """Reads the attention map ``M(x)`` that an ABN model returns with its prediction.

    No hooks and no gradients: one forward pass, and the map is the named output
    field. ABN's map is shared by all outputs, so ``targets`` does not change it.
    Models with several attention heads return (B, K, h, w): ``head`` picks one,
    and by default their mean is the map.

    The maps are placed where the cells of the features they weigh look: those of
    ``layer``, by default the first layer whose output has the maps' grid (conv2 of the
    Nature CNN for its 9x9 maps).

    Args:
        model: an ABN classifier or policy whose output has the field.
        field: the output field holding the (B, K, h, w) attention maps.
        head: the head whose map to read; None averages the heads.
        layer: the layer whose grid the maps share, dotted name or module; None finds it.
        placement: ``registered`` (where the layer's cells look) or ``even``.
    """

    uses_gradients = False

    def __init__(
        self,
        model: nn.Module,
        field: str = "attention",
        head: int | None = None,
        *,
        layer: str | nn.Module | None = None,
        placement: Placement = "registered",
    ):
        super().__init__(model, placement=placement)
        self.field = field
        self.head = head
        self.layer = None if layer is None else resolve_layer(model, layer)

    def _attribute(self, model: nn.Module, inputs: Tensor, target: Target) -> Tensor:
        output = model(inputs)
        attention = getattr(output, self.field, None)
        if not isinstance(attention, Tensor):
            raise TypeError(
                f"The model's output ({type(output).__name__}) has no tensor field "
                f"{self.field!r}; ABNAttention needs an Attention Branch Network."
            )
        if attention.ndim != 4:
            raise ValueError(f"Expected attention of shape (B, K, h, w); got {attention.shape}.")
        if self.head is None:
            return attention.mean(dim=1)  # (B, h, w)
        if not 0 <= self.head < attention.shape[1]:
            raise ValueError(f"No attention head {self.head}; the model has {attention.shape[1]}.")
        return attention[:, self.head]  # (B, h, w)

    def _registration(self, inputs: Tensor, grid: tuple[int, int]) -> Registration | None:
        layer = self.layer or first_layer_with_grid(self.model, inputs, grid)
        return None if layer is None else layer_registration(self.model, layer, inputs)


def first_layer_with_grid(
    model: nn.Module, inputs: Tensor, grid: tuple[int, int]
) -> nn.Module | None:
    """The first module to finish, in a forward pass, with a (B, C, h, w) output of ``grid``."""
    found: list[nn.Module] = []

    def record(module: nn.Module, _args: Any, output: Any) -> None:
        if isinstance(output, Tensor) and output.ndim == 4 and tuple(output.shape[-2:]) == grid:
            found.append(module)

    device = next((p.device for p in model.parameters()), inputs.device)
    with ExitStack() as hooks, torch.no_grad():
        for name, module in model.named_modules():
            if name:
                hooks.enter_context(module.register_forward_hook(record))
        model(inputs[:1].to(device))
    return found[0] if found else None
