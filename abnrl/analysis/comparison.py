"""Groups of runs compared as Agarwal et al. (2021) recommend, with rliable: mean, median,
interquartile mean (IQM) and optimality gap with stratified-bootstrap confidence intervals,
the probability that one group improves on another, and IQM learning curves with bands.

A run's score is its last evaluation: ``checkpoints/eval.json`` (``abnrl eval``) when there
is one, else the last row of ``evaluations.csv``. Scores are human-normalized where the
game's references are known (``envs.REFERENCE_SCORES``).
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.stats

from abnrl.errors import UserError
from abnrl.training.config import ABN_ONLY
from abnrl.training.run_dir import RunDir
from envs import REFERENCE_SCORES

# Config fields that do not make runs different agents (the seed makes them repeats).
NOT_A_GROUP = {"seed", "run_dir", "resume", "device", "threads", "progress", "time_limit_min"}

AGGREGATES = ("mean", "median", "iqm", "optimality_gap")


@dataclass
class Run:
    """A run's config, final score and evaluation curve."""

    root: Path
    config: dict
    score: float
    score_source: str
    curve: dict[int, float]  # agent steps -> mean evaluation score
    games: list[float] | None = None  # each game's score in abnrl eval's eval.json


def find_runs(paths: list[Path]) -> list[Run]:
    """Every run dir given, or below a folder given (a sweep dir, a folder of runs).

    Raises:
        UserError: a path without runs, or a run without any evaluation.
    """
    roots: list[Path] = []
    for path in paths:
        if RunDir(path).config.is_file():
            roots.append(path)
            continue
        found = sorted(p.parent for p in path.rglob("config.json")) if path.is_dir() else []
        if not found:
            raise UserError(f"{path} holds no run (no config.json in it or below it).")
        roots += found
    return [_read_run(root) for root in dict.fromkeys(roots)]


def _read_run(root: Path) -> Run:
    run_dir = RunDir(root)
    try:
        config = json.loads(run_dir.config.read_text())
        curve = _read_curve(run_dir.evaluations) if run_dir.evaluations.exists() else {}
        eval_json = run_dir.latest.parent / "eval.json"
        games = None
        if eval_json.exists():
            evaluation = json.loads(eval_json.read_text())
            score = float(evaluation["summary"]["mean"])
            source = "abnrl eval"
            if "scores" in evaluation:
                games = [float(game) for game in evaluation["scores"]]
        elif curve:
            score, source = curve[max(curve)], f"evaluation at {max(curve)} steps"
        else:
            raise UserError(
                f"The run {root} has no evaluation; run abnrl eval on it, or train with "
                "--eval-every."
            )
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
        raise UserError(f"The run {root} has a malformed config or evaluation file.") from None
    if not isinstance(config, dict) or not isinstance(config.get("game"), str):
        raise UserError(f"The run {root} has a config that names no game.")
    scores = [score, *curve.values(), *(games or [])]
    if not all(math.isfinite(value) for value in scores):
        raise UserError(f"The run {root} has a score that is not a finite number.")
    return Run(root, config, score, source, curve, games)


def _read_curve(evaluations_csv: Path) -> dict[int, float]:
    with evaluations_csv.open(newline="") as file:
        return {int(row["step"]): float(row["mean"]) for row in csv.DictReader(file)}


def group_runs(runs: list[Run], by: list[str] | None = None) -> dict[str, list[Run]]:
    """Runs grouped by the config fields ``by``, or by every field in which they differ
    (seeds aside). A group is named by its values, e.g. ``policy=abn``.

    Raises:
        UserError: ``by`` names a field the runs lack, or the runs play different games.
    """
    games = {run.config.get("game") for run in runs}
    if len(games) > 1:
        raise UserError(f"The runs play different games ({', '.join(sorted(map(str, games)))}).")
    described = [_identity(run.config) for run in runs]
    if by is None:
        fields = sorted({key for d in described for key in d})
        # A field varies if runs that have it differ in it (cnn runs lack the ABN ones).
        by = [f for f in fields if len({repr(d[f]) for d in described if f in d}) > 1]
    for field in by:
        if not any(field in run.config for run in runs):
            raise UserError(f"--by {field}: the runs' configs have no field {field!r}.")
    groups: dict[str, list[Run]] = {}
    for run, identity in zip(runs, described, strict=True):
        name = " ".join(f"{f}={identity[f]}" for f in by if f in identity) or "all runs"
        groups.setdefault(name, []).append(run)
    return groups


