"""Agent checkpoints: SB3 zip files that also carry the game, protocol and RNG states."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.base_class import BaseAlgorithm

from abnrl.errors import UserError
from agents import ABNA2C, ABNPPO, channels_last_on_cpu
from agents.safe_loading import UnsafeCheckpointError, read_data
from envs import PROTOCOLS, action_count, available_games, discrete_actions
from vision.files import write_atomic

# Saved on the model object, so that SB3 stores it inside the zip.
META_ATTRIBUTE = "abnrl_meta"


def rng_state() -> dict[str, Any]:
    """The global RNG states that training draws from (Python, NumPy, torch, CUDA)."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# The algorithms a checkpoint may hold, by the name its metadata records.
ALGORITHM_CLASSES: dict[str, type[BaseAlgorithm]] = {
    cls.__name__: cls for cls in (ABNPPO, PPO, ABNA2C, A2C)
}


def save_checkpoint(model: BaseAlgorithm, path: Path, *, game: str, protocol: str) -> None:
    """Save ``model`` atomically with its algorithm, game, protocol and the RNG states."""
    meta = {
        "algorithm": type(model).__name__,
        "game": game,
        "protocol": protocol,
        "rng": rng_state(),
    }
    setattr(model, META_ATTRIBUTE, meta)
    write_atomic(path, model.save, suffix=".zip")


def check_actions(model: BaseAlgorithm, game: str) -> None:
    """Raise ``UserError`` unless the agent acts in ``game``'s action set."""
    n_actions = action_count(game)
    agent_actions = discrete_actions(model.action_space)
    if agent_actions != n_actions:
        raise UserError(
            f"This checkpoint's agent has {agent_actions} actions, but "
            f"{game} has {n_actions}: it was trained for another game."
        )


def _algorithm_class(meta: dict, keys: set[str]) -> type[BaseAlgorithm]:
    if "algorithm" in meta:
        if meta["algorithm"] not in ALGORITHM_CLASSES:
            raise ValueError(f"its algorithm {meta['algorithm']!r} is none of abnrl's")
        return ALGORITHM_CLASSES[meta["algorithm"]]
    # Saved before checkpoints named their algorithm: keys that only the ABN algorithms
    # and only PPO save tell it.
    abn = "attention_coef" in keys
    if "clip_range" in keys:
        return ABNPPO if abn else PPO
    return ABNA2C if abn else A2C


def load_checkpoint(path: str | Path, *, device: str = "auto") -> tuple[BaseAlgorithm, dict]:
    """Load an agent saved by ``save_checkpoint``; returns it and its metadata.

    Raises:
        UserError: the file is missing, truncated, corrupt, or not an abnrl agent.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"No checkpoint at {path}.")
    try:
        plain, objects = read_data(path)
    except UnsafeCheckpointError as error:
        raise UserError(f"{path} is not a safe agent checkpoint: {error}.") from None
    except (ValueError, OSError) as error:
        raise UserError(f"{path} is not a readable checkpoint: {error}.") from None
    meta = objects.get(META_ATTRIBUTE)
    if not isinstance(meta, dict) or "game" not in meta:
        raise UserError(f"{path} is not an abnrl agent checkpoint (no game recorded in it).")
    game, protocol = meta.get("game"), meta.get("protocol")
    if not isinstance(game, str) or game not in available_games() or protocol not in PROTOCOLS:
        raise UserError(
            f"{path} records the game {game!r} and protocol {protocol!r}; abnrl plays the "
            "games of ale-py on the protocols classic and v5."
        )
    try:
        algorithm = _algorithm_class(meta, plain.keys() | objects.keys())
    except ValueError as error:
        raise UserError(f"{path} is not an abnrl agent checkpoint: {error}.") from None
    try:
        # Every serialized value is given, so SB3 unpickles nothing.
        model = algorithm.load(path, device=device, custom_objects=objects)
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, RuntimeError, OSError) as error:
        raise UserError(f"{path} is not a readable checkpoint ({type(error).__name__}).") from error
    return channels_last_on_cpu(model), meta
