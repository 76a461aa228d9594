"""Space Invaders' objects read from the console RAM, as boxes on the screen.

RAM addresses and pixel offsets were calibrated against rendered frames
(ale-py 0.12, ``tests/envs/test_objects_games.py`` re-checks them on played games):

* cannon (player): rows 185-194, 7 pixels from x = RAM[28] - 1 (one pixel behind
  while it moves: the RAM is updated after the frame is drawn). After a life is
  lost (RAM[120] != 0) it blinks: hidden while RAM[74] // 8 is even;
* aliens: a 6x6 formation of 8x10 sprites; the alien in row i (0 at the top),
  column j is alive while bit j of RAM[23 - i] is set, at x = RAM[26] - 1 + 16 j,
  y = 31 + 2 RAM[16] + 18 i. When the leftmost column is emptied the game shifts
  the bits and adds 16 to RAM[26], so bit 0 is always the leftmost live column.
  A shot alien explodes in its place for 32 frames, while RAM[72] & 63 < 48:
  row 5 - (RAM[72] >> 3 & 7), column RAM[72] & 7; it is reported as
  ``"exploding alien"`` (the frame after RAM[72] clears still shows it);
* shields (barrier): three 8x18 bitmaps at x = 42 + 32 s, y = 157, two rows per
  RAM byte in RAM[43 + 9 s : 52 + 9 s], bit 7 the leftmost column; the box is the
  bounding box of the set bits;
* shots (projectile), each 1x8 pixels, drawn on every other frame only (the
  player's and the aliens' on alternate frames): the player's at
  x = RAM[87] - 2, y = 2 RAM[85] + 4 while RAM[85] <= 85 (larger values follow a
  hit); the aliens' two at x = RAM[83 + k] - 2, y = 2 RAM[81 + k] + 4 while that
  is above the ground (row 195). Shots stretch and wobble by 1-3 rows as they move;
* UFO (enemy): 7x8 pixels at x = RAM[30] - 1, y = 12, while RAM[30] is not 0 or 180.
"""

from __future__ import annotations

import numpy as np

from envs.objects.base import GameObject, ObjectReader, screen_object

CANNON_SIZE = (7, 10)
CANNON_TOP = 185
ALIEN_SIZE = (8, 10)
ALIEN_ROWS = ALIEN_COLUMNS = 6
ALIEN_TOP = 31
ALIEN_PITCH = (16, 18)
SHIELD_X, SHIELD_PITCH, SHIELD_TOP = 42, 32, 157
SHOT_SIZE = (1, 8)
GROUND = 195
NO_SHOT = 246
UFO_SIZE = (7, 8)

KIND_OF = {
    "cannon": "player",
    "alien": "enemy",
    "exploding alien": "enemy",
    "ufo": "enemy",
    "shield": "barrier",
    "player shot": "projectile",
    "alien shot": "projectile",
}


def _aliens(ram: np.ndarray) -> list[GameObject]:
    found = []
    x0, y0 = int(ram[26]) - 1, ALIEN_TOP + 2 * int(ram[16])
    exploding = int(ram[72]) & 63
    blown = (ALIEN_ROWS - 1 - (exploding >> 3), exploding & 7) if exploding < 48 else None
    for row in range(ALIEN_ROWS):
        alive = int(ram[23 - row])
        for column in range(ALIEN_COLUMNS):
            if alive >> column & 1:
                name = "alien"
            elif (row, column) == blown:
                name = "exploding alien"
            else:
                continue
            x, y = x0 + ALIEN_PITCH[0] * column, y0 + ALIEN_PITCH[1] * row
            found.append(screen_object(name, "enemy", x, y, *ALIEN_SIZE, bottom=GROUND))
    return [o for o in found if o is not None]


def _shields(ram: np.ndarray) -> list[GameObject]:
    found = []
    for shield in range(3):
        rows = ram[43 + 9 * shield : 52 + 9 * shield].astype(int)
        filled = np.flatnonzero(rows)
        if len(filled) == 0:
            continue
        bits = int(np.bitwise_or.reduce(rows))
        left, right = 7 - (bits.bit_length() - 1), 8 - (bits & -bits).bit_length() + 1
        x = SHIELD_X + SHIELD_PITCH * shield
        y0, y1 = SHIELD_TOP + 2 * int(filled[0]), SHIELD_TOP + 2 * (int(filled[-1]) + 1)
        found.append(GameObject("shield", "barrier", x + left, y0, x + right, y1))
    return found


def _shots(ram: np.ndarray) -> list[GameObject]:
    found = []
    if int(ram[85]) <= 85:
        found.append(
            screen_object(
                "player shot",
                "projectile",
                int(ram[87]) - 2,
                2 * int(ram[85]) + 4,
                *SHOT_SIZE,
                bottom=GROUND,
            )
        )
    for k in range(2):
        if int(ram[81 + k]) != NO_SHOT:
            found.append(
                screen_object(
                    "alien shot",
                    "projectile",
                    int(ram[83 + k]) - 2,
                    2 * int(ram[81 + k]) + 4,
                    *SHOT_SIZE,
                    bottom=GROUND,
                )
            )
    return [o for o in found if o is not None]


def read_space_invaders(ram: np.ndarray) -> list[GameObject]:
    """The cannon (unless blinking off), the aliens, the UFO, the shields and the shots."""
    found = []
    blinking_off = int(ram[120]) != 0 and (int(ram[74]) >> 3) % 2 == 0
    if not blinking_off:
        found.append(screen_object("cannon", "player", int(ram[28]) - 1, CANNON_TOP, *CANNON_SIZE))
    found += _aliens(ram)
    if int(ram[30]) not in (0, 180):
        found.append(screen_object("ufo", "enemy", int(ram[30]) - 1, 12, *UFO_SIZE))
    found += _shields(ram)
    found += _shots(ram)
    return [o for o in found if o is not None]


SPACE_INVADERS = ObjectReader("space_invaders", read_space_invaders, KIND_OF)
