"""Receptive fields by geometry: where a layer's cells look, from its layers' shapes.

Along each axis the cells of a conv/pool stack have centres ``offset + jump * i`` and
windows ``extent`` wide (pixel-index coordinates): each convolution or pooling with
kernel k, stride s, padding p and dilation d moves the first centre by
``((k - 1) * d / 2 - p) * jump``, widens the window by ``(k - 1) * d * jump`` and
multiplies the jump by s; element-wise layers keep all three.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any, NamedTuple

import torch
import torch.fx
from torch import Tensor, nn
from torchvision.ops.misc import FrozenBatchNorm2d

from vision.explain.session import layer_outputs, model_session

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


class Geometry(NamedTuple):
    """Per axis (y, x): the centre of cell 0, the distance between centres, the extent."""

    offset: tuple[float, float]
    jump: tuple[float, float]
    extent: tuple[float, float]

    def after(self, module: nn.Module) -> Geometry | None:
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
        return Geometry(tuple(offset), tuple(jump), tuple(extent))  # type: ignore[arg-type]


PIXELS = Geometry((0.0, 0.0), (1.0, 1.0), (1.0, 1.0))


def receptive_field(
    model: nn.Module, layer: nn.Module, inputs: Tensor, *, graph: bool = True
) -> tuple[tuple[int, int], Geometry] | None:
    """The grid of ``layer`` and its cells' geometry in the input, from the layers'
    kernels, strides, paddings and dilations: along a plain chain of modules (found by
    tracing a forward pass), or along the graph that ``torch.fx`` traces, where every
    merge (a residual addition, a concatenation) joins branches whose cells share their
    centres (``graph=False``: the chain only). None where neither applies."""
    with model_session(model, grad=False):
        traced = _chain(model, layer, inputs)
        if traced is not None:
            chain, grid = traced
            geometry: Geometry | None = PIXELS
            for module in chain:
                geometry = geometry.after(module) if geometry is not None else None
        elif not graph:
            return None
        else:
            with torch.no_grad(), layer_outputs(layer) as outputs:
                model(inputs[:1])
            grid = tuple(outputs[0].shape[-2:])  # type: ignore[assignment]
            geometry = _graph_geometry(model, layer)
    return None if geometry is None else (grid, geometry)


def _graph_geometry(model: nn.Module, layer: nn.Module) -> Geometry | None:
    """The geometry of ``layer``'s output along the model's ``torch.fx`` graph; None where
    the model does not trace or a merge joins branches whose centres differ."""
    name = next(n for n, m in model.named_modules() if m is layer)
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception:  # noqa: BLE001  # models with data-dependent control flow do not trace
        return None
    geometries: dict[torch.fx.Node, Geometry | None] = {}
    result = None
    for node in graph.nodes:
        # Parameters and buffers (a frozen BatchNorm's scale) broadcast over positions.
        parents = [geometries.get(a) for a in node.all_input_nodes if a.op != "get_attr"]
        if node.op == "placeholder":
            geometries[node] = PIXELS
        elif node.op == "call_module":
            module = model.get_submodule(str(node.target))
            geometries[node] = parents[0].after(module) if parents and parents[0] else None
        elif node.op in ("call_function", "call_method") and parents:
            known = {(g.offset, g.jump) for g in parents if g is not None}
            geometries[node] = None
            if len(known) == 1 and None not in parents and _keeps_positions(node):
                extent = tuple(max(g.extent[a] for g in parents if g) for a in range(2))
                geometries[node] = Geometry(*known.pop(), extent)  # type: ignore[arg-type]
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
