"""Every game's RAM object boxes checked against the rendered frames of played games.

Each game is played for a few hundred emulator frames (one frame a step, seeded,
scripted or random actions); on every frame each group of objects is found by its
colours in the frame and compared with the reader's boxes. A group disagrees on a
frame when one of its pixels lies more than ``tolerance`` pixels outside every box
of the group (an object on the screen the RAM misses), or when a box's drawn pixels
(those within ``tolerance`` of it) have an edge more than ``tolerance`` pixels from
the box's. Boxes with no pixels are allowed: shots, ghosts and power pills flicker
or blink, drawn on some frames only. Each group must agree on ``min_agreement`` of
the frames where it is on the screen, and be on the screen in ``min_frames`` of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

from envs.games import get_protocol
from envs.objects import (
    FRAME_WIDTH,
    KINDS,
    GameObject,
    breakout_objects,
    games_with_objects,
    object_reader,
    to_observation,
)
from envs.single import make_atari

Policy = Callable[[np.ndarray, np.random.Generator, int], int]
SIDE = 8  # the blank columns at the left; sprites wrap at both sides


@dataclass(frozen=True)
class Group:
    """Objects found on the frame by colour: their reader names, colours and the rows
    and columns (y0, y1, x0, x1) to look in."""

    names: tuple[str, ...]
    colours: tuple[tuple[int, int, int], ...]
    region: tuple[int, int, int, int] = (0, 210, 0, 160)


@dataclass(frozen=True)
class Game:
    policy: Policy
    frames: int
    groups: dict[str, Group]
    tolerance: int = 2
    min_agreement: float = 0.97
    min_frames: int = 50
    seed: int = 0
    overrides: dict[str, tuple[int, float, int]] = field(default_factory=dict)
    """Group -> (tolerance, min_agreement, min_frames) where it differs from the game's."""


def random_actions(hold: int, actions: tuple[int, ...]) -> Policy:
    """A random choice of ``actions``, held for ``hold`` frames."""
    return held(lambda ram, rng, frame: int(rng.choice(actions)), hold)


def pong_tracker(ram: np.ndarray, rng: np.random.Generator, frame: int) -> int:
    """Moves the right paddle towards the ball, with random moves mixed in."""
    if rng.random() < 0.2:
        return int(rng.integers(0, 6))
    paddle, ball = int(ram[51]) - 6, int(ram[54]) - 12
    return 2 if ball < paddle - 2 else 3 if ball > paddle + 2 else 0


def seaquest_diver(ram: np.ndarray, rng: np.random.Generator, frame: int) -> int:
    """Fires in random directions, staying under water and surfacing for air."""
    if int(ram[102]) < 12:
        return 10  # up and fire
    if int(ram[97]) < 30:
        return int(rng.choice([13, 16, 17]))  # down and fire
    return int(rng.choice([1, 11, 12, 13, 10, 14, 15, 16, 17]))


def held(policy: Policy, hold: int) -> Policy:
    """``policy``'s choice kept for ``hold`` frames."""
    state = {"action": 0}

    def act(ram: np.ndarray, rng: np.random.Generator, frame: int) -> int:
        if frame % hold == 0:
            state["action"] = policy(ram, rng, frame)
        return state["action"]

    return act


GHOSTS = ((200, 72, 72), (180, 122, 48), (84, 184, 153), (198, 89, 179), (66, 114, 194))
CARS = (
    (167, 26, 26), (180, 231, 117), (105, 105, 15), (228, 111, 111), (24, 26, 167),
    (162, 98, 33), (84, 92, 214), (184, 50, 50), (135, 183, 84), (210, 210, 64),
)  # fmt: skip

