"""Machinery shared by the explainers: the result type, the model session, layer capture.

Every explainer follows one contract:

* it is a context manager; ``close()`` (or leaving the ``with`` block) releases
  the model, and a closed explainer refuses further calls;
* hooks exist only while a call runs and are removed when it ends, however it ends;
* during a call the model is in eval mode with parameter gradients off (so no
  ``.grad`` is ever written); its train/eval flags and ``requires_grad`` are
  restored afterwards, module by module and parameter by parameter;
* results are torch tensors on the model's device; errors propagate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, NamedTuple, Self

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vision.explain.registration import (
    PLACEMENTS,
    Placement,
    Registration,
    layer_registration,
    place,
)
from vision.explain.session import model_device, model_session
from vision.explain.targets import PredictedTarget, Target


class Explanation(NamedTuple):
    """What an explainer returns for a batch."""

    maps: Tensor
    """(B, H, W) maps at the input's resolution, each scaled to [0, 1] on its own."""
    raw: Tensor
    """(B, h, w) the same maps before placing and scaling, at the method's own resolution."""
    registration: Registration
    """Where ``raw``'s cells sit in the input (``vision.explain.registration``): how
    ``maps`` were placed."""


def normalize_per_sample(maps: Tensor) -> Tensor:
    """Min-max scale each map of a (B, ...) batch to [0, 1]; a constant map becomes 0."""
    flat = maps.flatten(1)
    low = flat.amin(dim=1, keepdim=True)
    span = flat.amax(dim=1, keepdim=True) - low
    scaled = (flat - low) / span.clamp_min(torch.finfo(flat.dtype).tiny)
    return scaled.reshape(maps.shape)


def upsample(maps: Tensor, size: Sequence[int]) -> Tensor:
    """Bilinearly stretch (B, h, w) maps evenly over ``size`` (half-pixel centres, as
    OpenCV): the common convention, right only where a cell's receptive field is centred
    on its tile; ``Registration.place`` puts each value where its cell looks."""
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    return F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]


def slice_output(output: Any, start: int, stop: int) -> Any:
    """Samples ``start:stop`` of a model output: a tensor, a (named) tuple, a dict or a list."""
    if isinstance(output, Tensor):
        return output[start:stop]
    if isinstance(output, tuple):
        fields = [slice_output(field, start, stop) for field in output]
        return type(output)(*fields) if hasattr(output, "_fields") else tuple(fields)
    if isinstance(output, dict):
        return {key: slice_output(value, start, stop) for key, value in output.items()}
    if isinstance(output, list):
        return output[start:stop]
    return output


def tile_target(target: Target, copies: int, batch: int) -> Target:
    """A target for ``copies`` stacked copies (copy-major) of a ``batch``-sample batch.

    Per-sample targets keep their meaning when an explainer batches several
    perturbed copies of the same inputs into one forward pass.
    """
    if copies == 1:
        return target

    def tiled(output: Any) -> Tensor:
        parts = [slice_output(output, i * batch, (i + 1) * batch) for i in range(copies)]
        return torch.cat([target(part) for part in parts])

    return tiled


def scores_of(target: Target, output: Any, batch: int) -> Tensor:
    """Evaluate ``target`` and check that it gives one score per sample."""
    scores = target(output)
    if not isinstance(scores, Tensor) or scores.shape != (batch,):
        shape = tuple(scores.shape) if isinstance(scores, Tensor) else type(scores).__name__
        raise ValueError(
            f"A target must return one score per sample, shape ({batch},); got {shape}."
        )
    return scores


def gradient(scores: Tensor, wrt: Tensor) -> Tensor:
    """d(sum of scores)/d(wrt); zeros where the scores do not depend on ``wrt``."""
    if not scores.requires_grad:
        return torch.zeros_like(wrt)
    (grad,) = torch.autograd.grad(scores.sum(), wrt, allow_unused=True)
    return torch.zeros_like(wrt) if grad is None else grad


