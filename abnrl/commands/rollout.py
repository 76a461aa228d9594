"""``abnrl rollout``: play games with random actions and print their scores.

A quick check that the emulator, ROMs and preprocessing work on this machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abnrl.errors import UserError
from abnrl.validation import check_at_least
from envs import discrete_actions, make_vec_env
from envs.games import ProtocolName


@dataclass
class RolloutConfig:
    """Play Atari games with random actions and print each game's score."""

    game: str = "breakout"
    """ALE game, e.g. breakout or ms_pacman."""
    episodes: int = 3
    """Number of games to play."""
    n_envs: int = 4
    """Games played side by side."""
    protocol: ProtocolName = "classic"
    """classic (no sticky actions, up to 30 no-op starts) or v5 (sticky actions 0.25)."""
    backend: str = "ale"
    """ale (ale-py's threaded C++ vector env) or gymnasium."""
    seed: int = 0
    """Seed of the games and of the random actions."""


def run(config: RolloutConfig) -> int:
    check_at_least(config, {"episodes": 1, "n_envs": 1})
    try:
        venv = make_vec_env(
            config.game,
            config.n_envs,
            backend=config.backend,
            protocol=config.protocol,
            seed=config.seed,
            training=False,
        )
    except ValueError as error:
        raise UserError(str(error)) from error
    rng = np.random.default_rng(config.seed)
    venv.reset()
    scores: list[float] = []
    while len(scores) < config.episodes:
        _, _, _, infos = venv.step(
            rng.integers(0, discrete_actions(venv.action_space), venv.num_envs)
        )
        for info in infos:
            if "episode" in info and len(scores) < config.episodes:
                scores.append(info["episode"]["r"])
                print(
                    f"game {len(scores)}: score {info['episode']['r']:.0f}, "
                    f"{info['episode']['l']} steps"
                )
    venv.close()
    print(
        f"{config.game} ({config.protocol} protocol, random actions): "
        f"mean {np.mean(scores):.2f} +- {np.std(scores):.2f} over {len(scores)} games"
    )
    return 0
