"""Learning-curve plots (PNG) from runs' ``progress.csv`` files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from abnrl.files import write_atomic  # noqa: E402


def read_curve(progress_csv: Path) -> tuple[list[int], list[float]]:
    """Steps and mean training scores (last 100 games) from a progress log."""
    steps, scores = [], []
    with progress_csv.open() as file:
        for row in csv.DictReader(file):
            if row["score_mean"]:
                steps.append(int(row["step"]))
                scores.append(float(row["score_mean"]))
    return steps, scores


def plot_learning_curves(
    curves: dict[str, Path],
    out: Path,
    *,
    title: str,
    anchors: dict[str, tuple[int, float]] | None = None,
) -> None:
    """Write ``learning_curves_png(curves, ...)`` to ``out`` atomically."""
    png = learning_curves_png(curves, title=title, anchors=anchors)
    write_atomic(out, lambda tmp: tmp.write_bytes(png), suffix=".png")


def learning_curves_png(
    curves: dict[str, Path],
    *,
    title: str,
    anchors: dict[str, tuple[int, float]] | None = None,
) -> bytes:
    """A PNG of each run's mean training score against agent steps.

    Args:
        curves: label -> ``progress.csv`` of a run.
        title: the figure's title (name the game and protocol).
        anchors: label -> (steps, score) of published results, drawn as dashed lines.

    Raises:
        KeyError, ValueError: a progress log lacks a column or holds a non-number.
    """
    figure, axes = plt.subplots(figsize=(7, 4), dpi=110)
    for label, path in curves.items():
        steps, scores = read_curve(path)
        axes.plot(steps, scores, label=label)
    for label, (at_steps, score) in (anchors or {}).items():
        axes.axhline(score, linestyle="--", linewidth=1, color="grey")
        axes.annotate(
            f"{label}: {score:g} at {at_steps / 1e6:g}M steps",
            (0, score),
            xycoords=("axes fraction", "data"),
            fontsize=7,
            va="bottom",
        )
    axes.set_xlabel("agent steps (4 frames each)")
    axes.set_ylabel("mean training score (last 100 games)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="center left", fontsize=8)
    figure.tight_layout()
    png = io.BytesIO()
    figure.savefig(png, format="png")
    plt.close(figure)
    return png.getvalue()
