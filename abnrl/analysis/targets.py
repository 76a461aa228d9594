"""Where the game's objects are, from the RAM's object reader (``envs.objects``): the
targets the attention analysis scores maps against, as masks in observation pixels.

Two views of a frame's objects. ``frame_targets``: the ball (the first object of kind
``ball``, with its path over the next steps) and the player (the first of kind
``player``: Breakout's paddle, Pong's right paddle, Seaquest's submarine), as the ball
and paddle metrics and the heads' tracks use them. ``kind_targets``: for each object
kind, every object of that kind on the frame, as the kind-keyed metrics use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from envs.objects import KINDS, OBSERVATION_SIZE, GameObject, to_observation
from vision.explain import box_regions
from vision.explain.registration import Registration

_SIZE = (OBSERVATION_SIZE, OBSERVATION_SIZE)
_NO_BOX = (-1.0, -1.0, -1.0, -1.0)
"""A box no pixel centre lies in."""


class FrameTargets(NamedTuple):
    """Where the ball and the player are in a batch of observations, as (N, 84, 84) masks."""

    has_ball: Tensor
    """(N,) bool: the ball is in play."""
    ball: Tensor
    """Pixels inside the ball box (all False without a ball)."""
    ball_disc: Tensor
    """Pixels within the radius of the ball centre (all False without a ball)."""
    player: Tensor
    """Pixels inside the player's box (all False without a player)."""
    ball_centre: Tensor
    """(N, 2) the ball's centre (x, y) in observation pixels (0 without a ball)."""
    ball_path: Tensor
    """Pixels inside any of the ball's boxes over the next ``PATH_STEPS`` agent steps."""
    player_centre: Tensor
    """(N, 2) the player's centre (x, y) in observation pixels (NaN without a player)."""
    has_player: Tensor
    """(N,) bool: the player is on the screen."""


class KindTargets(NamedTuple):
    """Where the objects of one kind are in a batch of observations."""

    present: Tensor
    """(N,) bool: an object of the kind is on the frame."""
    region: Tensor
    """(N, 84, 84) pixels inside any of its boxes."""
    near: Tensor
    """(N, 84, 84) pixels within the radius of any of its boxes' centres, or inside one
    (for an object larger than the disc, e.g. a row of bricks)."""

    def to(self, device: torch.device) -> KindTargets:
        return KindTargets(*(mask.to(device) for mask in self))


def first_of(objects: Sequence[GameObject], kind: str) -> GameObject | None:
    """The first object of ``kind`` among ``objects``, None if there is none."""
    return next((o for o in objects if o.kind == kind), None)


def ball_box(objects: Sequence[GameObject]) -> GameObject | None:
    """The ball (the first object of kind ``ball``), None while none is in play."""
    return first_of(objects, "ball")


def player_box(objects: Sequence[GameObject]) -> GameObject | None:
    """The player (the first object of kind ``player``), None while none is on the screen."""
    return first_of(objects, "player")


def _disc(centre_x: float, centre_y: float, radius: float) -> Tensor:
    """(84, 84) pixels whose centres lie within ``radius`` of (x, y)."""
    centres = torch.arange(OBSERVATION_SIZE, dtype=torch.float32) + 0.5
    squared = (centres[:, None] - centre_y) ** 2 + (centres[None, :] - centre_x) ** 2
    return squared <= radius**2


def _edges(box: GameObject) -> tuple[float, float, float, float]:
    return (box.x0, box.y0, box.x1, box.y1)


def frame_targets(
    frame_objects: Sequence[Sequence[GameObject]],
    radius: float,
    paths: Sequence[Sequence[GameObject]] | None = None,
) -> FrameTargets:
    """Ball and player masks in observation pixels for each frame's RAM objects, and the
    ball's path from each frame's ``paths`` (the ball's present box alone when None)."""
    has_ball, ball, discs, has_player, player, ball_xy = [], [], [], [], [], []
    for objects in frame_objects:
        observed = to_observation(list(objects))
        ball_in_obs, player_in_obs = ball_box(observed), player_box(observed)
        has_player.append(player_in_obs is not None)
        player.append(_NO_BOX if player_in_obs is None else _edges(player_in_obs))
        has_ball.append(ball_in_obs is not None)
        if ball_in_obs is None:
            ball.append(_NO_BOX)
            discs.append(torch.zeros(_SIZE, dtype=torch.bool))
            ball_xy.append((0.0, 0.0))
            continue
        ball.append(_edges(ball_in_obs))
        centre_x, centre_y = ball_in_obs.center
        ball_xy.append((centre_x, centre_y))
        discs.append(_disc(centre_x, centre_y, radius))  # (84, 84)
    if paths is None:
        paths = [[b] if (b := ball_box(objects)) is not None else [] for objects in frame_objects]
    path_boxes = [
        torch.tensor([_edges(box) for box in to_observation(list(path))] or [_NO_BOX])
        for path in paths
    ]
    players = torch.tensor(player).view(-1, 4)  # (N, 4): x0, y0, x1, y1
    present = torch.tensor(has_player, dtype=torch.bool)
    player_xy = ((players[:, :2] + players[:, 2:]) / 2).masked_fill(~present[:, None], torch.nan)
    return FrameTargets(
        torch.tensor(has_ball),
        box_regions(torch.tensor(ball).view(-1, 4), _SIZE),
        torch.stack(discs) if discs else torch.zeros(0, *_SIZE, dtype=torch.bool),
        box_regions(players, _SIZE),
        torch.tensor(ball_xy, dtype=torch.float32).view(-1, 2),
        box_regions(path_boxes, _SIZE),
        player_xy,
        present,
    )


def kind_targets(
    frame_objects: Sequence[Sequence[GameObject]], radius: float, kinds: Sequence[str] = KINDS
) -> dict[str, KindTargets]:
    """Kind -> where its objects are on each frame (all of them: every enemy, every row of
    bricks), for the ``kinds`` asked for."""
    observed = [to_observation(list(objects)) for objects in frame_objects]
    targets = {}
    for kind in kinds:
        present, boxes, near = [], [], []
        for objects in observed:
            of_kind = [o for o in objects if o.kind == kind]
            present.append(bool(of_kind))
            boxes.append(torch.tensor([_edges(o) for o in of_kind] or [_NO_BOX]))
            mask = torch.zeros(_SIZE, dtype=torch.bool)
            for o in of_kind:
                mask |= _disc(*o.center, radius)
            near.append(mask)
        regions = box_regions(boxes, _SIZE)
        targets[kind] = KindTargets(torch.tensor(present), regions, torch.stack(near) | regions)
    return targets


def ball_cell(targets: FrameTargets, registration: Registration) -> tuple[Tensor, Tensor]:
    """(rows, cols): the cell of the agent's grid whose centre (``registration``) is
    nearest each frame's ball centre."""
    centre = targets.ball_centre - 0.5  # pixel-index coordinates, as registrations use
    return registration.cell_of(centre[:, 1], centre[:, 0])


def ball_cell_maps(targets: FrameTargets, registration: Registration) -> Tensor:
    """(N, 84, 84) maps made on the agent's grid: 1 in the cell nearest the ball's
    centre, 0 elsewhere, flat in frames without the ball; placed as the agent's own maps
    are (``registration``)."""
    height, width = registration.grid
    rows, cols = ball_cell(targets, registration)
    maps = torch.zeros(len(rows), height, width, device=targets.ball_centre.device)
    maps[torch.arange(len(rows)), rows, cols] = 1.0
    maps[~targets.has_ball] = 1.0
    return registration.place(maps)
