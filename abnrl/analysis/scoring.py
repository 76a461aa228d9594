"""Scores of one source's maps against the game's objects, per frame.

* pointing game (Zhang et al., ECCV 2016): the map's maximum within ``tolerance``
  observation pixels of the ball (frames with the ball in play) or of the paddle;
  and of the ball's path: anywhere the ball is over the next ``PATH_STEPS`` agent
  steps (a map that looks where the ball is going, e.g. where it will meet a wall or
  the paddle, hits this target and misses the ball's present place);
* ball mass share: the map's mass within ``radius`` pixels of the ball centre,
  against that disc's share of the image area (what a flat map would get);
* deletion and insertion AUC (Petsiuk et al., BMVC 2018) of the chosen action's
  probability: deleting (zeroing) the most salient pixels first, lower is better;
  inserting them into a blurred frame first, higher is better.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from abnrl.analysis.sources import BALL_CELL, explain
from abnrl.analysis.targets import FrameTargets, ball_cell_maps
from vision.explain import ActionTarget, deletion, insertion, pointing_game
from vision.explain.registration import Placement, Registration

METRICS = (
    "ball_pointing",
    "ball_pointing_refined",
    "ball_path_pointing",
    "paddle_pointing",
    "ball_mass_share",
    "deletion_auc",
    "insertion_auc",
)
CURVE_STEPS = 50
"""Points of each deletion and insertion curve after the first."""


@dataclass(frozen=True)
class Scoring:
    """How sampled frames are scored (``abnrl.analysis.attention.analyse``'s settings)."""

    sources: Sequence[str]
    radius: float
    tolerance: float
    peak_window: int
    curve_steps: int
    placement: Placement
    grid: Registration | None
    """Where the agent's own cells are placed (None without attention of its own)."""
    noise: torch.Generator
    """Draws the random maps."""


def source_maps(
    network: nn.Module,
    source: str,
    observations: Tensor,
    actions: Tensor,
    targets: FrameTargets,
    scoring: Scoring,
) -> tuple[Tensor, Registration]:
    """(N, 84, 84) maps of ``source`` on the observations' device, and where their cells
    were placed; the ball's cell is made on the agent's grid as ``scoring.grid`` places it."""
    if source == BALL_CELL:
        assert scoring.grid is not None, "the ball's cell is made on the agent's own grid"
        return ball_cell_maps(targets, scoring.grid).to(observations.device), scoring.grid
    explanation = explain(network, source, observations, actions, scoring.noise, scoring.placement)
    return explanation.maps.to(observations.device), explanation.registration


def score_maps(
    network: nn.Module,
    observations: Tensor,
    actions: Tensor,
    maps: Tensor,
    targets: FrameTargets,
    *,
    tolerance: float,
    peak_window: int,
    curve_steps: int,
) -> dict[str, Tensor]:
    """Each metric's per-frame values; ball metrics only over frames with the ball; no
    deletion and insertion AUC when ``curve_steps`` is 0."""
    mass = maps.flatten(1).sum(dim=1).clamp_min(torch.finfo(maps.dtype).tiny)
    near_ball = (maps * targets.ball_disc).flatten(1).sum(dim=1) / mass
    target = ActionTarget(actions, probability=True)
    curves = {
        name: curve(network, observations, maps, target, steps=curve_steps, batch_size=256)
        for name, curve in (("deletion_auc", deletion), ("insertion_auc", insertion))
        if curve_steps > 0
    }
    ball = targets.has_ball
    return {
        "ball_pointing": pointing_game(maps, targets.ball, tolerance=tolerance)[ball].float(),
        "ball_pointing_refined": pointing_game(
            maps, targets.ball, tolerance=tolerance, window=peak_window
        )[ball].float(),
        "ball_path_pointing": pointing_game(maps, targets.ball_path, tolerance=tolerance)[
            ball
        ].float(),
        "paddle_pointing": pointing_game(maps, targets.paddle, tolerance=tolerance).float(),
        "ball_mass_share": near_ball[ball],
        **{name: curve.auc for name, curve in curves.items()},
    }
