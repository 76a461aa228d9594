"""What the agents need to know of a gymnasium space."""

from __future__ import annotations

import gymnasium as gym
from gymnasium import spaces


def discrete_actions(space: gym.Space) -> int:
    """How many actions the discrete action space ``space`` has.

    Raises:
        TypeError: ``space`` is not discrete (Atari games' action sets are).
    """
    if not isinstance(space, spaces.Discrete):
        raise TypeError(f"Expected a discrete action space, got {space}.")
    return int(space.n)
