"""The allowlisted unpickler reads NumPy's pickles as either NumPy major writes them.

NumPy 1.x names its internals ``numpy.core``, NumPy 2 ``numpy._core``; a file keeps
the name of the NumPy that wrote it. These tests craft both spellings (and both ways a
random Generator is pickled) whatever NumPy is installed, so CI's run on NumPy 2 and
its run on NumPy 1.26 check the same files.
"""

from __future__ import annotations

import io
import pickle
import re

import numpy as np
import pytest
from numpy.random import _pickle as numpy_pickle

from vision import safe_pickle
from vision.safe_pickle import NUMPY_ARRAYS, NUMPY_RANDOM, ForbiddenGlobalError, restricted_loads

SPELLINGS = ["numpy.core", "numpy._core"]
# NumPy's pickling helpers, named here because a class body would mangle their names.
BIT_GENERATOR_CTOR = numpy_pickle.__bit_generator_ctor
GENERATOR_CTOR = numpy_pickle.__generator_ctor


def spelled(data: bytes, package: str) -> bytes:
    """A protocol-2 pickle with NumPy's core package renamed to ``package``."""
    renamed = re.sub(rb"cnumpy\.(_?)core\.", b"c" + package.encode() + b".", data)
    assert b"c" + package.encode() + b"." in renamed
    return renamed


def global_pickle(module: str, name: str) -> bytes:
    """A protocol-2 pickle that calls ``module.name()``."""
    return f"c{module}\n{name}\n)R.".encode()


@pytest.mark.parametrize("package", SPELLINGS)
def test_arrays_and_scalars_load_under_either_spelling(package):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    for value in (array, np.float32(1.5), np.int64(-7)):
        data = spelled(pickle.dumps(value, protocol=2), package)
        assert f"{package}.multiarray".encode() in data
        loaded = restricted_loads(data, NUMPY_ARRAYS)
        assert type(loaded) is type(value)
        np.testing.assert_array_equal(loaded, value)
    assert (
        restricted_loads(spelled(pickle.dumps(array, protocol=2), package), NUMPY_ARRAYS).dtype
        == array.dtype
    )


def test_both_spellings_admit_the_same_objects():
    by_spelling = {
        package: {
            (module.removeprefix(package), name): target
            for (module, name), target in NUMPY_ARRAYS.items()
            if module.startswith(package + ".")
        }
        for package in SPELLINGS
    }
    assert by_spelling["numpy.core"].keys() == by_spelling["numpy._core"].keys()
    assert sorted(by_spelling["numpy.core"]) == [
        (".multiarray", "_reconstruct"),
        (".multiarray", "scalar"),
        (".numeric", "_frombuffer"),
    ]
    for key, target in by_spelling["numpy.core"].items():
        assert by_spelling["numpy._core"][key] is target


@pytest.mark.parametrize("package", SPELLINGS)
@pytest.mark.parametrize(
    "qualified", ["multiarray.frombuffer", "multiarray.fromfile", "numeric.loads", "_internal.eval"]
)
def test_names_off_the_allowlist_are_refused_under_either_spelling(package, qualified):
    module, name = f"{package}.{qualified}".rsplit(".", 1)
    with pytest.raises(ForbiddenGlobalError) as refusal:
        restricted_loads(global_pickle(module, name), {**NUMPY_ARRAYS, **NUMPY_RANDOM})
    assert refusal.value.qualified_name == f"{package}.{qualified}"


class _NumpyFormatPickler(pickle.Pickler):
    """Pickles a Generator on PCG64 as the NumPy major ``major`` does, whichever is
    installed: NumPy 1.x by the bit generator's name with a state dict, NumPy 2 by its
    class with a ``(state, seed_seq)`` pair."""

    def __init__(self, file: io.BytesIO, major: int):
        super().__init__(file, protocol=2)
        self.major = major

    def reducer_override(self, obj):
        if isinstance(obj, np.random.Generator):
            bit_generator = obj.bit_generator
            if self.major == 1:
                name = bit_generator.state["bit_generator"]
                args = (name, BIT_GENERATOR_CTOR)
                return GENERATOR_CTOR, args, bit_generator.state
            return GENERATOR_CTOR, (bit_generator,), None
        if isinstance(obj, np.random.PCG64) and self.major == 2:
            state = (obj.state, obj._seed_seq)
            return BIT_GENERATOR_CTOR, (type(obj),), state
        return NotImplemented


def generator_pickle(generator: np.random.Generator, major: int) -> bytes:
    file = io.BytesIO()
    _NumpyFormatPickler(file, major).dump({"rng": generator})
    return file.getvalue()


NUMPY1_BRIDGES = {
    **NUMPY_RANDOM,
    ("numpy.random._pickle", "__bit_generator_ctor"): safe_pickle._bit_generator_ctor_numpy1,
    ("numpy.random._pickle", "__generator_ctor"): safe_pickle._generator_ctor_numpy1,
}


@pytest.mark.parametrize("written_by", [1, 2])
@pytest.mark.parametrize("helpers", ["installed", "numpy1-bridges"])
def test_a_generator_pickled_by_either_numpy_major_resumes_its_stream(written_by, helpers):
    original = np.random.default_rng(1234)
    original.random(5)
    data = generator_pickle(original, written_by)
    allowed = NUMPY_RANDOM if helpers == "installed" else NUMPY1_BRIDGES
    loaded = restricted_loads(data, {**NUMPY_ARRAYS, **allowed})["rng"]
    assert type(loaded) is np.random.Generator
    assert type(loaded.bit_generator) is np.random.PCG64
    assert loaded.bit_generator.state == original.bit_generator.state
    np.testing.assert_array_equal(loaded.random(8), original.random(8))
    if written_by == 2:  # NumPy 2's pickle keeps the seed sequence, so spawning works
        assert loaded.bit_generator._seed_seq.entropy == 1234


def test_the_numpy1_bridge_builds_only_numpy_bit_generators():
    with pytest.raises(ValueError, match="not a NumPy bit generator"):
        safe_pickle._bit_generator_ctor_numpy1(dict)
    with pytest.raises(ValueError, match="not a known"):
        safe_pickle._bit_generator_ctor_numpy1("os.system")
