"""Checks of command configs, whether their values come from flags or from files.

Each check raises ``UserError`` with one sentence that names the flag.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import torch

from abnrl.errors import UserError
from vision.devices import resolve_device

DeviceName = Literal["auto", "cpu", "cuda"]
DEVICES: tuple[str, ...] = typing.get_args(DeviceName)


def flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def check_choice(name: str, value: object, allowed: Iterable[object]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        choices = ", ".join(map(str, allowed))
        raise UserError(f"Unknown {flag(name)} {value!r}; choose one of {choices}.")


def check_device(device: str) -> None:
    check_choice("device", device, DEVICES)
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for, but PyTorch sees no CUDA GPU here.")


def parse_device(device: str) -> torch.device:
    """The torch device a --device flag names (auto: CUDA when present).

    Raises:
        UserError: not a device of ``DEVICES``, or CUDA asked for where there is none.
    """
    check_device(device)
    return resolve_device(device)


def check_output(path: Path, *, folder: bool = False) -> None:
    """``path`` (a file, or a ``folder`` to write files in) can be written: checked before
    any long work that ends by writing it."""
    if folder and path.exists() and not path.is_dir():
        raise UserError(f"Cannot write into {path}: it is a file, not a folder.")
    if not path.parent.is_dir():
        raise UserError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise UserError(f"Cannot write {path}: the folder {path.parent} is not writable.")


def check_at_least(config: object, minimums: Mapping[str, float]) -> None:
    """Each named field of ``config`` is a finite number at least its minimum (None counts
    as not given)."""
    for name, minimum in minimums.items():
        value = getattr(config, name)
        if value is not None and not (math.isfinite(value) and value >= minimum):
            raise UserError(f"{flag(name)} must be at least {minimum}, got {value}.")


def check_between(config: object, ranges: Mapping[str, tuple[float, float]]) -> None:
    """Each named field of ``config`` is a finite number within its (low, high) range."""
    for name, (low, high) in ranges.items():
        value = getattr(config, name)
        if not (math.isfinite(value) and low <= value <= high):
            raise UserError(f"{flag(name)} must be between {low} and {high}, got {value}.")


def typed_config(cls: type, values: Mapping[str, Any], source: Path) -> Any:
    """``cls(**values)`` for the values that are fields of the dataclass ``cls``, each
    checked against its annotation (a path may be given as text): for configs read from
    files, which no flag parser checked.

    Raises:
        UserError: a value of the wrong type, naming ``source`` and the field.
    """
    hints = typing.get_type_hints(cls, include_extras=False)
    known = {field.name for field in dataclasses.fields(cls)}
    kwargs = {}
    for name, value in values.items():
        if name not in known:
            continue
        converted = _as_type(value, hints[name])
        if converted is _WRONG:
            raise UserError(
                f"{source} holds {name} = {value!r}, which is not {_describe(hints[name])}."
            )
        kwargs[name] = converted
    return cls(**kwargs)


_WRONG = object()


def _options(hint: Any) -> tuple[Any, ...]:
    """The types a hint admits: the members of a union, else the hint itself."""
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    return typing.get_args(hint) if union else (hint,)


def _as_type(value: Any, hint: Any) -> Any:
    for option in _options(hint):
        if option is type(None) and value is None:
            return None
        if typing.get_origin(option) is Literal and value in typing.get_args(option):
            return value
        if option is bool and isinstance(value, bool):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if option is str and isinstance(value, str):
            return value
        if option is Path and isinstance(value, str):
            return Path(value)
    return _WRONG


def _describe(hint: Any) -> str:
    names = {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "text",
        Path: "a path",
    }

    def name(option: Any) -> str:
        if option is type(None):
            return "null"
        if typing.get_origin(option) is Literal:
            return "one of " + ", ".join(map(str, typing.get_args(option)))
        return names.get(option, str(option))

    return " or ".join(name(option) for option in _options(hint))
