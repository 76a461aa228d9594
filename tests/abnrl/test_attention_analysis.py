"""``benchmarks/attention_analysis.py``: its core on one short game of the shipped agent."""

import torch

from abnrl.checkpoints import load_checkpoint
from abnrl.pretrained import pretrained_checkpoint
from agents.policy_network import policy_network
from benchmarks.attention_analysis import ABN, METRICS, RANDOM, analyse, markdown_table


def test_analysis_of_a_short_game_gives_scores_in_range():
    torch.set_num_threads(1)
    model, _ = load_checkpoint(pretrained_checkpoint(), device="cpu")
    network = policy_network(model.policy)
    analysis = analyse(
        network,
        episodes=1,
        every=20,
        max_steps_per_game=160,
        methods=(ABN, RANDOM),
        deletion_steps=10,
        examples=1,
    )

    frames = len(analysis.action_probabilities)
    ball_frames = len(analysis.disc_shares)
    assert analysis.steps == [160] and frames == 8 and 0 < ball_frames <= frames
    assert set(analysis.values) == {ABN, RANDOM}
    for method, metrics in analysis.values.items():
        assert set(metrics) == set(METRICS), method
        assert len(metrics["paddle_pointing"]) == len(metrics["deletion_auc"]) == frames
        assert len(metrics["ball_pointing"]) == len(metrics["ball_mass_share"]) == ball_frames
        for metric, values in metrics.items():
            assert all(0.0 <= value <= 1.0 for value in values), (method, metric)
    assert all(0.0 < share < 1.0 for share in analysis.disc_shares)
    assert all(0.0 <= p <= 1.0 for p in analysis.action_probabilities)

    (example,) = analysis.examples
    assert example.frame.shape == (210, 160, 3) and example.ball.label == "ball"
    assert {method: heat.shape for method, heat in example.maps.items()} == {
        ABN: (84, 84),
        RANDOM: (84, 84),
    }
    table = markdown_table(analysis, radius=8.0, tolerance=4.0)
    assert f"| {ABN} |" in table and f"| {RANDOM} |" in table
