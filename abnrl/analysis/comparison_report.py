"""A comparison of groups of runs (``abnrl.analysis.comparison``) as tables and figures,
for ``abnrl compare`` and the sweep report."""

from __future__ import annotations

import numpy as np

from abnrl.analysis.comparison import (
    AGGREGATES,
    MIN_RUNS_FOR_INTERVALS,
    Comparison,
    Estimate,
)
from abnrl.media.plots import aggregates_png, confidence_curves_png

AGGREGATE_TITLES = {
    "mean": "mean",
    "median": "median",
    "iqm": "IQM",
    "optimality_gap": "optimality gap",
}


def summary_tables(comparison: Comparison) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of the aggregates and of the improvement probabilities."""
    unit = "human-normalized" if comparison.normalized else "raw"
    names = [k for k in AGGREGATES if k in next(iter(comparison.aggregates.values()))]
    aggregates = [
        [name, str(len(runs)), f"{np.mean([r.score for r in runs]):.1f}"]
        + [_interval(comparison.aggregates[name][k]) for k in names]
        for name, runs in comparison.groups.items()
    ]
    improvement = [[x, y, _interval(value)] for (x, y), value in comparison.improvement.items()]
    differences = [
        [d.x, d.y, f"{d.games[0]} / {d.games[1]}", _interval(d.difference, digits=1),
         f"{d.p_value:.3g}", "yes" if d.settled else "no"]
        for d in comparison.differences
    ]  # fmt: skip
    tables = [
        (
            f"{comparison.game}: {unit} scores, 95% stratified-bootstrap CIs over the runs "
            f"(a group needs {MIN_RUNS_FOR_INTERVALS} runs or more for one)",
            ["group", "runs", "raw mean"] + [AGGREGATE_TITLES[k] for k in names],
            aggregates,
        )
    ]
    if improvement:
        tables.append(
            ("Probability of improvement P(X > Y), 95% CIs", ["X", "Y", "P(X > Y)"], improvement)
        )
    if differences:
        tables.append(
            (
                "Game by game (one run per group): difference of the mean raw scores, "
                "Welch's 95% CI",
                ["X", "Y", "games", "mean X - mean Y", "p", "settled"],
                differences,
            )
        )
    return tables


def _interval(value: Estimate, digits: int = 3) -> str:
    point, low, high = value
    if low is None or high is None:
        return f"{point:.{digits}f}"
    return f"{point:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def figures(comparison: Comparison) -> dict[str, bytes]:
    """PNG files by name: the aggregates with their CIs, and the IQM learning curves."""
    unit = "human-normalized score" if comparison.normalized else "score"
    pngs = {"aggregates.png": aggregates_png(comparison.aggregates, AGGREGATE_TITLES, unit=unit)}
    if comparison.curves:
        pngs["curves.png"] = confidence_curves_png(
            comparison.curves,
            title=f"{comparison.game}: IQM over seeds of the evaluation score, 95% CI",
            ylabel=f"evaluation {unit}",
        )
    return pngs
