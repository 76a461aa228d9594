"""Running the ``abnrl`` CLI from tests on tiny real runs: in this process, or in a new one."""

import contextlib
import io
import os
import signal
import subprocess
import sys

from abnrl.cli import main

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


def abnrl(*args, check=True):
    """Run the ``abnrl`` CLI in this process (as ``abnrl ARGS`` would, without the seconds
    a new interpreter spends importing torch); its exit code and what it printed, as a
    ``CompletedProcess``. ``cli_process`` runs one in a real process (for signals)."""
    argv = [str(arg) for arg in args]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit:  # --help
            code = exit.code if isinstance(exit.code, int) else 0
    result = subprocess.CompletedProcess(["abnrl", *argv], code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(f"abnrl {' '.join(argv)} failed:\n{result.stderr}")
    return result


def cli_process(*args):
    """``abnrl ARGS`` started in the background; its stderr is kept. Python's fault handler
    is on, so that ``stderr_at_exit`` can show where a process that does not end is stuck."""
    return subprocess.Popen(
        [sys.executable, "-m", "abnrl.cli", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )


def stderr_at_exit(process, timeout):
    """What ``process`` printed on stderr, once it has ended; one still running after
    ``timeout`` seconds fails the test with every thread's stack (SIGABRT: the fault
    handler prints them)."""
    try:
        return process.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        try:
            stacks = process.communicate(timeout=60)[1]
        except subprocess.TimeoutExpired:
            process.kill()
            stacks = process.communicate()[1]
        raise AssertionError(f"still running after {timeout} s; its threads:\n{stacks}") from None
