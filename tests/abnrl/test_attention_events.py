"""Event-locked averages of the agent's maps: events from the RAM, windows, random band."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from abnrl.analysis.events import AFTER, BEFORE, GameTrace, event_locked, reacts, step_statistics
from abnrl.analysis.events_report import events_table, plot_events
from envs.objects import PADDLE_TOP, Box
from vision.explain.registration import Registration

NATURE_CONV2 = Registration((9, 9), (84, 84), (9.5, 9.5), (8.0, 8.0), "analytic", (20.0, 20.0))
PADDLE = Box("paddle", 70, PADDLE_TOP, 86, PADDLE_TOP + 4)


def ball_at(y: float) -> Box:
    return Box("ball", 80, y, 82, y + 4)


def test_step_statistics_of_a_one_cell_map():
    heads = torch.zeros(2, 9, 9)
    heads[:, 3, 5] = 1.0
    stats = step_statistics(heads, NATURE_CONV2)
    assert stats["top5_mass"] == stats["peak"] == pytest.approx(1.0)
    assert stats["entropy"] == pytest.approx(0.0, abs=1e-6)
    assert (stats["x"], stats["y"]) == pytest.approx((50.0, 34.0))  # cell centres + 0.5
    flat = step_statistics(torch.ones(1, 9, 9), NATURE_CONV2)
    assert flat["entropy"] == pytest.approx(1.0) and flat["peak"] == pytest.approx(1 / 81)


def test_events_are_read_from_the_ball_the_rewards_and_the_lives():
    trace = GameTrace()
    heights = [150, 160, 170, 180, 170, 160, 60, 40, 30, 40]  # falls, turns at the paddle
    rewards = [0, 0, 0, 0, 0, 0, 1, 0, 7, 0]  # a brick at 60 (below the top row), one at 30
    lives = [5, 5, 5, 5, 5, 5, 5, 5, 5, 4]
    for y, reward, life in zip(heights, rewards, lives, strict=True):
        trace.add({"x": 0.0, "y": 0.0}, ball_at(y), PADDLE, float(reward), life)
    events = trace.events()
    assert events["paddle hit"] == [3]
    assert events["brick hit"] == [6, 8]
    assert events["brick hit, ball above the bricks"] == [8]
    assert events["life lost"] == [9]
    # A ball turning far above the paddle (off a wall or brick) is no paddle hit.
    high = GameTrace()
    for y in (100, 110, 100):
        high.add({}, ball_at(y), PADDLE, 0.0, 5)
    assert high.events()["paddle hit"] == []


def synthetic_game(steps: int, brick_steps: set[int]) -> GameTrace:
    """A game whose map concentrates in the 4 steps before each brick hit."""
    trace = GameTrace()
    for step in range(steps):
        sharp = any(0 < hit - step <= 4 for hit in brick_steps)
        stats = {"top5_mass": 0.9 if sharp else 0.3, "entropy": 0.5, "peak": 0.1}
        stats |= {"x": 40.0, "y": 40.0}
        trace.add(stats, ball_at(100), PADDLE, 1.0 if step in brick_steps else 0.0, 5)
    return trace


def test_event_locked_means_show_a_map_that_reacts_before_the_event():
    games = [synthetic_game(200, {40, 90, 150}), synthetic_game(120, {30, 100})]
    events = event_locked(games, seed=1)
    bricks = events["brick hit"]
    assert bricks["events"] == 5
    mean = bricks["top5_mass"]["mean"]
    assert len(mean) == BEFORE + AFTER + 1
    assert mean[BEFORE - 2] == pytest.approx(0.9) and mean[BEFORE - 8] == pytest.approx(0.3)
    assert reacts(bricks, "top5_mass") > 0.3  # far above the random steps' band
    assert reacts(bricks, "entropy") == 0.0  # constant: inside its band
    assert events["life lost"]["events"] == 0 and reacts(events["life lost"], "peak") is None
    table = events_table(events)
    assert "| brick hit | 5 | mass of the top 5 cells |" in table


def test_the_events_figure_is_written(tmp_path):
    events = event_locked([synthetic_game(100, {50})])
    plot_events(events, tmp_path / "events.png", "synthetic")
    assert (tmp_path / "events.png").read_bytes()[:4] == b"\x89PNG"
    assert not np.isnan(events["brick hit"]["top5_mass"]["random_mean"][0])
