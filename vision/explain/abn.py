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
    Models with several attention heads return (B, K, h, w): ``head`` picks one,
    and by default their mean is the map.

    Args:
        model: an ABN classifier or policy whose output has the field.
        field: the output field holding the (B, K, h, w) attention maps.
        head: the head whose map to read; None averages the heads.
    """

    uses_gradients = False

    def __init__(self, model: nn.Module, field: str = "attention", head: int | None = None):
        super().__init__(model)
        self.field = field
        self.head = head

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
