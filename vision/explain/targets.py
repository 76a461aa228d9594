"""Targets: what an explanation explains, as callables ``target(output) -> Tensor (B,)``.

A target reads one score per sample from a model's output: a class logit, an
action logit, a state value, the score of a detected box. The outputs follow the
project's conventions: a logits tensor (B, K) for plain classifiers; a NamedTuple
with ``logits`` for ABN classifiers; a NamedTuple with ``action_logits`` and
``value`` for RL policies; torchvision's list of dicts for detectors.

Indices are given per sample (a tensor of length B) or as one int for the whole
batch; a tensor of the wrong length is an error, never truncated.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, Self

import torch
from torch import Tensor
from torchvision.ops import box_iou

Target = Callable[[Any], Tensor]
"""A callable ``target(output) -> Tensor (B,)``: one score per sample."""

Index = int | Sequence[int] | Tensor | None


def output_logits(output: Any) -> Tensor:
    """The logits of an output: ``action_logits`` or ``logits`` if present, else the tensor."""
    for field in ("action_logits", "logits"):
        if hasattr(output, field):
            return getattr(output, field)
    if isinstance(output, Tensor):
        return output
    raise TypeError(
        f"Cannot find logits in a model output of type {type(output).__name__}; "
        "expected a tensor or a named output with `logits` or `action_logits`."
    )


class LogitTarget:
    """Base of the targets that select one logit (or its probability) per sample."""

    field: str

    def __init__(self, index: Index = None, *, probability: bool = False) -> None:
        if index is not None and not isinstance(index, int):
            index = torch.as_tensor(index, dtype=torch.long)
            index = int(index) if index.ndim == 0 else index.reshape(-1)  # a scalar is one int
        self.index = index
        self.probability = probability

    def logits(self, output: Any) -> Tensor:
        """The (B, K) logits this target reads from ``output``."""
        if hasattr(output, self.field):
            logits = getattr(output, self.field)
        elif isinstance(output, Tensor):
            logits = output
        else:
            raise TypeError(
                f"{type(self).__name__} reads `{self.field}`, which a model output of type "
                f"{type(output).__name__} does not have."
            )
        if logits.ndim != 2:
            raise ValueError(f"Expected logits of shape (B, K), got {tuple(logits.shape)}.")
        return logits

    def indices(self, output: Any) -> Tensor:
        """The index chosen for each sample, (B,) long; the argmax when no index was given."""
        logits = self.logits(output)
        batch = logits.shape[0]
        if self.index is None:
            return logits.argmax(dim=1)
        if isinstance(self.index, int):
            return torch.full((batch,), self.index, dtype=torch.long, device=logits.device)
        if self.index.numel() != batch:
            raise ValueError(
                f"{type(self).__name__} got {self.index.numel()} indices for a batch of {batch}; "
                "give one index per sample or a single int."
            )
        return self.index.to(logits.device)

    def fixed(self, output: Any) -> Self:
        """This target with each sample's index fixed to the one it picks on ``output``.

        Methods that score perturbed copies of an input (SmoothGrad, deletion and
        insertion) use it so that every copy is scored for the clean input's class.
        """
        fixed = copy.copy(self)
        fixed.index = self.indices(output)
        return fixed

    def __call__(self, output: Any) -> Tensor:
        logits = self.logits(output)
        scores = logits.softmax(dim=1) if self.probability else logits
        return scores.gather(1, self.indices(output)[:, None]).squeeze(1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.index!r}, probability={self.probability})"


class ClassTarget(LogitTarget):
    """Score of a class: ``output.logits[b, index[b]]`` (or of a bare logits tensor).

    Args:
        index: one class for every sample, one per sample, or None for the
            predicted (top-scoring) class of each sample.
        probability: score the softmax probability instead of the logit.
    """

    field = "logits"


class ActionTarget(LogitTarget):
    """Score of a policy's action: ``output.action_logits[b, action[b]]``.

    Args:
        index: one action for every sample, one per sample (the actions taken),
            or None for the greedy action of each sample.
        probability: score the action's probability instead of its logit.
    """

    field = "action_logits"


class PredictedTarget(LogitTarget):
    """Score of each sample's top output: the predicted class or the greedy action.

    Reads ``action_logits`` from a policy's output and ``logits`` (or the bare
    tensor) otherwise. The default target of every explainer.
    """

    def __init__(self, *, probability: bool = False) -> None:
        super().__init__(None, probability=probability)

    def logits(self, output: Any) -> Tensor:
        return output_logits(output)

    def __repr__(self) -> str:
        return f"PredictedTarget(probability={self.probability})"


class ValueTarget:
    """The critic's state value ``output.value`` (B,) of an actor-critic policy."""

    def __call__(self, output: Any) -> Tensor:
        if not hasattr(output, "value"):
            raise TypeError(f"A model output of type {type(output).__name__} has no `value`.")
        return output.value.reshape(-1)

    def __repr__(self) -> str:
        return "ValueTarget()"


class BoxScoreTarget:
    """Score of the detection that best matches a given box, for torchvision detectors.

    For each image, among the detections with the given label, takes the one
    with the highest IoU with the given box and returns its score; an image
    with no such detection at IoU >= ``iou_threshold`` scores 0.

    Args:
        boxes: (B, 4) boxes in (x1, y1, x2, y2) pixels, one per image.
        labels: the class of each box, (B,), or one int for all.
        iou_threshold: the lowest IoU that counts as a match.
    """

    def __init__(
        self, boxes: Tensor, labels: int | Sequence[int] | Tensor, iou_threshold: float = 0.5
    ) -> None:
        self.boxes = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4)
        self.labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
        if self.labels.numel() == 1:
            self.labels = self.labels.expand(len(self.boxes))
        if len(self.labels) != len(self.boxes):
            raise ValueError(f"Got {len(self.boxes)} boxes but {len(self.labels)} labels.")
        self.iou_threshold = iou_threshold

    def __call__(self, output: list[dict[str, Tensor]]) -> Tensor:
        if len(output) != len(self.boxes):
            raise ValueError(
                f"BoxScoreTarget has {len(self.boxes)} boxes for a batch of {len(output)} images."
            )
        scores = []
        for detections, box, label in zip(output, self.boxes, self.labels, strict=True):
            same_class = detections["labels"] == label.to(detections["labels"].device)
            candidates = detections["boxes"][same_class]
            candidate_scores = detections["scores"][same_class]
            if len(candidates) == 0:
                scores.append(detections["scores"].new_zeros(()))
                continue
            ious = box_iou(candidates, box[None].to(candidates.device))[:, 0]
            best = ious.argmax()
            matched = ious[best] >= self.iou_threshold
            scores.append(candidate_scores[best] if matched else candidate_scores.new_zeros(()))
        return torch.stack(scores)

    def __repr__(self) -> str:
        return f"BoxScoreTarget({len(self.boxes)} boxes, iou_threshold={self.iou_threshold})"
