"""Train an image classifier, plain or ABN, on one process or many under ``torchrun``.

``train(TrainConfig(...))`` reads top to bottom: load the data, build the model,
optimizer and schedule, restore a checkpoint when resuming, then per epoch train,
evaluate (top-1 and top-5 error), step the schedule and save ``last.pt`` (and
``best.pt``) atomically.

Started by ``torchrun --nproc_per_node N``, every process trains a shard of each
batch under DistributedDataParallel (gloo on CPU, nccl on GPU, SyncBatchNorm on
GPU); ``batch_size`` is the global batch, so N processes follow the same loss
trajectory as one (exactly so for models without BatchNorm, whose statistics are
per process on CPU).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Subset
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

from vision.data import DATASETS, DatasetName, DatasetSplits, load_dataset
from vision.devices import resolve_device
from vision.files import atomic_file
from vision.models import ABNMap, ABNOutput, abn_loss, build, get_spec
from vision.models.builder import check_abn_map
from vision.norm import NormKind
from vision.optim import (
    OPTIMIZERS,
    SCHEDULES,
    OptimizerName,
    Schedule,
    ScheduleName,
    build_optimizer,
    build_schedule,
    step_schedule,
)

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "abnrl.vision.checkpoint/1"


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


@dataclass(frozen=True)
class TrainedModel:
    """A model loaded from a checkpoint, with what it needs to read new images."""

    model: nn.Module
    """The classifier, in eval mode."""
    name: str
    """Its registry name."""
    abn: bool
    """Whether it is an Attention Branch Network (returns ``ABNOutput``)."""
    classes: tuple[str, ...]
    """Class names, indexed by label."""
    image_size: int
    """Side of the square images it was trained on."""
    mean: tuple[float, ...]
    """Per-channel mean to subtract from [0, 1] images."""
    std: tuple[float, ...]
    """Per-channel standard deviation to divide by."""


@dataclass(frozen=True)
class _Processes:
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


class SetupError(Exception):
    """Training cannot start: a setting, the data, the weights or the checkpoint is wrong.

    The message is one sentence for the user; the cause is chained.
    """


@dataclass
class _Run:
    """Everything a training loop needs, prepared (and restored when resuming)."""

    data: DatasetSplits
    model: nn.Module
    trained: nn.Module  # ``model``, or its DistributedDataParallel wrapper
    optimizer: torch.optim.Optimizer
    schedule: Schedule
    sampler: DistributedSampler
    train_loader: DataLoader
    test_loader: DataLoader
    start_epoch: int = 0
    global_step: int = 0
    best_error: float = math.inf
    history: list[EpochRecord] = field(default_factory=list)


def train(config: TrainConfig) -> TrainResult:
    """Train as ``config`` says; see the module docstring.

    Raises:
        SetupError: a problem found before training starts (unknown name, missing
            data or weights, nothing to resume, a run already in ``out_dir``, ...).
    """
    with _processes(config.device) as processes:
        try:
            run = _prepare(config, processes)
        except (ValueError, OSError, ImportError) as error:
            raise SetupError(str(error)) from error
        return _loop(config, processes, run)


def validate(config: TrainConfig) -> None:
    """Check names and numbers of ``config`` before any work starts.

    Raises:
        ValueError: the first problem, in one sentence.
    """
    get_spec(config.model)
    check_abn_map(config.abn_map)
    choices = {
        "dataset": (config.dataset, DATASETS),
        "optimizer": (config.optimizer, OPTIMIZERS),
        "schedule": (config.schedule, SCHEDULES),
    }
    for what, (value, allowed) in choices.items():
        if value not in allowed:
            raise ValueError(f"Unknown {what} {value!r}; choose one of {', '.join(allowed)}.")
    positive = {"epochs": config.epochs, "batch_size": config.batch_size, "lr": config.lr}
    for what, value in positive.items():
        if value <= 0:
            raise ValueError(f"The {what} must be positive, not {value}.")


def _prepare(config: TrainConfig, processes: _Processes) -> _Run:
    validate(config)
    if config.batch_size % processes.world_size:
        raise ValueError(
            f"The batch size {config.batch_size} does not divide over "
            f"{processes.world_size} processes."
        )
    last_path = Path(config.out_dir) / "last.pt"
    if config.resume and not last_path.is_file():
        raise FileNotFoundError(f"Nothing to resume: {last_path} does not exist.")
    if not config.resume and last_path.exists():
        raise FileExistsError(
            f"{config.out_dir} already holds a run; pass --resume to continue it or pick "
            "another out_dir."
        )
    device = processes.device
    torch.manual_seed(config.seed)
    data = load_dataset(
        config.dataset,
        root=config.data_root,
        image_size=config.image_size,
        seed=config.seed,
        augment=config.augment,
    )
    options = {
        "num_classes": len(data.classes),
        "abn": config.abn,
        "abn_map": config.abn_map,
        "norm": config.norm,
    }
    _check_input_size(config.model, data.image_size, options)
    model = build(config.model, **options, groups=config.groups, weights=config.weights)
    model = model.to(device)
    if processes.world_size > 1 and device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    optimizer = build_optimizer(
        config.optimizer,
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.nesterov,
        weight_decay=config.weight_decay,
    )
    schedule = build_schedule(
        config.schedule,
        optimizer,
        epochs=config.epochs,
        milestones=config.milestones,
        gamma=config.gamma,
    )
    sampler = DistributedSampler(
        data.train,
        num_replicas=processes.world_size,
        rank=processes.rank,
        shuffle=True,
        seed=config.seed,
    )
    run = _Run(
        data=data,
        model=model,
        trained=(
            DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None
            )
            if processes.world_size > 1
            else model
        ),
        optimizer=optimizer,
        schedule=schedule,
        sampler=sampler,
        train_loader=DataLoader(
            data.train,
            batch_size=config.batch_size // processes.world_size,
            sampler=sampler,
            drop_last=True,
            num_workers=config.workers,
            pin_memory=device.type == "cuda",
        ),
        test_loader=DataLoader(
            Subset(data.test, range(processes.rank, len(data.test), processes.world_size)),
            batch_size=config.batch_size // processes.world_size,
            num_workers=config.workers,
        ),
    )
    if config.resume:
        _restore(run, _read_checkpoint(last_path, device), config, device)
        logger.info("Resuming %s after epoch %d.", last_path, run.start_epoch)
    return run


def _check_input_size(name: str, image_size: int, options: dict[str, Any]) -> None:
    """Refuse a model that cannot read the dataset's images, before building it for real."""
    with torch.device("meta"):
        try:
            build(name, **options)(torch.empty(1, 3, image_size, image_size))
        except RuntimeError as error:
            raise ValueError(
                f"{name} cannot read {image_size}x{image_size} images; pick a model for "
                f"this size or another image size ({str(error).splitlines()[0]})."
            ) from None