GAMES = {
    "pong": Game(
        policy=pong_tracker,
        frames=900,
        groups={
            "ball": Group(("ball",), ((236, 236, 236),), (34, 194, 0, 160)),
            "player paddle": Group(("player paddle",), ((92, 186, 92),), (34, 194, 0, 160)),
            "enemy paddle": Group(("enemy paddle",), ((213, 130, 74),), (34, 194, 0, 160)),
        },
        tolerance=1,
    ),
    "freeway": Game(
        policy=random_actions(8, (0, 1, 1, 1, 2)),
        frames=600,
        groups={
            # The yellow middle line (rows 102-104) shares the chicken's colour.
            "chicken": Group(("chicken",), ((252, 252, 84),), (105, 196, 0, 80)),
            "cars": Group(("car",), CARS, (20, 196, 0, 160)),
        },
        tolerance=1,
        # A chicken hit by a car is pushed back and drawn up to 2 pixels off.
        overrides={"chicken": (2, 0.97, 50)},
    ),
    "space_invaders": Game(
        policy=random_actions(8, (0, 1, 2, 3, 4, 5)),
        frames=900,
        groups={
            "cannon": Group(("cannon",), ((50, 132, 50),), (150, 195, 0, 160)),
            "aliens": Group(("alien", "exploding alien"), ((134, 134, 29),), (25, 195, 0, 160)),
            "shields": Group(("shield",), ((181, 83, 40),), (150, 195, 0, 160)),
            "shots": Group(("player shot", "alien shot"), ((142, 142, 142),), (20, 195, 0, 160)),
            "ufo": Group(("ufo",), ((151, 25, 122),), (0, 30, 0, 160)),
        },
        # Shots stretch and wobble as they move, and are drawn on every other frame.
        # The UFO comes rarely: it is checked when it does.
        overrides={"shots": (3, 0.95, 50), "ufo": (2, 0.97, 0)},
    ),
    "seaquest": Game(
        policy=held(seaquest_diver, 12),
        frames=2400,
        seed=1,
        groups={
            "submarine and torpedo": Group(
                ("submarine", "player torpedo"), ((187, 187, 53),), (46, 160, 0, 160)
            ),
            "sharks": Group(("shark",), ((92, 186, 92),), (46, 160, 0, 160)),
            "enemy subs": Group(("enemy sub",), ((170, 170, 170),), (46, 160, 0, 160)),
            "divers and missiles": Group(
                ("diver", "enemy missile"), ((66, 72, 200),), (46, 160, 0, 160)
            ),
        },
        # A missile leaving its sub shows only its tip for a few frames.
        overrides={"divers and missiles": (3, 0.97, 50)},
    ),
    "ms_pacman": Game(
        policy=random_actions(8, tuple(range(9))),
        frames=900,
        groups={
            "ms pac-man": Group(("ms pac-man",), ((210, 164, 74),), (0, 171, 0, 160)),
            "ghosts": Group(("ghost",), GHOSTS, (0, 171, 0, 160)),
        },
        # Ms. Pac-Man is drawn where she was before the frame's move (up to 2 pixels)
        # and her sprite narrows as her mouth opens.
        overrides={"ms pac-man": (3, 0.97, 50)},
    ),
}


def colour_codes(frame: np.ndarray) -> np.ndarray:
    """Each pixel's colour as one integer, 0xRRGGBB."""
    return frame.astype(np.int32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.int32)


def colour_mask(codes: np.ndarray, group: Group) -> np.ndarray:
    """The pixels of the group's colours inside its region."""
    wanted = [r << 16 | g << 8 | b for r, g, b in group.colours]
    y0, y1, x0, x1 = group.region
    mask = np.zeros(codes.shape, dtype=bool)
    mask[y0:y1, x0:x1] = np.isin(codes[y0:y1, x0:x1], wanted)
    return mask


def grown(box: GameObject, tolerance: int) -> tuple[int, int, int, int]:
    """The pixel rows and columns (y0, y1, x0, x1) within ``tolerance`` of the box."""
    return (
        max(int(box.y0) - tolerance, 0),
        int(np.ceil(box.y1)) + tolerance,
        max(int(box.x0) - tolerance, 0),
        int(np.ceil(box.x1)) + tolerance,
    )


def disagrees(mask: np.ndarray, boxes: list[GameObject], group: Group, tolerance: int) -> bool:
    """Whether a pixel of the mask lies outside every box (grown by ``tolerance``), or
    the pixels drawn near a box are centred more than ``tolerance`` from its centre.

    Centres are compared within the group's region, and not for boxes that overlap
    another box of the group, nor within 8 pixels of the screen's sides (where the
    blank columns 0-7 cut sprites and sprites wrap).
    """
    top, bottom, left, right = group.region
    covered = np.zeros_like(mask)
    areas = [grown(box, tolerance) for box in boxes]
    for box, (y0, y1, x0, x1) in zip(boxes, areas, strict=True):
        covered[y0:y1, x0:x1] = True
        overlaps = sum(a[0] < y1 and y0 < a[1] and a[2] < x1 and x0 < a[3] for a in areas) > 1
        if overlaps or box.x0 <= SIDE or box.x1 >= FRAME_WIDTH - SIDE:
            continue
        ys, xs = np.nonzero(mask[y0:y1, x0:x1])
        if len(ys) == 0:
            continue  # not drawn on this frame
        drawn = ((xs.min() + xs.max() + 1) / 2 + x0, (ys.min() + ys.max() + 1) / 2 + y0)
        clipped = (max(box.x0, left), max(box.y0, top), min(box.x1, right), min(box.y1, bottom))
        centre = ((clipped[0] + clipped[2]) / 2, (clipped[1] + clipped[3]) / 2)
        if max(abs(drawn[0] - centre[0]), abs(drawn[1] - centre[1])) > tolerance:
            return True
    return bool((mask & ~covered).any())


