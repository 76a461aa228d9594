"""Agents the project did not make: plain Stable-Baselines3 zips (PPO, A2C, DQN; QR-DQN
where sb3-contrib is installed), trained the SB3 way."""

import json

import ale_py
import gymnasium
import pytest
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.env_util import make_atari_env
from stable_baselines3.common.vec_env import VecFrameStack

from tests.abnrl.cli import abnrl


def trained_the_sb3_way(algorithm, folder, n_envs=2, **options):
    """A stock agent trained for a few hundred steps as SB3's documentation trains one:
    make_atari_env, VecFrameStack(4), CnnPolicy; saved with model.save."""
    gymnasium.register_envs(ale_py)  # the NoFrameskip-v4 ids SB3's examples use
    env = VecFrameStack(make_atari_env("BreakoutNoFrameskip-v4", n_envs=n_envs, seed=0), 4)
    model = algorithm("CnnPolicy", env, seed=0, device="cpu", **options)
    model.learn(256)
    path = folder / "agent.zip"
    model.save(path)
    env.close()
    return path


@pytest.fixture(scope="module", params=[PPO, A2C], ids=["ppo", "a2c"])
def sb3_agent(request, tmp_path_factory):
    options = {"n_steps": 64, "batch_size": 64} if request.param is PPO else {"n_steps": 16}
    return trained_the_sb3_way(request.param, tmp_path_factory.mktemp("sb3"), **options)


def qrdqn():
    return pytest.importorskip("sb3_contrib", reason="sb3-contrib is not installed").QRDQN


@pytest.fixture(scope="module", params=[lambda: DQN, qrdqn], ids=["dqn", "qrdqn"])
def q_agent(request, tmp_path_factory):
    """A DQN or QR-DQN agent past its first updates (a replay buffer of 1,000 steps)."""
    options = {"buffer_size": 1000, "learning_starts": 128}
    return trained_the_sb3_way(request.param(), tmp_path_factory.mktemp("q"), 1, **options)


def test_a_plain_sb3_zip_plays_once_its_game_is_named(sb3_agent, tmp_path):
    refused = abnrl("eval", sb3_agent, "--episodes", "1", check=False)
    assert refused.returncode == 2 and "--game" in refused.stderr and "--protocol" in refused.stderr
    out = tmp_path / "eval.json"
    result = abnrl(
        "eval", sb3_agent, "--game", "breakout", "--protocol", "classic", "--episodes", "2",
        "--n-envs", "2", "--out", out,
    )  # fmt: skip
    assert result.returncode == 0 and "breakout, classic protocol" in result.stdout
    assert json.loads(out.read_text())["summary"]["episodes"] == 2


def test_a_plain_sb3_zip_is_watched_and_analysed_with_its_explainers(sb3_agent, tmp_path):
    video = tmp_path / "agent.mp4"
    result = abnrl(
        "watch", sb3_agent, "--game", "breakout", "--explainer", "gradcam",
        "--side-by-side", "perturbation", "--max-frames", "40", "--out", video,
    )  # fmt: skip
    assert result.returncode == 0 and video.stat().st_size > 0
    refused = abnrl("watch", sb3_agent, "--game", "breakout", "--out", video, check=False)
    assert refused.returncode == 2 and "needs an agent with attention" in refused.stderr
    out = tmp_path / "analysis"
    result = abnrl(
        "analyze", sb3_agent, "--game", "breakout", "--maps", "gradcam", "random",
        "--episodes", "1", "--max-steps-per-game", "60", "--every", "20", "--no-curves",
        "--out", out,
    )  # fmt: skip
    assert result.returncode == 0
    results = json.loads((out / "attention-analysis.json").read_text())
    assert results["registrations"]["Grad-CAM"]["offset"] == [17.5, 17.5]  # conv3's cells
    report = tmp_path / "report.html"
    abnrl("report", sb3_agent, "--game", "breakout", "--out", report)
    assert "an agent from a Stable-Baselines3 zip" in report.read_text()


def test_a_game_the_file_contradicts_is_refused(trained_run):
    result = abnrl("eval", trained_run, "--game", "pong", "--episodes", "1", check=False)
    assert result.returncode == 2 and "--game pong disagrees" in result.stderr


def test_a_q_learner_plays_greedily_and_is_explained_through_its_q_values(q_agent, tmp_path):
    out = tmp_path / "eval.json"
    result = abnrl("eval", q_agent, "--game", "breakout", "--episodes", "1", "--out", out)
    assert "greedy (epsilon 0.05) actions" in result.stdout
    assert json.loads(out.read_text())["deterministic"] is True
    video = tmp_path / "q.mp4"
    abnrl(
        "watch", q_agent, "--game", "breakout", "--explainer", "gradcam",
        "--side-by-side", "perturbation", "--max-frames", "40", "--out", video,
    )  # fmt: skip
    assert video.stat().st_size > 0
    refused = abnrl("watch", q_agent, "--game", "breakout", "--out", video, check=False)
    assert refused.returncode == 2 and "needs an agent with attention" in refused.stderr
    analysis = tmp_path / "analysis"
    abnrl(
        "analyze", q_agent, "--game", "breakout", "--maps", "gradcam", "--episodes", "1",
        "--max-steps-per-game", "40", "--every", "20", "--no-curves", "--out", analysis,
    )  # fmt: skip
    results = json.loads((analysis / "attention-analysis.json").read_text())
    assert results["registrations"]["Grad-CAM"]["offset"] == [17.5, 17.5]  # conv3's cells
