"""What an agent's attention shows, measured against the game's objects read from the RAM.

Plays full games of the agent's game, any with an object reader
(``envs.objects.object_reader``), with a policy network (on the agent's protocol,
actions by ``abnrl.playing.ActionRule``, seeds apart from training's and evaluation's)
and, on every Nth agent step, scores maps of several sources against the objects
(``abnrl.analysis.scoring``). For the agent's own attention it also measures how much
the policy depends on its maps and statistics of the maps themselves
(``abnrl.analysis.dependence``), and what each head follows (``abnrl.analysis.heads``).

Every game is scored per object kind (``envs.objects.KINDS``: for Pong the ball, the
player's paddle and the enemy's; for Breakout the ball, the paddle (player) and the
brick rows (target)): pointing on the kind, with the map's maximum and the refined
peak, and the mass near it as a multiple of that region's area (``Analysis.objects``,
the summary's ``objects``). Beside them the metrics Breakout's analysis has always
had keep their names and values: the ball's (pointing, refined, on its path, mass
share) in any game with a ball, the paddle's pointing on Breakout alone, deletion and
insertion AUC everywhere; on Breakout, ``ball`` and ``player`` of the kind-keyed
measures are the same numbers as the ball and paddle metrics. What stays Breakout's
alone, its events around paddle and brick hits (``abnrl.analysis.events``), is skipped
on other games with a line in ``Analysis.skipped``; the ball's cell reference and the
ball's path need a game with a ball.

The parts: ``play`` (the games and their sampled steps), ``targets`` (the RAM's objects
as masks), ``sources`` (each source's maps), ``scoring``, ``dependence``, ``heads``,
``events`` (every step's maps around the game's events), ``summary`` (what was measured,
summed up); this module runs them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from abnrl.analysis.dependence import DEPENDENCE, TOP_CELLS, dependence, map_statistics
from abnrl.analysis.events import EVENTS_GAME
from abnrl.analysis.play import SEED, GameSamples, has_attention, play_sampled_games
from abnrl.analysis.scoring import (
    CURVE_STEPS,
    KIND_MEASURES,
    Scoring,
    game_metrics,
    score_kinds,
    score_maps,
    source_maps,
)
from abnrl.analysis.sources import ATTENTION, BALL_CELL, GRADCAM, PERTURBATION, RANDOM, head_source
from abnrl.analysis.summary import Analysis, Example
from abnrl.analysis.targets import FrameTargets, ball_box, frame_targets, kind_targets
from abnrl.media.explainers import agent_registration
from abnrl.media.peaks import PEAK_WINDOW
from abnrl.playing import ActionRule
from agents.actor_critic import ABNActorCritic
from envs.objects import OBSERVATION_SIZE, ObjectReader, object_reader
from vision.explain.registration import Placement, Registration


def pick_example(game: GameSamples, *, ball: bool = True) -> int | None:
    """The sampled step nearest the middle of the game, with the ball in play where the
    game has a ``ball``."""
    steps = [i for i, boxes in enumerate(game.boxes) if not ball or ball_box(boxes) is not None]
    if not steps:
        return None
    middle = len(game.boxes) / 2
    return min(steps, key=lambda i: abs(i - middle))


def default_sources(network: nn.Module, *, ball: bool = True) -> tuple[str, ...]:
    """Every source that applies: the own maps (and each head's) only with attention, the
    ball's cell only with attention and a game with a ``ball``."""
    if not has_attention(network):
        return (GRADCAM, PERTURBATION, RANDOM)
    heads = attention_grid(network)[0]
    per_head = tuple(head_source(k) for k in range(heads)) if heads > 1 else ()
    cell = (BALL_CELL,) if ball else ()
    return (ATTENTION, *per_head, *cell, GRADCAM, PERTURBATION, RANDOM)


def attention_grid(network: ABNActorCritic) -> tuple[int, int, int]:
    """(heads, h, w) of the network's attention maps."""
    device = next(network.parameters()).device
    observation = torch.zeros(1, 4, OBSERVATION_SIZE, OBSERVATION_SIZE, device=device)
    with torch.no_grad():
        heads, height, width = network(observation).attention.shape[1:]
    return heads, height, width


def _grid(network: nn.Module, placement: Placement) -> Registration | None:
    """Where the agent's own cells go: by their receptive fields, or evenly stretched."""
    if not has_attention(network):
        return None
    grid = agent_registration(network)
    return Registration.even(grid.grid, grid.size) if placement == "even" else grid


def _empty(sources: Sequence[str], own_maps: bool, reader: ObjectReader) -> Analysis:
    metrics = game_metrics(reader.game, reader.kinds)
    analysis = Analysis({s: {k: [] for k in metrics} for s in sources}, game=reader.game)
    for kind in reader.kinds:
        analysis.names[kind] = [name for name, of in reader.names.items() if of == kind]
        analysis.objects[kind] = {s: {m: [] for m in KIND_MEASURES} for s in sources}
        analysis.near_shares[kind] = []
    if own_maps and reader.game != EVENTS_GAME:
        analysis.skipped.append(
            f"events (paddle hits, brick hits, lost lives): Breakout's alone, not read on "
            f"{reader.game}"
        )
    if "ball" not in reader.kinds:
        analysis.skipped.append(
            f"the ball's metrics and the ball's cell: {reader.game} has no ball"
        )
    if own_maps:
        analysis.dependence = {d: {"action_change": [], "kl": []} for d in DEPENDENCE}
        statistics = ("mean", "entropy", f"top{TOP_CELLS}_mass", "change")
        analysis.map_statistics = {name: [] for name in statistics}
    return analysis


def _score_batch(
    analysis: Analysis,
    network: nn.Module,
    game: GameSamples,
    frames: slice,
    scoring: Scoring,
) -> dict[str, torch.Tensor]:
    """Score the game's sampled ``frames`` into ``analysis``; returns each source's maps."""
    device = next(network.parameters()).device
    observations = torch.from_numpy(np.stack(game.observations[frames])).to(device)
    actions = torch.tensor(game.actions[frames], device=device)
    targets = frame_targets(game.boxes[frames], scoring.radius, game.paths[frames])
    targets = FrameTargets(*(mask.to(device) for mask in targets))
    kinds = {
        kind: target.to(device)
        for kind, target in kind_targets(game.boxes[frames], scoring.radius, scoring.kinds).items()
    }
    analysis.disc_shares.extend(
        targets.ball_disc[targets.has_ball].flatten(1).float().mean(dim=1).tolist()
    )
    for kind, target in kinds.items():
        shares = target.near[target.present].flatten(1).float().mean(dim=1)
        analysis.near_shares[kind].extend(shares.tolist())
    with torch.no_grad():
        output = network(observations.float())  # one clean pass for every measure
    probabilities = output.action_logits.softmax(dim=1)
    analysis.action_probabilities.extend(probabilities.gather(1, actions[:, None])[:, 0].tolist())
    if has_attention(network):
        for name, measures in dependence(network, observations, output).items():
            for measure, frame_values in measures.items():
                analysis.dependence[name][measure].extend(frame_values.tolist())
        for name, frame_values in map_statistics(output).items():
            analysis.map_statistics[name].extend(frame_values.tolist())
        balls = targets.ball_centre.masked_fill(~targets.has_ball[:, None], float("nan"))
        assert scoring.grid is not None
        analysis.heads.add(
            network, observations, output, balls, targets.player_centre, scoring.grid
        )
    maps_of = {}
    for source in scoring.sources:
        maps, registration = source_maps(network, source, observations, actions, targets, scoring)
        analysis.registrations[source] = registration.as_dict()
        scored = score_maps(
            network,
            observations,
            actions,
            maps,
            targets,
            tolerance=scoring.tolerance,
            peak_window=scoring.peak_window,
            curve_steps=scoring.curve_steps,
            metrics=tuple(analysis.values[source]),
        )
        for metric, frame_values in scored.items():
            analysis.values[source][metric].extend(frame_values.tolist())
        per_kind = score_kinds(
            maps, kinds, tolerance=scoring.tolerance, peak_window=scoring.peak_window
        )
        for kind, measures in per_kind.items():
            for measure, frame_values in measures.items():
                analysis.objects[kind][source][measure].extend(frame_values.tolist())
        maps_of[source] = maps
    return maps_of


def _score_game(
    analysis: Analysis,
    network: nn.Module,
    game: GameSamples,
    scoring: Scoring,
    *,
    batch: int,
    with_example: bool,
) -> None:
    """Add a played game to ``analysis``: its score, its sampled frames' measures and, when
    ``with_example``, the frame of the examples figure."""
    if game.trace is not None:
        analysis.traces.append(game.trace)
    if has_attention(network):
        analysis.map_statistics["change"].extend(game.map_changes)
    analysis.scores.append(game.score)
    analysis.steps.append(game.steps)
    example = pick_example(game, ball="ball" in scoring.kinds) if with_example else None
    for start in range(0, len(game.observations), batch):
        maps_of = _score_batch(analysis, network, game, slice(start, start + batch), scoring)
        if example is not None and start <= example < start + batch:
            maps = {source: maps[example - start].cpu().numpy() for source, maps in maps_of.items()}
            ball = ball_box(game.boxes[example])  # in play, in a game with a ball
            analysis.examples.append(Example(game.frames[example], ball, maps))


def _check_references(network: nn.Module, reader: ObjectReader, sources: Sequence[str]) -> None:
    """Refuse a reference source that this network or game cannot have."""
    if BALL_CELL in sources and not has_attention(network):
        raise ValueError(f"The {BALL_CELL!r} reference needs an agent with attention maps.")
    if BALL_CELL in sources and "ball" not in reader.kinds:
        raise ValueError(
            f"The {BALL_CELL!r} reference needs a game with a ball, not {reader.game}."
        )


def analyse(
    network: nn.Module,
    *,
    game: str,
    protocol: str,
    episodes: int,
    every: int,
    max_steps_per_game: int,
    sources: Sequence[str],
    seed: int = SEED,
    radius: float = 8.0,
    tolerance: float = 4.0,
    peak_window: int = PEAK_WINDOW,
    curve_steps: int = CURVE_STEPS,
    batch: int = 32,
    examples: int = 3,
    placement: Placement = "registered",
    log: Callable[[str], object] | None = None,
) -> Analysis:
    """Play ``episodes`` games with ``network`` and score each source's maps on sampled steps.

    Args:
        network: the policy network (``agents.policy_view.policy_network``); with
            attention of its own for the ``attention`` sources, the dependence test and
            the map statistics.
        game: the game the agent plays; any with an object reader
            (``envs.objects.object_reader``), whose objects are read from the RAM.
        protocol: the rules the games are played by (the agent's own).
        episodes: games played, seeds ``seed``, ``seed + 1``, ...
        every: score every ``every``-th agent step.
        max_steps_per_game: cap on a game's agent steps.
        sources: which map sources to score (``default_sources(network)``).
        seed: seed of the first game; also seeds the action rule and the random maps.
        radius: radius of the disc around the ball (and around each object, for the mass
            near its kind) in observation pixels.
        tolerance: the pointing game's tolerance in observation pixels.
        peak_window: half-width in pixels of the square whose centre of mass is the
            refined peak (``vision.explain.map_peaks``) of the refined pointing.
        curve_steps: points of each deletion and insertion curve after the first; 0
            skips both curves (most of the cost), leaving their metrics without values.
        batch: frames explained together.
        examples: games (the first ones) that give a frame to the examples figure.
        placement: ``registered``: coarse maps (the agent's, Grad-CAM's, the ball's cell)
            placed where their cells look (``vision.explain.registration``); ``even``:
            stretched evenly over the observation, as explainer libraries do.
        log: called with a line per game.

    Raises:
        ValueError: the game has no object reader (the message names those that do), or
            a reference the network or game cannot have is asked for.
    """
    reader = object_reader(game)
    _check_references(network, reader, sources)
    grid = _grid(network, placement)
    noise = torch.Generator().manual_seed(seed + 1)
    scoring = Scoring(
        sources, radius, tolerance, peak_window, curve_steps, placement, grid, noise, reader.kinds
    )
    analysis = _empty(sources, has_attention(network), reader)
    games = play_sampled_games(
        network,
        game=reader.game,
        protocol=protocol,
        seed=seed,
        episodes=episodes,
        every=every,
        max_steps=max_steps_per_game,
        rule=ActionRule.for_network(network, seed, deterministic=False),
        registration=grid,
    )
    started = time.perf_counter()
    for index, played in enumerate(games):
        _score_game(analysis, network, played, scoring, batch=batch, with_example=index < examples)
        if log is not None:
            log(
                f"game {index + 1}/{episodes}: score {played.score:.0f}, {played.steps} steps, "
                f"{len(played.observations)} frames scored, {time.perf_counter() - started:.0f} s"
            )
        started = time.perf_counter()
    return analysis
