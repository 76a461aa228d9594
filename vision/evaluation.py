"""Top-1 and top-5 error of a classifier over a data loader, on one process or many."""

from __future__ import annotations

from typing import TypedDict

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from vision.models import ABNOutput


class Metrics(TypedDict):
    """What ``evaluate`` measures; ``top5_error`` is None with 5 classes or fewer."""

    top1_error: float
    top5_error: float | None
    loss: float


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: DataLoader, device: torch.device, *, num_classes: int
) -> Metrics:
    """Top-1 and top-5 error and mean cross-entropy of the prediction over ``loader``.

    Under torch.distributed each process evaluates its shard and the counts are summed.

    Returns:
        ``top1_error``, ``top5_error`` (None with 5 classes or fewer) and ``loss``.
    """
    was_training = model.training
    model.eval()
    totals = torch.zeros(4, dtype=torch.float64, device=device)  # count, top-1, top-5, loss
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        output = model(images)
        logits = output.logits if isinstance(output, ABNOutput) else output
        top5 = logits.topk(min(5, num_classes), dim=1).indices  # (B, k)
        hits = top5 == labels[:, None]
        totals += torch.stack(
            [
                torch.tensor(float(len(labels)), device=device),
                hits[:, 0].sum().double(),
                hits.any(dim=1).sum().double(),
                F.cross_entropy(logits, labels, reduction="sum").double(),
            ]
        )
    model.train(was_training)
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(totals)
    count, top1, top5, loss = totals.tolist()
    count = max(count, 1.0)
    return {
        "top1_error": 1.0 - top1 / count,
        "top5_error": 1.0 - top5 / count if num_classes > 5 else None,
        "loss": loss / count,
    }
