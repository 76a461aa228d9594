"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    ``suffix`` is the temporary name's ending, for writers that choose a format by it.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        move_into_place(Path(tmp), path)
    except OSError as error:
        if error.filename not in (None, tmp):
            raise
        # The user knows the file they asked for, not its temporary name.
        raise OSError(error.errno, error.strerror, str(path)) from error
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# atomic_path's temporary names: "." + the target's name + "." + mkstemp's 8 characters
# + the optional suffix.
_TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}(\.\w+)?$")


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files that writers killed mid-write left under ``folder``
    (call it while no writer runs there); returns them."""
    stale = [p for p in folder.rglob(".*") if p.is_file() and _TEMPORARY.match(p.name)]
    for path in stale:
        path.unlink()
    return stale


def move_into_place(tmp: Path, path: Path) -> None:
    """Rename a finished temporary file onto ``path``, with the mode a new file gets
    (``mkstemp`` creates files readable by their owner alone)."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


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
