"""Pong's objects read from the console RAM, as boxes on the screen.

RAM addresses and pixel offsets were calibrated against rendered frames
(ale-py 0.12, ``tests/envs/test_objects_games.py`` re-checks them on played games).
The playfield is rows 34-193 between the white walls; every box is clipped to it.

* ball: x = RAM[49] - 49, y = RAM[54] - 14, 2x4 pixels; RAM[54] is 0 while no
  ball is in play. The drawn ball is one row higher (y - 15) on about one frame
  in five with RAM[54] odd, and at x = 159 its second column wraps to column 0;
* player paddle (right, green): columns 140-143, 16 rows from
  y = 2 * ceil(RAM[51] / 2) - 14 (it is drawn on even rows only);
* enemy paddle (left, orange): columns 16-19, 16 rows from y = RAM[50] - 15
  (RAM[50] stays even); it sits above the playfield, hidden, after a reset.
"""

from __future__ import annotations

import numpy as np

from envs.objects.base import GameObject, ObjectReader, screen_object

FIELD_TOP, FIELD_BOTTOM = 34, 194
PADDLE_SIZE = (4, 16)
BALL_SIZE = (2, 4)
PLAYER_X, ENEMY_X = 140, 16

KIND_OF = {"ball": "ball", "player paddle": "player", "enemy paddle": "enemy"}


def read_pong(ram: np.ndarray) -> list[GameObject]:
    """The ball (while in play), the player's paddle and the enemy's, where on the field."""
    found = []
    if ram[54] != 0:
        found.append(
            screen_object(
                "ball",
                "ball",
                int(ram[49]) - 49,
                int(ram[54]) - 14,
                *BALL_SIZE,
                top=FIELD_TOP,
                bottom=FIELD_BOTTOM,
            )
        )
    player_y = 2 * ((int(ram[51]) + 1) // 2) - 14
    found.append(
        screen_object(
            "player paddle",
            "player",
            PLAYER_X,
            player_y,
            *PADDLE_SIZE,
            top=FIELD_TOP,
            bottom=FIELD_BOTTOM,
        )
    )
    found.append(
        screen_object(
            "enemy paddle",
            "enemy",
            ENEMY_X,
            int(ram[50]) - 15,
            *PADDLE_SIZE,
            top=FIELD_TOP,
            bottom=FIELD_BOTTOM,
        )
    )
    return [o for o in found if o is not None]


PONG = ObjectReader("pong", read_pong, KIND_OF)
