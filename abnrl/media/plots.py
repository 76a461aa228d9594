"""Plots (PNG): runs' learning curves, and comparisons of groups of runs with their CIs."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from vision.files import write_bytes_atomic  # noqa: E402


def _plain_text(draw: Callable[..., bytes]) -> Callable[..., bytes]:
    """Draw with text taken as it is: the figures' labels come from data (config values,
    run names), where a "$" is text, not math for matplotlib to typeset (and fail on)."""

    @functools.wraps(draw)
    def drawn(*args, **kwargs) -> bytes:
        with matplotlib.rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)

    return drawn


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
    write_bytes_atomic(out, png)


@_plain_text
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
    # The highest anchor is labelled above its line, the others below theirs, so that
    # labels of close scores (Pong's 21.0 and 20.4) do not overlap.
    ranked = sorted((anchors or {}).items(), key=lambda item: -item[1][1])
    for rank, (label, (at_steps, score)) in enumerate(ranked):
        axes.axhline(score, linestyle="--", linewidth=1, color="grey")
        axes.annotate(
            f"{label}: {score:g} at {at_steps / 1e6:g}M steps",
            (0, score),
            xycoords=("axes fraction", "data"),
            fontsize=7,
            va="top" if rank else "bottom",
        )
    axes.set_xlabel("agent steps (4 frames each)")
    axes.set_ylabel("mean training score (last 100 games)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)  # rising curves leave that corner empty
    return _png(figure)


@_plain_text
def training_games_png(scores: list[float], *, title: str) -> bytes:
    """A PNG of the mean score of the last 100 training games, game after game (for runs
    that log games rather than steps: the monitor files of an RL Zoo run)."""
    figure, axes = plt.subplots(figsize=(7, 4), dpi=110)
    means = [sum(scores[max(0, i - 99) : i + 1]) / min(i + 1, 100) for i in range(len(scores))]
    axes.plot(range(1, len(scores) + 1), means)
    axes.set_xlabel("training games")
    axes.set_ylabel("mean training score (last 100 games)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    return _png(figure)


def _png(figure) -> bytes:
    figure.tight_layout()
    png = io.BytesIO()
    figure.savefig(png, format="png")
    plt.close(figure)
    return png.getvalue()


@_plain_text
def aggregates_png(
    aggregates: dict[str, dict[str, tuple[float, float | None, float | None]]],
    titles: dict[str, str],
    *,
    unit: str,
) -> bytes:
    """A PNG of each aggregate (one panel each) per group: the point and its CI as a bar
    (a point alone where the bounds are None).

    Args:
        aggregates: group -> aggregate -> (point, low, high).
        titles: aggregate -> the panel's title, in panel order.
        unit: what the scores are (e.g. "human-normalized score").
    """
    groups = list(aggregates)
    names = [name for name in titles if name in aggregates[groups[0]]]
    figure, panels = plt.subplots(
        1, len(names), figsize=(2.6 * len(names), 0.5 * len(groups) + 1.4), dpi=110, squeeze=False
    )
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for panel, name in zip(panels[0], names, strict=True):
        for row, group in enumerate(groups):
            point, low, high = aggregates[group][name]
            color = colors[row % len(colors)]
            if low is not None and high is not None:
                panel.barh(row, high - low, left=low, height=0.6, color=color, alpha=0.5)
            panel.plot([point, point], [row - 0.3, row + 0.3], color="black", linewidth=1.5)
        panel.set_yticks(
            range(len(groups)), groups if panel is panels[0][0] else [""] * len(groups)
        )
        panel.set_title(titles[name], fontsize=9)
        panel.set_xlabel(unit, fontsize=8)
        panel.grid(axis="x", alpha=0.3)
    return _png(figure)


@_plain_text
def confidence_curves_png(
    curves: dict[str, dict[str, list[float]]], *, title: str, ylabel: str
) -> bytes:
    """A PNG of each group's curve (``steps``, ``iqm``) with its band (``low``, ``high``)
    where it has one."""
    figure, axes = plt.subplots(figsize=(7, 4), dpi=110)
    for label, curve in curves.items():
        (line,) = axes.plot(curve["steps"], curve["iqm"], label=label)
        if "low" in curve:
            axes.fill_between(
                curve["steps"], curve["low"], curve["high"], color=line.get_color(), alpha=0.2
            )
    axes.set_xlabel("agent steps (4 frames each)")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return _png(figure)
