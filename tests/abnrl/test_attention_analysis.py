"""``abnrl.analysis.attention`` and ``abnrl analyze``: short games, real agents."""

import json

import cv2
import numpy as np
import pytest
import torch

from abnrl.analysis.attention import analyse, default_sources
from abnrl.analysis.attention_report import (
    attention_table,
    examples_figure,
    heads_table,
    metrics_table,
    plot_metrics,
)
from abnrl.analysis.dependence import DEPENDENCE, as_distribution
from abnrl.analysis.events import AFTER, BEFORE, EVENTS
from abnrl.analysis.heads import HeadTracks, head_centres
from abnrl.analysis.scoring import METRICS
from abnrl.analysis.sources import ATTENTION, BALL_CELL, RANDOM, head_source
from abnrl.analysis.summary import summarise
from abnrl.analysis.targets import ball_cell_maps, frame_targets
from abnrl.training.checkpoints import load_checkpoint
from agents import ABNActorCritic
from agents.attention import attention_spec
from agents.policy_view import policy_network
from envs.objects import GameObject
from tests.abnrl.cli import abnrl
from tests.data import GROUPNORM_AGENT
from vision.explain import pointing_game
from vision.explain.registration import Registration


def groupnorm_network():
    model, _ = load_checkpoint(GROUPNORM_AGENT, device="cpu")
    return policy_network(model.policy).eval()


