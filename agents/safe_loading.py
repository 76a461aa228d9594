"""Loading SB3 agent zips without running code from them.

An SB3 zip keeps its tensors in ``.pth`` files (SB3 reads those with
``weights_only=True``) and its other attributes in a JSON ``data`` file, where each
value JSON cannot hold is a base64 cloudpickle (``":serialized:"``) that
``PPO.load`` unpickles as it is: one crafted entry runs any code. Here those values
are rebuilt by an unpickler that admits only what PPO and A2C, stock or ABN, store
(policy and buffer classes, schedules, the RL Zoo's linear schedule, spaces, arrays, RNG
states) and are handed to
SB3's ``load`` as ``custom_objects``, so SB3 unpickles nothing. ``PPO.load`` itself
stays available for files one trusts.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import warnings
import zipfile
from collections.abc import Collection
from pathlib import Path
from typing import IO, Any

import torch

from agents.agent_schema import check_fields, is_finite_number
from vision.safe_pickle import (
    NUMPY_ARRAYS,
    NUMPY_RANDOM,
    ForbiddenGlobalError,
    allow,
    restricted_loads,
)

AgentFile = str | Path | IO[bytes] | io.BufferedIOBase
MAX_DATA_BYTES = 16 << 20
"""The largest ``data`` entry read (an agent's is tens of kilobytes)."""
MAX_MEMBER_BYTES = 1 << 30
"""The largest other entry (weights, optimizer state) SB3 may read."""


class UnsafeCheckpointError(ValueError):
    """The agent file stores an object that loading it would have to run code for."""


class ZooLinearSchedule:
    """RL Baselines3 Zoo's ``rl_zoo3.utils.SimpleLinearSchedule``, rebuilt as the value it
    is (its ``lin_2.5e-4`` learning rates and clip ranges): ``initial_value`` at the start
    of training, falling linearly to 0 at its end. Loading it needs no RL Zoo."""

    initial_value: float

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict) or set(state) != {"initial_value"}:
            raise ValueError("an RL Zoo schedule holds only its initial value")
        value = state["initial_value"]
        if not is_finite_number(value):
            raise ValueError("an RL Zoo schedule's initial value is not a number")
        self.initial_value = float(value)

    def __call__(self, progress_remaining: float) -> float:
        return progress_remaining * self.initial_value


def _typed_storage(data: bytes) -> torch.storage.TypedStorage:
    # Tensors inside a cloudpickle (the torch RNG state) carry their storage as a
    # nested torch.save file, which torch.storage._load_from_bytes would read with a
    # full unpickler.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "TypedStorage is deprecated"
        return torch.load(io.BytesIO(data), weights_only=True)


def _qrdqn_policies() -> dict[tuple[str, str], Any]:
    """QR-DQN's policies where sb3-contrib is installed (its agents load only there)."""
    if importlib.util.find_spec("sb3_contrib") is None:
        return {}
    return allow(["sb3_contrib.qrdqn.policies.QRDQNPolicy", "sb3_contrib.qrdqn.policies.CnnPolicy"])


QRDQN_POLICIES = _qrdqn_policies()

_ALLOWED = {
    **NUMPY_ARRAYS,
    **NUMPY_RANDOM,
    **allow([
        "agents.policy.ABNPolicy",
        "stable_baselines3.common.policies.ActorCriticPolicy",
        "stable_baselines3.common.policies.ActorCriticCnnPolicy",
        "stable_baselines3.common.policies.MultiInputActorCriticPolicy",
        "stable_baselines3.common.buffers.RolloutBuffer",
        "stable_baselines3.common.buffers.DictRolloutBuffer",
        "stable_baselines3.common.buffers.ReplayBuffer",
        "stable_baselines3.common.type_aliases.TrainFreq",
        "stable_baselines3.common.type_aliases.TrainFrequencyUnit",
        "stable_baselines3.dqn.policies.DQNPolicy",
        "stable_baselines3.dqn.policies.CnnPolicy",
        "stable_baselines3.common.utils.ConstantSchedule",
        "stable_baselines3.common.utils.FloatSchedule",
        "stable_baselines3.common.utils.LinearSchedule",
        "stable_baselines3.common.sb2_compat.rmsprop_tf_like.RMSpropTFLike",
        "torch.optim.adam.Adam",
        "torch.optim.rmsprop.RMSprop",
        "gymnasium.spaces.box.Box",
        "gymnasium.spaces.discrete.Discrete",
        "collections.OrderedDict",
        "collections.deque",
        "torch._utils._rebuild_tensor_v2",
    ]),
    ("torch.storage", "_load_from_bytes"): _typed_storage,
    ("rl_zoo3.utils", "SimpleLinearSchedule"): ZooLinearSchedule,
    **QRDQN_POLICIES,
}  # fmt: skip


