"""Our RAM object readers (``envs.objects``) against OCAtari's RAM mode, frame by frame.

For each game with a reader, OCAtari (Delfosse et al., 2024, github.com/k4ntz/OC_Atari)
plays ``--frames`` emulator frames (one frame a step, no sticky actions, random
actions held for 8 frames, seeded); on every frame both read the same RAM. The
objects of each kind are paired between the two by their box centres (an optimal
assignment; pairs more than 16 pixels apart count as unpaired). The table gives, per
game: frames, objects paired, the mean distance between paired centres per kind
(pixels), the objects only one side reports and how many of those are drawn on the
frame (at least 2 pixels of the box differ from the empty screen, the per-pixel
most frequent colour over the game's frames; flickering objects may be missing from
the frame they are reported on), and the frames that disagree (a kind whose objects
differ in number, or a pair more than 2 pixels apart).

What is compared, where the two differ in what they report: OCAtari's Breakout
bricks are merged into rows (ours are one box per row); its small Ms. Pac-Man pills,
Seaquest's oxygen bar and rescued-diver tally, Freeway's second chicken (which no one
moves in one-player games) and HUD objects are left out.

OCAtari pins numpy<2 and does not need the rest of the project, so it runs in a
virtual environment of its own, with this repository on the path:

    python3 -m venv /tmp/ocatari-venv
    /tmp/ocatari-venv/bin/pip install ocatari 'gymnasium[atari]' scipy
    PYTHONPATH=. /tmp/ocatari-venv/bin/python benchmarks/object_agreement.py --frames 1000

``envs`` needs Stable-Baselines3 at import; this script loads ``envs.objects`` without
it. Results: ``docs/results/objects.md``.
"""

from __future__ import annotations

import argparse
import sys
import types
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load_readers():
    """``envs.objects``, imported without running ``envs/__init__`` (which needs SB3)."""
    try:
        import envs.objects as objects
    except ImportError:
        for name in [m for m in sys.modules if m == "envs" or m.startswith("envs.")]:
            del sys.modules[name]
        package = types.ModuleType("envs")
        package.__path__ = [str(ROOT / "envs")]
        sys.modules["envs"] = package
        import envs.objects as objects
    return objects


# Game -> (OCAtari environment, {OCAtari class: our kind}); classes not listed are left out.
OCATARI = {
    "breakout": ("ALE/Breakout-v5", {"Player": "player", "Ball": "ball", "Block": "target"}),
    "freeway": ("ALE/Freeway-v5", {"Chicken": "player", "Car": "enemy"}),
    "ms_pacman": (
        "ALE/MsPacman-v5",
        {"Player": "player", "Ghost": "enemy", "Fruit": "target", "PowerPill": "target"},
    ),
    "pong": ("ALE/Pong-v5", {"Player": "player", "Enemy": "enemy", "Ball": "ball"}),
    "seaquest": (
        "ALE/Seaquest-v5",
        {
            "Player": "player",
            "Shark": "enemy",
            "Submarine": "enemy",
            "SurfaceSubmarine": "enemy",
            "Diver": "target",
            "EnemyMissile": "projectile",
            "PlayerMissile": "projectile",
        },
    ),
    "space_invaders": (
        "ALE/SpaceInvaders-v5",
        {
            "Player": "player",
            "Alien": "enemy",
            "Satellite": "enemy",
            "Shield": "barrier",
            "Bullet": "projectile",
        },
    ),
}
KINDS = ("player", "enemy", "ball", "projectile", "target", "barrier")  # envs.objects.KINDS
PAIR_DISTANCE = 16  # pixels; centres further apart are two different objects
AGREE_DISTANCE = 2  # pixels; a pair further apart makes its frame disagree
SECOND_CHICKEN_X = 108


@dataclass
class Tally:
    """One game's comparison."""

    frames: int = 0
    disagreeing: int = 0
    offsets: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    ours_only: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    theirs_only: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    ours_only_drawn: int = 0
    theirs_only_drawn: int = 0


def their_boxes(game: str, objects, kinds: dict[str, str]) -> list[tuple[str, np.ndarray]]:
    """(kind, [x0, y0, x1, y1]) of OCAtari's objects that we compare."""
    boxes = []
    for obj in objects:
        if not obj or obj.category not in kinds or not obj.visible:
            continue
        x, y, w, h = obj.xywh
        if game == "freeway" and obj.category == "Chicken" and x >= SECOND_CHICKEN_X:
            continue
        boxes.append((kinds[obj.category], np.array([x, y, x + w, y + h], dtype=float)))
    if game == "breakout":  # bricks -> one box per row, as ours
        rows: dict[float, list[np.ndarray]] = defaultdict(list)
        for kind, box in boxes:
            if kind == "target":
                rows[box[1]].append(box)
        boxes = [(k, b) for k, b in boxes if k != "target"]
        for row in rows.values():
            stacked = np.stack(row)
            boxes.append(("target", np.array([*stacked[:, :2].min(0), *stacked[:, 2:].max(0)])))
    return boxes


