"""The event-locked averages (``abnrl.analysis.events``) as a table and a figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

from abnrl.analysis.events import AFTER, BEFORE, EVENTS, STATISTICS, reacts
from vision.files import write_atomic

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STATISTIC_TITLES = {
    "top5_mass": "mass of the top 5 cells",
    "entropy": "entropy / flat map's",
    "peak": "largest cell's share",
    "ball_distance": "centre of mass to ball (px)",
    "paddle_distance": "centre of mass to paddle (px)",
}
SHOWN_OFFSETS = (-16, -8, -4, -1, 0, 4, 8)


def _value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def events_table(events: dict) -> str:
    """Markdown: per event and statistic, the event-locked mean at a few offsets (agent
    steps from the event), the random steps' mean and 95% band, and the largest excess
    over the band before the event."""
    shown = " | ".join(f"t{offset:+d}" for offset in SHOWN_OFFSETS)
    lines = [
        f"| event | events | statistic | {shown} | random steps (95% band) | "
        "largest excess before the event |",
        "| --- | ---: | --- |" + " ---: |" * len(SHOWN_OFFSETS) + " ---: | ---: |",
    ]
    for event in EVENTS:
        entry = events.get(event)
        if not entry:
            continue
        for name in STATISTICS:
            stats = entry[name]
            cells = [_value(stats["mean"][offset + BEFORE]) for offset in SHOWN_OFFSETS]
            middle = [v for v in stats["random_mean"] if v is not None]
            lows = [v for v in stats["random_low"] if v is not None]
            highs = [v for v in stats["random_high"] if v is not None]
            band = (
                f"{np.mean(middle):.3f} ({np.mean(lows):.3f}-{np.mean(highs):.3f})"
                if middle
                else "n/a"
            )
            excess = reacts(entry, name)
            lines.append(
                f"| {event} | {entry['events']} | {STATISTIC_TITLES[name]} | "
                f"{' | '.join(cells)} | {band} | {_value(excess)} |"
            )
    return "\n".join(lines) + "\n"


def plot_events(events: dict, out: Path, title: str) -> None:
    """One row per event, one column per statistic: the event-locked mean against the
    random steps' band, written atomically as a PNG."""
    offsets = np.arange(-BEFORE, AFTER + 1)
    figure, axes = plt.subplots(
        len(EVENTS), len(STATISTICS), figsize=(3.2 * len(STATISTICS), 2.4 * len(EVENTS)), dpi=80
    )
    for row, event in enumerate(EVENTS):
        entry = events.get(event, {})
        for column, name in enumerate(STATISTICS):
            axis = axes[row, column]
            stats = entry.get(name)
            if stats:
                as_array = {k: np.array(v, dtype=float) for k, v in stats.items()}
                axis.fill_between(
                    offsets, as_array["random_low"], as_array["random_high"], color="0.85"
                )
                axis.plot(offsets, as_array["random_mean"], color="0.5", linewidth=1)
                axis.plot(offsets, as_array["mean"], color="tab:blue")
            axis.axvline(0, color="tab:red", linewidth=0.8)
            if row == 0:
                axis.set_title(STATISTIC_TITLES[name], fontsize=9)
            if column == 0:
                axis.set_ylabel(f"{event}\n({entry.get('events', 0)} events)", fontsize=8)
            if row == len(EVENTS) - 1:
                axis.set_xlabel("agent steps from the event", fontsize=8)
            axis.tick_params(labelsize=7)
    figure.suptitle(title + " (grey: random steps, 95% band)", fontsize=10)
    figure.tight_layout()
    write_atomic(out, lambda tmp: figure.savefig(tmp, dpi=80), suffix=".png")
    plt.close(figure)