def read_data(file: AgentFile, *, skip: Collection[str] = ()) -> tuple[dict, dict]:
    """The ``data`` of an SB3 zip as (plain JSON values, serialized values rebuilt through
    the allowlist); serialized values under the keys in ``skip`` are left out.

    Raises:
        UnsafeCheckpointError: a value needs an object outside the allowlist.
        ValueError: the file is not an SB3 zip, a value in it is damaged, an entry is
            too large, or a field is one no agent writes (``agents.agent_schema``).
        OSError: it cannot be read.
    """
    start = file.tell() if isinstance(file, io.IOBase) else 0
    try:
        with zipfile.ZipFile(file) as archive:
            if "data" not in archive.namelist():
                raise ValueError("it has no data entry")
            for member in archive.infolist():
                limit = MAX_DATA_BYTES if member.filename == "data" else MAX_MEMBER_BYTES
                if member.file_size > limit:
                    raise ValueError(
                        f"its {member.filename!r} would inflate to {member.file_size:,} bytes, "
                        f"over the {limit:,} an agent needs"
                    )
            entries = json.loads(archive.read("data"))
            for name in archive.namelist():
                if name.endswith(".pth"):
                    _check_tensors(name, archive.read(name))
    except zipfile.BadZipFile:
        raise ValueError("it is not a zip file, or it is truncated") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError("its data entry is not JSON") from None
    if isinstance(file, io.IOBase):
        file.seek(start)  # for SB3's load, which reads the file again
    if not isinstance(entries, dict):
        raise ValueError("its data entry is not a JSON object")
    plain, rebuilt = {}, {}
    for key, value in entries.items():
        if not (isinstance(value, dict) and ":serialized:" in value):
            plain[key] = value
        elif key not in skip:
            rebuilt[key] = _rebuild(key, value[":serialized:"])
    check_fields(plain, {**dict.fromkeys(entries.keys() - plain.keys()), **rebuilt})
    return plain, rebuilt


def _check_tensors(member: str, content: bytes) -> None:
    """A ``.pth`` entry must be what SB3 writes: a mapping that ``torch.load`` reads with
    ``weights_only=True`` (SB3 reads it so too; this names the entry when it cannot)."""
    try:
        loaded = torch.load(io.BytesIO(content), weights_only=True, map_location="cpu")
    except Exception as error:  # torch raises many kinds on damaged or foreign files
        raise ValueError(
            f"its {member!r} is not a tensor file that loads without running code "
            f"({type(error).__name__})"
        ) from None
    if not isinstance(loaded, dict):
        raise ValueError(f"its {member!r} holds a {type(loaded).__name__}, not a mapping")


def _rebuild(key: str, serialized: Any) -> Any:
    try:
        return restricted_loads(base64.b64decode(serialized), _ALLOWED)
    except ForbiddenGlobalError as error:
        package, _, rest = error.qualified_name.partition(".")
        if package in ("stable_baselines3", "sb3_contrib") and rest:
            algorithm = rest.split(".")[0].upper()  # stable_baselines3.dqn.policies... -> DQN
            contrib = " (with sb3-contrib installed)" if package == "sb3_contrib" else ""
            raise ValueError(
                f"it is an agent of Stable-Baselines3's {algorithm} (its {key!r} is "
                f"{error.qualified_name}); abnrl loads PPO, A2C and DQN agents, and "
                f"QR-DQN ones{contrib}"
            ) from None
        raise UnsafeCheckpointError(
            f"its {key!r} needs {error.qualified_name}, which no agent stores; "
            "loading it could run code, so it was not loaded"
        ) from None
    except Exception as error:  # a damaged pickle can fail in any way; none of them is ours
        raise ValueError(f"its {key!r} is damaged ({type(error).__name__})") from None


def safe_custom_objects(file: AgentFile, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """``custom_objects`` for SB3's ``load`` that leave it nothing to unpickle: the
    file's serialized values rebuilt safely, with those in ``given`` taking their place.

    Raises:
        As ``read_data``.
    """
    given = given or {}
    return {**read_data(file, skip=given)[1], **given}
