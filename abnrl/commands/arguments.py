"""Argument types that several commands' configs share."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

from tyro.conf import Positional, arg

OptionalPath = Annotated[Positional[Path | None], arg(metavar="[PATH]")]
"""An optional positional path, shown as ``[PATH]`` in usage lines (tyro's own rendering
of an optional positional is ``[{None}|PATH]``)."""


def choices(names: Iterable[str]) -> str:
    """``{a,b,c}``: how help shows a flag's choices (a metavar) where the flag is a plain
    ``str`` checked by the command, so that an alias is taken but not listed."""
    return "{" + ",".join(names) + "}"
