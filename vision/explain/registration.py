"""Where the cells of a layer's grid look in the input: receptive-field registration.

A cell of a CNN layer sees a window of the input, and its value belongs at that
window's centre. Along each axis the centres of a conv/pool stack lie on a line,
``centre(i) = offset + stride * i`` in input pixel-index coordinates (pixel k's centre
is at k). Stretching a map evenly over the input, as ``F.interpolate`` and the common
explainer libraries do, assumes ``offset = (stride - 1) / 2`` with ``stride = H / h``.
That holds for no common network exactly: the Nature CNN's conv2 (no padding) has
its cells at 8i + 9.5 where an even stretch puts them at 9.33i + 4.2, and a
torchvision ResNet's stride-32 cells sit at 32i, half a cell before the even
stretch's 32i + 15.5.

``layer_registration(model, layer, inputs)`` finds the line for any model and layer, once
per (model, layer, input size): analytically where the layer's input path is a plain
chain of convolutions, poolings and element-wise layers, or a graph ``torch.fx`` traces
whose merges join branches with the same centres (``vision.explain.receptive_field``),
otherwise empirically: the input gradient of each row (column) of cells, its centre per
axis (``symmetric_centre``), fitted with a line.
``Registration.place`` then resamples a raw map to the input so that each cell's
value sits at its centre (bilinear between centres, the edge cells' values beyond).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from vision.explain.receptive_field import receptive_field
from vision.explain.session import layer_outputs, model_device, model_session

Method = Literal["analytic", "empirical", "even"]
Placement = Literal["registered", "even"]
PLACEMENTS: tuple[str, ...] = ("registered", "even")
EMPIRICAL_LINES = 8
"""Rows (and columns) of cells whose input gradients the empirical fit uses, at most."""
EMPIRICAL_SAMPLES = 4
"""Random inputs whose gradient magnitudes are summed per row (column)."""


@dataclass(frozen=True)
class Registration:
    """Where a (h, w) grid's cells look in an (H, W) input: per axis (y, x), the centre
    of cell 0 and the distance between centres, in input pixel-index coordinates."""

    grid: tuple[int, int]
    """(h, w) cells."""
    size: tuple[int, int]
    """(H, W) input pixels."""
    offset: tuple[float, float]
    """(y, x) centre of cell (0, 0)."""
    stride: tuple[float, float]
    """(y, x) distance between neighbouring cells' centres."""
    method: Method
    """How it was found: ``analytic``, ``empirical`` or ``even`` (the common stretch)."""
    extent: tuple[float, float] | None = None
    """(y, x) receptive-field size in pixels, where known analytically."""

    @classmethod
    def even(cls, grid: tuple[int, int], size: tuple[int, int]) -> Registration:
        """The even stretch: cells tile the input, each value at its tile's centre (what
        ``F.interpolate(..., align_corners=False)`` assumes)."""
        stride = tuple(big / small for big, small in zip(size, grid, strict=True))
        offset = tuple((s - 1) / 2 for s in stride)
        return cls(tuple(grid), tuple(size), offset, stride, "even")  # type: ignore[arg-type]

    @classmethod
    def identity(cls, size: tuple[int, int]) -> Registration:
        """A map at the input's own resolution: cell k is pixel k."""
        return cls(tuple(size), tuple(size), (0.0, 0.0), (1.0, 1.0), "analytic", (1.0, 1.0))  # type: ignore[arg-type]

    def centres(self, axis: int, device: torch.device | None = None) -> Tensor:
        """(grid[axis],) centres of the cells along ``axis`` (0: y, 1: x)."""
        cells = torch.arange(self.grid[axis], device=device, dtype=torch.float32)
        return self.offset[axis] + self.stride[axis] * cells

    def cell_of(self, y: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """(rows, cols): the cell whose centre is nearest each input point (y, x)."""
        rows = ((y - self.offset[0]) / self.stride[0]).round().long().clamp(0, self.grid[0] - 1)
        cols = ((x - self.offset[1]) / self.stride[1]).round().long().clamp(0, self.grid[1] - 1)
        return rows, cols

    def place(self, maps: Tensor) -> Tensor:
        """(..., h, w) maps -> (..., H, W): each cell's value at its centre, bilinear in
        between, the nearest edge cell's value beyond the outermost centres."""
        if tuple(maps.shape[-2:]) != self.grid:
            raise ValueError(
                f"This registration is for {self.grid[0]}x{self.grid[1]} maps, not "
                f"{maps.shape[-2]}x{maps.shape[-1]}."
            )
        rows = self._weights(0, maps.device, maps.dtype)  # (H, h)
        cols = self._weights(1, maps.device, maps.dtype)  # (W, w)
        return torch.einsum("Yh,...hw,Xw->...YX", rows, maps, cols)

    def _weights(self, axis: int, device: torch.device, dtype: torch.dtype) -> Tensor:
        """(size, grid) bilinear weights of each pixel on the cells along ``axis``, made
        once per axis, device and dtype (the video places a map on every agent step)."""
        made = self.__dict__.setdefault("_made_weights", {})  # a frozen dataclass's cache
        key = (axis, device, dtype)
        if key not in made:
            made[key] = self._bilinear_weights(axis, device).to(dtype)
        return made[key]

    def _bilinear_weights(self, axis: int, device: torch.device) -> Tensor:
        cells, pixels = self.grid[axis], self.size[axis]
        position = torch.arange(pixels, device=device, dtype=torch.float64) - self.offset[axis]
        position = (position / self.stride[axis]).clamp(0, cells - 1)  # in cells
        low = position.floor().long().clamp(max=cells - 1)
        high = (low + 1).clamp(max=cells - 1)
        fraction = position - low
        weights = torch.zeros(pixels, cells, device=device, dtype=torch.float64)
        weights.scatter_add_(1, low[:, None], (1 - fraction)[:, None])
        weights.scatter_add_(1, high[:, None], fraction[:, None])
        return weights

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {key: list(v) if isinstance(v, tuple) else v for key, v in asdict(self).items()}


def place(maps: Tensor, size: Sequence[int], registration: Registration | None = None) -> Tensor:
    """(B, h, w) maps at the input's (H, W) ``size``: as they are if already there, else
    placed by ``registration`` (by the even stretch when None)."""
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    if registration is None:
        grid = (maps.shape[-2], maps.shape[-1])
        registration = Registration.even(grid, (size[0], size[1]))
    return registration.place(maps)


_CACHE: weakref.WeakKeyDictionary[nn.Module, dict[tuple, Registration]] = (
    weakref.WeakKeyDictionary()
)


def layer_registration(
    model: nn.Module,
    layer: nn.Module,
    inputs: Tensor,
    *,
    method: Literal["auto", "analytic", "empirical"] = "auto",
) -> Registration:
    """Where ``layer``'s cells look in inputs shaped like ``inputs`` (B, C, H, W).

    Computed once per (model, layer, input size, method) and cached with the model.

    Args:
        model: the model; left in the train/eval mode and ``requires_grad`` it had.
        layer: a module of ``model`` with a (B, C, h, w) output, run once per forward.
        inputs: an example batch (only its first sample, shape and dtype are used).
        method: ``analytic`` (a plain chain, else ValueError), ``empirical``, or
            ``auto`` (analytic where the chain allows, else empirical).
    """
    device = model_device(model)
    inputs = inputs[:1].detach() if device is None else inputs[:1].detach().to(device)
    key = (id(layer), tuple(inputs.shape[1:]), method)
    cached = _CACHE.setdefault(model, {})
    if key not in cached:
        found = None if method == "empirical" else analytic_registration(model, layer, inputs)
        if found is None and method == "analytic":
            raise ValueError(
                "The layer's input path is not a plain chain of convolutions and poolings; "
                "use the empirical registration."
            )
        cached[key] = found or empirical_registration(model, layer, inputs)
    return cached[key]


def analytic_registration(
    model: nn.Module, layer: nn.Module, inputs: Tensor, *, graph: bool = True
) -> Registration | None:
    """The registration from the layers' kernels, strides, paddings and dilations
    (``vision.explain.receptive_field``); None where the layer's input path is neither a
    plain chain nor (with ``graph``) a graph ``torch.fx`` traces whose merges keep centres."""
    found = receptive_field(model, layer, inputs, graph=graph)
    if found is None:
        return None
    grid, geometry = found
    size = (inputs.shape[-2], inputs.shape[-1])
    return Registration(grid, size, geometry.offset, geometry.jump, "analytic", geometry.extent)


def _random_like(inputs: Tensor, count: int, generator: torch.Generator) -> Tensor:
    """``count`` uniform random inputs over the example's value range ([0, 1] if constant)."""
    example = inputs[:1].float()
    low, high = float(example.min()), float(example.max())
    if high <= low:
        low, high = 0.0, 1.0
    noise = torch.rand((count, *inputs.shape[1:]), generator=generator)
    return (low + (high - low) * noise).to(inputs.device)


def empirical_registration(model: nn.Module, layer: nn.Module, inputs: Tensor) -> Registration:
    """The registration measured from input gradients: for up to ``EMPIRICAL_LINES`` rows
    (columns) of cells, the centre (``symmetric_centre``) along y (x) of the summed
    gradient magnitude of the row's activations over random inputs, fitted by least
    squares with a line."""
    generator = torch.Generator().manual_seed(0)
    samples = _random_like(inputs, EMPIRICAL_SAMPLES, generator).requires_grad_(True)
    offset, stride = [0.0, 0.0], [1.0, 1.0]
    with model_session(model, grad=True), layer_outputs(layer) as captured:
        model(samples)
        activation = captured[0]
        grid = tuple(activation.shape[-2:])
        for axis in range(2):
            cells = _lines(grid[axis])
            centres = []
            for cell in cells:
                line = activation.select(2 + axis, cell)  # (B, C, w) or (B, C, h)
                (grad,) = torch.autograd.grad(line.abs().sum(), samples, retain_graph=True)
                profile = grad.abs().sum(dim=(0, 1)).sum(dim=1 - axis).double()  # (H,) or (W,)
                centres.append(symmetric_centre(profile))
            offset[axis], stride[axis] = _fit_line(cells, centres, inputs.shape[2 + axis])
    return Registration(grid, tuple(inputs.shape[-2:]), tuple(offset), tuple(stride), "empirical")  # type: ignore[arg-type]


def symmetric_centre(profile: Tensor, iterations: int = 100) -> float:
    """The centre of a 1-D profile that the image's edge may cut: the point c that is the
    centre of mass of the profile within the widest window symmetric about c that fits
    in the image (a fixed point, found by iteration from the plain centre of mass). A cell
    near the edge sees only part of its receptive field; the plain centre of mass of what
    it sees is pulled inward, the symmetric window's is not. NaN for an all-zero profile."""
    positions = torch.arange(len(profile), dtype=profile.dtype)
    total = float(profile.sum())
    if not total:
        return math.nan
    centre = float((profile * positions).sum()) / total
    for _ in range(iterations):
        half = min(centre, len(profile) - 1 - centre) + 0.5
        # Pixels inside the window count fully, the two it cuts by the part inside.
        weights = profile * (half + 0.5 - (positions - centre).abs()).clamp(0, 1)
        mass = float(weights.sum())
        if not mass:
            break
        moved = float((weights * positions).sum()) / mass
        if abs(moved - centre) < 1e-4:
            return moved
        centre = moved
    return centre


def _lines(cells: int) -> list[int]:
    """Up to ``EMPIRICAL_LINES`` cell indices spread evenly over ``cells``."""
    count = min(cells, EMPIRICAL_LINES)
    return sorted({round(i * (cells - 1) / max(count - 1, 1)) for i in range(count)})


def _fit_line(cells: list[int], centres: list[float], pixels: int) -> tuple[float, float]:
    """(offset, stride) of the least-squares line through the finite (cell, centre) pairs."""
    points = [(c, y) for c, y in zip(cells, centres, strict=True) if math.isfinite(y)]
    if not points:
        raise ValueError("No cell of the layer depends on the input; it cannot be registered.")
    if len(points) == 1:
        return points[0][1], float(pixels)
    xs = torch.tensor([p[0] for p in points], dtype=torch.float64)
    ys = torch.tensor([p[1] for p in points], dtype=torch.float64)
    slope = float(((xs - xs.mean()) * (ys - ys.mean())).sum() / ((xs - xs.mean()) ** 2).sum())
    return float(ys.mean()) - slope * float(xs.mean()), slope
