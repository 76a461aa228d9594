"""``abnrl.analysis.attention`` and ``abnrl analyze``: short games, real agents."""

import json

import cv2
import pytest
import torch

from abnrl.analysis.attention import (
    ATTENTION,
    BALL_CELL,
    DEPENDENCE,
    METRICS,
    RANDOM,
    analyse,
    as_distribution,
    ball_cell_maps,
    default_sources,
    frame_targets,
    head_source,
    summarise,
)
from abnrl.analysis.attention_report import (
    attention_table,
    examples_figure,
    metrics_table,
    plot_metrics,
)
from abnrl.pretrained import pretrained_checkpoint
from abnrl.training.checkpoints import load_checkpoint
from agents import ABNActorCritic
from agents.policy_view import policy_network
from envs.objects import Box
from tests.abnrl.cli import abnrl
from vision.explain import pointing_game


def shipped_network():
    model, _ = load_checkpoint(pretrained_checkpoint(), device="cpu")
    return policy_network(model.policy).eval()


def test_analysis_of_a_short_game_gives_every_measure_in_range():
    analysis = analyse(
        shipped_network(),
        episodes=1,
        every=20,
        max_steps_per_game=160,
        sources=(ATTENTION, RANDOM),
        curve_steps=10,
        examples=1,
    )
    frames = len(analysis.action_probabilities)
    ball_frames = len(analysis.disc_shares)
    assert analysis.steps == [160] and frames == 8 and 0 < ball_frames <= frames
    assert set(analysis.values) == {ATTENTION, RANDOM}
    for source, metrics in analysis.values.items():
        assert set(metrics) == set(METRICS), source
        assert len(metrics["paddle_pointing"]) == len(metrics["deletion_auc"]) == frames
        assert len(metrics["insertion_auc"]) == frames
        assert len(metrics["ball_pointing"]) == len(metrics["ball_mass_share"]) == ball_frames
        assert len(metrics["ball_path_pointing"]) == ball_frames
        # The ball's path holds its present place: hitting the ball hits the path.
        hits = zip(metrics["ball_pointing"], metrics["ball_path_pointing"], strict=True)
        assert all(path >= now for now, path in hits)
        for metric, values in metrics.items():
            assert all(0.0 <= value <= 1.0 for value in values), (source, metric)
    assert set(analysis.dependence) == set(DEPENDENCE)
    for measures in analysis.dependence.values():
        assert len(measures["action_change"]) == len(measures["kl"]) == frames
        assert set(measures["action_change"]) <= {0.0, 1.0}
        assert min(measures["kl"]) >= -1e-6
    stats = analysis.map_statistics
    assert len(stats["change"]) == 159  # one per pair of consecutive steps
    # The shipped agent's GroupNorm map: mean pinned near 0.59, almost flat.
    assert all(0.55 < mean < 0.63 for mean in stats["mean"])
    assert all(0.9 < entropy <= 1.0 for entropy in stats["entropy"])

    summary = summarise(analysis)
    table = metrics_table(summary, radius=8.0, tolerance=4.0, peak_window=14)
    assert table.count("\n") == 4 and "| attention |" in table
    assert "spatial mean" in attention_table(summary)
    (example,) = analysis.examples
    assert example.frame.shape == (210, 160, 3) and example.ball.label == "ball"
    assert examples_figure(analysis.examples).shape[2] == 3


def test_a_multi_head_agent_is_scored_per_head_and_as_a_whole():
    torch.manual_seed(0)
    network = ABNActorCritic(4, attention="softmax", heads=2).eval()
    sources = default_sources(network)
    assert sources[:4] == (ATTENTION, head_source(0), head_source(1), BALL_CELL)
    analysis = analyse(
        network, episodes=1, every=25, max_steps_per_game=50, sources=sources[:4], curve_steps=5
    )
    assert all(len(analysis.values[s]["paddle_pointing"]) == 2 for s in sources[:4])


