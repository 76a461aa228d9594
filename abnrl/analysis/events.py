"""How the agent's maps change around the game's events: the survey's Figure 5, measured.

The survey shows ABN maps of an Atari agent that react strongly in the scenes before a
score: the ball bouncing off the paddle, and the ball bouncing behind the bricks. Here,
on every agent step of the analysed games: how concentrated the mean map is (the mass of
its top 5 cells, its normalized entropy, its largest cell's share) and where it is (the
distance of its centre of mass, each cell at its registered centre, to the ball and to
the paddle). Breakout's events (no other game's) are read from its RAM and rewards:

* ``paddle hit``: the ball turns from falling to rising within 12 frame pixels of the
  paddle's top;
* ``brick hit``: a step with a reward;
* ``brick hit, ball above the bricks``: a brick hit with the ball above the top brick
  row (it went through a tunnel);
* ``life lost``: the console's life count drops.

Each statistic is averaged over events from ``BEFORE`` agent steps before to ``AFTER``
after, against the same statistic at random steps of the same games (mean and a 95%
band over ``RANDOM_DRAWS`` draws of as many random steps as there are events).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from torch import Tensor

from agents.maps import as_distributions, normalized_entropy
from envs.objects import BRICK_ORIGIN, PADDLE_TOP, Box, to_observation
from vision.explain.registration import Registration

EVENTS_GAME = "breakout"
"""The game whose events are read: its paddle, bricks and ball, in its RAM's layout."""
BEFORE, AFTER = 16, 8
"""Agent steps shown before and after each event."""
RANDOM_DRAWS = 200
EVENTS = ("paddle hit", "brick hit", "brick hit, ball above the bricks", "life lost")
STATISTICS = ("top5_mass", "entropy", "peak", "ball_distance", "paddle_distance")
PADDLE_REACH = 12
"""Frame pixels above the paddle's top within which a turning ball has hit the paddle."""


def step_statistics(heads: Tensor, registration: Registration) -> dict[str, float]:
    """The mean map's concentration and its centre of mass (x, y) in observation pixels,
    for one step's (K, h, w) maps."""
    distribution = as_distributions(heads.float().mean(dim=0).clamp_min(0))  # (h * w,)
    height, width = heads.shape[-2:]
    grid = distribution.view(height, width)
    xs = registration.centres(1, grid.device) + 0.5  # a pixel's centre at +0.5
    ys = registration.centres(0, grid.device) + 0.5
    return {
        "top5_mass": float(distribution.topk(min(5, len(distribution))).values.sum()),
        "entropy": float(normalized_entropy(distribution)),
        "peak": float(distribution.max()),
        "x": float((grid.sum(dim=0) * xs).sum()),
        "y": float((grid.sum(dim=1) * ys).sum()),
    }


@dataclass
class GameTrace:
    """One game, every agent step: the map's statistics and what the RAM says."""

    statistics: list[dict[str, float]] = field(default_factory=list)
    balls: list[Box | None] = field(default_factory=list)
    """The ball's box in frame pixels, None while not in play."""
    paddles: list[Box] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    lives: list[int] = field(default_factory=list)
    """The life count after the step."""

    def add(
        self, statistics: dict[str, float], ball: Box | None, paddle: Box, reward: float, lives: int
    ) -> None:
        self.statistics.append(statistics)
        self.balls.append(ball)
        self.paddles.append(paddle)
        self.rewards.append(reward)
        self.lives.append(lives)

    def events(self) -> dict[str, list[int]]:
        """Event -> the steps at which it happened."""
        found: dict[str, list[int]] = {name: [] for name in EVENTS}
        for step, (ball, reward) in enumerate(zip(self.balls, self.rewards, strict=True)):
            if reward > 0:
                found["brick hit"].append(step)
                if ball is not None and ball.y1 < BRICK_ORIGIN[1]:
                    found["brick hit, ball above the bricks"].append(step)
            if step and self.lives[step] < self.lives[step - 1]:
                found["life lost"].append(step)
            if 0 < step < len(self.balls) - 1 and _turns_up_at_paddle(
                self.balls[step - 1], ball, self.balls[step + 1]
            ):
                found["paddle hit"].append(step)
        return found

    def series(self, name: str) -> np.ndarray:
        """One statistic per step; distances in observation pixels (NaN without a ball)."""
        if name in ("ball_distance", "paddle_distance"):
            objects = self.balls if name == "ball_distance" else self.paddles
            values = []
            for stats, box in zip(self.statistics, objects, strict=True):
                if box is None:
                    values.append(np.nan)
                    continue
                (seen,) = to_observation([box])
                centre = ((seen.x0 + seen.x1) / 2, (seen.y0 + seen.y1) / 2)
                values.append(float(np.hypot(stats["x"] - centre[0], stats["y"] - centre[1])))
            return np.asarray(values)
        return np.asarray([stats[name] for stats in self.statistics])


