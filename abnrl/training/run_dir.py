"""The files of a training run, all in one folder."""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from abnrl.errors import UserError
from abnrl.pretrained import DEFAULT_GAME, pretrained_checkpoint
from abnrl.training.zoo import zoo_agent_zip
from vision.files import remove_stale_temporaries

VIDEO_NAME = r"attention-\d{9}\.mp4"
"""The names of the attention videos a run records (``RunDir.video``), a regular expression."""


@dataclass(frozen=True)
class RunDir:
    """Where a run keeps its config, checkpoints, logs and videos."""

    root: Path

    @property
    def config(self) -> Path:
        """The resolved training config (JSON): all ``abnrl train --resume`` needs."""
        return self.root / "config.json"

    @property
    def latest(self) -> Path:
        """The newest checkpoint, written at intervals and on interruption."""
        return self.root / "checkpoints" / "latest.zip"

    @property
    def best(self) -> Path:
        """The checkpoint with the best evaluation mean so far."""
        return self.root / "checkpoints" / "best.zip"

    @property
    def progress(self) -> Path:
        """Training metrics, one CSV row per rollout."""
        return self.root / "progress.csv"

    @property
    def evaluations(self) -> Path:
        """Evaluation results during training, one CSV row per evaluation."""
        return self.root / "evaluations.csv"

    @property
    def segments(self) -> Path:
        """One CSV row per start or resume: when, from which step, on what hardware."""
        return self.root / "segments.csv"

    @property
    def branches(self) -> Path:
        """The changes made at branch points (``experiments/branch_run.py``), JSON: a list of
        ``{"step", "from", "changes"}``; absent for a run never branched."""
        return self.root / "branches.json"

    def read_branches(self) -> list[dict]:
        """The run's branch points, oldest first; none for a run never branched."""
        return json.loads(self.branches.read_text()) if self.branches.is_file() else []

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def videos(self) -> Path:
        """Attention videos recorded after evaluations during training."""
        return self.root / "videos"

    def video(self, step: int) -> Path:
        """The attention video recorded after the evaluation at ``step``."""
        return self.videos / f"attention-{step:09d}.mp4"

    def create(self) -> None:
        self.latest.parent.mkdir(parents=True, exist_ok=True)

    def is_foreign(self) -> bool:
        """Whether the folder exists, holds something, and has no run config: a folder
        that abnrl did not make, where a new run could mix its files with a user's."""
        if not self.root.is_dir() or self.config.is_file():
            return False
        return any(self.root.iterdir())

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete what writers killed mid-write left of the run's own files: only the
        temporaries of the files abnrl writes, in the folders it writes them in."""
        own = {
            self.root: [re.escape(p.name) for p in (self.config, self.progress, self.evaluations)]
            + [re.escape(p.name) for p in (self.segments, self.branches)],
            self.latest.parent: [re.escape(self.latest.name), re.escape(self.best.name)],
            self.videos: [VIDEO_NAME],
        }
        return [
            path
            for folder, names in own.items()
            for path in remove_stale_temporaries(folder, names)
        ]

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run for one trainer. The lock is the kernel's (``flock`` on the
        folder): it leaves no file behind and ends with its process, so a killed
        trainer's lock is free at once.

        Raises:
            UserError: another process holds it.
        """
        descriptor = os.open(self.root, os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise UserError(
                f"Another process is training the run in {self.root}; "
                "wait for it to stop, or stop it first."
            ) from None
        try:
            yield
        finally:
            os.close(descriptor)  # releases the lock


def find_checkpoint(path: str | Path) -> Path:
    """The checkpoint a user means: a ``.zip`` file, a run dir's latest checkpoint, or an
    RL Zoo run dir's agent (``abnrl.training.zoo``).

    Raises:
        UserError: nothing there, or a run dir without a checkpoint.
    """
    path = Path(path)
    if path.is_dir():
        latest = RunDir(path).latest
        if latest.is_file():
            return latest
        try:
            zoo_zip = zoo_agent_zip(path)
        except ValueError as error:
            raise UserError(f"{error}.") from None
        if zoo_zip is None:
            raise UserError(f"The run dir {path} has no checkpoint yet ({latest} is missing).")
        return zoo_zip
    if not path.exists():
        raise UserError(f"{path} does not exist; give a run dir or a checkpoint .zip.")
    return path


def choose_checkpoint(path: str | Path | None, pretrained: bool, game: str | None = None) -> Path:
    """The checkpoint a command works on: ``path`` (see ``find_checkpoint``) or the one that
    ships for ``game`` (Breakout's when ``game`` is None).

    Raises:
        UserError: both or neither given, nothing usable at ``path``, or none ships for ``game``.
    """
    if pretrained == (path is not None):
        raise UserError("Give a run dir or checkpoint, or --pretrained (one of the two).")
    if path is not None:
        return find_checkpoint(path)
    return pretrained_checkpoint(game or DEFAULT_GAME)
