"""Epsilon-greedy actions for deterministic play."""

import numpy as np

from agents.greedy import GREEDY_EPSILON, with_random_actions


def test_random_actions_replace_about_epsilon_of_the_greedy_ones():
    greedy = np.zeros(100_000, dtype=np.int64)
    played = with_random_actions(greedy, 4, np.random.default_rng(0))
    changed = np.mean(played != greedy)  # a random action is the greedy one 1 time in 4
    assert abs(changed - GREEDY_EPSILON * 3 / 4) < 0.005
    assert set(np.unique(played)) == {0, 1, 2, 3}