def _turns_up_at_paddle(before: Box | None, now: Box | None, after: Box | None) -> bool:
    if before is None or now is None or after is None:
        return False
    falling, rising = now.y0 > before.y0, after.y0 < now.y0
    return falling and rising and now.y1 >= PADDLE_TOP - PADDLE_REACH


def event_locked(
    games: Sequence[GameTrace], *, seed: int = 0
) -> dict[str, dict[str, dict[str, list[float | None]] | int]]:
    """Event -> {"events": count, statistic -> {"mean", "random_mean", "random_low",
    "random_high"} per offset from -BEFORE to +AFTER}; events whose window leaves the game
    are left out."""
    rng = np.random.default_rng(seed)
    offsets = np.arange(-BEFORE, AFTER + 1)
    series = {name: [game.series(name) for game in games] for name in STATISTICS}
    valid = [  # (game, step) pairs whose whole window lies in the game
        (g, s) for g, game in enumerate(games) for s in range(BEFORE, len(game.rewards) - AFTER)
    ]
    result: dict = {}
    for event in EVENTS:
        steps = [
            (g, s)
            for g, game in enumerate(games)
            for s in game.events()[event]
            if BEFORE <= s < len(game.rewards) - AFTER
        ]
        entry: dict = {"events": len(steps)}
        for name in STATISTICS:
            windows = _windows(series[name], steps, offsets)
            draws = []
            if steps and valid:
                for _ in range(RANDOM_DRAWS):
                    picked = [valid[i] for i in rng.integers(len(valid), size=len(steps))]
                    draws.append(_nanmean(_windows(series[name], picked, offsets)))
            random = np.asarray(draws) if draws else np.full((1, len(offsets)), np.nan)
            entry[name] = {
                "mean": _listed(_nanmean(windows)),
                "random_mean": _listed(_nanmean(random)),
                "random_low": _listed(_percentile(random, 2.5)),
                "random_high": _listed(_percentile(random, 97.5)),
            }
        result[event] = entry
    return result


def _windows(series: list[np.ndarray], steps: list[tuple[int, int]], offsets: np.ndarray):
    """(events, offsets) values of each (game, step)'s window."""
    if not steps:
        return np.full((1, len(offsets)), np.nan)
    return np.stack([series[g][s + offsets] for g, s in steps])


def _nanmean(values: np.ndarray) -> np.ndarray:
    counts = (~np.isnan(values)).sum(axis=0)
    return np.where(counts > 0, np.nansum(values, axis=0) / np.maximum(counts, 1), np.nan)


def _percentile(values: np.ndarray, q: float) -> np.ndarray:
    """Per column, the ``q``-th percentile of its finite values (NaN where none)."""
    return np.array(
        [np.percentile(c[~np.isnan(c)], q) if (~np.isnan(c)).any() else np.nan for c in values.T]
    )


def _listed(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else round(float(v), 5) for v in values]


def reacts(entry: dict, name: str) -> float | None:
    """How far the event-locked mean leaves the random band over the window before the
    event (steps -BEFORE..0): the largest excess over the band's edge, signed (+ above,
    - below), in the statistic's units; 0 inside the band; None without events."""
    stats = entry[name]
    excess = []
    for mean, low, high in zip(
        stats["mean"][: BEFORE + 1],
        stats["random_low"][: BEFORE + 1],
        stats["random_high"][: BEFORE + 1],
        strict=True,
    ):
        if mean is None or low is None or high is None:
            continue
        excess.append(mean - high if mean > high else mean - low if mean < low else 0.0)
    return max(excess, key=abs) if excess else None
