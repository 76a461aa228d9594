"""The main process's records of a classifier's training: steps.csv, TensorBoard,
metrics.json and the log."""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
from pathlib import Path

from vision.checkpoint import plain_values
from vision.distributed import Processes
from vision.files import atomic_file
from vision.train_config import EpochRecord, TrainConfig, TrainResult

logger = logging.getLogger("vision.train")


class RunLog:
    """The main process's records: steps.csv, TensorBoard, metrics.json and the log."""

    def __init__(self, config: TrainConfig, processes: Processes, global_step: int) -> None:
        self.out_dir = Path(config.out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.global_step = global_step
        steps_path = self.out_dir / "steps.csv"
        kept = steps_before(steps_path, global_step) if config.resume else []
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
            "config": plain_values(dataclasses.asdict(self.config)),
            "history": [dataclasses.asdict(record) for record in result.history],
        }
        with atomic_file(self.out_dir / "metrics.json", "w") as file:
            json.dump(summary, file, indent=2)


def steps_before(path: Path, global_step: int) -> list[list[str]]:
    """Rows of an earlier steps.csv up to ``global_step`` (a resumed run redoes the rest)."""
    if not path.is_file():
        return []
    with path.open(newline="") as file:
        rows = list(csv.reader(file))[1:]
    return [row for row in rows if row and int(row[0]) <= global_step]
