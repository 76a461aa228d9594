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


def _numpy_core() -> str:
    """The package that holds NumPy's own ``multiarray`` and ``numeric`` modules.

    NumPy 2 moved ``numpy.core`` to ``numpy._core`` and keeps ``numpy.core`` as a
    deprecated alias; NumPy 1.26 has a ``numpy._core`` too, but only as a stub (no
    ``numeric``) for reading NumPy 2 pickles. So the major version decides, not which
    names exist.
    """
    return "numpy._core" if _numpy_major() >= 2 else "numpy.core"


def _numpy_major() -> int:
    import numpy as np

    return int(np.__version__.split(".", 1)[0])


def _numpy_arrays() -> dict[tuple[str, str], Any]:
    # Pickles name the package of the NumPy that wrote them, numpy.core (1.x) or
    # numpy._core (2.x); both spellings resolve to the objects of the NumPy installed.
    import numpy as np

    core = _numpy_core()
    multiarray = importlib.import_module(f"{core}.multiarray")
    numeric = importlib.import_module(f"{core}.numeric")
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


class _PendingBitGenerator:
    """A bit generator that NumPy 2 pickled, read under NumPy 1.x: its class first, its
    state and seed sequence at BUILD; ``__generator_ctor`` then makes the real one.

    NumPy 2 pickles a ``Generator`` as ``__generator_ctor(bit_generator)``, the bit
    generator as ``__bit_generator_ctor(PCG64)`` with the state ``(state, seed_seq)``;
    NumPy 1.x's helpers take only a name and its bit generators only a state dict.
    """

    def __init__(self, cls: type):
        self.cls = cls
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def build(self) -> Any:
        state, seed_seq = self.state if isinstance(self.state, tuple) else (self.state, None)
        bit_generator = self.cls() if seed_seq is None else self.cls(seed_seq)
        if state is not None:
            bit_generator.state = state
        return bit_generator


def _bit_generator_ctor_numpy1(bit_generator: Any = "MT19937") -> Any:
    """NumPy 1.x's ``__bit_generator_ctor`` that also takes the class NumPy 2 names."""
    from numpy.random import _pickle

    if isinstance(bit_generator, type):
        if bit_generator not in _pickle.BitGenerators.values():
            raise ValueError(f"{bit_generator!r} is not a NumPy bit generator")
        return _PendingBitGenerator(bit_generator)
    return _pickle.__bit_generator_ctor(bit_generator)


def _generator_ctor_numpy1(
    bit_generator_name: Any = "MT19937", bit_generator_ctor: Any = _bit_generator_ctor_numpy1
) -> Any:
    """NumPy 1.x's ``__generator_ctor`` that also takes the bit generator NumPy 2 pickles."""
    import numpy as np

    if isinstance(bit_generator_name, _PendingBitGenerator):
        return np.random.Generator(bit_generator_name.build())
    return np.random.Generator(bit_generator_ctor(bit_generator_name))


def _numpy_random() -> dict[tuple[str, str], Any]:
    allowed = allow([
        "numpy.random._pcg64.PCG64",
        "numpy.random.bit_generator.SeedSequence",
        "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
    ])  # fmt: skip
    if _numpy_major() >= 2:  # NumPy 2's helpers read the pickles of both majors
        allowed.update(allow([
            "numpy.random._pickle.__bit_generator_ctor",
            "numpy.random._pickle.__generator_ctor",
        ]))  # fmt: skip
    else:
        allowed[("numpy.random._pickle", "__bit_generator_ctor")] = _bit_generator_ctor_numpy1
        allowed[("numpy.random._pickle", "__generator_ctor")] = _generator_ctor_numpy1
    return allowed


NUMPY_RANDOM: Allowlist = _numpy_random()
"""The globals that a NumPy ``Generator`` on PCG64 (what ``np.random.default_rng`` and
Gymnasium's spaces make) and its ``SeedSequence`` pickle to, as either NumPy major
writes them, read under the NumPy installed."""
