"""Atari environments: one game with colour frames for video, fast vector envs for training."""

from envs.games import (
    PROTOCOLS,
    REFERENCE_SCORES,
    Protocol,
    available_games,
    get_protocol,
    normalize_game,
)
from envs.single import action_count, emulator, make_env
from envs.spaces import discrete_actions
from envs.vector import BACKENDS, make_vec_env

__all__ = [
    "BACKENDS",
    "PROTOCOLS",
    "REFERENCE_SCORES",
    "Protocol",
    "action_count",
    "available_games",
    "discrete_actions",
    "emulator",
    "get_protocol",
    "make_env",
    "make_vec_env",
    "normalize_game",
]
