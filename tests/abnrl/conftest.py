"""A tiny trained run shared by the CLI tests (real Breakout, CPU)."""

import subprocess
import sys

import pytest

TINY = [
    "--n-envs",
    "2",
    "--n-steps",
    "16",
    "--batch-size",
    "32",
    "--device",
    "cpu",
    "--eval-every",
    "0",
    "--no-progress",
    "--threads",
    "1",
]


def abnrl(*args, check=True, timeout=300):
    """Run the ``abnrl`` CLI in a subprocess; returns the CompletedProcess."""
    result = subprocess.run(
        [sys.executable, "-m", "abnrl.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"abnrl {' '.join(map(str, args))} failed:\n{result.stderr}")
    return result


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
