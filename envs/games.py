"""ALE game names and the evaluation protocols scores are reported under."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache
from typing import Literal

from ale_py import ALEInterface, LoggerMode, roms

# The emulator prints a banner for every game it loads; only its errors matter here.
ALEInterface.setLoggerMode(LoggerMode.Error)

MAX_EPISODE_FRAMES = 108_000
"""Emulator frames after which a game is cut (30 minutes at 60 Hz)."""

FRAME_SKIP = 4
"""Emulator frames per agent step; each observation max-pools the last two."""


@dataclass(frozen=True)
class Protocol:
    """How an Atari game is played and scored.

    Attributes:
        name: the protocol's name, quoted with every score.
        sticky_action_probability: chance that the emulator repeats the previous
            action on each frame (Machado et al., 2018).
        noop_max: at most this many no-op agent steps at the start of each game
            (Mnih et al., 2015).
    """

    name: str
    sticky_action_probability: float
    noop_max: int


ProtocolName = Literal["classic", "v5"]
PROTOCOLS = {
    # Mnih et al. (2015): the protocol of the published Breakout scores.
    "classic": Protocol("classic", sticky_action_probability=0.0, noop_max=30),
    # Machado et al. (2018), ALE v5 defaults: sticky actions instead of no-op starts.
    "v5": Protocol("v5", sticky_action_probability=0.25, noop_max=0),
}


# (random, human) scores of the Atari-57 tables (Mnih et al., 2015; Badia et al., 2020),
# the references of human-normalized scores: (score - random) / (human - random).
REFERENCE_SCORES = {
    "beam_rider": (363.9, 16926.5),
    "breakout": (1.7, 30.5),
    "enduro": (0.0, 860.5),
    "pong": (-20.7, 14.6),
    "qbert": (163.9, 13455.0),
    "seaquest": (68.4, 42054.7),
    "space_invaders": (148.0, 1668.7),
}


@cache
def available_games() -> tuple[str, ...]:
    """Names of the ALE games whose ROMs ship with ale-py, e.g. ``"breakout"``."""
    return tuple(sorted(roms.get_all_rom_ids()))


def normalize_game(game: str) -> str:
    """Return the ALE ROM id for ``game`` (``"Breakout"``, ``"breakout"``, ``"ALE/Breakout-v5"``).

    Raises:
        ValueError: the game is unknown; the message names the closest valid games.
    """
    name = game.removeprefix("ALE/").split("-v")[0].split("NoFrameskip")[0]
    # CamelCase -> snake_case, as ale-py names its ROMs.
    rom_id = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    if rom_id in available_games():
        return rom_id
    close = difflib.get_close_matches(rom_id, available_games(), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; see envs.available_games()."
    raise ValueError(f"Unknown Atari game {game!r}{hint}")


def get_protocol(protocol: str | Protocol) -> Protocol:
    """Look a protocol up by name.

    Raises:
        ValueError: the name is unknown.
    """
    if isinstance(protocol, Protocol):
        return protocol
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}.")
    return PROTOCOLS[protocol]
