"""The attention analysis keyed by object kind, on any game with an object reader."""

import json

import pytest
import torch

from abnrl.analysis.attention import analyse
from abnrl.analysis.attention_report import examples_figure, heads_table, objects_table
from abnrl.analysis.scoring import KIND_MEASURES, score_kinds
from abnrl.analysis.sources import ATTENTION, BALL_CELL, RANDOM
from abnrl.analysis.summary import summarise
from abnrl.analysis.targets import kind_targets
from abnrl.training.checkpoints import load_checkpoint, save_checkpoint
from agents import ABNActorCritic, make_agent
from agents.attention import attention_spec
from agents.policy_view import policy_network
from envs import make_vec_env
from envs.objects import GameObject
from tests.abnrl.cli import abnrl
from tests.data import GROUPNORM_AGENT

# Pong's three objects in frame pixels (160 x 210); x * 84/160, y * 84/210 in observation.
BALL = GameObject("ball", "ball", 78, 100, 80, 104)  # centre (41.5, 40.8)
PLAYER = GameObject("player paddle", "player", 140, 120, 144, 136)  # (74.5, 51.2)
ENEMY = GameObject("enemy paddle", "enemy", 16, 60, 20, 76)  # (9.45, 27.2)


def peak_at(x: int, y: int) -> torch.Tensor:
    """A (1, 84, 84) map whose maximum is the observation pixel (x, y)."""
    heat = torch.zeros(1, 84, 84)
    heat[0, y, x] = 1.0
    return heat


def test_a_peak_on_the_enemy_paddle_counts_for_the_enemy_not_the_player():
    frames = [[BALL, PLAYER, ENEMY]]
    targets = kind_targets(frames, radius=8.0, kinds=("ball", "player", "enemy"))
    scored = score_kinds(peak_at(9, 27), targets, tolerance=4.0, peak_window=14)
    assert set(scored) == {"ball", "player", "enemy"}
    assert all(set(measures) == set(KIND_MEASURES) for measures in scored.values())
    hits = {kind: measures["pointing"].tolist() for kind, measures in scored.items()}
    assert hits == {"ball": [0.0], "player": [0.0], "enemy": [1.0]}
    assert scored["enemy"]["mass_near"].tolist() == [1.0]
    assert scored["player"]["mass_near"].tolist() == [0.0]
    # On the player's paddle instead: the player's hit, and the enemy's miss.
    scored = score_kinds(peak_at(74, 51), targets, tolerance=4.0, peak_window=14)
    assert scored["player"]["pointing"].tolist() == [1.0]
    assert scored["enemy"]["pointing"].tolist() == [0.0]
    # Within the tolerance of a box is a hit; beyond it, a miss.
    near = score_kinds(peak_at(74, 57), targets, tolerance=4.0, peak_window=14)  # 4 below
    far = score_kinds(peak_at(74, 58), targets, tolerance=4.0, peak_window=14)  # 5 below
    assert near["player"]["pointing"].tolist() == [1.0]
    assert far["player"]["pointing"].tolist() == [0.0]


def test_kinds_are_scored_on_the_frames_with_one_and_on_all_of_their_objects():
    second_enemy = GameObject("enemy paddle", "enemy", 100, 160, 104, 176)  # (53.6, 67.2)
    frames = [[PLAYER, ENEMY, second_enemy], [PLAYER]]  # no ball; the enemies gone later
    targets = kind_targets(frames, radius=8.0, kinds=("ball", "player", "enemy"))
    assert targets["ball"].present.tolist() == [False, False]
    assert targets["enemy"].present.tolist() == [True, False]
    maps = torch.cat([peak_at(53, 67), peak_at(53, 67)])  # on the second enemy
    scored = score_kinds(maps, targets, tolerance=4.0, peak_window=14)
    assert scored["ball"]["pointing"].numel() == 0
    assert scored["enemy"]["pointing"].tolist() == [1.0]  # the first frame alone
    assert scored["player"]["pointing"].tolist() == [0.0, 0.0]


def test_the_region_near_an_object_is_a_disc_round_its_centre_or_the_object_itself():
    bricks = GameObject("bricks", "target", 8, 57, 152, 63)  # a whole row: 75.6 px wide
    targets = kind_targets([[BALL, bricks]], radius=8.0, kinds=("ball", "target"))
    ball = targets["ball"].near[0]
    assert ball.sum() == pytest.approx(torch.pi * 64, rel=0.05)  # the disc alone
    row = targets["target"].near[0]
    assert row[24, 5] and row[24, 79]  # the row's ends, far beyond its centre's disc
    assert not row[10, 5] and row[30, 42]  # above the row's end: no; under its centre: yes