def _restore(run: _Run, state: dict[str, Any], config: TrainConfig, device: torch.device) -> None:
    _check_same_run(state, config, run.data)
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.schedule.load_state_dict(state["schedule"])
    torch.set_rng_state(state["rng"]["torch"].cpu())
    if device.type == "cuda" and state["rng"]["cuda"] is not None:
        torch.cuda.set_rng_state(state["rng"]["cuda"].cpu(), device)
    run.start_epoch, run.global_step = state["epoch"], state["global_step"]
    run.best_error = state["best_top1_error"]
    run.history = [EpochRecord(**record) for record in state["history"]]


def _loop(config: TrainConfig, processes: _Processes, run: _Run) -> TrainResult:
    out_dir = Path(config.out_dir)
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    result = TrainResult(history=run.history)
    log = _RunLog(config, processes, run.global_step) if processes.is_main else None
    num_classes = len(run.data.classes)
    for epoch in range(run.start_epoch, config.epochs):
        started = time.perf_counter()
        run.sampler.set_epoch(epoch)
        if hasattr(run.data.train, "set_epoch"):
            run.data.train.set_epoch(epoch)
        lr = run.optimizer.param_groups[0]["lr"]
        losses, images_per_second = _train_epoch(run, config, processes, log, epoch)
        run.global_step += len(losses)
        metrics = evaluate(run.trained, run.test_loader, processes.device, num_classes=num_classes)
        step_schedule(run.schedule, metrics["top1_error"])
        record = EpochRecord(
            epoch=epoch + 1,
            train_loss=sum(losses) / max(1, len(losses)),
            top1_error=metrics["top1_error"],
            top5_error=metrics["top5_error"],
            test_loss=metrics["loss"],
            lr=lr,
            images_per_second=images_per_second,
            seconds=time.perf_counter() - started,
        )
        result.history.append(record)
        is_best = record.top1_error < run.best_error
        run.best_error = min(run.best_error, record.top1_error)
        if log is not None:
            state = _checkpoint_state(run, config, processes.device, epoch + 1, result.history)
            save_atomically(state, last_path)
            if is_best:
                save_atomically(state, best_path)
            log.epoch(record, run.global_step)
        result.checkpoint = last_path
    if log is not None:
        log.close(result)
    return result


