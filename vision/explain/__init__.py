"""Visual explanations for any PyTorch CNN: image classifiers, detectors and RL policies.

Usage::

    from vision.explain import GradCAM, ClassTarget

    with GradCAM(model) as gradcam:  # target layer: the last spatial layer
        explanation = gradcam(images, ClassTarget(labels))
    explanation.maps  # (B, H, W) in [0, 1], on the model's device, each cell where it looks
    explanation.raw   # (B, h, w) before placing and scaling
    explanation.registration  # where raw's cells sit in the input

Methods: ``GradCAM``, ``GuidedBackprop``, ``GuidedGradCAM``, ``InputGradient``,
``SmoothGrad`` (wraps any of them), ``CAM``, ``ABNAttention`` and
``PerturbationSaliency``. Targets: ``ClassTarget``, ``ActionTarget``,
``ValueTarget``, ``BoxScoreTarget``, ``PredictedTarget`` (the default). Metrics:
``deletion``, ``insertion``, ``pointing_game`` (its peaks: ``map_peaks``). Where a
layer's cells look: ``layer_registration`` and ``Registration``. By name, with the
defaults the commands use: ``build_explainer``, ``get_explainer``, ``list_explainers``
(``EXPLAINERS``, each an ``ExplainerEntry``).
"""

from vision.explain.abn import ABNAttention
from vision.explain.base import (
    Explainer,
    Explanation,
    LayerExplainer,
    last_spatial_layer,
    normalize_per_sample,
)
from vision.explain.cam import CAM
from vision.explain.gradcam import GradCAM
from vision.explain.guided_backprop import GuidedBackprop
from vision.explain.guided_gradcam import GuidedGradCAM
from vision.explain.input_gradient import InputGradient
from vision.explain.metrics import (
    ScoreCurve,
    box_regions,
    deletion,
    insertion,
    map_peaks,
    pointing_game,
)
from vision.explain.perturbation import PerturbationSaliency
from vision.explain.registration import Registration, layer_registration
from vision.explain.registry import (
    EXPLAINERS,
    ExplainerEntry,
    build_explainer,
    canonical_name,
    get_explainer,
    list_explainers,
)
from vision.explain.smoothgrad import SmoothGrad
from vision.explain.targets import (
    ActionTarget,
    BoxScoreTarget,
    ClassTarget,
    LogitTarget,
    PredictedTarget,
    Target,
    ValueTarget,
    output_logits,
)

__all__ = [
    "ABNAttention",
    "EXPLAINERS",
    "ActionTarget",
    "BoxScoreTarget",
    "CAM",
    "ClassTarget",
    "Explainer",
    "ExplainerEntry",
    "Explanation",
    "GradCAM",
    "GuidedBackprop",
    "GuidedGradCAM",
    "InputGradient",
    "LayerExplainer",
    "LogitTarget",
    "PerturbationSaliency",
    "PredictedTarget",
    "Registration",
    "ScoreCurve",
    "SmoothGrad",
    "Target",
    "ValueTarget",
    "box_regions",
    "build_explainer",
    "canonical_name",
    "deletion",
    "get_explainer",
    "insertion",
    "last_spatial_layer",
    "layer_registration",
    "list_explainers",
    "map_peaks",
    "normalize_per_sample",
    "output_logits",
    "pointing_game",
]
