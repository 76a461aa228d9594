"""The games an attention analysis scores: played by ``abnrl.playing`` on the agent's
game and protocol, every Nth agent step kept with the objects its reader
(``envs.objects.object_reader``) finds in the RAM; on Breakout, with the agent's own
maps, every step's map statistics too (``abnrl.analysis.events``)."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass, field
from typing import TypeGuard

import numpy as np
from torch import Tensor, nn

from abnrl.analysis.dependence import as_distribution
from abnrl.analysis.events import EVENTS_GAME, GameTrace, step_statistics
from abnrl.analysis.targets import ball_box, player_box
from abnrl.playing import ActionRule, play_games
from agents.actor_critic import ABNActorCritic
from envs.objects import GameObject, object_reader
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
    boxes: list[list[GameObject]] = field(default_factory=list)
    """The RAM's objects, in 210x160 frame pixels."""
    paths: list[list[GameObject]] = field(default_factory=list)
    """The ball's boxes at that step and the ``PATH_STEPS - 1`` after it (while in play)."""
    frames: list[np.ndarray] = field(default_factory=list)
    """The last colour frame (210, 160, 3) the observation covers."""
    map_changes: list[float] = field(default_factory=list)
    """Total variation between the attention maps of consecutive agent steps (all steps)."""
    score: float = 0.0
    steps: int = 0
    trace: GameTrace | None = None
    """Every step's map statistics and objects, for the event-locked averages (Breakout,
    the agent's own maps); None where the events are not read."""


def has_attention(network: nn.Module) -> TypeGuard[ABNActorCritic]:
    """Whether the network computes attention maps of its own."""
    return isinstance(network, ABNActorCritic)


def play_sampled_games(
    network: nn.Module,
    *,
    game: str,
    protocol: str,
    seed: int,
    episodes: int,
    every: int,
    max_steps: int,
    rule: ActionRule,
    registration: Registration | None = None,
) -> Generator[GameSamples, None, None]:
    """Play ``episodes`` full games of ``game`` (the agent's;
    all lives; game ``i`` seeded ``seed + i``) on ``protocol`` and yield each game's
    every ``every``-th agent step with its objects (``game`` needs an object reader); on
    Breakout with the agent's own maps (placed by ``registration``), trace every step
    (``GameTrace``)."""
    own_maps = has_attention(network)
    reader = object_reader(game)
    traced = own_maps and registration is not None and reader.game == EVENTS_GAME
    samples = GameSamples(trace=GameTrace() if traced else None)
    balls: list[GameObject | None] = []  # the ball at every step, for the path targets
    previous: Tensor | None = None  # the previous step's map
    steps = play_games(
        network,
        reader.game,
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
                    samples.map_changes.append(0.5 * float((current - previous).abs().sum()))
                previous = current
            objects = reader(step.ram)
            balls.append(ball_box(objects))
            if step.step % every == 0:
                samples.observations.append(step.observation[0].cpu().numpy())
                samples.actions.append(step.action)
                samples.boxes.append(objects)
                samples.frames.append(step.frame)
            if samples.trace is not None:
                assert registration is not None
                statistics = step_statistics(step.output.attention[0], registration)
                player = player_box(objects)
                assert player is not None  # Breakout's paddle is always on the screen
                ball = balls[-1]
                samples.trace.add(
                    statistics,
                    None if ball is None else ball.box,
                    player.box,
                    step.reward,
                    step.lives,
                )
            samples.score += step.reward
            samples.steps += 1
            if step.last:
                samples.paths = [
                    [ball for ball in balls[start : start + PATH_STEPS] if ball is not None]
                    for start in range(0, samples.steps, every)
                ]
                yield samples
                samples = GameSamples(trace=GameTrace() if traced else None)
                balls, previous = [], None