def _checkpoint_state(
    run: _Run,
    config: TrainConfig,
    device: torch.device,
    epochs_done: int,
    history: list[EpochRecord],
) -> dict[str, Any]:
    return {
        "format": CHECKPOINT_FORMAT,
        "model_name": config.model,
        "abn": config.abn,
        "abn_map": config.abn_map,
        "norm": config.norm,
        "groups": config.groups,
        "classes": list(run.data.classes),
        "image_size": run.data.image_size,
        "mean": list(run.data.mean),
        "std": list(run.data.std),
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "schedule": run.schedule.state_dict(),
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        },
        "epoch": epochs_done,
        "global_step": run.global_step,
        "best_top1_error": run.best_error,
        "history": [dataclasses.asdict(record) for record in history],
        "config": _plain(dataclasses.asdict(config)),
    }


def _train_epoch(
    run: _Run, config: TrainConfig, processes: _Processes, log: _RunLog | None, epoch: int
) -> tuple[list[float], float]:
    """One pass over the training data; returns the step losses (process mean) and images/s."""
    model, optimizer, loader = run.trained, run.optimizer, run.train_loader
    model.train()
    steps = (
        len(loader)
        if config.max_steps_per_epoch is None
        else min(len(loader), config.max_steps_per_epoch)
    )
    losses: list[float] = []
    images_seen = 0
    bar = tqdm(
        total=steps,
        desc=f"epoch {epoch + 1}/{config.epochs}",
        disable=log is None or not config.progress,
        leave=False,
    )
    started = time.perf_counter()
    for images, labels in loader:
        if len(losses) == steps:
            break
        images = images.to(processes.device, non_blocking=True)
        labels = labels.to(processes.device, non_blocking=True)
        loss = training_loss(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        mean_loss = _mean_over_processes(loss.detach(), processes)
        losses.append(mean_loss)
        images_seen += len(images) * processes.world_size
        if log is not None:
            log.step(mean_loss, optimizer.param_groups[0]["lr"])
        bar.update()
        bar.set_postfix(loss=f"{mean_loss:.4f}")
    bar.close()
    return losses, images_seen / max(time.perf_counter() - started, 1e-9)


def training_loss(output: Tensor | ABNOutput, labels: Tensor) -> Tensor:
    """Cross-entropy for a plain model; ``abn_loss`` for an ABN."""
    if isinstance(output, ABNOutput):
        return abn_loss(output, labels)
    return F.cross_entropy(output, labels)


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: DataLoader, device: torch.device, *, num_classes: int
) -> dict[str, float | None]:
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


def save_atomically(state: dict[str, Any], path: Path) -> None:
    """``torch.save`` ``state`` to ``path`` atomically: a crash never leaves half a checkpoint."""
    with atomic_file(path) as file:
        torch.save(state, file)


def load_trained(path: Path | str, *, device: str | torch.device = "cpu") -> TrainedModel:
    """The model of a checkpoint written by ``train``, in eval mode on ``device``.

    A checkpoint saved before ``abn_map`` existed builds the free-weight map conv
    it was trained with: 3x3 where it holds ``abn_map_kernel`` 3, else 1x1.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a vision checkpoint.
    """
    state = _read_checkpoint(Path(path), torch.device(device))
    try:
        model = build(
            state["model_name"],
            num_classes=len(state["classes"]),
            abn=state["abn"],
            abn_map=_saved_abn_map(state),
            norm=state["norm"],
            groups=state["groups"],
        )
        model.load_state_dict(state["model"])
        return TrainedModel(
            model=model.to(device).eval(),
            name=state["model_name"],
            abn=state["abn"],
            classes=tuple(state["classes"]),
            image_size=int(state["image_size"]),
            mean=tuple(state["mean"]),
            std=tuple(state["std"]),
        )
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ValueError(damaged_checkpoint(path, error)) from None


def _read_checkpoint(path: Path, device: torch.device) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}.")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # torch.load raises many types for a damaged file
        raise ValueError(f"{path} is not a readable checkpoint ({type(error).__name__}).") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a checkpoint of `abnrl vision train`.")
    return state


def damaged_checkpoint(path: Path | str, error: Exception) -> str:
    """One sentence for a checkpoint of the right format whose contents do not fit it
    (PyTorch's own messages run to paragraphs)."""
    detail = f"no {error}" if isinstance(error, KeyError) else type(error).__name__
    return f"{path} is a damaged checkpoint ({detail})."


def _saved_abn_map(state: dict[str, Any]) -> ABNMap:
    """The ABN map a checkpoint was trained with.

    Checkpoints saved before ``abn_map`` existed hold the kernel of a free-weight
    conv in ``abn_map_kernel`` (3 or 1) or, older still, nothing: a 1x1 conv.
    """
    if "abn_map" in state:
        return state["abn_map"]
    kernel = state.get("abn_map_kernel", 1)
    return "3x3" if kernel == 3 else "1x1"


