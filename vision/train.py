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

import logging
import math
import time
from collections.abc import Callable, Sized
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Subset
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

from vision.checkpoint import check_same_run, checkpoint_state, read_checkpoint, save_atomically
from vision.data import DatasetSplits, load_dataset
from vision.distributed import Processes, join_processes, mean_over_processes
from vision.evaluation import evaluate
from vision.models import ABNOutput, abn_loss, build
from vision.optim import Schedule, build_optimizer, build_schedule, step_schedule
from vision.run_log import RunLog
from vision.train_config import EpochRecord, SetupError, TrainConfig, TrainResult, validate

__all__ = ["SetupError", "TrainConfig", "TrainResult", "train"]

logger = logging.getLogger(__name__)


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
    with join_processes(config.device) as processes:
        try:
            run = _prepare(config, processes)
        except (ValueError, OSError, ImportError) as error:
            raise SetupError(str(error)) from error
        return _loop(config, processes, run)


def _checked_last_path(config: TrainConfig, processes: Processes) -> Path:
    """Where the run's ``last.pt`` goes, once the config fits the processes and the
    out_dir fits --resume (a checkpoint to resume, or none to overwrite)."""
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
    return last_path


def _model(config: TrainConfig, data: DatasetSplits, processes: Processes) -> nn.Module:
    """The classifier of the config for the dataset, on the processes' device."""
    build_model = partial(
        build,
        config.model,
        num_classes=len(data.classes),
        abn=config.abn,
        abn_map=config.abn_map,
        norm=config.norm,
    )
    _check_input_size(build_model, config.model, data.image_size)
    model = build_model(groups=config.groups, weights=config.weights).to(processes.device)
    if processes.world_size > 1 and processes.device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return model


def _prepare(config: TrainConfig, processes: Processes) -> _Run:
    last_path = _checked_last_path(config, processes)
    device = processes.device
    torch.manual_seed(config.seed)
    data = load_dataset(
        config.dataset,
        root=config.data_root,
        image_size=config.image_size,
        seed=config.seed,
        augment=config.augment,
    )
    model = _model(config, data, processes)
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
    sampler: DistributedSampler[int] = DistributedSampler(
        data.train,
        num_replicas=processes.world_size,
        rank=processes.rank,
        shuffle=True,
        seed=config.seed,
    )
    # torch's Dataset declares no __len__, but every split has one.
    test_size = len(cast(Sized, data.test))
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
            Subset(data.test, range(processes.rank, test_size, processes.world_size)),
            batch_size=config.batch_size // processes.world_size,
            num_workers=config.workers,
        ),
    )
    if config.resume:
        _restore(run, read_checkpoint(last_path, device), config, device)
        logger.info("Resuming %s after epoch %d.", last_path, run.start_epoch)
    return run


def _check_input_size(build_model: Callable[[], nn.Module], name: str, image_size: int) -> None:
    """Refuse a model that cannot read the dataset's images, before building it for real."""
    with torch.device("meta"):
        try:
            build_model()(torch.empty(2, 3, image_size, image_size))  # 2: BatchNorm trains
        except RuntimeError as error:
            raise ValueError(
                f"{name} cannot read {image_size}x{image_size} images; pick a model for "
                f"this size or another image size ({str(error).splitlines()[0]})."
            ) from None


def _restore(run: _Run, state: dict[str, Any], config: TrainConfig, device: torch.device) -> None:
    check_same_run(state, config, run.data)
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.schedule.load_state_dict(state["schedule"])
    torch.set_rng_state(state["rng"]["torch"].cpu())
    if device.type == "cuda" and state["rng"]["cuda"] is not None:
        torch.cuda.set_rng_state(state["rng"]["cuda"].cpu(), device)
    run.start_epoch, run.global_step = state["epoch"], state["global_step"]
    run.best_error = state["best_top1_error"]
    run.history = [EpochRecord(**record) for record in state["history"]]


def _loop(config: TrainConfig, processes: Processes, run: _Run) -> TrainResult:
    out_dir = Path(config.out_dir)
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    result = TrainResult(history=run.history)
    log = RunLog(config, processes, run.global_step) if processes.is_main else None
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
            state = checkpoint_state(
                config,
                run.data,
                {"model": run.model, "optimizer": run.optimizer, "schedule": run.schedule},
                device=processes.device,
                epochs_done=epoch + 1,
                global_step=run.global_step,
                best_error=run.best_error,
                history=result.history,
            )
            save_atomically(state, last_path)
            if is_best:
                save_atomically(state, best_path)
            log.epoch(record, run.global_step)
        result.checkpoint = last_path
    if log is not None:
        log.close(result)
    return result


def _train_epoch(
    run: _Run, config: TrainConfig, processes: Processes, log: RunLog | None, epoch: int
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
        mean_loss = mean_over_processes(loss.detach(), processes)
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
