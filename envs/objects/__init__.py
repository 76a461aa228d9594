"""Objects read from the console RAM, as named, classed boxes on the screen.

One reader per game (``object_reader(game)``), each a module of this package that
states how its RAM addresses and pixel offsets were calibrated against rendered
frames. Breakout's constants and functions stay importable from here.
"""

from __future__ import annotations

from envs.games import normalize_game
from envs.objects.base import (
    FRAME_HEIGHT,
    FRAME_WIDTH,
    KINDS,
    OBSERVATION_SIZE,
    Box,
    GameObject,
    ObjectReader,
    screen_object,
    to_observation,
)
from envs.objects.breakout import (
    BALL_SIZE,
    BREAKOUT,
    BRICK_COLUMNS,
    BRICK_ORIGIN,
    BRICK_ROWS,
    BRICK_SIZE,
    LABELS,
    PADDLE_SIZE,
    PADDLE_TOP,
    SCREEN_BOTTOM,
    ball_in_play,
    breakout_bricks,
    breakout_objects,
)
from envs.objects.freeway import FREEWAY
from envs.objects.mspacman import MS_PACMAN
from envs.objects.pong import PONG
from envs.objects.seaquest import SEAQUEST
from envs.objects.space_invaders import SPACE_INVADERS

READERS: dict[str, ObjectReader] = {
    reader.game: reader for reader in (BREAKOUT, FREEWAY, MS_PACMAN, PONG, SEAQUEST, SPACE_INVADERS)
}
"""Game (ALE ROM id) -> its object reader."""


def games_with_objects() -> tuple[str, ...]:
    """The games that have an object reader, sorted."""
    return tuple(sorted(READERS))


def object_reader(game: str) -> ObjectReader:
    """The object reader of ``game`` (any spelling ``envs.normalize_game`` accepts).

    Raises:
        ValueError: the game is unknown or has no reader; the message names those that do.
    """
    try:
        rom_id = normalize_game(game)
    except ValueError:
        rom_id = game
    if rom_id not in READERS:
        raise ValueError(
            f"No object reader for {game!r}; games with one: {', '.join(games_with_objects())}."
        )
    return READERS[rom_id]


__all__ = [
    "BALL_SIZE",
    "BREAKOUT",
    "BRICK_COLUMNS",
    "BRICK_ORIGIN",
    "BRICK_ROWS",
    "BRICK_SIZE",
    "FRAME_HEIGHT",
    "FRAME_WIDTH",
    "KINDS",
    "LABELS",
    "OBSERVATION_SIZE",
    "PADDLE_SIZE",
    "PADDLE_TOP",
    "READERS",
    "SCREEN_BOTTOM",
    "Box",
    "GameObject",
    "ObjectReader",
    "ball_in_play",
    "breakout_bricks",
    "breakout_objects",
    "games_with_objects",
    "object_reader",
    "screen_object",
    "to_observation",
]