def _check_same_run(state: dict[str, Any], config: TrainConfig, data: DatasetSplits) -> None:
    saved = (state["model_name"], state["abn"], state["norm"], len(state["classes"]))
    asked = (config.model, config.abn, config.norm, len(data.classes))
    if saved != asked:
        raise ValueError(
            f"The checkpoint holds model, abn, norm, classes = {saved}, not {asked}; "
            "resume with the settings it was trained with."
        )
    abn_map = _saved_abn_map(state)
    if config.abn and abn_map != config.abn_map:
        raise ValueError(
            f"The checkpoint's ABN map is {abn_map}, not {config.abn_map}; "
            f"resume with --abn-map {abn_map}."
        )


def _plain(value: Any) -> Any:
    """A config as plain Python values (paths as strings) that ``weights_only`` loading accepts."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return str(value) if isinstance(value, Path) else value


def _mean_over_processes(value: Tensor, processes: _Processes) -> float:
    if processes.world_size > 1:
        value = value.clone()
        dist.all_reduce(value)
        value /= processes.world_size
    return float(value)


@contextmanager
def _processes(device: str) -> Iterator[_Processes]:
    """This process's rank, the world size and its device; joins torchrun's process group."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    chosen = resolve_device(device)
    if chosen.type == "cuda" and world_size > 1:
        chosen = torch.device("cuda", local_rank)
    if chosen.type == "cuda":
        torch.cuda.set_device(chosen)
    joined = world_size > 1 and not dist.is_initialized()
    if joined:
        dist.init_process_group(backend="nccl" if chosen.type == "cuda" else "gloo")
    try:
        yield _Processes(rank, world_size, chosen)
    finally:
        if joined:
            dist.destroy_process_group()


class _RunLog:
    """The main process's records: steps.csv, TensorBoard, metrics.json and the log."""

    def __init__(self, config: TrainConfig, processes: _Processes, global_step: int) -> None:
        self.out_dir = Path(config.out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.global_step = global_step
        steps_path = self.out_dir / "steps.csv"
        kept = _steps_before(steps_path, global_step) if config.resume else []
        self.steps_file = steps_path.open("w", newline="")
        self.steps = csv.writer(self.steps_file)
        self.steps.writerow(["step", "loss", "lr"])
        self.steps.writerows(kept)
        self.writer = None
        if config.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(self.out_dir / "tensorboard"))
        self.config = config
        logger.info(
            "Training %s%s on %s: %d process(es) on %s.",
            config.model,
            " (ABN)" if config.abn else "",
            config.dataset,
            processes.world_size,
            processes.device,
        )

    def step(self, loss: float, lr: float) -> None:
        self.global_step += 1
        self.steps.writerow([self.global_step, f"{loss:.6g}", f"{lr:.6g}"])
        if self.writer is not None:
            self.writer.add_scalar("train/loss", loss, self.global_step)

    def epoch(self, record: EpochRecord, global_step: int) -> None:
        self.steps_file.flush()
        if self.writer is not None:
            for name in ("top1_error", "top5_error", "test_loss"):
                value = getattr(record, name)
                if value is not None:
                    self.writer.add_scalar(f"test/{name}", value, global_step)
            self.writer.add_scalar("train/lr", record.lr, global_step)
            self.writer.add_scalar("train/images_per_second", record.images_per_second, global_step)
        top5 = "" if record.top5_error is None else f", top-5 error {record.top5_error:.2%}"
        logger.info(
            "epoch %d/%d: loss %.4f, top-1 error %.2f%%%s, %.0f images/s, %.1f s",
            record.epoch,
            self.config.epochs,
            record.train_loss,
            100 * record.top1_error,
            top5,
            record.images_per_second,
            record.seconds,
        )

    def close(self, result: TrainResult) -> None:
        self.steps_file.close()
        if self.writer is not None:
            self.writer.close()
        summary = {
            "config": _plain(dataclasses.asdict(self.config)),
            "history": [dataclasses.asdict(record) for record in result.history],
        }
        with atomic_file(self.out_dir / "metrics.json", "w") as file:
            json.dump(summary, file, indent=2)


def _steps_before(path: Path, global_step: int) -> list[list[str]]:
    """Rows of an earlier steps.csv up to ``global_step`` (a resumed run redoes the rest)."""
    if not path.is_file():
        return []
    with path.open(newline="") as file:
        rows = list(csv.reader(file))[1:]
    return [row for row in rows if row and int(row[0]) <= global_step]
