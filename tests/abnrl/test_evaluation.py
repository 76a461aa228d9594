"""Evaluation games: deterministic play cannot stall a game; an evaluation repeats exactly."""

import numpy as np
import torch
from gymnasium.spaces import Discrete

from abnrl.training.checkpoints import load_checkpoint
from abnrl.training.evaluation import evaluate


class NeverFires:
    """A greedy policy that always picks NOOP: Breakout's ball is never launched."""

    action_space = Discrete(4)

    def predict(self, obs, deterministic=False):
        return np.zeros(len(obs), dtype=np.int64), None


def test_deterministic_play_finishes_a_game_that_greedy_play_would_stall():
    result = evaluate(NeverFires(), "breakout", episodes=2, n_envs=2, deterministic=True)
    cap = 108_000 // 4
    assert len(result.scores) == 2 and max(result.lengths) < cap / 4


def test_an_evaluation_repeats_exactly_and_leaves_the_callers_random_stream(trained_run):
    model, _ = load_checkpoint(trained_run / "checkpoints" / "latest.zip", device="cpu")
    torch.manual_seed(123)
    expected_draw = torch.rand(1)
    torch.manual_seed(123)
    first = evaluate(model, "breakout", episodes=2, n_envs=2, seed=7)
    assert torch.equal(torch.rand(1), expected_draw)
    second = evaluate(model, "breakout", episodes=2, n_envs=2, seed=7)
    assert (first.scores, first.lengths) == (second.scores, second.lengths)
