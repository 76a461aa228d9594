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
    with zipfile.ZipFile(agent_zip) as archive:
        items = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(items["data"])
    payload = base64.b64encode(pickle.dumps(WritesAFile(marker))).decode()
    data[key] = {":type:": "<class 'float'>", ":serialized:": payload}
    items["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(crafted, "w") as archive:
        for name, content in items.items():
            archive.writestr(name, content)
    return crafted