def test_analysis_of_a_short_game_gives_every_measure_in_range():
    analysis = analyse(
        groupnorm_network(),
        game="breakout",
        protocol="classic",
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
    # The GroupNorm map of the agent shipped before the designs: mean pinned near 0.59, flat.
    assert all(0.55 < mean < 0.63 for mean in stats["mean"])
    assert all(0.9 < entropy <= 1.0 for entropy in stats["entropy"])

    summary = summarise(analysis)
    table = metrics_table(summary, radius=8.0, tolerance=4.0, peak_window=14)
    assert table.count("\n") == 4 and "| attention |" in table
    assert "spatial mean" in attention_table(summary)
    (example,) = analysis.examples
    assert example.frame.shape == (210, 160, 3) and example.ball.label == "ball"
    assert examples_figure(analysis.examples).shape[2] == 3


TWO_FRAMES = {"episodes": 1, "every": 25, "max_steps_per_game": 50}
"""One game's first 50 steps, scored at steps 0 and 25."""


def two_frames(network, sources, curve_steps):
    """An analysis of one classic Breakout game's ``TWO_FRAMES``."""
    game = {"game": "breakout", "protocol": "classic"}
    return analyse(network, sources=sources, curve_steps=curve_steps, **game, **TWO_FRAMES)


def test_a_multi_head_agent_is_scored_per_head_and_as_a_whole():
    torch.manual_seed(0)
    network = ABNActorCritic(4, attention_spec("softmax", heads=2, motion=False)).eval()
    sources = default_sources(network)
    assert sources[:4] == (ATTENTION, head_source(0), head_source(1), BALL_CELL)
    analysis = two_frames(network, sources[:4], curve_steps=5)
    assert all(len(analysis.values[s]["paddle_pointing"]) == 2 for s in sources[:4])
    heads = summarise(analysis)["heads"]
    assert len(heads) == 2 and all(h["frames"] == 2 for h in heads)
    for head in heads:
        assert 0 < head["x"] < 84 and 0 < head["y"] < 84 and 0 <= head["decides"] <= 1
        assert all(r is None or -1 <= r <= 1 for r in (head["ball_x_r"], head["player_x_r"]))
    assert heads_table(summarise(analysis)).count("\n") == 4  # header, rule, two heads


# The Nature CNN's conv2 grid: cell i sees pixels [8i, 8i + 20), centre 8i + 9.5.
NATURE_CONV2 = Registration((9, 9), (84, 84), (9.5, 9.5), (8.0, 8.0), "analytic", (20.0, 20.0))


def test_a_heads_centre_of_mass_is_where_its_weight_lies():
    maps = torch.zeros(1, 2, 9, 9)
    maps[0, 0, 2, 5] = 1.0  # row 2, column 5: pixels 40-59 across, 16-35 down
    maps[0, 1, 8, 0] = maps[0, 1, 8, 2] = 0.5  # half on each of two bottom cells
    centres = head_centres(maps, NATURE_CONV2)  # a pixel's centre at +0.5
    torch.testing.assert_close(centres[0, 0], torch.tensor([50.0, 26.0]))
    torch.testing.assert_close(centres[0, 1], torch.tensor([18.0, 74.0]))
    # Stretched evenly, as before registration: cell (2, 5)'s tile centre (51.3, 23.3).
    evenly = head_centres(maps, Registration.even((9, 9), (84, 84)))
    torch.testing.assert_close(evenly[0, 0], torch.tensor([51.0 + 1 / 3, 23.0 + 1 / 3]))


def test_a_head_that_follows_the_paddle_from_above_is_told_apart_from_one_on_the_ball():
    tracks = HeadTracks()
    for step in range(20):
        paddle = np.array([10.0 + 3 * step, 77.0])
        ball = np.array([70.0 - 2 * step, 30.0 + step]) if step % 5 else np.full(2, np.nan)
        on_ball = ball if step % 5 else np.array([40.0, 40.0])
        above_paddle = paddle - np.array([0.0, 12.0])
        tracks.centres.append(np.stack([on_ball, above_paddle, np.array([42.0, 42.0])]))
        tracks.decisions.append(np.array([1.0, float(step % 2), 0.0]))
        tracks.balls.append(ball)
        tracks.players.append(paddle)
    on_ball, above_paddle, still = tracks.summary()
    assert on_ball["ball_x_r"] == pytest.approx(1.0) and on_ball["ball_y_r"] == pytest.approx(1.0)
    assert on_ball["ball_frames"] == 16 and on_ball["decides"] == 1.0
    assert above_paddle["player_x_r"] == pytest.approx(1.0)
    assert above_paddle["player_y_r"] is None  # the paddle stays on its row
    assert above_paddle["ball_x_r"] == pytest.approx(-1.0)  # the ball moves the other way
    assert (above_paddle["player_dx"], above_paddle["player_dy"]) == pytest.approx((0, -12))
    assert above_paddle["decides"] == 0.5
    assert still["player_x_r"] is None and still["decides_sem"] == 0.0
    table = heads_table({"heads": tracks.summary()})
    assert "| 1 | " in table and "| +1.00, n/a | +0.0, -12.0 | 0.500 +- 0.115 |" in table
    assert "| 2 | 42.0, 42.0 (0.0, 0.0) | n/a, n/a | n/a, n/a |" in table


def test_a_player_that_keeps_its_column_has_no_correlation_with_x():
    # 1,390 frames of one x whose float std is 1.8e-15, not 0 (Pong's paddles keep theirs).
    tracks = HeadTracks()
    for step in range(1390):
        tracks.centres.append(np.array([[40.0 + step % 7, 30.0 + step % 11]]))
        tracks.decisions.append(np.array([0.0]))
        tracks.balls.append(np.full(2, np.nan))
        tracks.players.append(np.array([140.5 / 84 * 3, 20.0 + step % 13]))
    (head,) = tracks.summary()
    assert head["player_x_r"] is None and -1 <= head["player_y_r"] <= 1


def test_an_analysis_without_curves_scores_everything_else(tmp_path):
    torch.manual_seed(0)
    network = ABNActorCritic(4, attention_spec("softmax", heads=2, motion=False)).eval()
    analysis = two_frames(network, (ATTENTION,), curve_steps=0)
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
    paddle = GameObject("paddle", "player", 70, 189, 86, 193)
    frames = [
        [GameObject("ball", "ball", 94, 48, 96, 52), paddle],
        [paddle],
    ]  # ball at (95, 50) in the frame
    targets = frame_targets(frames, radius=8.0)
    maps = ball_cell_maps(targets, NATURE_CONV2)
    # (95, 50) of 160x210 is (49.9, 20.0) of 84x84: nearest conv2's cell (row 1, column 5),
    # whose window is centred on pixel (49.5, 17.5): the placed map peaks there.
    assert maps.shape == (2, 84, 84) and divmod(int(maps[0].argmax()), 84) == (17, 49)
    assert (maps[1] == 1).all()  # no ball: flat
    # The peak is 2.5 px from the ball's centre: a hit at 4 px.
    assert pointing_game(maps[:1], targets.ball[:1], tolerance=4.0).item()
    # Even stretching put the ball in row 2, whose tile centre is 3.6 px below the ball.
    evenly = ball_cell_maps(targets, Registration.even((9, 9), (84, 84)))
    assert divmod(int(evenly[0].argmax()), 84) == (23, 51)


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
    assert "top action changes" in result.stdout and "this head alone" in result.stdout
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
    # Where each source's cells were placed: the agent's maps by conv2's receptive fields.
    assert results["settings"]["placement"] == "registered"
    assert results["registrations"][ATTENTION]["offset"] == [9.5, 9.5]
    assert results["registrations"][ATTENTION]["method"] == "analytic"
    assert results["registrations"][RANDOM]["stride"] == [1.0, 1.0]
    # Every step's maps around the game's events, against random steps.
    assert set(results["events"]) == set(EVENTS)
    assert len(results["events"]["brick hit"]["top5_mass"]["random_mean"]) == BEFORE + AFTER + 1
    assert (out / "attention-events.png").stat().st_size > 0


def test_analyze_refuses_own_maps_of_an_agent_without_attention(cnn_run, tmp_path):
    result = abnrl("analyze", cnn_run, "--episodes", "1", "--out", tmp_path / "a", check=False)
    assert result.returncode == 2
    assert "no attention maps of its own" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "a").exists()


def test_the_ball_path_target_holds_where_the_ball_is_going():
    paddle = GameObject("paddle", "player", 70, 189, 86, 193)
    now = GameObject("ball", "ball", 94, 48, 96, 52)
    later = GameObject("ball", "ball", 130, 90, 132, 94)
    targets = frame_targets([[now, paddle]], radius=8.0, paths=[[now, later]])
    ahead = torch.zeros(1, 84, 84)
    ahead[0, 36, 68] = 1.0  # (131, 92) of 160x210 is (68.8, 36.8) of 84x84: the later ball
    assert not pointing_game(ahead, targets.ball, tolerance=4.0).item()
    assert pointing_game(ahead, targets.ball_path, tolerance=4.0).item()
    still = frame_targets([[now, paddle]], radius=8.0)  # no path given: the present ball
    assert torch.equal(still.ball_path, still.ball)
