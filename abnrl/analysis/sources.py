"""The map sources the attention analysis scores, and how each makes its maps.

A source is named as tables, figures and ``attention-analysis.json`` name it: an
explainer of ``vision.explain`` by its registry title (``attention``, ``Grad-CAM``,
``perturbation saliency``, ...), one head of the agent's own maps
(``attention head k``), or a reference that is no explainer: the ball's cell and random
maps. ``abnrl analyze --maps`` takes the registry's names (``SOURCE_NAMES``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from abnrl.media.explainers import POLICY_MAPS
from vision.explain import ABNAttention, ActionTarget, canonical_name, get_explainer
from vision.explain.base import Explanation
from vision.explain.registration import Placement, Registration

ATTENTION = get_explainer("attention").title
GRADCAM = get_explainer("gradcam").title
PERTURBATION = get_explainer("perturbation").title
RANDOM = "random"
BALL_CELL = "ball's cell"
"""A reference, not an explainer: a map of the agent's own grid that is 1 in the cell
holding the ball's centre and 0 elsewhere (flat without the ball): what the best map at
that resolution scores, e.g. the highest ball pointing any head could reach."""
SOURCE_NAMES = {name: get_explainer(name).title for name in POLICY_MAPS} | {
    "ball-cell": BALL_CELL,
    "random": RANDOM,
}
"""``--maps`` name -> source: each explainer that explains a policy, and the references."""
SOURCES = tuple(SOURCE_NAMES.values())
"""Map sources; an agent with several heads also gets one ``attention head k`` per head."""
WHOLE_POLICY = (PERTURBATION,)
"""Sources that explain the policy's whole logit vector, as Greydanus et al. (2018)
perturb for it; the others explain the action taken."""
_EXPLAINERS = {get_explainer(name).title: name for name in POLICY_MAPS}


def head_source(head: int) -> str:
    return f"{ATTENTION} head {head}"


def source_of(name: str) -> str | None:
    """The source ``--maps name`` asks for (an explainer's alias too); None if none."""
    return SOURCE_NAMES.get(canonical_name(name))


def explain(
    network: nn.Module,
    source: str,
    observations: Tensor,
    actions: Tensor,
    generator: torch.Generator,
    placement: Placement = "registered",
) -> Explanation:
    """(N, 84, 84) maps in [0, 1] of one source for a batch of observations, placed on
    the observations by ``placement`` (the ball's cell excepted: the analysis places it)."""
    if source in _EXPLAINERS:
        target = None if source in WHOLE_POLICY else ActionTarget(actions)
        with get_explainer(_EXPLAINERS[source]).build(network, placement=placement) as explainer:
            return explainer(observations, target)
    if source.startswith(f"{ATTENTION} head "):
        head = int(source.rsplit(" ", 1)[1])
        with ABNAttention(network, head=head, placement=placement) as attention:
            return attention(observations)
    if source == RANDOM:
        size = tuple(observations.shape[-2:])
        noise = torch.rand(observations.shape[0], *size, generator=generator)
        return Explanation(noise.to(observations.device), noise, Registration.identity(size))  # type: ignore[arg-type]
    raise ValueError(f"Unknown map source {source!r}; choose from {', '.join(SOURCES)}.")
