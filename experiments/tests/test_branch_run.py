"""experiments/branch_run.py: a branch records what changed and from which step, and the
record travels with the run (further branches, slim copies, resumes)."""

import json
import sys

from abnrl.pretrained import slim_run_dir
from experiments import branch_run
from tests.abnrl.cli import TINY, abnrl


def branch(monkeypatch, *args):
    monkeypatch.setattr(sys, "argv", ["branch_run.py", *map(str, args)])
    branch_run.main()


def test_branches_record_their_step_and_changes_and_travel_with_the_run(tmp_path, monkeypatch):
    stage_one, sharp, spread = tmp_path / "s1", tmp_path / "sharp", tmp_path / "spread"
    common = ["--total-steps", 100_000, "--attention", "softmax", "--attention-heads", 2, *TINY]
    abnrl("train", "--run-dir", stage_one, "--stop-at", 64, *common)
    branch(monkeypatch, stage_one, sharp, "--map-entropy-coef", 0.05)
    abnrl("train", "--resume", sharp, "--stop-at", 128)
    branch(monkeypatch, sharp, spread, "--map-spread-coef", 0.1)

    first = {"step": 64, "from": str(stage_one), "changes": {"map_entropy_coef": 0.05}}
    second = {"step": 128, "from": str(sharp), "changes": {"map_spread_coef": 0.1}}
    assert not (stage_one / "branches.json").exists()
    assert json.loads((sharp / "branches.json").read_text()) == [first]
    assert json.loads((spread / "branches.json").read_text()) == [first, second]
    config = json.loads((spread / "config.json").read_text())
    assert (config["map_entropy_coef"], config["map_spread_coef"]) == (0.05, 0.1)

    landed = tmp_path / "landed"
    slim_run_dir(spread, landed)
    assert (landed / "branches.json").read_text() == (spread / "branches.json").read_text()
    abnrl("train", "--resume", landed, "--stop-at", 160)
    assert json.loads((landed / "branches.json").read_text()) == [first, second]
