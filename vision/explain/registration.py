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
per (model, layer, input size): analytically when the layer's input path is a plain
chain of convolutions, poolings and element-wise layers (walked back from the layer's
output by tensor identity), otherwise empirically: the input gradient of each row
(column) of cells, its centre of mass per axis, fitted with a line.
``Registration.place`` then resamples a raw map to the input so that each cell's
value sits at its centre (bilinear between centres, the edge cells' values beyond).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Literal, NamedTuple

import torch
import torch.fx
from torch import Tensor, nn
from torchvision.ops.misc import FrozenBatchNorm2d

from vision.explain.session import model_device, model_session

Method = Literal["analytic", "empirical", "even"]
Placement = Literal["registered", "even"]
PLACEMENTS: tuple[str, ...] = ("registered", "even")
EMPIRICAL_LINES = 8
"""Rows (and columns) of cells whose input gradients the empirical fit uses, at most."""
EMPIRICAL_SAMPLES = 4
"""Random inputs whose gradient magnitudes are summed per row (column)."""

_GEOMETRY_NEUTRAL = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
    nn.Hardswish,
    nn.Identity,
    nn.Dropout,
    nn.Dropout2d,
    nn.BatchNorm2d,
    nn.GroupNorm,
    nn.InstanceNorm2d,
    nn.LocalResponseNorm,
    FrozenBatchNorm2d,
)
"""Layers that keep every position where it is (element-wise or across channels)."""


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
        """(size, grid) bilinear weights of each pixel on the cells along ``axis``."""
        cells, pixels = self.grid[axis], self.size[axis]
        position = torch.arange(pixels, device=device, dtype=torch.float64) - self.offset[axis]
        position = (position / self.stride[axis]).clamp(0, cells - 1)  # in cells
        low = position.floor().long().clamp(max=cells - 1)
        high = (low + 1).clamp(max=cells - 1)
        fraction = position - low
        weights = torch.zeros(pixels, cells, device=device, dtype=torch.float64)
        weights.scatter_add_(1, low[:, None], (1 - fraction)[:, None])
        weights.scatter_add_(1, high[:, None], fraction[:, None])
        return weights.to(dtype)

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


def _pair(value: Any) -> tuple[float, float]:
    return (float(value[0]), float(value[1])) if isinstance(value, tuple) else (value, value)


