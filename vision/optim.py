"""Optimizers and learning-rate schedules by name, all from ``torch.optim``.

Schedules step once per epoch. ``"step"`` is the drop schedule of the ResNet and
ABN papers: the rate is multiplied by ``gamma`` at fixed fractions of training
(the ABN paper's CIFAR recipe: 0.1 at 50% and 75% of 300 epochs).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, get_args

import torch
from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    LRScheduler,
    MultiStepLR,
    ReduceLROnPlateau,
)

OptimizerName = Literal["sgd", "adagrad", "adadelta", "rmsprop", "adam"]
ScheduleName = Literal["step", "cosine", "plateau", "constant"]
OPTIMIZERS: tuple[str, ...] = get_args(OptimizerName)
SCHEDULES: tuple[str, ...] = get_args(ScheduleName)

Schedule = LRScheduler | ReduceLROnPlateau


def build_optimizer(
    name: str,
    parameters: Iterable[Tensor],
    *,
    lr: float,
    momentum: float = 0.9,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> Optimizer:
    """The optimizer ``name`` over ``parameters``.

    Args:
        name: ``"sgd"``, ``"adagrad"``, ``"adadelta"``, ``"rmsprop"`` or ``"adam"``.
        parameters: the parameters to optimize.
        lr: learning rate.
        momentum: momentum of SGD and RMSProp (ignored by the others).
        nesterov: Nesterov momentum for SGD (Sutskever et al., ICML 2013).
        weight_decay: L2 penalty added to the gradients.

    Raises:
        ValueError: unknown ``name``, or ``nesterov`` with another optimizer or no momentum.
    """
    if nesterov and (name != "sgd" or momentum <= 0):
        raise ValueError("Nesterov momentum needs the sgd optimizer and a momentum above 0.")
    if name == "sgd":
        return torch.optim.SGD(
            parameters, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
        )
    if name == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    plain = {
        "adagrad": torch.optim.Adagrad,
        "adadelta": torch.optim.Adadelta,
        "adam": torch.optim.Adam,
    }
    if name not in plain:
        raise ValueError(f"Unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}.")
    return plain[name](parameters, lr=lr, weight_decay=weight_decay)


def build_schedule(
    name: str,
    optimizer: Optimizer,
    *,
    epochs: int,
    milestones: Sequence[float] = (0.5, 0.75),
    gamma: float = 0.1,
    patience: int = 5,
) -> Schedule:
    """The per-epoch learning-rate schedule ``name``.

    Args:
        name: ``"constant"``, ``"step"`` (drops at ``milestones``), ``"cosine"``
            (to zero over ``epochs``; Loshchilov & Hutter, ICLR 2017) or
            ``"plateau"`` (drops when the validation error stops improving).
        optimizer: the optimizer whose rate it sets.
        epochs: the length of training.
        milestones: fractions of ``epochs`` where ``"step"`` multiplies the rate by ``gamma``.
        gamma: the factor of each drop (``"step"`` and ``"plateau"``).
        patience: epochs without improvement before ``"plateau"`` drops.

    Raises:
        ValueError: unknown ``name`` or milestones outside (0, 1).
    """
    if name == "constant":
        return MultiStepLR(optimizer, milestones=[])
    if name == "step":
        if not all(0 < fraction < 1 for fraction in milestones):
            raise ValueError("Step milestones are fractions of the epochs, each between 0 and 1.")
        epochs_at = sorted({max(1, round(fraction * epochs)) for fraction in milestones})
        return MultiStepLR(optimizer, milestones=epochs_at, gamma=gamma)
    if name == "cosine":
        return CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "plateau":
        return ReduceLROnPlateau(optimizer, mode="min", factor=gamma, patience=patience)
    raise ValueError(f"Unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}.")


def step_schedule(schedule: Schedule, validation_error: float) -> None:
    """Advance ``schedule`` by one epoch; ``"plateau"`` reads the validation error."""
    if isinstance(schedule, ReduceLROnPlateau):
        schedule.step(validation_error)
    else:
        schedule.step()
