"""Ms. Pac-Man's objects read from the console RAM, as boxes on the screen.

RAM addresses and pixel offsets were calibrated against rendered frames
(ale-py 0.12, ``tests/envs/test_objects_games.py`` re-checks them on played games):

* Ms. Pac-Man (player): 8x10 pixels at x = RAM[10] - 12, y = RAM[16] + 1 (her
  sprite is 6-8 pixels wide as her mouth turns and opens; one pixel behind the
  box while she moves, the RAM being updated after the frame is drawn);
* ghosts (enemy): ghost i (0-3: orange, cyan, pink, red) 8x10 pixels at
  x = RAM[6 + i] - 12, y = RAM[12 + i] + 1. The game draws some of the ghosts on
  each frame only (flicker), so a reported ghost may be missing from one frame;
  none are drawn while Ms. Pac-Man dies (RAM[33] == 255);
* fruit (target): 8x10 pixels at x = RAM[11] - 12, y = RAM[17] + 1, while both
  are non-zero;
* power pills (target): 4x7 pixels at (148, 146), (148, 14), (8, 147) and (8, 15),
  present while bit 2, 3, 4 or 5 of RAM[117] is set; they blink, 8 frames on and
  8 off.

Boxes are clipped to the maze (rows 0-170); a sprite in a side tunnel that wraps
to the other edge keeps the part on its own side. The small pills are not reported.
"""

from __future__ import annotations

import numpy as np

from envs.objects.base import GameObject, ObjectReader, screen_object

SPRITE_SIZE = (8, 10)
MAZE_BOTTOM = 171
DYING = 255  # RAM[33] while Ms. Pac-Man dies
POWER_PILL_SIZE = (4, 7)
POWER_PILLS = ((148, 146), (148, 14), (8, 147), (8, 15))  # (x, y) of RAM[117]'s bits 2-5

KIND_OF = {"ms pac-man": "player", "ghost": "enemy", "fruit": "target", "power pill": "target"}


def _sprite(name: str, x: int, y: int) -> GameObject | None:
    return screen_object(name, KIND_OF[name], x - 12, y + 1, *SPRITE_SIZE, bottom=MAZE_BOTTOM)


def read_mspacman(ram: np.ndarray) -> list[GameObject]:
    """Ms. Pac-Man, the ghosts, the fruit and the power pills left."""
    found = [_sprite("ms pac-man", int(ram[10]), int(ram[16]))]
    if int(ram[33]) != DYING:
        for ghost in range(4):
            found.append(_sprite("ghost", int(ram[6 + ghost]), int(ram[12 + ghost])))
    if ram[11] and ram[17]:
        found.append(_sprite("fruit", int(ram[11]), int(ram[17])))
    for bit, (x, y) in enumerate(POWER_PILLS, start=2):
        if int(ram[117]) >> bit & 1:
            found.append(screen_object("power pill", "target", x, y, *POWER_PILL_SIZE))
    return [o for o in found if o is not None]


MS_PACMAN = ObjectReader("ms_pacman", read_mspacman, KIND_OF)