def _identity(config: dict) -> dict:
    """The config fields that make a run the agent it is."""
    ignored = NOT_A_GROUP | (set(ABN_ONLY) if config.get("policy") == "cnn" else set())
    return {k: v for k, v in config.items() if k not in ignored}


def normalizer(game: str) -> Callable[[np.ndarray], np.ndarray] | None:
    """Raw scores -> human-normalized scores, or None for a game without references."""
    if game not in REFERENCE_SCORES:
        return None
    random, human = REFERENCE_SCORES[game]
    return lambda scores: (np.asarray(scores, dtype=float) - random) / (human - random)


Interval = tuple[float, float, float]  # (point, CI low, CI high)
Estimate = tuple[float, float | None, float | None]  # an Interval, or a point with no bounds

# A bootstrap over the runs of a group of one run resamples that run only: its interval
# has no width and says nothing, so such groups get point estimates alone.
MIN_RUNS_FOR_INTERVALS = 2


def _rliable():
    try:
        from rliable import library, metrics
    except ImportError:
        raise UserError(
            "abnrl compare uses rliable, which is not installed: pip install 'abnrl[compare]'."
        ) from None
    return library, metrics


def _estimate(
    scores: np.ndarray | tuple[np.ndarray, np.ndarray],
    func: Callable[..., np.ndarray],
    *,
    reps: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """rliable's point estimate of ``func(scores)`` and its 95% CI (2, ...), stratified
    bootstrap (a pair of arrays: over the runs of each). NumPy's global generator is
    seeded for the call, since rliable's bootstrap draws its indices from it (ignoring
    the generator it is given); the caller's state is restored."""
    library, _ = _rliable()
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        points, intervals = library.get_interval_estimates({"x": scores}, func, reps=reps)
    finally:
        np.random.set_state(state)
    return np.asarray(points["x"]), np.asarray(intervals["x"])


def aggregate_intervals(
    scores: dict[str, np.ndarray], *, normalized: bool, reps: int, seed: int = 0
) -> dict[str, dict[str, Estimate]]:
    """Per group: aggregate -> (point, CI low, CI high), 95% stratified bootstrap; a group
    of one run gets its points with None bounds.

    Args:
        scores: group -> (runs, games) array.
        normalized: the scores are human-normalized; the optimality gap (the shortfall
            from the human score, 1) is computed only then.
        reps: bootstrap resamples.
    """
    _, metrics = _rliable()
    functions = {
        "mean": metrics.aggregate_mean,
        "median": metrics.aggregate_median,
        "iqm": metrics.aggregate_iqm,
        "optimality_gap": metrics.aggregate_optimality_gap,
    }
    if not normalized:
        del functions["optimality_gap"]

    def all_aggregates(array: np.ndarray) -> np.ndarray:
        return np.array([f(array) for f in functions.values()])

    result: dict[str, dict[str, Estimate]] = {}
    for group, array in scores.items():
        if len(array) < MIN_RUNS_FOR_INTERVALS:
            points = all_aggregates(array)
            result[group] = {
                name: (float(points[i]), None, None) for i, name in enumerate(functions)
            }
            continue
        points, intervals = _estimate(array, all_aggregates, reps=reps, seed=seed)
        result[group] = {
            name: (float(points[i]), float(intervals[0, i]), float(intervals[1, i]))
            for i, name in enumerate(functions)
        }
    return result


def improvement_probabilities(
    scores: dict[str, np.ndarray], *, reps: int, seed: int = 0
) -> dict[tuple[str, str], Interval]:
    """P(a run of X scores above a run of Y) for each ordered pair of groups of two runs
    or more, with its 95% CI (stratified independent bootstrap over the runs of both).
    A pair with a group of one run is left out: its P is 0, 1/2 or 1 with no spread."""
    _, metrics = _rliable()
    result = {}
    for x in scores:
        for y in scores:
            if x != y and min(len(scores[x]), len(scores[y])) >= MIN_RUNS_FOR_INTERVALS:
                pair = (scores[x], scores[y])
                point, interval = _estimate(
                    pair, metrics.probability_of_improvement, reps=reps, seed=seed
                )
                low, high = interval.ravel()
                result[(x, y)] = (float(point.ravel()[0]), float(low), float(high))
    return result


@dataclass
class GameDifference:
    """Two runs' evaluations compared game by game: mean(X) - mean(Y) in raw points with
    Welch's 95% confidence interval (unequal variances) and its p-value."""

    x: str
    y: str
    games: tuple[int, int]
    difference: Interval
    p_value: float

    @property
    def settled(self) -> bool:
        """The interval excludes 0: the sign of the difference is settled at 95%."""
        _, low, high = self.difference
        return low > 0 or high < 0


def game_differences(groups: dict[str, list[Run]]) -> list[GameDifference]:
    """Each pair of groups when every group is one run whose ``abnrl eval`` kept each
    game's score; none otherwise (with several seeds, runs are the unit of comparison)."""
    games = {name: runs[0].games for name, runs in groups.items() if len(runs) == 1}
    if len(games) != len(groups) or any(g is None or len(g) < 2 for g in games.values()):
        return []
    result = []
    for x, y in itertools.combinations(games, 2):
        a, b = np.asarray(games[x]), np.asarray(games[y])
        test = scipy.stats.ttest_ind(a, b, equal_var=False)
        interval = test.confidence_interval(0.95)
        difference = (float(a.mean() - b.mean()), float(interval.low), float(interval.high))
        result.append(GameDifference(x, y, (a.size, b.size), difference, float(test.pvalue)))
    return result


def _iqm_per_step(scores: np.ndarray) -> np.ndarray:
    """rliable's aggregate_iqm of (runs, games, steps) scores at each step at once."""
    return scipy.stats.trim_mean(scores.reshape(-1, scores.shape[-1]), 0.25, axis=0)


def iqm_curves(
    groups: dict[str, list[Run]],
    transform: Callable[[np.ndarray], np.ndarray],
    *,
    reps: int,
    seed: int = 0,
) -> dict[str, dict[str, list[float]]]:
    """Per group: the IQM over its runs of the evaluation score at each step that all its
    runs evaluated at, with a 95% CI band (``low``, ``high``) for groups of two runs or
    more."""
    curves = {}
    for name, runs in groups.items():
        steps = sorted(set.intersection(*(set(run.curve) for run in runs)))
        if not steps:
            continue
        array = transform(np.array([[run.curve[s] for s in steps] for run in runs]))[:, None, :]
        if len(runs) < MIN_RUNS_FOR_INTERVALS:
            curves[name] = {"steps": steps, "iqm": _iqm_per_step(array).tolist()}
            continue
        points, intervals = _estimate(array, _iqm_per_step, reps=reps, seed=seed)
        curves[name] = {
            "steps": steps,
            "iqm": points.tolist(),
            "low": intervals[0].tolist(),
            "high": intervals[1].tolist(),
        }
    return curves


@dataclass
class Comparison:
    """Everything ``abnrl compare`` reports."""

    game: str
    normalized: bool
    groups: dict[str, list[Run]]
    aggregates: dict[str, dict[str, Estimate]]
    improvement: dict[tuple[str, str], Interval]
    curves: dict[str, dict[str, list[float]]]
    differences: list[GameDifference]

    def to_json(self) -> dict:
        return {
            "game": self.game,
            "scores": "human-normalized" if self.normalized else "raw",
            "references": REFERENCE_SCORES.get(self.game),
            "groups": {
                name: {
                    "runs": [
                        {"run": str(r.root), "score": r.score, "source": r.score_source}
                        for r in runs
                    ],
                    "aggregates": {
                        k: dict(zip(("point", "low", "high"), v, strict=True))
                        for k, v in self.aggregates[name].items()
                    },
                }
                for name, runs in self.groups.items()
            },
            "probability_of_improvement": [
                {"x": x, "y": y, "point": p, "low": lo, "high": hi}
                for (x, y), (p, lo, hi) in self.improvement.items()
            ],
            "curves": self.curves,
            "per_game_differences": [
                {
                    "x": d.x,
                    "y": d.y,
                    "games": list(d.games),
                    **dict(zip(("difference", "low", "high"), d.difference, strict=True)),
                    "p_value": d.p_value,
                    "settled": d.settled,
                }
                for d in self.differences
            ],
        }


def compare(groups: dict[str, list[Run]], *, reps: int = 5_000, seed: int = 0) -> Comparison:
    """rliable's aggregates, improvement probabilities and curves of ``groups``."""
    game = groups[next(iter(groups))][0].config.get("game", "")
    normalize = normalizer(game)
    transform = normalize or (lambda scores: np.asarray(scores, dtype=float))
    scores = {
        name: transform(np.array([run.score for run in runs]))[:, None]
        for name, runs in groups.items()
    }
    return Comparison(
        game=game,
        normalized=normalize is not None,
        groups=groups,
        aggregates=aggregate_intervals(
            scores, normalized=normalize is not None, reps=reps, seed=seed
        ),
        improvement=improvement_probabilities(scores, reps=reps, seed=seed),
        curves=iqm_curves(groups, transform, reps=reps, seed=seed),
        differences=game_differences(groups),
    )
