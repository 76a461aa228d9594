"""Running the ``abnrl`` CLI from tests, in subprocesses, on tiny real runs."""

import subprocess
import sys

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


def cli_process(*args):
    """``abnrl ARGS`` started in the background; its stderr is kept."""
    return subprocess.Popen(
        [sys.executable, "-m", "abnrl.cli", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
