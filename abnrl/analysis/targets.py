"""Where the ball and the paddle are, from the RAM's object boxes: the targets the
attention analysis scores maps against, as masks in observation pixels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from envs.objects import OBSERVATION_SIZE, Box, to_observation
from vision.explain import box_regions
from vision.explain.registration import Registration


class FrameTargets(NamedTuple):
    """Where the objects are in a batch of observations, as (N, 84, 84) masks."""

    has_ball: Tensor
    """(N,) bool: the ball is in play."""
    ball: Tensor
    """Pixels inside the ball box (all False without a ball)."""
    ball_disc: Tensor
    """Pixels within the radius of the ball centre (all False without a ball)."""
    paddle: Tensor
    """Pixels inside the paddle box."""
    ball_centre: Tensor
    """(N, 2) the ball's centre (x, y) in observation pixels (0 without a ball)."""
    ball_path: Tensor
    """Pixels inside any of the ball's boxes over the next ``PATH_STEPS`` agent steps."""
    paddle_centre: Tensor
    """(N, 2) the paddle's centre (x, y) in observation pixels."""


def ball_box(boxes: Sequence[Box]) -> Box | None:
    return next((box for box in boxes if box.label == "ball"), None)


def paddle_box(boxes: Sequence[Box]) -> Box:
    return next(box for box in boxes if box.label == "paddle")


def frame_targets(
    frame_boxes: Sequence[Sequence[Box]],
    radius: float,
    paths: Sequence[Sequence[Box]] | None = None,
) -> FrameTargets:
    """Ball and paddle masks in observation pixels for each frame's RAM boxes, and the
    ball's path from each frame's ``paths`` (the ball's present box alone when None)."""
    size = (OBSERVATION_SIZE, OBSERVATION_SIZE)
    centres = torch.arange(OBSERVATION_SIZE, dtype=torch.float32) + 0.5
    no_box = torch.full((4,), -1.0)  # a box no pixel centre lies in
    has_ball, ball, discs, paddle, centres_xy = [], [], [], [], []
    for boxes in frame_boxes:
        observed = to_observation(list(boxes))
        ball_in_obs = ball_box(observed)
        paddle.append(torch.tensor(paddle_box(observed)[1:]))
        has_ball.append(ball_in_obs is not None)
        if ball_in_obs is None:
            ball.append(no_box)
            discs.append(torch.zeros(size, dtype=torch.bool))
            centres_xy.append((0.0, 0.0))
            continue
        ball.append(torch.tensor(ball_in_obs[1:]))
        centre_x = (ball_in_obs.x0 + ball_in_obs.x1) / 2
        centre_y = (ball_in_obs.y0 + ball_in_obs.y1) / 2
        centres_xy.append((centre_x, centre_y))
        squared = (centres[:, None] - centre_y) ** 2 + (centres[None, :] - centre_x) ** 2
        discs.append(squared <= radius**2)  # (84, 84)
    if paths is None:
        paths = [[b] if (b := ball_box(boxes)) is not None else [] for boxes in frame_boxes]
    path_boxes = [
        torch.tensor([box[1:] for box in to_observation(list(path))] or [no_box.tolist()])
        for path in paths
    ]
    paddles = torch.stack(paddle)  # (N, 4): x0, y0, x1, y1
    return FrameTargets(
        torch.tensor(has_ball),
        box_regions(torch.stack(ball), size),
        torch.stack(discs),
        box_regions(paddles, size),
        torch.tensor(centres_xy, dtype=torch.float32).view(-1, 2),
        box_regions(path_boxes, size),
        (paddles[:, :2] + paddles[:, 2:]).float() / 2,
    )


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