def compare(
    tally: Tally, ours: list[tuple[str, np.ndarray]], theirs: list[tuple[str, np.ndarray]]
) -> list[tuple[str, np.ndarray]]:
    """Pair one frame's objects kind by kind and add the result to the tally.

    Returns:
        the unpaired objects, as ("ours" or "theirs", box).
    """
    from scipy.optimize import linear_sum_assignment

    unpaired = []
    disagrees = False
    for kind in {k for k, _ in ours} | {k for k, _ in theirs}:
        a = np.array([b for k, b in ours if k == kind]).reshape(-1, 4)
        b = np.array([b for k, b in theirs if k == kind]).reshape(-1, 4)
        ca, cb = (a[:, :2] + a[:, 2:]) / 2, (b[:, :2] + b[:, 2:]) / 2
        distance = np.linalg.norm(ca[:, None] - cb[None], axis=-1)
        rows, cols = linear_sum_assignment(distance) if distance.size else ([], [])
        paired = [
            (r, c) for r, c in zip(rows, cols, strict=True) if distance[r, c] <= PAIR_DISTANCE
        ]
        tally.offsets[kind] += [float(distance[r, c]) for r, c in paired]
        tally.ours_only[kind] += len(a) - len(paired)
        tally.theirs_only[kind] += len(b) - len(paired)
        unpaired += [("ours", a[i]) for i in set(range(len(a))) - {r for r, _ in paired}]
        unpaired += [("theirs", b[j]) for j in set(range(len(b))) - {c for _, c in paired}]
        far = any(distance[r, c] > AGREE_DISTANCE for r, c in paired)
        disagrees |= far or len(paired) != len(a) or len(paired) != len(b)
    tally.frames += 1
    tally.disagreeing += disagrees
    return unpaired


def colour_codes(frame: np.ndarray) -> np.ndarray:
    """Each pixel's colour as one integer, 0xRRGGBB."""
    return frame.astype(np.int32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.int32)


def background(codes: list[np.ndarray]) -> np.ndarray:
    """The most frequent colour of each pixel over the frames: the screen without
    its moving objects."""
    stack = np.sort(np.stack(codes), axis=0)  # (N, 210, 160)
    change = np.diff(stack, axis=0) != 0
    runs = np.concatenate([np.zeros((1, *stack.shape[1:]), int), np.cumsum(change, axis=0)])
    best = np.zeros(stack.shape[1:], int)
    most = np.zeros(stack.shape[1:], int)
    for run in range(int(runs.max()) + 1):
        count = (runs == run).sum(axis=0)
        first = np.argmax(runs == run, axis=0)
        better = count > most
        most[better], best[better] = count[better], first[better]
    return np.take_along_axis(stack, best[None], axis=0)[0]


def drawn(codes: np.ndarray, empty: np.ndarray, box: np.ndarray) -> bool:
    """Whether at least two pixels of the box differ from the empty screen."""
    x0, y0 = max(int(box[0]), 0), max(int(box[1]), 0)
    x1, y1 = min(int(np.ceil(box[2])), codes.shape[1]), min(int(np.ceil(box[3])), codes.shape[0])
    return bool((codes[y0:y1, x0:x1] != empty[y0:y1, x0:x1]).sum() >= 2)


def run(game: str, frames: int, seed: int, objects) -> Tally:
    from ocatari.core import OCAtari

    env_name, kinds = OCATARI[game]
    env = OCAtari(
        env_name, mode="ram", hud=False, obs_mode="ori", frameskip=1, repeat_action_probability=0.0
    )
    env.reset(seed=seed)
    reader = objects.object_reader(game)
    rng = np.random.default_rng(seed)
    tally = Tally()
    screens, unpaired = [], []
    action = 0
    for step in range(frames):
        if step % 8 == 0:
            action = int(rng.integers(env.action_space.n))
        _, _, terminated, truncated, _ = env.step(action)
        ram = env.get_ram()
        ours = [(o.kind, np.array([o.x0, o.y0, o.x1, o.y1], dtype=float)) for o in reader(ram)]
        unpaired.append(compare(tally, ours, their_boxes(game, env.objects, kinds)))
        screens.append(colour_codes(env.getScreenRGB()))
        if terminated or truncated:
            env.reset()
    env.close()
    empty = background(screens[:: max(len(screens) // 250, 1)])
    for codes, objects_left in zip(screens, unpaired, strict=True):
        for side, box in objects_left:
            if drawn(codes, empty, box):
                if side == "ours":
                    tally.ours_only_drawn += 1
                else:
                    tally.theirs_only_drawn += 1
    return tally


def table(results: dict[str, Tally]) -> str:
    header = [
        "| game | frames | objects paired | mean centre offset per kind (px) "
        "| ours only / OCAtari only, per kind | of which drawn | frames disagreeing |",
        "|---|---|---|---|---|---|---|",
    ]
    return "\n".join(header + [_table_row(game, tally) for game, tally in results.items()])


def _table_row(game: str, t: Tally) -> str:
    present = [k for k in KINDS if t.offsets.get(k) or t.ours_only.get(k) or t.theirs_only.get(k)]
    offsets = ", ".join(
        f"{k} {np.mean(t.offsets[k]):.2f}" if t.offsets.get(k) else f"{k} -" for k in present
    )
    only = ", ".join(f"{k} {t.ours_only.get(k, 0)}/{t.theirs_only.get(k, 0)}" for k in present)
    paired = sum(len(v) for v in t.offsets.values())
    share = t.disagreeing / max(t.frames, 1)
    return (
        f"| {game} | {t.frames} | {paired} | {offsets} | {only} "
        f"| {t.ours_only_drawn}/{t.theirs_only_drawn} | {t.disagreeing} ({share:.1%}) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000, help="emulator frames per game")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--games", nargs="*", default=sorted(OCATARI))
    args = parser.parse_args()
    try:
        import ocatari  # noqa: F401
    except ImportError:
        sys.exit("OCAtari is not installed here; see this script's docstring for its venv.")
    objects = load_readers()
    results = {game: run(game, args.frames, args.seed, objects) for game in args.games}
    print(table(results))


if __name__ == "__main__":
    main()
