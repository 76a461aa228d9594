"""Scores of one source's maps against the game's objects, per frame.

* pointing game (Zhang et al., ECCV 2016): the map's maximum within ``tolerance``
  observation pixels of the ball (frames with the ball in play) or of Breakout's paddle;
  and of the ball's path: anywhere the ball is over the next ``PATH_STEPS`` agent
  steps (a map that looks where the ball is going, e.g. where it will meet a wall or
  the paddle, hits this target and misses the ball's present place);
* ball mass share: the map's mass within ``radius`` pixels of the ball centre,
  against that disc's share of the image area (what a flat map would get);
* deletion and insertion AUC (Petsiuk et al., BMVC 2018) of the chosen action's
  probability: deleting (zeroing) the most salient pixels first, lower is better;
  inserting them into a blurred frame first, higher is better.

These are ``METRICS``, a game's share of them ``game_metrics``: the ball's in games with
a ball, the paddle's on Breakout alone, the curves in every game. Keyed by object kind
(``KIND_MEASURES``, every kind the game's reader yields, on the frames with an object of
that kind): pointing on any object of the kind, with the map's maximum and with the
refined peak, and the mass within ``radius`` pixels of any of their centres or on them.
For Breakout's ball and paddle (kind player) these are the same numbers as the ball and
paddle metrics (the ball's disc holds its box at any radius of a pixel or more).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from abnrl.analysis.sources import BALL_CELL, explain
from abnrl.analysis.targets import FrameTargets, KindTargets, ball_cell_maps
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
BALL_METRICS = ("ball_pointing", "ball_pointing_refined", "ball_path_pointing", "ball_mass_share")
"""The metrics of games with a ball."""
PADDLE_METRICS = ("paddle_pointing",)
"""Breakout's paddle: elsewhere the kind ``player`` of the kind-keyed measures."""
PADDLE_GAME = "breakout"
"""The game whose player is the paddle of the paddle metric (and of the heads' former
``paddle_*`` names)."""
KIND_MEASURES = ("pointing", "pointing_refined", "mass_near")
"""What each object kind is scored by."""
CURVE_STEPS = 50
"""Points of each deletion and insertion curve after the first."""


def game_metrics(game: str, kinds: Sequence[str]) -> tuple[str, ...]:
    """The ``METRICS`` that apply to ``game`` (an ALE ROM id) whose reader yields ``kinds``."""
    return tuple(
        metric
        for metric in METRICS
        if (metric in BALL_METRICS and "ball" in kinds)
        or (metric in PADDLE_METRICS and game == PADDLE_GAME)
        or metric not in BALL_METRICS + PADDLE_METRICS
    )


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
    kinds: Sequence[str] = ()
    """The object kinds scored (the game's reader's)."""


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
    metrics: Sequence[str] = METRICS,
) -> dict[str, Tensor]:
    """Each of ``metrics``' per-frame values; ball metrics only over frames with the ball,
    the paddle's over frames with the player; no deletion and insertion AUC when
    ``curve_steps`` is 0."""
    near_ball = _mass_near(maps, targets.ball_disc)
    target = ActionTarget(actions, probability=True)
    curves = {
        name: curve(network, observations, maps, target, steps=curve_steps, batch_size=256)
        for name, curve in (("deletion_auc", deletion), ("insertion_auc", insertion))
        if curve_steps > 0 and name in metrics
    }
    ball, player = targets.has_ball, targets.has_player
    scored = {
        "ball_pointing": pointing_game(maps, targets.ball, tolerance=tolerance)[ball].float(),
        "ball_pointing_refined": pointing_game(
            maps, targets.ball, tolerance=tolerance, window=peak_window
        )[ball].float(),
        "ball_path_pointing": pointing_game(maps, targets.ball_path, tolerance=tolerance)[
            ball
        ].float(),
        "paddle_pointing": pointing_game(maps, targets.player, tolerance=tolerance)[player].float(),
        "ball_mass_share": near_ball[ball],
        **{name: curve.auc for name, curve in curves.items()},
    }
    return {name: values for name, values in scored.items() if name in metrics}


def _mass_near(maps: Tensor, near: Tensor) -> Tensor:
    """(N,) the share of each map's mass on the ``near`` pixels."""
    mass = maps.flatten(1).sum(dim=1).clamp_min(torch.finfo(maps.dtype).tiny)
    return (maps * near).flatten(1).sum(dim=1) / mass


def score_kinds(
    maps: Tensor, targets: dict[str, KindTargets], *, tolerance: float, peak_window: int
) -> dict[str, dict[str, Tensor]]:
    """Kind -> ``KIND_MEASURES`` -> values over the frames with an object of that kind:
    pointing on its objects (the map's maximum, and the peak refined within
    ``peak_window`` pixels) and the map's mass near them (``KindTargets.near``)."""
    scored = {}
    for kind, target in targets.items():
        present = target.present
        scored[kind] = {
            "pointing": pointing_game(maps, target.region, tolerance=tolerance)[present].float(),
            "pointing_refined": pointing_game(
                maps, target.region, tolerance=tolerance, window=peak_window
            )[present].float(),
            "mass_near": _mass_near(maps, target.near)[present],
        }
    return scored