def test_breakouts_ball_and_player_are_its_ball_and_paddle_metrics():
    model, _ = load_checkpoint(GROUPNORM_AGENT, device="cpu")
    analysis = analyse(
        policy_network(model.policy).eval(),
        game="breakout",
        protocol="classic",
        episodes=1,
        every=10,
        max_steps_per_game=160,
        sources=(ATTENTION, BALL_CELL, RANDOM),
        curve_steps=0,
        examples=0,
    )
    assert 0 < len(analysis.disc_shares) < 16  # frames with and without the ball
    assert set(analysis.objects) == {"ball", "player", "target"}
    for source, metrics in analysis.values.items():
        ball, player = analysis.objects["ball"][source], analysis.objects["player"][source]
        assert ball["pointing"] == metrics["ball_pointing"], source
        assert ball["pointing_refined"] == metrics["ball_pointing_refined"], source
        assert ball["mass_near"] == metrics["ball_mass_share"], source
        assert player["pointing"] == metrics["paddle_pointing"], source
    assert analysis.near_shares["ball"] == analysis.disc_shares
    summary = summarise(analysis)
    assert summary["objects"]["player"]["names"] == ["paddle"]
    assert summary["objects"]["ball"]["area_share"] == summary["disc_area_share"]
    (head,) = summary["heads"]
    for measure in ("x_r", "dx", "dy"):  # the former names of the player's offset
        assert head[f"paddle_{measure}"] == head[f"player_{measure}"]
    assert summary["events"] and summary["skipped"] == []
    assert "r with paddle x, y" in heads_table(summary)


def test_a_game_without_a_ball_is_scored_on_its_kinds():
    torch.manual_seed(0)
    network = ABNActorCritic(3, attention_spec("softmax", heads=2, motion=False)).eval()
    settings = dict(game="freeway", protocol="classic", episodes=1, every=20)
    settings |= dict(max_steps_per_game=40, curve_steps=0, examples=1)
    with pytest.raises(ValueError, match="needs a game with a ball"):
        analyse(network, sources=(ATTENTION, BALL_CELL), **settings)
    analysis = analyse(network, sources=(ATTENTION,), **settings)
    assert set(analysis.values[ATTENTION]) == {"deletion_auc", "insertion_auc"}
    assert set(analysis.objects) == {"player", "enemy"}
    assert len(analysis.objects["player"][ATTENTION]["pointing"]) == 2
    summary = summarise(analysis)
    assert summary["events"] == {} and len(summary["skipped"]) == 2
    assert "r with chicken x, y" in heads_table(summary)
    assert summary["heads"][0]["ball_x_r"] is None and "paddle_dx" not in summary["heads"][0]
    (example,) = analysis.examples
    assert example.ball is None and examples_figure(analysis.examples).shape[2] == 3
    table = objects_table(summary, radius=8.0, tolerance=4.0, peak_window=14)
    assert table.count("\n") == 4 and "| enemy (car) | attention | 2 |" in table


QUICK = "--episodes 1 --max-steps-per-game 60 --every 20 --no-curves --maps attention random"


@pytest.fixture(scope="module")
def pong_agent(tmp_path_factory):
    """A Pong agent after a few training steps, saved as abnrl saves one."""
    path = tmp_path_factory.mktemp("pong") / "pong-agent.zip"
    env = make_vec_env("pong", 1)
    agent = make_agent(env, seed=0, device="cpu", n_steps=8, batch_size=8, n_epochs=1)
    agent.learn(8)
    save_checkpoint(agent, path, game="pong", protocol="classic")
    env.close()
    return path


def test_analyze_scores_a_pong_agent_on_the_ball_and_both_paddles(pong_agent, tmp_path):
    out = tmp_path / "analysis"
    result = abnrl("analyze", pong_agent, *QUICK.split(), "--out", out)
    results = json.loads((out / "attention-analysis.json").read_text())
    assert results["game"] == "pong" and results["protocol"] == "classic"
    objects = results["objects"]
    assert list(objects) == ["player", "enemy", "ball"]  # the kinds, in KINDS order
    assert objects["player"]["names"] == ["player paddle"]
    assert objects["player"]["frames"] == results["frames_scored"] == 3
    for kind, entry in objects.items():
        assert ATTENTION in entry["maps"] and RANDOM in entry["maps"], kind
        for measures in entry["maps"].values():
            assert measures["pointing"]["frames"] == entry["frames"], kind
            assert measures["mass_near"]["frames"] == entry["frames"], kind
            hits = measures["pointing"]["mean"]
            assert hits is None or 0.0 <= hits <= 1.0
    # The ball's metrics beside them, no paddle pointing (Breakout's), no events.
    assert "paddle_pointing" not in results["metrics"][RANDOM]
    assert "ball_path_pointing" in results["metrics"][RANDOM]
    assert results["events"] == {} and "events" in results["skipped"][0]
    assert "Not measured: events" in result.stdout
    assert "player_dx" in results["heads"][0] and "paddle_dx" not in results["heads"][0]
    table = (out / "attention-analysis.md").read_text()
    assert "| player (player paddle) | attention |" in table
    assert "| enemy (enemy paddle) | random |" in table
    assert not (out / "attention-events.png").exists()
