"""RL Baselines3 Zoo's agents in abnrl, and abnrl's agents in the Zoo's ``enjoy``.

The Zoo's own runs are made here with ``python -m rl_zoo3.train`` (a few dozen steps);
without rl_zoo3 installed (the ``zoo`` extra) those tests are skipped."""

import json
import os
import subprocess
import sys

import pytest

from abnrl.training.zoo import env_id, env_of, read_settings, zoo_agent_zip, zoo_env
from agents.safe_loading import ZooLinearSchedule
from tests.abnrl.cli import TINY, abnrl

ZOO_REASON = "rl_zoo3 is not installed (pip install -e '.[zoo]')"


def zoo(*args, cwd):
    """``python -m rl_zoo3.<args>`` in a new process, on one thread."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def zoo_run(tmp_path_factory):
    """A Zoo PPO run on Breakout (NoFrameskip-v4), trained by the Zoo for 64 steps."""
    pytest.importorskip("rl_zoo3", reason=ZOO_REASON)
    logs = tmp_path_factory.mktemp("zoo") / "logs"
    result = zoo(
        "rl_zoo3.train", "--algo", "ppo", "--env", "BreakoutNoFrameskip-v4", "-n", 64,
        "-f", logs, "--eval-freq", -1, "--hyperparams", "n_envs:2", "n_steps:16",
        "batch_size:32", cwd=logs.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return logs / "ppo" / "BreakoutNoFrameskip-v4_1"


def test_env_ids_name_the_game_and_protocol():
    assert env_of("BreakoutNoFrameskip-v4")[1:] == ("breakout", "classic")
    assert env_of("ALE/Breakout-v5")[1:] == ("breakout", "v5")
    assert env_of("ALE-SpaceInvaders-v5")[1:] == ("space_invaders", "v5")  # a folder's name
    assert env_id("ms_pacman", "classic") == "MsPacmanNoFrameskip-v4"
    assert env_id("pong", "v5") == "ALE/Pong-v5"
    for bad in ("CartPole-v1", "os.system:Breakout-v5", "BreakoutNoFrameskip-v4 "):
        with pytest.raises(ValueError, match="is not an Atari one"):
            env_of(bad)


def test_zoo_settings_are_read_without_python_objects(tmp_path):
    ordered = tmp_path / "config.yml"
    ordered.write_text(
        "!!python/object/apply:collections.OrderedDict\n- - - frame_stack\n    - 4\n"
    )
    assert read_settings(ordered) == {"frame_stack": 4}
    crafted = tmp_path / "args.yml"
    crafted.write_text("env: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ValueError, match="is not readable Zoo settings"):
        read_settings(crafted)


def test_a_zoo_run_dir_is_evaluated_watched_analysed_and_reported(zoo_run, tmp_path):
    assert zoo_agent_zip(zoo_run) == zoo_run / "BreakoutNoFrameskip-v4.zip"
    assert zoo_env(zoo_agent_zip(zoo_run))[1:] == ("breakout", "classic")
    result = abnrl("eval", zoo_run, "--episodes", "1")  # eval.json beside the agent
    assert "breakout, classic protocol, 64 agent steps" in result.stdout
    abnrl("watch", zoo_run, "--explainer", "gradcam", "--max-frames", "40")
    assert (zoo_run / "attention.mp4").stat().st_size > 0
    analysis = tmp_path / "analysis"
    abnrl(
        "analyze", zoo_run / "BreakoutNoFrameskip-v4.zip", "--maps", "perturbation",
        "--episodes", "1", "--max-steps-per-game", "40", "--every", "20", "--no-curves",
        "--out", analysis,
    )  # fmt: skip
    assert json.loads((analysis / "attention-analysis.json").read_text())["frames_scored"] > 0
    report = tmp_path / "report.html"
    abnrl("report", zoo_run, "--out", report)
    page = report.read_text()
    assert "breakout, classic protocol: an agent from an RL Zoo run" in page
    assert "<h2>Evaluation</h2>" in page and "attention.mp4" in page
    assert "config.yml: frame_stack" in page


def test_a_zoo_run_dir_without_its_agent_is_refused_in_one_sentence(tmp_path):
    settings = tmp_path / "BreakoutNoFrameskip-v4_1" / "BreakoutNoFrameskip-v4"
    settings.mkdir(parents=True)
    (settings / "args.yml").write_text("env: BreakoutNoFrameskip-v4\n")
    result = abnrl("eval", settings.parent, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "an RL Zoo run dir without its agent" in result.stderr


def test_the_zoos_enjoy_plays_an_abnrl_run(tmp_path):
    pytest.importorskip("rl_zoo3", reason=ZOO_REASON)
    run = tmp_path / "run"
    abnrl("train", "--total-steps", 32, "--run-dir", run, *TINY)
    assert (run / "ppo" / "BreakoutNoFrameskip-v4.zip").resolve() == run / "checkpoints/latest.zip"
    result = zoo(
        "rl_zoo3.enjoy", "--algo", "ppo", "--env", "BreakoutNoFrameskip-v4", "-f", run,
        "-n", 300, "--no-render", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Stacking 4 frames" in result.stdout


def test_the_zoos_schedule_is_rebuilt_as_its_number_only():
    schedule = ZooLinearSchedule.__new__(ZooLinearSchedule)
    schedule.__setstate__({"initial_value": 2.5e-4})
    assert schedule(0.5) == pytest.approx(1.25e-4)
    for state in ({"initial_value": "2.5e-4"}, {"initial_value": float("nan")}, {"x": 1}, [1]):
        with pytest.raises(ValueError, match="RL Zoo schedule"):
            ZooLinearSchedule.__new__(ZooLinearSchedule).__setstate__(state)
