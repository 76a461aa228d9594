"""Unpickling with an allowlist: a pickle from elsewhere builds data, never runs code.

A pickle names every callable it needs (a class, a reconstructor) as a global, and
``pickle.Unpickler.find_class`` resolves those names. Here only names on an
allowlist resolve, each to an object chosen by the caller, so a payload that names
``os.system`` or ``builtins.eval`` fails before anything is called.
"""

from __future__ import annotations

import codecs
import importlib
import io
import pickle
from collections.abc import Iterable, Mapping
from typing import Any

Allowlist = Mapping[tuple[str, str], Any]


class ForbiddenGlobalError(pickle.UnpicklingError):
    """The pickle names a global that its allowlist does not admit."""

    def __init__(self, module: str, name: str):
        self.qualified_name = f"{module}.{name}"
        super().__init__(f"{self.qualified_name} is not allowed in this file")


class AllowlistUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose globals resolve only through ``allowed``."""

    def __init__(self, file: io.BufferedIOBase, allowed: Allowlist, **kwargs: Any):
        super().__init__(file, **kwargs)
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise ForbiddenGlobalError(module, name) from None


def restricted_loads(data: bytes, allowed: Allowlist, **kwargs: Any) -> Any:
    """``pickle.loads`` restricted to ``allowed``; ``kwargs`` as ``pickle.Unpickler``'s.

    Raises:
        ForbiddenGlobalError: the pickle names a global outside ``allowed``.
        pickle.UnpicklingError, EOFError, ValueError, TypeError: it is not a valid pickle.
    """
    return AllowlistUnpickler(io.BytesIO(data), allowed, **kwargs).load()


def allow(qualified_names: Iterable[str]) -> dict[tuple[str, str], Any]:
    """An allowlist of the importable objects ``"package.module.name"``, each resolved
    under its own name."""
    allowed = {}
    for qualified in qualified_names:
        module, name = qualified.rsplit(".", 1)
        allowed[(module, name)] = getattr(importlib.import_module(module), name)
    return allowed


def _numpy_arrays() -> dict[tuple[str, str], Any]:
    # NumPy 2 moved numpy.core to numpy._core; pickles name whichever wrote them.
    import numpy as np

    core = importlib.import_module("numpy._core" if hasattr(np, "_core") else "numpy.core")
    multiarray = core.multiarray
    numeric = core.numeric
    allowed: dict[tuple[str, str], Any] = {
        # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(text, "latin1").
        ("_codecs", "encode"): codecs.encode,
        ("numpy", "dtype"): np.dtype,
        ("numpy", "ndarray"): np.ndarray,
    }
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{package}.multiarray", "scalar")] = multiarray.scalar
        allowed[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    return allowed


NUMPY_ARRAYS: Allowlist = _numpy_arrays()
"""The globals that NumPy arrays, dtypes and scalars pickle to (either NumPy major, any
protocol)."""
