"""Learning-curve plots (PNG) from runs' ``progress.csv`` files."""

from __future__ import annotations

import csv
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
    """Plot each run's mean training score against agent steps and save a PNG.

    Args:
        curves: label -> ``progress.csv`` of a run.
        out: where the PNG goes (written atomically).
        title: the figure's title (name the game and protocol).
        anchors: label -> (steps, score) of published results, drawn as dashed lines.
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
    write_atomic(out, lambda tmp: figure.savefig(tmp, format="png"), suffix=".png")
    plt.close(figure)