_RESAMPLING_LAYERS = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def last_spatial_layer(model: nn.Module, inputs: Tensor) -> str:
    """Name of the last layer to finish in a forward pass with a (B, C, H, W) output.

    Outputs of one spatial position and adaptive pooling layers (which resample
    features for the head rather than compute new ones) do not count. For
    torchvision's ResNets this is ``layer4``, for VGG and DenseNet ``features``.
    """
    found: list[str] = []

    def recorder(name: str, module: nn.Module):
        def record(_module: nn.Module, _args: Any, output: Any) -> None:
            if (
                isinstance(output, Tensor)
                and output.ndim == 4
                and output.shape[-2:].numel() > 1
                and not isinstance(module, _RESAMPLING_LAYERS)
            ):
                found.append(name)

        return record

    with ExitStack() as hooks, torch.no_grad():
        for name, module in model.named_modules():
            if name:
                hooks.enter_context(module.register_forward_hook(recorder(name, module)))
        model(inputs[:1])
    if not found:
        raise ValueError(
            "No layer of the model outputs a (B, C, H, W) feature map; name one with target_layer."
        )
    return found[-1]


def resolve_layer(model: nn.Module, layer: str | nn.Module) -> nn.Module:
    """The submodule named ``layer`` (dotted path), or ``layer`` itself if it is in the model."""
    if isinstance(layer, nn.Module):
        if not any(module is layer for module in model.modules()):
            raise ValueError(f"The target layer {type(layer).__name__} is not part of the model.")
        return layer
    try:
        return model.get_submodule(layer)
    except AttributeError:
        raise ValueError(f"The model has no layer named {layer!r}.") from None


@contextmanager
def capture_activation(layer: nn.Module) -> Iterator[list[Tensor]]:
    """Record ``layer``'s output during the forward passes run inside the block.

    The recorded activation is a leaf that requires grad (when grad is enabled),
    so autograd stops there: a backward pass from the output reaches the layer
    and goes no further. The rest of the network gets a copy, so in-place
    operations after the layer (an in-place ReLU) cannot change the record.
    """
    captured: list[Tensor] = []

    def record(_module: nn.Module, _args: Any, output: Any) -> Tensor:
        if not isinstance(output, Tensor) or output.ndim != 4:
            shape = tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
            raise ValueError(f"The target layer must output a (B, C, H, W) tensor; got {shape}.")
        activation = output.detach().requires_grad_(torch.is_grad_enabled())
        captured.append(activation)
        return activation.clone()

    with layer.register_forward_hook(record):
        yield captured


def to_map(attribution: Tensor) -> Tensor:
    """The (B, h, w) map of an attribution; (B, h, w) maps pass through unchanged.

    Input-space (B, C, H, W) gradients become their largest absolute value over
    channels, as in Simonyan et al. (ICLR 2014 workshop).
    """
    if attribution.ndim == 4:
        return attribution.abs().amax(dim=1)
    return attribution


