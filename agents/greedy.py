"""Deterministic play that cannot stall: epsilon-greedy actions."""

from __future__ import annotations

import numpy as np

GREEDY_EPSILON = 0.05
"""Deterministic play takes the most probable action except, with this probability, a
random one (the epsilon-greedy evaluation of Mnih et al., 2015): a greedy policy that
never presses FIRE on a still screen would otherwise stall its game until the frame cap."""


def with_random_actions(
    actions: np.ndarray, n_actions: int, rng: np.random.Generator
) -> np.ndarray:
    """``actions`` with each replaced, with probability ``GREEDY_EPSILON``, by a random one."""
    chance = rng.random(actions.shape) < GREEDY_EPSILON
    return np.where(chance, rng.integers(n_actions, size=actions.shape), actions)
