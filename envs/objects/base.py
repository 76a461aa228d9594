"""What every game's object reader returns: named, classed boxes on the 210x160 frame.

A reader turns the console RAM of one emulator frame into the objects on that
frame's screen. Boxes are in the pixel coordinates of the full-colour frame
(x to the right, y down, ``x1``/``y1`` exclusive), clipped to the screen;
``to_observation`` maps them into the agent's 84x84 observation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import numpy as np

FRAME_HEIGHT, FRAME_WIDTH = 210, 160
OBSERVATION_SIZE = 84

KINDS = ("player", "enemy", "ball", "projectile", "target", "barrier")
"""The classes every object falls in, whatever the game:

* ``player``: what the agent moves (a paddle, a cannon, a submarine, Ms. Pac-Man, a chicken);
* ``enemy``: what plays against it or harms it (the other paddle, aliens, sharks,
  enemy submarines, ghosts, cars);
* ``ball``: a ball that both sides play;
* ``projectile``: shots and missiles, the player's and the enemies' alike;
* ``target``: what scores when hit or collected (bricks, divers, pills, fruit);
* ``barrier``: what blocks shots (Space Invaders' shields).
"""


class Box(NamedTuple):
    """An object's box: ``label`` and pixel edges, ``x1``/``y1`` exclusive."""

    label: str
    x0: float
    y0: float
    x1: float
    y1: float


class GameObject(NamedTuple):
    """One object on the screen.

    Attributes:
        name: what it is in its game, e.g. ``"ball"``, ``"enemy paddle"``, ``"shark"``.
        kind: its class, one of ``KINDS``.
        x0, y0, x1, y1: its box in frame pixels, ``x1``/``y1`` exclusive.
    """

    name: str
    kind: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def label(self) -> str:
        """The name, as ``Box.label`` calls it."""
        return self.name

    @property
    def box(self) -> Box:
        """The box alone, labelled with the name."""
        return Box(self.name, self.x0, self.y0, self.x1, self.y1)

    @property
    def center(self) -> tuple[float, float]:
        """The box's centre (x, y)."""
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2


def screen_object(
    name: str,
    kind: str,
    x: float,
    y: float,
    width: float,
    height: float,
    *,
    top: float = 0,
    bottom: float = FRAME_HEIGHT,
) -> GameObject | None:
    """The object at (x, y) of the given size, clipped to the screen's columns and to
    the rows [top, bottom); None when nothing of it is left."""
    x0, y0 = max(x, 0), max(y, top)
    x1, y1 = min(x + width, FRAME_WIDTH), min(y + height, bottom)
    if x0 >= x1 or y0 >= y1:
        return None
    return GameObject(name, kind, x0, y0, x1, y1)


@dataclass(frozen=True)
class ObjectReader:
    """Reads one game's objects from its RAM.

    Attributes:
        game: the ALE ROM id, as ``envs.normalize_game`` spells it.
        read: RAM (128 uint8) of one emulator frame -> the objects on that frame.
        names: every object name the reader can yield -> its kind.
    """

    game: str
    read: Callable[[np.ndarray], list[GameObject]]
    names: Mapping[str, str]

    def __call__(self, ram: np.ndarray) -> list[GameObject]:
        """The objects on the screen, in frame pixels."""
        return self.read(ram)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds the reader can yield, in ``KINDS`` order."""
        return tuple(kind for kind in KINDS if kind in self.names.values())


BoxLike = TypeVar("BoxLike", Box, GameObject)


def to_observation(boxes: Sequence[BoxLike]) -> list[BoxLike]:
    """The same boxes (or objects) in the agent's 84x84 observation coordinates."""
    sx, sy = OBSERVATION_SIZE / FRAME_WIDTH, OBSERVATION_SIZE / FRAME_HEIGHT
    return [b._replace(x0=b.x0 * sx, y0=b.y0 * sy, x1=b.x1 * sx, y1=b.y1 * sy) for b in boxes]