def _layer_geometry(module: nn.Module) -> tuple[tuple[float, float], ...] | None:
    """(kernel, stride, padding, dilation), each (y, x), of a conv or pool; None otherwise."""
    if isinstance(module, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
        kernel, stride = _pair(module.kernel_size), _pair(module.stride)
        dilation = _pair(getattr(module, "dilation", 1))
        padding: Any = module.padding
        if padding == "valid":
            padding = 0
        elif padding == "same":  # stride 1 only; torch pads the extra pixel at the end
            padding = tuple(d * (k - 1) / 2 for k, d in zip(kernel, dilation, strict=True))
        return kernel, stride, _pair(padding), dilation
    return None


def _chain(
    model: nn.Module, layer: nn.Module, inputs: Tensor
) -> tuple[list[nn.Module], tuple[int, int]] | None:
    """The modules from the input to ``layer``'s output, if they form a plain chain, and
    the layer's grid (h, w).

    Walked back from the layer's output: each link is a module whose output tensor is the
    next module's input, unchanged in between (its version counter shows any in-place
    change, such as a ResNet's ``out += identity``).
    """
    calls: list[tuple[nn.Module, Tensor, int, Any, int]] = []  # module, input, its version, ...
    pending: dict[int, tuple[Tensor, int]] = {}
    finished: list[Tensor] = []

    def before(module: nn.Module, args: Any) -> None:
        if args and isinstance(args[0], Tensor):
            pending[id(module)] = (args[0], args[0]._version)

    def after(module: nn.Module, _args: Any, output: Any) -> None:
        given = pending.pop(id(module), None)
        if not finished and given is not None and isinstance(output, Tensor):
            calls.append((module, *given, output, output._version))

    def finish(_module: nn.Module, _args: Any, output: Any) -> None:
        if not finished and isinstance(output, Tensor):
            finished.append(output)

    with ExitStack() as hooks, torch.no_grad():
        for module in model.modules():
            if not list(module.children()):
                hooks.enter_context(module.register_forward_pre_hook(before))
                hooks.enter_context(module.register_forward_hook(after))
        hooks.enter_context(layer.register_forward_hook(finish))
        model(inputs[:1])
    if not finished:
        return None
    chain: list[nn.Module] = []
    current, version = finished[0], finished[0]._version
    for module, module_input, input_version, output, output_version in reversed(calls):
        if output is current:
            if output_version != version:
                return None  # changed in place by something other than a module
            chain.append(module)
            current, version = module_input, input_version
    if tuple(current.shape[-2:]) != tuple(inputs.shape[-2:]):
        return None  # something other than a module (an addition, a concatenation) intervened
    return chain[::-1], tuple(finished[0].shape[-2:])  # type: ignore[return-value]


class _Geometry(NamedTuple):
    """Per axis (y, x): the centre of cell 0, the distance between centres, the extent."""

    offset: tuple[float, float]
    jump: tuple[float, float]
    extent: tuple[float, float]

    def after(self, module: nn.Module) -> _Geometry | None:
        """The geometry of ``module``'s output; None for a module of unknown geometry."""
        if isinstance(module, _GEOMETRY_NEUTRAL):
            return self
        found = _layer_geometry(module)
        if found is None:
            return None
        kernel, stride, padding, dilation = found
        offset, jump, extent = [*self.offset], [*self.jump], [*self.extent]
        for axis in range(2):
            span = (kernel[axis] - 1) * dilation[axis]
            offset[axis] += (span / 2 - padding[axis]) * jump[axis]
            extent[axis] += span * jump[axis]
            jump[axis] *= stride[axis]
        return _Geometry(tuple(offset), tuple(jump), tuple(extent))  # type: ignore[arg-type]


_PIXELS = _Geometry((0.0, 0.0), (1.0, 1.0), (1.0, 1.0))


def analytic_registration(
    model: nn.Module, layer: nn.Module, inputs: Tensor, *, graph: bool = True
) -> Registration | None:
    """The registration from the layers' kernels, strides, paddings and dilations: along
    a plain chain of modules (found by tracing a forward pass), or along the graph that
    ``torch.fx`` traces, where every merge (a residual addition, a concatenation) joins
    branches whose cells share their centres (``graph=False``: the chain only). None
    where neither applies."""
    with model_session(model, grad=False):
        traced = _chain(model, layer, inputs)
        if traced is not None:
            chain, grid = traced
            geometry: _Geometry | None = _PIXELS
            for module in chain:
                geometry = geometry.after(module) if geometry is not None else None
        elif not graph:
            return None
        else:
            with torch.no_grad(), _outputs_of(layer) as outputs:
                model(inputs[:1])
            grid = tuple(outputs[0].shape[-2:])  # type: ignore[assignment]
            geometry = _graph_geometry(model, layer)
    if geometry is None:
        return None
    size = tuple(inputs.shape[-2:])
    return Registration(grid, size, geometry.offset, geometry.jump, "analytic", geometry.extent)  # type: ignore[arg-type]


def _graph_geometry(model: nn.Module, layer: nn.Module) -> _Geometry | None:
    """The geometry of ``layer``'s output along the model's ``torch.fx`` graph; None where
    the model does not trace or a merge joins branches whose centres differ."""
    name = next(n for n, m in model.named_modules() if m is layer)
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception:  # noqa: BLE001  # models with data-dependent control flow do not trace
        return None
    geometries: dict[torch.fx.Node, _Geometry | None] = {}
    result = None
    for node in graph.nodes:
        # Parameters and buffers (a frozen BatchNorm's scale) broadcast over positions.
        parents = [geometries.get(a) for a in node.all_input_nodes if a.op != "get_attr"]
        if node.op == "placeholder":
            geometries[node] = _PIXELS
        elif node.op == "call_module":
            module = model.get_submodule(str(node.target))
            geometries[node] = parents[0].after(module) if parents and parents[0] else None
        elif node.op in ("call_function", "call_method") and parents:
            known = {(g.offset, g.jump) for g in parents if g is not None}
            geometries[node] = None
            if len(known) == 1 and None not in parents and _keeps_positions(node):
                extent = tuple(max(g.extent[a] for g in parents if g) for a in range(2))
                geometries[node] = _Geometry(*known.pop(), extent)  # type: ignore[arg-type]
        else:
            geometries[node] = None
        if node.op != "output" and (not name or name in node.meta.get("nn_module_stack", ())):
            result = geometries[node]  # the last node inside the layer gives its output
    return result


_POSITION_KEEPING = {
    "add",
    "iadd",
    "mul",
    "sub",
    "cat",
    "relu",
    "sigmoid",
    "tanh",
    "contiguous",
    "float",
}


def _keeps_positions(node: torch.fx.Node) -> bool:
    """Whether a function or method node keeps every position where it is."""
    target = node.target
    label = target if isinstance(target, str) else getattr(target, "__name__", "")
    return label.lstrip("_").rstrip("_") in _POSITION_KEEPING


@contextmanager
def _outputs_of(layer: nn.Module) -> Iterator[list[Tensor]]:
    """Record ``layer``'s outputs, as they are, during the forward passes run inside."""
    outputs: list[Tensor] = []
    with layer.register_forward_hook(lambda _m, _a, output: outputs.append(output)):
        yield outputs


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
    with model_session(model, grad=True), _outputs_of(layer) as captured:
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
