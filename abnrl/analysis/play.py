"""The games an attention analysis scores: played by ``abnrl.playing`` on the agent's
game and protocol, every Nth agent step kept with the RAM's objects; with the agent's
own maps, every step's map statistics too (``abnrl.analysis.events``)."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass, field
from typing import TypeGuard

import numpy as np
from torch import Tensor, nn

from abnrl.analysis.dependence import as_distribution
from abnrl.analysis.events import GameTrace, step_statistics
from abnrl.analysis.targets import ball_box, paddle_box
from abnrl.playing import ActionRule, play_games
from agents.actor_critic import ABNActorCritic
from envs.objects import Box, breakout_objects
from vision.explain.registration import Registration

SEED = 20_000
"""First game's seed; training uses 0 on, ``abnrl eval`` 10,000 on."""
PATH_STEPS = 8
"""Agent steps (32 frames, about half a second of play) of the ball's path target."""


@dataclass
class GameSamples:
    """The sampled agent steps of one game."""

    observations: list[np.ndarray] = field(default_factory=list)
    """uint8 (4, 84, 84) each."""
    actions: list[int] = field(default_factory=list)
    """The action the agent took there."""
    boxes: list[list[Box]] = field(default_factory=list)
    """The RAM's object boxes, in 210x160 frame pixels."""
    paths: list[list[Box]] = field(default_factory=list)
    """The ball's boxes at that step and the ``PATH_STEPS - 1`` after it (while in play)."""
    frames: list[np.ndarray] = field(default_factory=list)
    """The last colour frame (210, 160, 3) the observation covers."""
    map_changes: list[float] = field(default_factory=list)
    """Total variation between the attention maps of consecutive agent steps (all steps)."""
    score: float = 0.0
    steps: int = 0
    trace: GameTrace = field(default_factory=GameTrace)
    """Every step's map statistics and objects, for the event-locked averages."""


def has_attention(network: nn.Module) -> TypeGuard[ABNActorCritic]:
    """Whether the network computes attention maps of its own."""
    return isinstance(network, ABNActorCritic)


def play_sampled_games(
    network: nn.Module,
    *,
    protocol: str,
    seed: int,
    episodes: int,
    every: int,
    max_steps: int,
    rule: ActionRule,
    registration: Registration | None = None,
) -> Generator[GameSamples, None, None]:
    """Play ``episodes`` full Breakout games (all lives; game ``i`` seeded ``seed + i``) on
    ``protocol`` and yield each game's every ``every``-th agent step; with the agent's own
    maps (placed by ``registration``), trace every step (``GameTrace``)."""
    own_maps = has_attention(network)
    game = GameSamples()
    balls: list[Box | None] = []  # the ball at every step, for the path targets
    previous: Tensor | None = None  # the previous step's map
    steps = play_games(
        network,
        "breakout",
        protocol=protocol,
        rule=rule,
        seed=seed,
        episodes=episodes,
        max_steps=max_steps,
    )
    with closing(steps):
        for step in steps:
            if own_maps:
                current = as_distribution(step.output.attention.mean(dim=1))  # (1, h, w)
                if previous is not None:
                    game.map_changes.append(0.5 * float((current - previous).abs().sum()))
                previous = current
            boxes = breakout_objects(step.ram)
            balls.append(ball_box(boxes))
            if step.step % every == 0:
                game.observations.append(step.observation[0].cpu().numpy())
                game.actions.append(step.action)
                game.boxes.append(boxes)
                game.frames.append(step.frame)
            if own_maps and registration is not None:
                statistics = step_statistics(step.output.attention[0], registration)
                game.trace.add(statistics, balls[-1], paddle_box(boxes), step.reward, step.lives)
            game.score += step.reward
            game.steps += 1
            if step.last:
                game.paths = [
                    [ball for ball in balls[start : start + PATH_STEPS] if ball is not None]
                    for start in range(0, game.steps, every)
                ]
                yield game
                game, balls, previous = GameSamples(), [], None
