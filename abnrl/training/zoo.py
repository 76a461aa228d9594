"""RL Baselines3 Zoo's files: its run dirs read as agents, and the files its ``enjoy``
script reads written beside abnrl's agents.

A Zoo run dir (``logs/ppo/BreakoutNoFrameskip-v4_1/``) holds the agent as
``BreakoutNoFrameskip-v4.zip`` (or ``best_model.zip``, ``rl_model_<steps>_steps.zip``)
and its settings in ``BreakoutNoFrameskip-v4/args.yml`` and ``config.yml``. The Zoo
reads those with PyYAML's unsafe loader; here they are read with the safe one, which
admits the one Python tag the Zoo writes (an ``OrderedDict``) as a plain mapping. The
env id only names the game and the protocol (``GameNoFrameskip-v4``: classic,
``ALE/Game-v5``: v5); it is never handed to ``gym.make``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from envs import normalize_game
from vision.files import write_text_atomic

MAX_SETTINGS_BYTES = 1 << 20
"""The largest ``args.yml`` or ``config.yml`` read (the Zoo's are a few kilobytes)."""
ENV_ID = re.compile(r"(?:ALE[/-])?(?P<game>[A-Z][A-Za-z]*)(?P<rules>NoFrameskip-v4|-v5)")


class ZooEnv(NamedTuple):
    """The game and protocol of a Zoo agent, from the env id it was trained on."""

    env_id: str
    game: str
    protocol: str


def env_of(env_id: str) -> ZooEnv:
    """``BreakoutNoFrameskip-v4`` -> breakout, classic; ``ALE/Breakout-v5`` -> breakout, v5.

    Raises:
        ValueError: not an Atari env id of either kind, or a game ale-py lacks.
    """
    match = ENV_ID.fullmatch(env_id)
    if match is None:
        raise ValueError(
            f"the env id {env_id!r} is not an Atari one (GameNoFrameskip-v4 or ALE/Game-v5)"
        )
    protocol = "classic" if match["rules"] == "NoFrameskip-v4" else "v5"
    return ZooEnv(env_id, normalize_game(match["game"]), protocol)


def env_id(game: str, protocol: str) -> str:
    """The Zoo's env id of ``game`` under ``protocol`` (``breakout``, classic ->
    ``BreakoutNoFrameskip-v4``)."""
    name = "".join(part.capitalize() for part in game.split("_"))
    return f"{name}NoFrameskip-v4" if protocol == "classic" else f"ALE/{name}-v5"


def folder_name(env: str) -> str:
    """The Zoo's folder and file name for an env id (``ALE/Breakout-v5`` -> ``ALE-Breakout-v5``)."""
    return env.replace("/", "-")


class _SettingsLoader(yaml.SafeLoader):
    """PyYAML's safe loader plus the ``OrderedDict`` tag the Zoo's files carry."""


def _ordered_dict(loader: yaml.SafeLoader, node: yaml.Node) -> dict:
    (pairs,) = loader.construct_sequence(node, deep=True)
    if not all(isinstance(pair, list) and len(pair) == 2 for pair in pairs):
        raise yaml.YAMLError("an OrderedDict that is not a list of key-value pairs")
    return {key: value for key, value in pairs}


_SettingsLoader.add_constructor(
    "tag:yaml.org,2002:python/object/apply:collections.OrderedDict", _ordered_dict
)


def read_settings(path: Path) -> dict[str, Any]:
    """A Zoo ``args.yml`` or ``config.yml`` as a mapping.

    Raises:
        ValueError: too large, not YAML, not a mapping, or holding any other Python object.
    """
    if path.stat().st_size > MAX_SETTINGS_BYTES:
        raise ValueError(f"{path} is over {MAX_SETTINGS_BYTES:,} bytes, more than Zoo settings")
    try:
        settings = yaml.load(path.read_text(), Loader=_SettingsLoader)  # noqa: S506 (safe loader)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"{path} is not readable Zoo settings ({reason})") from None
    if not isinstance(settings, dict):
        raise ValueError(f"{path} is not readable Zoo settings (not a mapping)")
    return settings


def settings_folder(run_dir: Path) -> Path | None:
    """The folder of a Zoo run dir that holds its ``args.yml`` or ``config.yml``; None
    where ``run_dir`` has none (it is no Zoo run dir)."""
    found = [
        folder
        for folder in sorted(run_dir.iterdir())
        if folder.is_dir() and any((folder / name).is_file() for name in ("args.yml", "config.yml"))
    ]
    return found[0] if len(found) == 1 else None


def zoo_agent_zip(run_dir: Path) -> Path | None:
    """The agent of a Zoo run dir: its final ``<env>.zip``, else ``best_model.zip``, else
    its last ``rl_model_<steps>_steps.zip``; None where ``run_dir`` is no Zoo run dir.

    Raises:
        ValueError: a Zoo run dir without any agent zip.
    """
    settings = settings_folder(run_dir)
    if settings is None:
        return None
    checkpoints = sorted(
        run_dir.glob("rl_model_*_steps.zip"),
        key=lambda path: int(re.sub(r"\D", "", path.stem) or 0),
    )
    for candidate in (
        run_dir / f"{settings.name}.zip",
        run_dir / "best_model.zip",
        *checkpoints[-1:],
    ):
        if candidate.is_file():
            return candidate
    raise ValueError(
        f"{run_dir} is an RL Zoo run dir without its agent: no {settings.name}.zip, "
        "best_model.zip or rl_model_<steps>_steps.zip in it"
    )


def zoo_env(agent_zip: Path) -> ZooEnv | None:
    """The env a Zoo agent was trained on, from the run dir it lies in (``args.yml``'s
    ``env``, else the settings folder's name); None where it lies in no Zoo run dir.

    Raises:
        ValueError: unreadable settings, or an env id that is no Atari game's.
    """
    settings = settings_folder(agent_zip.parent)
    if settings is None:
        return None
    args = settings / "args.yml"
    recorded = read_settings(args).get("env") if args.is_file() else None
    if not isinstance(recorded, str):
        recorded = re.sub(r"^ALE-", "ALE/", settings.name)
    return env_of(recorded)


def enjoy_files(root: Path, algo: str, game: str, protocol: str) -> tuple[Path, Path]:
    """Where ``python -m rl_zoo3.enjoy --algo ALGO --env ENV -f ROOT`` looks for an agent
    and its settings: ``ROOT/ALGO/ENV.zip`` and the folder ``ROOT/ALGO/ENV/``."""
    name = folder_name(env_id(game, protocol))
    return root / algo / f"{name}.zip", root / algo / name


def write_enjoy_files(root: Path, checkpoint: Path, *, algo: str, game: str, protocol: str) -> None:
    """Let the RL Zoo's ``enjoy`` play the run in ``root``: a relative link to its
    ``checkpoint`` where ``enjoy`` looks, and the ``config.yml`` and ``args.yml`` it reads
    (the Zoo's Atari preprocessing, 4 stacked frames: the observations the agent was
    trained on). The v5 protocol's env skips no frames itself (the wrapper does) and
    starts without no-ops, as abnrl plays it."""
    agent_zip, settings = enjoy_files(root, algo, game, protocol)
    settings.mkdir(parents=True, exist_ok=True)
    classic = protocol == "classic"
    wrapper = {
        "stable_baselines3.common.atari_wrappers.AtariWrapper": {"noop_max": 30 if classic else 0}
    }
    config = {"env_wrapper": [wrapper], "frame_stack": 4, "normalize": False, "policy": "CnnPolicy"}
    args = {
        "algo": algo,
        "env": env_id(game, protocol),
        "env_kwargs": None if classic else {"frameskip": 1},
    }
    write_text_atomic(settings / "config.yml", yaml.safe_dump(config, sort_keys=True))
    write_text_atomic(settings / "args.yml", yaml.safe_dump(args, sort_keys=True))
    target = os.path.relpath(checkpoint, agent_zip.parent)
    if not agent_zip.is_symlink() or os.readlink(agent_zip) != target:
        link = agent_zip.with_name(f".{agent_zip.name}.link")
        link.unlink(missing_ok=True)
        link.symlink_to(target)
        link.replace(agent_zip)
