"""Settings for every test: one torch thread, and Stable-Baselines3's default logger
kept inside pytest's temporary folder.

One thread: the tests' models are small, and on a 2-core machine a second thread
(beside the emulators' threads and other processes) slows them down. The logger: a model
that trains without a logger of its own makes a new SB3-<time> folder in the system's
temporary directory on every learn() call, unless SB3_LOGDIR names one."""

import os

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def sb3_logs_in_pytest_tmp(tmp_path_factory):
    previous = os.environ.get("SB3_LOGDIR")
    os.environ["SB3_LOGDIR"] = str(tmp_path_factory.mktemp("sb3-logs"))
    yield
    if previous is None:
        del os.environ["SB3_LOGDIR"]
    else:
        os.environ["SB3_LOGDIR"] = previous
