"""Where each stretch of a run trained: one CSV row per start or resume of ``abnrl train``.

A run stopped and resumed across machines (a GPU, then a laptop) keeps a record of
each stretch: when it started, at which step, on what hardware, with how many threads
and which versions. With ``progress.csv``'s cumulative training time, this is what a
model card's "hardware and wall time" is made from.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import torch

from abnrl.machine import describe
from abnrl.training.monitor import append_row

COLUMNS = ("started_utc", "step", "machine", "device", "threads", "torch", "abnrl")


def record_start(path: Path, step: int, device: torch.device) -> None:
    """Append this start's row to ``path`` (created with its header)."""
    row = {
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "step": step,
        "machine": describe(device),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "abnrl": metadata.version("abnrl"),
    }
    append_row(path, COLUMNS, row)
