"""Two processes under torchrun (DistributedDataParallel, gloo on CPU) follow one process's run."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vision.train import TrainConfig, train

REPO = Path(__file__).resolve().parents[2]

# GroupNorm: the model computes the same function whatever the per-process batch.
SETTINGS = dict(
    model="cifar_resnet20",
    abn=True,
    norm="gn",
    groups=8,
    dataset="digits",
    epochs=2,
    batch_size=32,
    max_steps_per_epoch=4,
    lr=0.05,
    progress=False,
    tensorboard=False,
)

WORKER = """
import sys
import tyro
from abnrl.commands.vision_train import VisionTrainConfig, run
sys.exit(run(tyro.cli(VisionTrainConfig)))
"""


def _flags(settings: dict) -> list[str]:
    flags = []
    for name, value in settings.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else "--no-" + flag[2:])
        else:
            flags += [flag, str(value)]
    return flags


def _losses(out_dir: Path) -> list[float]:
    with (out_dir / "steps.csv").open() as file:
        return [float(row["loss"]) for row in csv.DictReader(file)]


def test_two_process_ddp_run_matches_one_process(tmp_path):
    single = train(TrainConfig(**SETTINGS, out_dir=tmp_path / "single"))

    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        str(worker), *_flags(SETTINGS), "--device", "cpu", "--out-dir", str(tmp_path / "ddp"),
    ]  # fmt: skip
    finished = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=240
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "2 process(es) on cpu" in finished.stderr

    # Tolerances: floating-point summation order alone (1 thread instead of 2 in one
    # process) moves these losses by up to 2e-4 and the weights by up to 5e-4.
    single_losses, ddp_losses = _losses(tmp_path / "single"), _losses(tmp_path / "ddp")
    assert len(ddp_losses) == len(single_losses) == 8
    assert ddp_losses == pytest.approx(single_losses, rel=1e-3)
    a = torch.load(tmp_path / "single" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "ddp" / "last.pt", weights_only=True)
    for key, value in a["model"].items():
        assert torch.allclose(value, b["model"][key], atol=2e-3), key
    errors = [record["top1_error"] for record in b["history"]]
    assert errors == pytest.approx([record.top1_error for record in single.history], abs=0.01)
