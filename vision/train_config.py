"""What ``vision.train`` is given and gives back: its config, records and setup errors."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from vision.data import DATASETS, DatasetName
from vision.models import ABNMap, get_spec
from vision.models.builder import check_abn_map
from vision.norm import NormKind
from vision.optim import OPTIMIZERS, SCHEDULES, OptimizerName, ScheduleName


@dataclass
class TrainConfig:
    """How to train an image classifier.

    Attributes:
        model: registered model name (vision.models.list_models()).
        abn: train the model's Attention Branch Network with the ABN loss.
        abn_map: the conv that makes the ABN attention map (abn only):
            positive is 3x3 with non-negative weights, 3x3 the ABN authors' with
            free weights, 1x1 free weights as models built before the choice.
        norm: normalization, bn, gn, lrn or none; unset keeps the
            model's published one.
        groups: upper bound for GroupNorm's group count.
        weights: torchvision weights to start from (e.g. DEFAULT), read from the
            local torch hub cache only.
        dataset: digits, shapes, cifar10, cifar100 or imagefolder.
        data_root: folder of the CIFAR data or of the image folder (train/, val/).
        image_size: image side for imagefolder (default 224); the others are 32x32.
        augment: augment the training images (random crops and flips).
        epochs: number of passes over the training split.
        batch_size: images per optimization step, over all processes together.
        optimizer: sgd, adagrad, adadelta, rmsprop or adam.
        lr: initial learning rate.
        momentum: momentum of SGD and RMSProp.
        nesterov: Nesterov momentum (SGD only).
        weight_decay: L2 penalty.
        schedule: step, cosine, plateau or constant, stepped per epoch.
        milestones: fractions of the epochs where step multiplies the rate by gamma.
        gamma: factor of each learning-rate drop (step, plateau).
        max_steps_per_epoch: end each epoch after this many steps (quick runs);
            unset runs over the whole training split.
        seed: seed of the initialization, the shuffling and the augmentation.
        device: auto (CUDA when present), cpu, cuda or cuda:N;
            under torchrun each process takes the GPU of its local rank.
        workers: DataLoader worker processes (image folders; in-memory data needs none).
        out_dir: where last.pt, best.pt, metrics.json, steps.csv
            and the TensorBoard logs go.
        resume: continue the run in out_dir from its last.pt.
        progress: show a progress bar.
        tensorboard: write TensorBoard logs to out_dir/tensorboard.
    """

    model: str = "cifar_resnet20"
    abn: bool = False
    abn_map: ABNMap = "positive"
    norm: NormKind | None = None
    groups: int = 32
    weights: str | None = None
    dataset: DatasetName = "digits"
    data_root: Path | None = None
    image_size: int | None = None
    augment: bool = True
    epochs: int = 30
    batch_size: int = 128
    optimizer: OptimizerName = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 1e-4
    schedule: ScheduleName = "step"
    milestones: tuple[float, ...] = (0.5, 0.75)
    gamma: float = 0.1
    max_steps_per_epoch: int | None = None
    seed: int = 0
    device: str = "auto"
    workers: int = 0
    out_dir: Path = Path("runs/vision")
    resume: bool = False
    progress: bool = True
    tensorboard: bool = True


@dataclass
class EpochRecord:
    """What one epoch measured."""

    epoch: int
    """Epochs completed (1 for the first)."""
    train_loss: float
    """Mean training loss over the epoch's steps (ABN: attention + perception loss)."""
    top1_error: float
    """Test top-1 error in [0, 1]."""
    top5_error: float | None
    """Test top-5 error in [0, 1]; None with 5 classes or fewer."""
    test_loss: float
    """Mean test cross-entropy of the prediction."""
    lr: float
    """Learning rate during the epoch."""
    images_per_second: float
    """Training throughput, all processes together."""
    seconds: float
    """Wall time of the epoch, evaluation included."""


@dataclass
class TrainResult:
    """The outcome of ``train``."""

    history: list[EpochRecord] = field(default_factory=list)
    """One record per epoch, resumed epochs included."""
    checkpoint: Path | None = None
    """The last checkpoint written."""

    @property
    def final(self) -> EpochRecord:
        """The last epoch's record."""
        return self.history[-1]


class SetupError(Exception):
    """Training cannot start: a setting, the data, the weights or the checkpoint is wrong.

    The message is one sentence for the user; the cause is chained.
    """


def validate(config: TrainConfig) -> None:
    """Check names and numbers of ``config`` before any work starts.

    Raises:
        ValueError: the first problem, in one sentence.
    """
    get_spec(config.model)
    check_abn_map(config.abn_map)
    choices: dict[str, tuple[str, tuple[str, ...]]] = {
        "dataset": (config.dataset, DATASETS),
        "optimizer": (config.optimizer, OPTIMIZERS),
        "schedule": (config.schedule, SCHEDULES),
    }
    for what, (value, allowed) in choices.items():
        if value not in allowed:
            raise ValueError(f"Unknown {what} {value!r}; choose one of {', '.join(allowed)}.")
    positive: dict[str, float] = {
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "lr": config.lr,
    }
    for name, number in positive.items():
        if not number > 0 or not math.isfinite(number):
            raise ValueError(f"The {name} must be a positive number, not {number}.")
    if not 0 < config.gamma <= 1:
        raise ValueError(f"The gamma (each drop's factor) must be in (0, 1], not {config.gamma}.")
