"""Files crafted as an attacker would: pickles that run code when loaded carelessly."""

import base64
import json
import pickle
import zipfile
from pathlib import Path


class WritesAFile:
    """Unpickling this object with a full unpickler creates ``path``."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return exec, (f"open({str(self.path)!r}, 'w').close()",)


def with_payload(agent_zip: Path, crafted: Path, key: str, marker: Path) -> Path:
    """A copy of an SB3 agent zip whose data entry ``key`` (new or replaced) is a
    cloudpickle-style value that creates ``marker`` when unpickled."""
    payload = base64.b64encode(pickle.dumps(WritesAFile(marker))).decode()
    return with_fields(
        agent_zip, crafted, {key: {":type:": "<class 'float'>", ":serialized:": payload}}
    )


def with_fields(agent_zip: Path, crafted: Path, fields: dict) -> Path:
    """A copy of an SB3 agent zip with its data entries in ``fields`` added or replaced
    (a value of None removes the entry)."""
    with zipfile.ZipFile(agent_zip) as archive:
        items = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(items["data"])
    for key, value in fields.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    items["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(crafted, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in items.items():
            archive.writestr(name, content)
    return crafted


ENV_MODULE = "abnrl_crafted_env"
"""A module that a crafted agent's ``env`` field names."""


def env_module(folder: Path, marker: Path) -> str:
    """Write a module into ``folder`` that creates ``marker`` when imported; return an
    env id that names it, as gym.make reads one (``module:EnvName``)."""
    (folder / f"{ENV_MODULE}.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    return f"{ENV_MODULE}:Anything-v0"
