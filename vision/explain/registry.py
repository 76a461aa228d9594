"""Every explainer by name: how to build it, its title and its defaults, in one place.

Usage::

    from vision.explain import build_explainer, get_explainer

    with build_explainer("smoothgrad", model) as smoothgrad:
        maps = smoothgrad(images, ClassTarget(labels)).maps
    get_explainer("abn").name  # "attention": an alias resolves to its entry

``abnrl watch``, ``abnrl analyze`` and ``abnrl vision explain`` take their names,
titles and defaults from here. Adding an explainer: its module in ``vision/explain/``
and one ``ExplainerEntry`` line in ``_ENTRIES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from torch import nn

from vision.explain.abn import ABNAttention
from vision.explain.base import Explainer
from vision.explain.cam import CAM
from vision.explain.gradcam import GradCAM
from vision.explain.guided_backprop import GuidedBackprop
from vision.explain.guided_gradcam import GuidedGradCAM
from vision.explain.input_gradient import InputGradient
from vision.explain.perturbation import PerturbationSaliency
from vision.explain.registration import Placement
from vision.explain.smoothgrad import SmoothGrad

Layer = str | nn.Module | None
"""A target layer: a dotted name, the module, or None for the explainer's own choice."""
ExplainerFactory = Callable[[nn.Module, Layer, Placement], Explainer]
"""``(model, layer, placement) -> Explainer``; an explainer that has no use for the layer
or the placement (one that works on the input's pixels) leaves it."""

SMOOTHGRAD_SAMPLES = 25
"""Noisy copies SmoothGrad averages. Smilkov et al. (2017) see little change in the map
beyond n = 50; 25 is half that, the maps ``abnrl vision explain`` has always drawn, and
one batched pass for an agent's single observation (64 copies a pass)."""
SMOOTHGRAD_SEED = 0
"""The same input gets the same noise, so a map is reproducible and a video's maps do
not flicker from the noise alone."""


@dataclass(frozen=True)
class ExplainerEntry:
    """A registered explainer.

    Attributes:
        name: registry name, as the command lines take it.
        title: how figures, videos and analysis tables name its maps.
        factory: ``(model, layer, placement) -> Explainer`` with the defaults filled in.
        own_attention: reads the map the model computes itself (an Attention Branch
            Network's, or an agent's attention): the model must have one, and the map is
            the same whatever class or action is explained.
        needs_gap_classifier: needs global average pooling before one linear layer (CAM):
            not for a VGG's or an agent's heads.
        aliases: other names it answers to (names it had before).
    """

    name: str
    title: str
    factory: ExplainerFactory
    own_attention: bool = False
    needs_gap_classifier: bool = False
    aliases: tuple[str, ...] = ()

    def build(
        self, model: nn.Module, *, layer: Layer = None, placement: Placement = "registered"
    ) -> Explainer:
        """This explainer on ``model``; ``layer`` is the target layer of the layer methods
        (Grad-CAM, CAM: None takes the last spatial layer), ``placement`` where coarse maps'
        cells go on the input."""
        return self.factory(model, layer, placement)


_ENTRIES = (  # factories: lambda model, layer, placement
    ExplainerEntry("attention", "attention", lambda m, _, p: ABNAttention(m, placement=p),
                   own_attention=True, aliases=("abn",)),
    ExplainerEntry("gradcam", "Grad-CAM", lambda m, layer, p: GradCAM(m, layer, placement=p)),
    ExplainerEntry("guided-gradcam", "Guided Grad-CAM",
                   lambda m, layer, p: GuidedGradCAM(m, layer, placement=p)),
    ExplainerEntry("cam", "CAM", lambda m, layer, p: CAM(m, layer, placement=p),
                   needs_gap_classifier=True),
    ExplainerEntry("input-gradient", "input gradient", lambda m, _, __: InputGradient(m)),
    ExplainerEntry("smoothgrad", "SmoothGrad", lambda m, _, __: SmoothGrad(
        InputGradient(m), samples=SMOOTHGRAD_SAMPLES, seed=SMOOTHGRAD_SEED)),
    ExplainerEntry("guided-backprop", "Guided Backprop", lambda m, _, __: GuidedBackprop(m)),
    ExplainerEntry("perturbation", "perturbation saliency",
                   lambda m, _, __: PerturbationSaliency(m)),  # Greydanus et al. (2018)
)  # fmt: skip

EXPLAINERS = MappingProxyType({entry.name: entry for entry in _ENTRIES})
"""Every explainer by its registry name, in the order help and errors list them."""
_BY_ALIAS = {alias: entry for entry in _ENTRIES for alias in entry.aliases}


def list_explainers() -> list[str]:
    """The registry names, in registry order (aliases not included)."""
    return list(EXPLAINERS)


def canonical_name(name: str) -> str:
    """The registry name that ``name`` stands for: an alias's entry's, otherwise ``name``."""
    entry = _BY_ALIAS.get(name)
    return name if entry is None else entry.name


def get_explainer(name: str) -> ExplainerEntry:
    """The entry registered as ``name`` or one of its aliases.

    Raises:
        ValueError: no explainer has that name, in one sentence naming the choices.
    """
    entry = EXPLAINERS.get(canonical_name(name))
    if entry is None:
        raise ValueError(
            f"Unknown explainer {name!r}; choose one of {', '.join(list_explainers())}."
        )
    return entry


def build_explainer(
    name: str, model: nn.Module, *, layer: Layer = None, placement: Placement = "registered"
) -> Explainer:
    """The explainer ``name`` (or an alias) on ``model``, with the registry's defaults.

    Raises:
        ValueError: an unknown name.
    """
    return get_explainer(name).build(model, layer=layer, placement=placement)
