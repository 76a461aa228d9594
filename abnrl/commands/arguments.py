"""Argument types that several commands' configs share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from tyro.conf import Positional, arg

OptionalPath = Annotated[Positional[Path | None], arg(metavar="[PATH]")]
"""An optional positional path, shown as ``[PATH]`` in usage lines (tyro's own rendering
of an optional positional is ``[{None}|PATH]``)."""
