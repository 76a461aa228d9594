"""Every design in ``agents.attention.DESIGNS`` goes through save, load, watch and analyze:
a design added with one module and one registry line works everywhere."""

import json

import pytest
import torch

from abnrl.training.checkpoints import load_checkpoint, save_checkpoint
from agents import make_agent
from agents.attention import DESIGNS, attention_spec
from envs import make_vec_env
from tests.abnrl.cli import abnrl


@pytest.mark.parametrize("design", DESIGNS)
def test_every_registered_design_is_saved_loaded_watched_and_analysed(design, tmp_path):
    env = make_vec_env("breakout", 1, seed=0, num_threads=1)
    spec = attention_spec(design)
    agent = make_agent(env, attention=spec, seed=0, device="cpu", n_steps=8, batch_size=8)
    path = tmp_path / "agent.zip"
    save_checkpoint(agent, path, game="breakout", protocol="classic")
    loaded, _ = load_checkpoint(path, device="cpu")
    assert loaded.policy.spec == spec
    maps = loaded.policy.network(torch.as_tensor(env.reset())).attention
    assert maps.shape[1] == DESIGNS[design].maps_per_step(spec)
    video = tmp_path / "agent.mp4"
    abnrl("watch", path, "--explainer", "attention", "--max-frames", "20", "--out", video)
    assert video.stat().st_size > 0
    out = tmp_path / "analysis"
    abnrl(
        "analyze", path, "--maps", "attention", "--episodes", "1", "--max-steps-per-game",
        "30", "--every", "15", "--no-curves", "--out", out,
    )  # fmt: skip
    assert json.loads((out / "attention-analysis.json").read_text())["frames_scored"] == 2
