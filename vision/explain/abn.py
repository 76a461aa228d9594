"""The attention map of an Attention Branch Network (Fukui et al., "Attention Branch
Network: Learning of Attention Mechanism for Visual Explanation", CVPR 2019)."""

from __future__ import annotations

from torch import Tensor, nn

from vision.explain.base import Explainer
from vision.explain.targets import Target


class ABNAttention(Explainer):
    """Reads the attention map ``M(x)`` that an ABN model returns with its prediction.

    No hooks and no gradients: one forward pass, and the map is the named output
    field. ABN's map is shared by all outputs, so ``targets`` does not change it.

    Args:
        model: an ABN classifier or policy whose output has the field.
        field: the output field holding the (B, 1, h, w) attention map.
    """

    uses_gradients = False

    def __init__(self, model: nn.Module, field: str = "attention") -> None:
        super().__init__(model)
        self.field = field

    def _attribute(self, model: nn.Module, inputs: Tensor, target: Target) -> Tensor:
        output = model(inputs)
        attention = getattr(output, self.field, None)
        if not isinstance(attention, Tensor):
            raise TypeError(
                f"The model's output ({type(output).__name__}) has no tensor field "
                f"{self.field!r}; ABNAttention needs an Attention Branch Network."
            )
        if attention.ndim != 4 or attention.shape[1] != 1:
            raise ValueError(f"Expected attention of shape (B, 1, h, w); got {attention.shape}.")
        return attention[:, 0]  # (B, h, w)