def play(game: str, spec: Game):
    """(frame, RAM) of each emulator frame of a seeded game."""
    env = make_atari(game, get_protocol("classic"))
    env.reset(seed=spec.seed)
    ale = env.unwrapped.ale
    rng = np.random.default_rng(spec.seed)
    for step in range(spec.frames):
        action = spec.policy(ale.getRAM(), rng, step) % env.action_space.n
        frame, _, terminated, truncated, _ = env.step(action)
        yield frame, ale.getRAM()
        if terminated or truncated:
            env.reset()
    env.close()


@pytest.mark.parametrize("game", sorted(GAMES))
def test_boxes_agree_with_the_objects_drawn(game):
    spec = GAMES[game]
    reader = object_reader(game)
    shown = dict.fromkeys(spec.groups, 0)
    failed = dict.fromkeys(spec.groups, 0)
    for frame, ram in play(game, spec):
        objects = reader(ram)
        codes = colour_codes(frame)
        for label, group in spec.groups.items():
            tolerance = spec.overrides.get(label, (spec.tolerance, 0, 0))[0]
            mask = colour_mask(codes, group)
            boxes = [o for o in objects if o.name in group.names]
            if mask.any():
                shown[label] += 1
                failed[label] += disagrees(mask, boxes, group, tolerance)
    for label in spec.groups:
        _, min_agreement, min_frames = spec.overrides.get(
            label, (spec.tolerance, spec.min_agreement, spec.min_frames)
        )
        assert shown[label] >= min_frames, f"{label}: on the screen in {shown[label]} frames"
        agreement = 1 - failed[label] / max(shown[label], 1)
        assert agreement >= min_agreement, (
            f"{label}: boxes agree on {agreement:.1%} of {shown[label]} frames"
        )


def test_registry_names_and_kinds():
    assert set(games_with_objects()) == {
        "breakout", "freeway", "ms_pacman", "pong", "seaquest", "space_invaders",
    }  # fmt: skip
    for game in games_with_objects():
        reader = object_reader(game)
        assert reader.game == game and set(reader.names.values()) <= set(KINDS)
    assert object_reader("ALE/MsPacman-v5").game == "ms_pacman"
    assert object_reader("SpaceInvadersNoFrameskip-v4").game == "space_invaders"


@pytest.mark.parametrize("game", ["enduro", "no_such_game"])
def test_games_without_a_reader_are_refused_in_one_sentence(game):
    with pytest.raises(ValueError, match=r"games with one: breakout, freeway, .*\.$"):
        object_reader(game)


def test_objects_carry_their_kind_and_map_to_the_observation():
    env = make_atari("pong", get_protocol("classic"))
    env.reset(seed=0)
    for _ in range(120):
        env.step(0)
    objects = object_reader("pong")(env.unwrapped.ale.getRAM())
    assert {o.kind for o in objects} <= {"ball", "player", "enemy"}
    for frame_object, seen in zip(objects, to_observation(objects), strict=True):
        assert isinstance(seen, GameObject) and seen.kind == frame_object.kind
        assert seen.x1 == pytest.approx(frame_object.x1 * 84 / 160)
        assert seen.y0 == pytest.approx(frame_object.y0 * 84 / 210)
        assert frame_object.box.label == frame_object.label == frame_object.name


def test_breakout_reader_is_breakout_objects_with_kinds():
    env = make_atari("breakout", get_protocol("classic"))
    env.reset(seed=0)
    reader = object_reader("Breakout")
    kinds = {"ball": "ball", "paddle": "player", "bricks": "target"}
    assert reader.names == kinds
    names = set()
    for step in range(300):
        env.step(1 if step % 40 == 0 else 0)
        ram = env.unwrapped.ale.getRAM()
        objects = reader(ram)
        assert [o.box for o in objects] == breakout_objects(ram)
        assert all(o.kind == kinds[o.name] for o in objects)
        names |= {o.name for o in objects}
    assert names == set(kinds)
