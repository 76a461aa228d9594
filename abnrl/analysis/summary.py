"""What an attention analysis measured (``Analysis``, one value per frame) and its
summary: mean, standard error, standard deviation and count of every measure, as
``attention-analysis.json`` holds them.

The summary's ``objects`` holds the measures keyed by object kind: kind -> the names of
its objects in the game, the frames with one, the near region's mean share of the image
area, and per map source the pointing, refined pointing and mass near the kind (with
that mass over the area share). On Breakout each head's offset from the player is also
given under its former names (``paddle_x_r``, ``paddle_dx``, ``paddle_dy``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from abnrl.analysis.events import GameTrace, event_locked
from abnrl.analysis.heads import HeadTracks
from abnrl.analysis.scoring import PADDLE_GAME
from envs.objects import GameObject


class Example(NamedTuple):
    """One frame for the examples figure."""

    frame: np.ndarray
    """(210, 160, 3) colour frame."""
    ball: GameObject | None
    """Ball box in frame pixels (None in games without a ball)."""
    maps: dict[str, np.ndarray]
    """Source -> (84, 84) map in [0, 1]."""


@dataclass
class Analysis:
    """Per-frame values of each source's metrics, the dependence tests, and what was played."""

    values: dict[str, dict[str, list[float]]]
    """Source -> metric -> one value per scored frame (ball metrics: ball frames only)."""
    game: str
    """The game played (its ALE ROM id)."""
    names: dict[str, list[str]] = field(default_factory=dict)
    """Kind -> the names of the game's objects of that kind (every kind its reader yields)."""
    objects: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    """Kind -> source -> measure -> one value per scored frame with an object of the kind."""
    near_shares: dict[str, list[float]] = field(default_factory=dict)
    """Kind -> per frame with an object of the kind, its near region's share of the image."""
    skipped: list[str] = field(default_factory=list)
    """What was not measured on this game, and why: one line each."""
    dependence: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    """Replacement -> {"action_change", "kl"} -> one value per scored frame (own maps only)."""
    map_statistics: dict[str, list[float]] = field(default_factory=dict)
    """Statistic -> one value per scored frame (per step for ``change``), own maps only."""
    disc_shares: list[float] = field(default_factory=list)
    """Per ball frame, the disc's share of the image area."""
    action_probabilities: list[float] = field(default_factory=list)
    """Per frame, the chosen action's probability on the clean observation."""
    heads: HeadTracks = field(default_factory=HeadTracks)
    """What each head of the agent's own maps follows (own maps only)."""
    scores: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    traces: list[GameTrace] = field(default_factory=list)
    """Per game, every step's map statistics and objects (own maps only)."""
    registrations: dict[str, dict] = field(default_factory=dict)
    """Source -> where its maps' cells were placed (``Registration.as_dict``)."""


def _stats(frame_values: Sequence[float]) -> dict[str, float | int | None]:
    array = np.asarray(frame_values, dtype=float)
    count = len(array)
    return {
        "mean": float(array.mean()) if count else None,
        "sem": float(array.std(ddof=1) / np.sqrt(count)) if count > 1 else None,
        "std": float(array.std(ddof=1)) if count > 1 else None,
        "frames": count,
    }


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _objects(analysis: Analysis) -> dict:
    """Kind -> its names, frames, near region's area share and each source's measures."""
    summary = {}
    for kind, names in analysis.names.items():
        area = _mean(analysis.near_shares[kind])
        maps = {}
        for source, measures in analysis.objects[kind].items():
            stats = {measure: _stats(v) for measure, v in measures.items()}
            mass = stats["mass_near"]["mean"]
            maps[source] = stats | {
                "mass_over_area": mass / area if mass is not None and area else None
            }
        summary[kind] = {
            "names": names,
            "frames": len(analysis.near_shares[kind]),
            "area_share": area,
            "maps": maps,
        }
    return summary


def _heads(analysis: Analysis) -> list[dict]:
    heads = analysis.heads.summary()
    if analysis.game != PADDLE_GAME:
        return heads
    return [
        head | {f"paddle_{m}": head[f"player_{m}"] for m in ("x_r", "dx", "dy")} for head in heads
    ]


def summarise(analysis: Analysis) -> dict:
    """Mean, standard error, standard deviation and count of every measure."""
    return {
        "game": analysis.game,
        "metrics": {
            source: {metric: _stats(v) for metric, v in metrics.items()}
            for source, metrics in analysis.values.items()
        },
        "dependence": {
            name: {measure: _stats(v) for measure, v in measures.items()}
            for name, measures in analysis.dependence.items()
        },
        "map_statistics": {name: _stats(v) for name, v in analysis.map_statistics.items()},
        "heads": _heads(analysis),
        "registrations": analysis.registrations,
        "events": event_locked(analysis.traces) if analysis.traces else {},
        "disc_area_share": float(np.mean(analysis.disc_shares)) if analysis.disc_shares else None,
        "frames_scored": len(analysis.action_probabilities),
        "ball_frames": len(analysis.disc_shares),
        "chosen_action_probability": float(np.mean(analysis.action_probabilities))
        if analysis.action_probabilities
        else None,
        "games": {
            "scores": analysis.scores,
            "steps": analysis.steps,
            "score_mean": float(np.mean(analysis.scores)),
            "score_std": float(np.std(analysis.scores)),
        },
        "objects": _objects(analysis),
        "skipped": analysis.skipped,
    }
