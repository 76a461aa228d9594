"""Many copies of one Atari game as a Stable-Baselines3 ``VecEnv``, on either backend."""

from __future__ import annotations

from functools import partial

import gymnasium as gym
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from envs.ale_vector import ALEVecEnv
from envs.games import Protocol, get_protocol, normalize_game
from envs.protocol import ProtocolVecEnv
from envs.single import make_atari, preprocess

BACKENDS = ("ale", "gymnasium")


def _gymnasium_game(game: str, protocol: Protocol) -> gym.Env:
    return preprocess(make_atari(game, protocol), protocol)


def make_vec_env(
    game: str = "breakout",
    n_envs: int = 8,
    *,
    backend: str = "ale",
    protocol: str | Protocol = "classic",
    seed: int | None = None,
    training: bool = True,
    num_threads: int = 0,
    subprocess: bool = False,
) -> VecEnv:
    """``n_envs`` games of ``game`` whose observations are uint8 (n_envs, 4, 84, 84).

    Every finished game reports its true score in ``info["episode"]``. With
    ``training=True`` a lost life ends the learning episode and rewards are clipped
    to their sign; with ``training=False`` neither happens.

    Args:
        game: an ALE game, e.g. ``"breakout"``.
        n_envs: number of games played side by side.
        backend: ``"ale"`` (ale-py's threaded C++ vector env) or ``"gymnasium"``
            (gymnasium's Atari preprocessing in SB3's Dummy/SubprocVecEnv).
        protocol: ``"classic"`` or ``"v5"`` (see ``envs.PROTOCOLS``).
        seed: game ``i`` is seeded with ``seed + i`` at the first reset.
        training: apply the training rules (life loss, reward clipping).
        num_threads: threads of the ``"ale"`` backend; 0 picks one per core.
        subprocess: for ``"gymnasium"``, step the games in subprocesses.

    Raises:
        ValueError: unknown game, protocol or backend, or ``n_envs < 1``.
    """
    rom_id = normalize_game(game)
    protocol = get_protocol(protocol)
    if n_envs < 1:
        raise ValueError(f"n_envs must be at least 1, got {n_envs}.")
    if backend == "ale":
        venv: VecEnv = ALEVecEnv(rom_id, n_envs, protocol=protocol, num_threads=num_threads)
    elif backend == "gymnasium":
        factory = partial(_gymnasium_game, rom_id, protocol)
        vec_cls = SubprocVecEnv if subprocess else DummyVecEnv
        venv = vec_cls([factory] * n_envs)
    else:
        raise ValueError(f"Unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}.")
    if seed is not None:
        venv.seed(seed)
    return ProtocolVecEnv(venv, training=training)
