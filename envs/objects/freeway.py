"""Freeway's objects read from the console RAM, as boxes on the screen.

RAM addresses and pixel offsets were calibrated against rendered frames
(ale-py 0.12, ``tests/envs/test_objects_games.py`` re-checks them on played games):

* chicken (the player's, left): columns 44-50, 8 rows from y = 193 - RAM[14];
* cars: one per lane, lane i (0 at the top) in rows 27 + 16 i to 36 + 16 i (the
  body's 8 rows and a row of wheels above and below), 8 pixels from
  x = (RAM[117 - i] - 3) mod 160 (RAM 0-159). A car leaving on the right goes on
  at the left, but columns 0-7 are always black, so boxes are clipped to x >= 8
  (a car at x = 157 shows 3 columns; at x = 0 nothing). The RAM is updated before the
  frame is drawn for the lower five lanes and after it for the upper five: there
  the car is drawn one pixel to the right of the box on frames where it moves.

The second player's chicken (right, which no one moves in one-player games) is not
reported.
"""

from __future__ import annotations

import numpy as np

from envs.objects.base import GameObject, ObjectReader, screen_object

LANES = 10
CAR_SIZE = (8, 10)
CHICKEN_SIZE = (7, 8)
CHICKEN_X = 44
LEFT_EDGE = 8  # columns 0-7 are blank

KIND_OF = {"chicken": "player", "car": "enemy"}


def read_freeway(ram: np.ndarray) -> list[GameObject]:
    """The player's chicken and the ten cars."""
    found = [screen_object("chicken", "player", CHICKEN_X, 193 - int(ram[14]), *CHICKEN_SIZE)]
    for lane in range(LANES):
        x, y = (int(ram[117 - lane]) - 3) % 160, 27 + 16 * lane
        car = screen_object("car", "enemy", x, y, *CAR_SIZE)
        if car is not None and car.x1 > LEFT_EDGE:
            found.append(car._replace(x0=max(car.x0, LEFT_EDGE)))
    return [o for o in found if o is not None]


FREEWAY = ObjectReader("freeway", read_freeway, KIND_OF)
