"""The trained agent that ships inside the package."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from abnrl.errors import UserError

PRETRAINED = "breakout-abn-ppo.zip"
MODEL_CARD = "MODEL_CARD.md"


def pretrained_checkpoint() -> Path:
    """Path of the shipped ABN-PPO Breakout checkpoint.

    Raises:
        UserError: the package was installed without it.
    """
    path = Path(str(files("abnrl") / "pretrained" / PRETRAINED))
    if not path.is_file():
        raise UserError(f"This installation has no pretrained agent ({path} is missing).")
    return path
