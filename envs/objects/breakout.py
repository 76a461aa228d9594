"""Breakout's objects read from the console RAM, as boxes on the screen.

RAM addresses and pixel offsets were calibrated against rendered frames
(ale-py 0.12, ``tests/envs/test_objects.py`` re-checks them on played games):

* ball (kind ball): x = RAM[99] - 49, y = RAM[101] + 9, a 2x4-pixel block;
  RAM[101] is 0 while no ball is served and the ball has left the screen below row 196;
* paddle (player): x = RAM[72] - 47, rows 189-192, 16 pixels wide;
* bricks (target): 6 rows x 18 columns of 8x6 pixels from (8, 57); RAM[0:36] holds
  one bit per brick, in six groups of six bytes (one byte per row, bottom row first);
  one box per row with bricks left, from its first brick to its last.
"""

from __future__ import annotations

import numpy as np

from envs.objects.base import Box, GameObject, ObjectReader

BALL_SIZE = (2, 4)  # width, height in pixels
PADDLE_SIZE = (16, 4)
PADDLE_TOP = 189
BRICK_SIZE = (8, 6)
BRICK_ORIGIN = (8, 57)  # x, y of the top-left brick
BRICK_ROWS, BRICK_COLUMNS = 6, 18
SCREEN_BOTTOM = 196

# For each group of six RAM bytes: (first byte, [(bit, brick column), ...]).
_BRICK_BITS = (
    (0, ((1, 15), (3, 16), (5, 17))),
    (6, ((0, 14), (2, 13), (4, 12), (6, 11))),
    (12, ((5, 9), (7, 10))),
    (18, ((1, 5), (3, 6), (5, 7), (7, 8))),
    (24, ((0, 4), (2, 3), (4, 2), (6, 1))),
    (30, ((7, 0),)),
)

LABELS = ("ball", "paddle", "bricks")
KIND_OF = {"ball": "ball", "paddle": "player", "bricks": "target"}


def breakout_bricks(ram: np.ndarray) -> np.ndarray:
    """Bricks left on the wall, bool (6, 18), row 0 at the top."""
    bricks = np.zeros((BRICK_ROWS, BRICK_COLUMNS), dtype=bool)
    for first_byte, bits in _BRICK_BITS:
        for offset in range(BRICK_ROWS):
            value = int(ram[first_byte + offset])
            for bit, column in bits:
                bricks[BRICK_ROWS - 1 - offset, column] = bool(value >> bit & 1)
    return bricks


def ball_in_play(ram: np.ndarray) -> bool:
    """Whether a ball is on the screen."""
    return 0 < int(ram[101]) and int(ram[101]) + 9 < SCREEN_BOTTOM


def breakout_objects(ram: np.ndarray) -> list[Box]:
    """Ball (when in play), paddle and one box per brick row with bricks left,
    in the 210x160 frame's pixel coordinates."""
    boxes = []
    if ball_in_play(ram):
        x, y = int(ram[99]) - 49, int(ram[101]) + 9
        boxes.append(Box("ball", x, y, x + BALL_SIZE[0], y + BALL_SIZE[1]))
    paddle_x = int(ram[72]) - 47
    boxes.append(
        Box("paddle", paddle_x, PADDLE_TOP, paddle_x + PADDLE_SIZE[0], PADDLE_TOP + PADDLE_SIZE[1])
    )
    bricks = breakout_bricks(ram)
    for row in np.flatnonzero(bricks.any(axis=1)):
        columns = np.flatnonzero(bricks[row])
        x0 = BRICK_ORIGIN[0] + BRICK_SIZE[0] * int(columns[0])
        x1 = BRICK_ORIGIN[0] + BRICK_SIZE[0] * (int(columns[-1]) + 1)
        y0 = BRICK_ORIGIN[1] + BRICK_SIZE[1] * int(row)
        boxes.append(Box("bricks", x0, y0, x1, y0 + BRICK_SIZE[1]))
    return boxes


def read_breakout(ram: np.ndarray) -> list[GameObject]:
    """``breakout_objects`` as game objects: the ball (ball), the paddle (player) and
    the brick rows (target)."""
    return [
        GameObject(b.label, KIND_OF[b.label], b.x0, b.y0, b.x1, b.y1) for b in breakout_objects(ram)
    ]


BREAKOUT = ObjectReader("breakout", read_breakout, KIND_OF)
