"""A tiny trained run shared by the CLI tests (real Breakout, CPU)."""

import pytest

from tests.abnrl.cli import TINY, abnrl


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    abnrl("train", "--total-steps", 128, "--run-dir", run_dir, *TINY)
    return run_dir


@pytest.fixture(scope="session")
def cnn_run(tmp_path_factory):
    """A tiny run of SB3's stock CnnPolicy: an agent without attention maps."""
    run_dir = tmp_path_factory.mktemp("runs") / "tiny-cnn"
    abnrl("train", "--policy", "cnn", "--total-steps", 64, "--run-dir", run_dir, *TINY)
    return run_dir
