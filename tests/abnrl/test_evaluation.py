"""Evaluation games: deterministic play cannot stall a game; an evaluation repeats exactly."""

import torch
from torch import nn

from abnrl.training.checkpoints import load_checkpoint
from abnrl.training.evaluation import evaluate
from agents.policy_view import PolicyOutput


class NeverFires(nn.Module):
    """A policy whose most probable action is always NOOP: Breakout's ball is never
    launched by greedy play."""

    def forward(self, observations):
        logits = torch.tensor([[5.0, 0.0, 0.0, 0.0]]).expand(len(observations), -1)
        return PolicyOutput(logits, torch.zeros(len(observations)))


def test_deterministic_play_finishes_a_game_that_greedy_play_would_stall():
    result = evaluate(
        NeverFires(), "breakout", episodes=2, n_envs=2, protocol="classic", deterministic=True
    )
    cap = 108_000 // 4
    assert len(result.scores) == 2 and max(result.lengths) < cap / 4


def test_an_evaluation_repeats_exactly_and_leaves_the_callers_random_stream(trained_run):
    model, _ = load_checkpoint(trained_run / "checkpoints" / "latest.zip", device="cpu")
    torch.manual_seed(123)
    expected_draw = torch.rand(1)
    torch.manual_seed(123)
    first = evaluate(model, "breakout", episodes=2, n_envs=2, protocol="classic", seed=7)
    assert torch.equal(torch.rand(1), expected_draw)
    second = evaluate(model, "breakout", episodes=2, n_envs=2, protocol="classic", seed=7)
    assert (first.scores, first.lengths) == (second.scores, second.lengths)
