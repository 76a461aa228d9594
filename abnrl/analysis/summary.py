"""What an attention analysis measured (``Analysis``, one value per frame) and its
summary: mean, standard error, standard deviation and count of every measure, as
``attention-analysis.json`` holds them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from abnrl.analysis.events import GameTrace, event_locked
from abnrl.analysis.heads import HeadTracks
from envs.objects import Box


class Example(NamedTuple):
    """One frame for the examples figure."""

    frame: np.ndarray
    """(210, 160, 3) colour frame."""
    ball: Box
    """Ball box in frame pixels."""
    maps: dict[str, np.ndarray]
    """Source -> (84, 84) map in [0, 1]."""


@dataclass
class Analysis:
    """Per-frame values of each source's metrics, the dependence tests, and what was played."""

    values: dict[str, dict[str, list[float]]]
    """Source -> metric -> one value per scored frame (ball metrics: ball frames only)."""
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


def summarise(analysis: Analysis) -> dict:
    """Mean, standard error, standard deviation and count of every measure."""
    return {
        "metrics": {
            source: {metric: _stats(v) for metric, v in metrics.items()}
            for source, metrics in analysis.values.items()
        },
        "dependence": {
            name: {measure: _stats(v) for measure, v in measures.items()}
            for name, measures in analysis.dependence.items()
        },
        "map_statistics": {name: _stats(v) for name, v in analysis.map_statistics.items()},
        "heads": analysis.heads.summary(),
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
    }