def test_an_analysis_without_curves_scores_everything_else(tmp_path):
    torch.manual_seed(0)
    network = ABNActorCritic(4, attention="softmax", heads=2).eval()
    analysis = analyse(
        network, episodes=1, every=25, max_steps_per_game=50, sources=(ATTENTION,), curve_steps=0
    )
    metrics = analysis.values[ATTENTION]
    assert metrics["deletion_auc"] == metrics["insertion_auc"] == []
    assert len(metrics["paddle_pointing"]) == 2
    assert len(analysis.dependence["mean_map"]["action_change"]) == 2
    summary = summarise(analysis)
    row = metrics_table(summary, radius=8.0, tolerance=4.0, peak_window=14).splitlines()[2]
    assert row.endswith("| n/a | n/a |") and row.count("n/a") == 2
    plot_metrics(summary, tmp_path / "metrics.png", "no curves")
    chart = cv2.imread(str(tmp_path / "metrics.png"))
    assert chart.shape[1] == 1333  # five panels of the seven at 80 dpi: no empty curve panels


def test_the_ball_cell_reference_marks_the_cell_that_holds_the_ball():
    paddle = Box("paddle", 70, 189, 86, 193)
    frames = [[Box("ball", 94, 48, 96, 52), paddle], [paddle]]  # ball at (95, 50) in the frame
    targets = frame_targets(frames, radius=8.0)
    maps = ball_cell_maps(targets, (9, 9))
    # (95, 50) of 160x210 is (49.9, 20.0) of 84x84: column 5, row 2 of a 9x9 grid, whose
    # centre (51.3, 23.3) is the peak of the map resized to 84x84.
    assert maps.shape == (2, 84, 84) and divmod(int(maps[0].argmax()), 84) == (23, 51)
    assert (maps[1] == 1).all()  # no ball: flat
    # The peak is 3.6 px from the ball's centre: a hit at 4 px.
    assert pointing_game(maps[:1], targets.ball[:1], tolerance=4.0).item()


def test_maps_read_as_distributions_sum_to_one():
    maps = torch.tensor([[[0.0, 0.0], [0.0, 0.0]], [[1.0, 3.0], [0.0, 0.0]]])
    distribution = as_distribution(maps)
    torch.testing.assert_close(distribution.sum(dim=(1, 2)), torch.ones(2))
    assert distribution[1, 0, 1] == pytest.approx(0.75)


def test_analyze_command_end_to_end_on_a_tiny_run(trained_run, tmp_path):
    out = tmp_path / "analysis"
    result = abnrl(
        "analyze",
        trained_run,
        "--episodes",
        "1",
        "--max-steps-per-game",
        "60",
        "--every",
        "20",
        "--maps",
        "attention",
        "random",
        "--no-curves",
        "--out",
        out,
    )
    assert "top action changes" in result.stdout
    results = json.loads((out / "attention-analysis.json").read_text())
    assert results["metrics"][RANDOM]["deletion_auc"]["frames"] == 0
    heads = json.loads((trained_run / "config.json").read_text())["attention_heads"]
    per_head = {f"{ATTENTION} head {i}" for i in range(heads)} if heads > 1 else set()
    assert results["frames_scored"] == 3
    assert set(results["metrics"]) == {ATTENTION, RANDOM, *per_head}
    assert (out / "attention-metrics.png").stat().st_size > 0
    table = (out / "attention-analysis.md").read_text()
    assert table.startswith("| map |") and "centre of mass within 14 px" in table
    random = results["metrics"][RANDOM]
    assert random["ball_pointing_refined"]["frames"] == random["ball_pointing"]["frames"]


def test_analyze_refuses_own_maps_of_an_agent_without_attention(cnn_run, tmp_path):
    result = abnrl("analyze", cnn_run, "--episodes", "1", "--out", tmp_path / "a", check=False)
    assert result.returncode == 2
    assert "no attention maps of its own" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "a").exists()


def test_the_ball_path_target_holds_where_the_ball_is_going():
    paddle = Box("paddle", 70, 189, 86, 193)
    now, later = Box("ball", 94, 48, 96, 52), Box("ball", 130, 90, 132, 94)
    targets = frame_targets([[now, paddle]], radius=8.0, paths=[[now, later]])
    ahead = torch.zeros(1, 84, 84)
    ahead[0, 36, 68] = 1.0  # (131, 92) of 160x210 is (68.8, 36.8) of 84x84: the later ball
    assert not pointing_game(ahead, targets.ball, tolerance=4.0).item()
    assert pointing_game(ahead, targets.ball_path, tolerance=4.0).item()
    still = frame_targets([[now, paddle]], radius=8.0)  # no path given: the present ball
    assert torch.equal(still.ball_path, still.ball)
