"""The trained agents that ship inside the package, one per game."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from functools import partial
from importlib.resources import files
from pathlib import Path

import torch

from abnrl.errors import UserError
from envs import normalize_game
from vision.files import write_atomic

# game -> the shipped agent's name: its checkpoint is NAME.zip, its model card NAME.md.
SHIPPED = {"breakout": "breakout-abn-ppo", "pong": "pong-abn-ppo"}
DEFAULT_GAME = "breakout"


def pretrained_checkpoint(game: str = DEFAULT_GAME) -> Path:
    """Path of the ABN-PPO checkpoint that ships for ``game`` (any spelling that
    ``envs.normalize_game`` accepts: ``"Pong"``, ``"PongNoFrameskip-v4"``).

    Raises:
        UserError: ``game`` is no Atari game, no agent ships for it, or the package was
            installed without it.
    """
    try:
        game = normalize_game(game)
    except ValueError as error:
        raise UserError(str(error)) from None
    if game not in SHIPPED:
        raise UserError(
            f"abnrl ships agents for {' and '.join(SHIPPED)}, not for {game}; "
            "give a run dir or agent file instead of --pretrained."
        )
    path = Path(str(files("abnrl") / "pretrained" / f"{SHIPPED[game]}.zip"))
    if not path.is_file():
        raise UserError(f"This installation has no pretrained {game} agent ({path} is missing).")
    return path


def model_card(game: str = DEFAULT_GAME) -> Path:
    """Path of the model card of the agent that ships for ``game``."""
    return pretrained_checkpoint(game).with_suffix(".md")


def slim_checkpoint(source: Path, target: Path) -> None:
    """Write a small copy of a checkpoint for shipping: half-precision weights, no optimizer
    moments, no saved observations. It loads and acts like the original (weights are cast
    back to float32 on load); it is not meant for resuming training.
    """
    with zipfile.ZipFile(source) as archive:
        items = {name: archive.read(name) for name in archive.namelist()}
    weights = torch.load(io.BytesIO(items["policy.pth"]), map_location="cpu")
    # SB3 policies list a shared features extractor under three names; one half-precision
    # copy per stored tensor keeps them one tensor in the file.
    halves: dict[tuple, torch.Tensor] = {}
    for name, value in weights.items():
        if value.is_floating_point():
            key = (value.untyped_storage().data_ptr(), value.storage_offset(), value.shape)
            weights[name] = halves.setdefault(key, value.half())
    items["policy.pth"] = _torch_bytes(weights)
    optimizer = torch.load(io.BytesIO(items["policy.optimizer.pth"]), map_location="cpu")
    items["policy.optimizer.pth"] = _torch_bytes({**optimizer, "state": {}})
    data = json.loads(items["data"])
    data.pop("_last_obs", None)
    data.pop("_last_original_obs", None)
    items["data"] = json.dumps(data).encode()

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in items.items():
                archive.writestr(name, content)

    write_atomic(target, write, suffix=".zip")


RUN_RECORDS = ("config.json", "progress.csv", "evaluations.csv", "segments.csv", "branches.json")


def slim_run_dir(source: Path, target: Path) -> None:
    """Copy what a long run needs to go on after its machine is gone: its records and a slim
    copy of its latest checkpoint. `abnrl train --resume TARGET` continues it with fresh
    optimizer moments and half-precision weights cast back to float32, which costs
    far less than retraining; its learning curve and schedules carry on unchanged.
    """
    (target / "checkpoints").mkdir(parents=True, exist_ok=True)
    for name in RUN_RECORDS:
        if (source / name).is_file():
            write_atomic(target / name, partial(shutil.copyfile, source / name))
    slim_checkpoint(source / "checkpoints" / "latest.zip", target / "checkpoints" / "latest.zip")


def _torch_bytes(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()
