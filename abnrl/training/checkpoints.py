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
from abnrl.training.zoo import zoo_env
from agents import ABNA2C, ABNPPO, channels_last_on_cpu
from agents.q_learning import q_learning_algorithm
from agents.safe_loading import UnsafeCheckpointError, read_data
from envs import PROTOCOLS, action_count, available_games, discrete_actions, normalize_game
from envs.games import get_protocol
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


def _algorithm_class(meta: dict, keys: set[str], policy_class: Any) -> type[BaseAlgorithm]:
    if "algorithm" in meta:
        if meta["algorithm"] not in ALGORITHM_CLASSES:
            raise ValueError(f"its algorithm {meta['algorithm']!r} is none of abnrl's")
        return ALGORITHM_CLASSES[meta["algorithm"]]
    q_learner = q_learning_algorithm(policy_class)
    if q_learner is not None:
        return q_learner
    # Saved before checkpoints named their algorithm: keys that only the ABN algorithms
    # and only PPO save tell it.
    abn = "attention_coef" in keys
    if "clip_range" in keys:
        return ABNPPO if abn else PPO
    return ABNA2C if abn else A2C


def _metadata(path: Path, meta: Any, game: str | None, protocol: str | None) -> dict:
    """The game and protocol the agent plays: the file's, or those given for a plain SB3
    zip (which records neither)."""
    try:
        given = None if game is None else normalize_game(game)
        rules = None if protocol is None else get_protocol(protocol).name
    except ValueError as error:
        raise UserError(str(error)) from None
    if not isinstance(meta, dict) or "game" not in meta:
        meta = _foreign_metadata(path, given, rules)
    recorded = meta.get("game")
    if not isinstance(recorded, str) or recorded not in available_games():
        raise UserError(f"{path} records the game {recorded!r}, which ale-py does not have.")
    if meta.get("protocol") not in PROTOCOLS:
        raise UserError(f"{path} records the protocol {meta.get('protocol')!r}, not classic or v5.")
    if given is not None and given != recorded:
        raise UserError(f"{path} records the game {recorded}; --game {game} disagrees.")
    return meta


def _foreign_metadata(path: Path, game: str | None, protocol: str | None) -> dict:
    """The game and protocol of an agent zip that records neither: those of the RL Zoo
    run dir it lies in, else ``game`` and ``protocol`` (classic when not given)."""
    try:
        zoo = zoo_env(path)
    except ValueError as error:
        raise UserError(f"{error}.") from None
    if zoo is not None:
        return {"game": zoo.game, "protocol": protocol or zoo.protocol, "zoo_env": zoo.env_id}
    if game is None:
        raise UserError(
            f"{path} records no game: it is a plain Stable-Baselines3 agent; say which "
            "game it plays with --game (e.g. breakout) and on which protocol with "
            "--protocol (classic for NoFrameskip-v4 envs, v5 for ALE/...-v5)."
        )
    return {"game": game, "protocol": protocol or "classic"}


def read_agent_file(
    path: Path, game: str | None = None, protocol: str | None = None
) -> tuple[dict, dict, dict]:
    """An agent zip's plain fields, its serialized ones rebuilt safely, and the game and
    protocol it plays (``game`` and ``protocol`` where the file records neither).

    Raises:
        UserError: as ``load_checkpoint``.
    """
    if not path.is_file():
        raise UserError(f"No checkpoint at {path}.")
    try:
        plain, objects = read_data(path)
    except UnsafeCheckpointError as error:
        raise UserError(f"{path} is not a safe agent checkpoint: {error}.") from None
    except (ValueError, OSError) as error:
        raise UserError(f"{path} is not a readable checkpoint: {error}.") from None
    return plain, objects, _metadata(path, objects.get(META_ATTRIBUTE), game, protocol)


def load_checkpoint(
    path: str | Path,
    *,
    device: str = "auto",
    game: str | None = None,
    protocol: str | None = None,
) -> tuple[BaseAlgorithm, dict]:
    """Load an agent saved by ``save_checkpoint``, or a plain Stable-Baselines3 PPO, A2C,
    DQN or QR-DQN zip (``model.save``, or an RL Zoo run's) with the ``game`` and
    ``protocol`` it plays, which such a file does not record; returns the agent and its
    metadata. A Q-learner is loaded with a replay buffer of one step per env: it plays,
    it does not learn.

    Raises:
        UserError: the file is missing, truncated, corrupt, not a PPO or A2C agent, or a
            plain SB3 zip without ``game``; or ``game`` contradicts the file.
    """
    path = Path(path)
    plain, objects, meta = read_agent_file(path, game, protocol)
    try:
        keys = plain.keys() | objects.keys()
        algorithm = _algorithm_class(meta, keys, objects.get("policy_class"))
    except ValueError as error:
        raise UserError(f"{path} is not an abnrl agent checkpoint: {error}.") from None
    if "buffer_size" in plain:  # a Q-learner plays here: no room for its replay buffer
        objects["buffer_size"] = plain.get("n_envs", 1)
    try:
        # Every serialized value is given, so SB3 unpickles nothing.
        model = algorithm.load(path, device=device, custom_objects=objects)
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, RuntimeError, OSError) as error:
        raise UserError(f"{path} is not a readable checkpoint ({type(error).__name__}).") from error
    return channels_last_on_cpu(model), meta
