"""Seaquest's objects read from the console RAM, as boxes on the screen.

RAM addresses and pixel offsets were calibrated against rendered frames
(ale-py 0.12, ``tests/envs/test_objects_games.py`` re-checks them on played games).
The sea has four lanes of enemies, lane k (0 at the bottom) at y_k = 141 - 24 k.
Columns 0-7 are always black and rows 53-56 (the surface line) hide what crosses
them; boxes are clipped accordingly.

* submarine (player): 16x11 pixels at x = RAM[70], y = RAM[97] + 33 (46 at the
  surface, where only its top 7 rows show). Once hit, RAM[105] counts down from 23
  (8 frames a step): at 15-23 the submarine flashes white and black, at 6-14 its
  debris shrinks inside the same box, at 1-5 nothing is drawn (not reported);
* player torpedo (projectile): 8x1 pixels at x = RAM[103], y = RAM[97] + 40 while
  0 < RAM[103] < 160;
* sharks and enemy subs (enemy): lane k holds up to three, slot j at
  x = (RAM[30 + k] + 16 j) mod 256 where bit 2 - j of RAM[36 + k] is set; the lane
  holds subs when 3 < RAM[89 + k] mod 8 < 7, sharks otherwise. A shark is 8x7 at
  y = y_k + RAM[93] - 4 (the sharks bob with RAM[93], 0-7), a sub 8x11 at y_k - 1;
* divers (target) and enemy missiles (projectile) share RAM[71 + k], the x of lane
  k's one diver or missile, present while 0 < RAM[71 + k] < 160: a missile in a
  lane of subs, 6x4 at (x + 2, y_k + 4), a diver otherwise, 8x14 at (x, y_k - 4);
* surface sub (enemy, from the third wave on, while RAM[60] >= 2): 8x11 at
  (RAM[118], 45) while RAM[118] < 160. Its addresses are OCAtari's; the games played
  here never reached it, so its box is not checked against frames.
"""

from __future__ import annotations

import numpy as np

from envs.objects.base import FRAME_WIDTH, GameObject, ObjectReader, screen_object

LANES = 4
LEFT_EDGE = 8  # columns 0-7 are blank
SURFACE_LINE = (53, 57)  # rows that hide whatever crosses them
SUBMARINE_SIZE = (16, 11)
TORPEDO_SIZE = (8, 1)
SHARK_SIZE = (8, 7)
ENEMY_SUB_SIZE = (8, 11)
DIVER_SIZE = (8, 14)
MISSILE_SIZE = (6, 4)
DEBRIS_GONE = 6  # RAM[105] counts a hit submarine down; below this nothing is left of it

KIND_OF = {
    "submarine": "player",
    "player torpedo": "projectile",
    "shark": "enemy",
    "enemy sub": "enemy",
    "surface sub": "enemy",
    "diver": "target",
    "enemy missile": "projectile",
}


def _lane_y(lane: int) -> int:
    return 141 - 24 * lane


def _place(name: str, x: int, y: int, size: tuple[int, int]) -> GameObject | None:
    """The object clipped to the visible columns and outside the surface line."""
    found = screen_object(
        name, KIND_OF[name], max(x, LEFT_EDGE), y, x + size[0] - max(x, LEFT_EDGE), size[1]
    )
    if found is None:
        return None
    top, bottom = SURFACE_LINE
    if top <= found.y0 < bottom:
        found = found._replace(y0=bottom)
    if top < found.y1 <= bottom:
        found = found._replace(y1=top)
    return found if found.y0 < found.y1 and found.x0 < found.x1 else None


def _has_subs(ram: np.ndarray, lane: int) -> bool:
    return 3 < int(ram[89 + lane]) % 8 < 7


def read_seaquest(ram: np.ndarray) -> list[GameObject]:
    """The player's submarine and torpedo, the sharks, enemy subs, their missiles and
    the divers."""
    found = []
    if not 0 < int(ram[105]) < DEBRIS_GONE:
        found.append(_place("submarine", int(ram[70]), int(ram[97]) + 33, SUBMARINE_SIZE))
    if 0 < int(ram[103]) < FRAME_WIDTH:
        found.append(_place("player torpedo", int(ram[103]), int(ram[97]) + 40, TORPEDO_SIZE))
    for lane in range(LANES):
        y = _lane_y(lane)
        subs = _has_subs(ram, lane)
        for slot in range(3):
            if not int(ram[36 + lane]) >> (2 - slot) & 1:
                continue
            x = (int(ram[30 + lane]) + 16 * slot) % 256
            if subs:
                found.append(_place("enemy sub", x, y - 1, ENEMY_SUB_SIZE))
            else:
                found.append(_place("shark", x, y + int(ram[93]) - 4, SHARK_SIZE))
        x = int(ram[71 + lane])
        if 0 < x < FRAME_WIDTH:
            if subs:
                found.append(_place("enemy missile", x + 2, y + 4, MISSILE_SIZE))
            else:
                found.append(_place("diver", x, y - 4, DIVER_SIZE))
    if int(ram[60]) >= 2 and int(ram[118]) < FRAME_WIDTH:
        found.append(_place("surface sub", int(ram[118]), 45, ENEMY_SUB_SIZE))
    return [o for o in found if o is not None]


SEAQUEST = ObjectReader("seaquest", read_seaquest, KIND_OF)