class Explainer(ABC):
    """Base of all explainers: ``with Method(model) as m: result = m(inputs, targets)``.

    Subclasses implement ``_attribute``; they run inside ``model_session``.
    """

    uses_gradients: bool = True
    """Whether ``_attribute`` runs with autograd enabled."""
    default_target: Target = PredictedTarget()
    """The target used when a call gives none."""

    def __init__(self, model: nn.Module, *, placement: Placement = "registered") -> None:
        if placement not in PLACEMENTS:
            raise ValueError(f"Unknown placement {placement!r}; choose one of {PLACEMENTS}.")
        self._model: nn.Module | None = model
        self.placement = placement
        """``registered``: coarse maps go where their cells look; ``even``: stretched evenly."""

    @property
    def model(self) -> nn.Module:
        """The explained model; an error once the explainer is closed."""
        if self._model is None:
            raise RuntimeError(f"This {type(self).__name__} is closed.")
        return self._model

    def close(self) -> None:
        """Release the model; later calls raise."""
        self._model = None
        for explainer in self._parts():
            explainer.close()

    def _parts(self) -> tuple[Explainer, ...]:
        """Explainers this one is built from, closed with it."""
        return ()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def attribute(self, inputs: Tensor, targets: Target | None = None) -> Tensor:
        """The method's unreduced output, detached, on the model's device.

        Args:
            inputs: (B, C, H, W) batch, moved to the model's device.
            targets: what to explain, ``target(output) -> (B,)``; by default
                each sample's predicted class (or greedy action).

        Returns:
            (B, C, H, W) attributions for methods that work in input space,
            (B, h, w) maps for the others.
        """
        model = self.model
        if self.uses_gradients and torch.is_inference_mode_enabled():
            raise RuntimeError(
                f"{type(self).__name__} needs gradients, which torch.inference_mode() turns "
                "off (its maps would all be zero); call it outside that block."
            )
        if not isinstance(inputs, Tensor) or inputs.ndim != 4:
            shape = tuple(inputs.shape) if isinstance(inputs, Tensor) else type(inputs).__name__
            raise ValueError(f"Expected a batch of images (B, C, H, W); got {shape}.")
        device = model_device(model)
        inputs = inputs.detach() if device is None else inputs.detach().to(device)
        target = self.default_target if targets is None else targets
        with model_session(model, grad=self.uses_gradients):
            return self._attribute(model, inputs, target).detach()

    def __call__(self, inputs: Tensor, targets: Target | None = None) -> Explanation:
        """Explain a batch: maps (B, H, W) in [0, 1] at the input's resolution, and raw maps.

        Args:
            inputs: (B, C, H, W) batch.
            targets: what to explain, ``target(output) -> (B,)``; by default
                each sample's predicted class (or greedy action).
        """
        raw = to_map(self.attribute(inputs, targets))
        registration = self.registration(inputs, tuple(raw.shape[-2:]))  # type: ignore[arg-type]
        size = tuple(inputs.shape[-2:])
        return Explanation(normalize_per_sample(place(raw, size, registration)), raw, registration)

    def registration(self, inputs: Tensor, grid: tuple[int, int]) -> Registration:
        """Where the cells of this method's (h, w) ``grid`` sit in inputs like ``inputs``."""
        size: tuple[int, int] = tuple(inputs.shape[-2:])  # type: ignore[assignment]
        if grid == size:
            return Registration.identity(size)
        found = None if self.placement == "even" else self._registration(inputs, grid)
        return found or Registration.even(grid, size)

    def _registration(self, inputs: Tensor, grid: tuple[int, int]) -> Registration | None:
        """The method's own registration of a coarse grid; None: its cells tile the input
        evenly (a perturbation grid)."""
        return None

    @abstractmethod
    def _attribute(self, model: nn.Module, inputs: Tensor, target: Target) -> Tensor:
        """Compute the attribution; ``inputs`` are detached and on the model's device."""


class LayerExplainer(Explainer):
    """An explainer that reads one layer's activations (Grad-CAM, CAM).

    Args:
        model: the model to explain.
        target_layer: dotted name (``"layer4"``) or the module itself; None picks
            the last layer with a spatial output (``last_spatial_layer``) on the
            first call.
        placement: ``registered`` (the layer's cells where they look) or ``even``.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module | None = None,
        *,
        placement: Placement = "registered",
    ) -> None:
        super().__init__(model, placement=placement)
        self.target_layer = None if target_layer is None else resolve_layer(model, target_layer)

    def close(self) -> None:
        super().close()
        self.target_layer = None

    def layer(self, model: nn.Module, inputs: Tensor) -> nn.Module:
        """The target layer, found on the first call when it was not given."""
        if self.target_layer is None:
            self.target_layer = model.get_submodule(last_spatial_layer(model, inputs))
        return self.target_layer

    def _registration(self, inputs: Tensor, grid: tuple[int, int]) -> Registration | None:
        return layer_registration(self.model, self.layer(self.model, inputs), inputs)

    def activation(self, model: nn.Module, inputs: Tensor) -> tuple[Tensor, Any]:
        """Run the model; return the target layer's activation (B, C, h, w) and the output."""
        layer = self.layer(model, inputs)
        if inputs.device.type == "cpu":
            # oneDNN runs convolutions on channels-last inputs 10-70% faster (resnet18 +15%,
            # googlenet +70% at 224x224). Only layer maps take this path: input gradients
            # would come out rounded differently from the reference implementations'.
            try:
                return self._run(model, layer, inputs.contiguous(memory_format=torch.channels_last))
            except RuntimeError as error:
                # A model that flattens with .view() cannot take that layout.
                if "view" not in str(error):
                    raise
        return self._run(model, layer, inputs)

    @staticmethod
    def _run(model: nn.Module, layer: nn.Module, inputs: Tensor) -> tuple[Tensor, Any]:
        with capture_activation(layer) as captured:
            output = model(inputs)
        if len(captured) != 1:
            name = next(name for name, module in model.named_modules() if module is layer)
            raise ValueError(
                f"The target layer {name!r} ran {len(captured)} times in one forward pass; "
                "choose a layer that runs exactly once."
            )
        return captured[0], output
