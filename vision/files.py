"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The one implementation every package uses (vision is the lowest layer): a uniquely named
temporary file beside the target, renamed onto it when complete, removed otherwise.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn


class AtomicFile:
    """A temporary file beside ``path`` that becomes ``path`` on ``commit()``.

    For writers that outlive one ``with`` block (a video encoder); others use
    ``atomic_path``. ``suffix`` ends the temporary name, for writers that choose a format
    by it. A unique name (``mkstemp``) keeps two writers of one path apart.
    """

    def __init__(self, path: str | Path, suffix: str = "") -> None:
        self.path = Path(path)
        try:
            descriptor, tmp = tempfile.mkstemp(
                dir=self.path.parent, prefix=f".{self.path.name}.", suffix=suffix
            )
        except OSError as error:  # name the file asked for, not the temporary one
            raise OSError(error.errno, error.strerror, str(self.path)) from error
        os.close(descriptor)
        self.tmp = Path(tmp)

    def commit(self) -> None:
        """Move the finished temporary file onto ``path``, with the mode a new file gets
        (``mkstemp`` makes files readable by their owner alone)."""
        try:
            os.chmod(self.tmp, 0o666 & ~_umask())
            os.replace(self.tmp, self.path)
        except OSError as error:
            self.abandon(error)

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)

    def abandon(self, error: BaseException) -> NoReturn:
        """Remove the temporary file and raise ``error``; an OSError about the temporary
        file names the file the user asked for instead."""
        self.discard()
        if isinstance(error, OSError) and error.filename in (None, str(self.tmp)):
            raise OSError(error.errno, error.strerror, str(self.path)) from error
        raise error


@contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it becomes ``path`` if the block succeeds."""
    target = AtomicFile(path, suffix)
    try:
        yield target.tmp
    except BaseException as error:
        target.abandon(error)
    target.commit()


@contextmanager
def atomic_file(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """An open file (``mode``: "wb" or "w") that appears at ``path`` once complete; the
    folders above it are made."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, mode) as file:
        yield file


# Temporary names: "." + the target's name + "." + mkstemp's 8 characters + the suffix.
TEMPORARY_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}(\.\w+)?$")


def temporary_name(target: str) -> re.Pattern[str]:
    """The names ``AtomicFile`` gives the temporaries of files named ``target``, a
    regular expression over file names (``attention-\\d{9}\\.mp4``) or a plain name."""
    return re.compile(rf"^\.{target}\.[a-z0-9_]{{8}}(\.\w+)?$")


def remove_stale_temporaries(folder: Path, targets: list[str]) -> list[Path]:
    """Delete the temporary files that writers killed mid-write left in ``folder`` (not
    below it) for files named by ``targets`` (``temporary_name``'s patterns); nothing
    else, however alike its name. Call it while no writer runs there; returns them."""
    patterns = [temporary_name(target) for target in targets]
    stale = [
        path
        for path in (folder.iterdir() if folder.is_dir() else ())
        if path.is_file() and not path.is_symlink() and any(p.match(path.name) for p in patterns)
    ]
    for path in stale:
        path.unlink()
    return stale


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, write: Callable[[Path], Any], suffix: str = "") -> None:
    """Call ``write(tmp_path)`` and move the result onto ``path``."""
    with atomic_path(path, suffix) as tmp:
        write(tmp)


def write_bytes_atomic(path: str | Path, content: bytes) -> None:
    write_atomic(path, lambda tmp: tmp.write_bytes(content), suffix=Path(path).suffix)


def write_text_atomic(path: str | Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text))


def write_json_atomic(path: str | Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")
