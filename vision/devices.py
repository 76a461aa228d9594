"""Device names, as every package's --device flag gives them, read as torch devices."""

from __future__ import annotations

import torch


def resolve_device(device: str) -> torch.device:
    """``"auto"`` is CUDA when present, else the CPU; anything else as torch reads it
    ("cpu", "cuda", "cuda:1").

    Raises:
        ValueError: a name torch does not know, in one sentence.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError:
        raise ValueError(f"Unknown device {device!r}; use auto, cpu or cuda.") from None
