"""What an agent's attention shows, measured against the game's objects read from the RAM.

Plays full Breakout games with a policy network (classic protocol, actions sampled
from the policy, seeds apart from training's and evaluation's) and, on every Nth
agent step, scores maps of several sources against the ball and paddle boxes:

* pointing game (Zhang et al., ECCV 2016): the map's maximum within ``tolerance``
  observation pixels of the ball (frames with the ball in play) or of the paddle;
  and of the ball's path: anywhere the ball is over the next ``PATH_STEPS`` agent
  steps (a map that looks where the ball is going, e.g. where it will meet a wall or
  the paddle, hits this target and misses the ball's present place);
* ball mass share: the map's mass within ``radius`` pixels of the ball centre,
  against that disc's share of the image area (what a flat map would get);
* deletion and insertion AUC (Petsiuk et al., BMVC 2018) of the chosen action's
  probability: deleting (zeroing) the most salient pixels first, lower is better;
  inserting them into a blurred frame first, higher is better.

For the agent's own attention it also measures **dependence**: how often the most
probable action changes, and the mean KL divergence of the policy, when the maps
are replaced by their spatial mean or by the maps of another frame; and statistics
of the maps themselves: the per-frame mean and its spread over frames, the entropy
(1 for a flat map), the mass of the top 5 cells and the change between consecutive
agent steps (total variation between the maps read as distributions); and what each
head follows (``abnrl.analysis.heads``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, TypeGuard

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from abnrl.analysis.events import GameTrace, event_locked, step_statistics
from abnrl.analysis.heads import HeadTracks
from abnrl.analysis.sources import (
    ATTENTION,
    BALL_CELL,
    GRADCAM,
    PERTURBATION,
    RANDOM,
    explain,
    head_source,
)
from abnrl.media.explainers import agent_registration
from abnrl.media.peaks import PEAK_WINDOW
from agents.actor_critic import ABNActorCritic, ABNPolicyOutput
from agents.maps import normalized_entropy
from envs import emulator, make_env
from envs.objects import OBSERVATION_SIZE, Box, breakout_objects, to_observation
from vision.explain import (
    ActionTarget,
    box_regions,
    deletion,
    insertion,
    pointing_game,
)
from vision.explain.registration import Placement, Registration

SEED = 20_000
"""First game's seed; training uses 0 on, ``abnrl eval`` 10,000 on."""
METRICS = (
    "ball_pointing",
    "ball_pointing_refined",
    "ball_path_pointing",
    "paddle_pointing",
    "ball_mass_share",
    "deletion_auc",
    "insertion_auc",
)
DEPENDENCE = ("mean_map", "other_frame")
"""What the agent's maps are replaced by in the dependence test."""
TOP_CELLS = 5
PATH_STEPS = 8
"""Agent steps (32 frames, about half a second of play) of the ball's path target."""
CURVE_STEPS = 50
"""Points of each deletion and insertion curve after the first."""


@dataclass
class GameSamples:
    """The sampled agent steps of one game."""

    observations: list[np.ndarray] = field(default_factory=list)
    """uint8 (4, 84, 84) each."""
    actions: list[int] = field(default_factory=list)
    """The action the agent took there (sampled from its policy)."""
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


class FrameTargets(NamedTuple):
    """Where the objects are in a batch of observations, as (N, 84, 84) masks."""

    has_ball: Tensor
    """(N,) bool: the ball is in play."""
    ball: Tensor
    """Pixels inside the ball box (all False without a ball)."""
    ball_disc: Tensor
    """Pixels within the radius of the ball centre (all False without a ball)."""
    paddle: Tensor
    """Pixels inside the paddle box."""
    ball_centre: Tensor
    """(N, 2) the ball's centre (x, y) in observation pixels (0 without a ball)."""
    ball_path: Tensor
    """Pixels inside any of the ball's boxes over the next ``PATH_STEPS`` agent steps."""
    paddle_centre: Tensor
    """(N, 2) the paddle's centre (x, y) in observation pixels."""


class Example(NamedTuple):
    """One frame for the examples figure."""

    frame: np.ndarray
    """(210, 160, 3) colour frame."""
    ball: Box
    """Ball box in frame pixels."""
    maps: dict[str, np.ndarray]
    """Source -> (84, 84) map in [0, 1]."""


@dataclass
class Analysis:
    """Per-frame values of each source's metrics, the dependence tests, and what was played."""

    values: dict[str, dict[str, list[float]]]
    """Source -> metric -> one value per scored frame (ball metrics: ball frames only)."""
    dependence: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    """Replacement -> {"action_change", "kl"} -> one value per scored frame (own maps only)."""
    map_statistics: dict[str, list[float]] = field(default_factory=dict)
    """Statistic -> one value per scored frame (per step for ``change``), own maps only."""
    disc_shares: list[float] = field(default_factory=list)
    """Per ball frame, the disc's share of the image area."""
    action_probabilities: list[float] = field(default_factory=list)
    """Per frame, the chosen action's probability on the clean observation."""
    heads: HeadTracks = field(default_factory=HeadTracks)
    """What each head of the agent's own maps follows (own maps only)."""
    scores: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    traces: list[GameTrace] = field(default_factory=list)
    """Per game, every step's map statistics and objects (own maps only)."""
    registrations: dict[str, dict] = field(default_factory=dict)
    """Source -> where its maps' cells were placed (``Registration.as_dict``)."""


def has_attention(network: nn.Module) -> TypeGuard[ABNActorCritic]:
    """Whether the network computes attention maps of its own."""
    return isinstance(network, ABNActorCritic)


def as_distribution(maps: Tensor) -> Tensor:
    """(B, h, w) maps scaled to sum to 1 each (a flat map where one sums to 0)."""
    flat = maps.flatten(1).clamp_min(0)
    total = flat.sum(dim=1, keepdim=True)
    uniform = torch.full_like(flat, 1.0 / flat.shape[1])
    return torch.where(total > 0, flat / total.clamp_min(1e-12), uniform).view_as(maps)


def play_game(
    network: nn.Module,
    seed: int,
    *,
    every: int,
    max_steps: int,
    generator: torch.Generator,
    registration: Registration | None = None,
    protocol: str = "classic",
) -> GameSamples:
    """Play one full Breakout game (all lives) and keep every ``every``-th agent step; with
    the agent's own maps (placed by ``registration``), trace every step (``GameTrace``)."""
    env = make_env("breakout", protocol=protocol, seed=seed)
    observation, info = env.reset(seed=seed)
    frame = info["frames"][-1]
    game = GameSamples()
    own_maps = has_attention(network)
    previous = None
    balls: list[Box | None] = []  # the ball at every step, for the path targets
    done = False
    while not done and game.steps < max_steps:
        with torch.no_grad():
            output = network(torch.from_numpy(observation)[None])
        action = int(torch.multinomial(output.action_logits.softmax(dim=1), 1, generator=generator))
        if own_maps:
            current = as_distribution(output.attention.mean(dim=1))  # (1, h, w)
            if previous is not None:
                game.map_changes.append(0.5 * float((current - previous).abs().sum()))
            previous = current
        boxes = breakout_objects(emulator(env).ale.getRAM())
        balls.append(ball_box(boxes))
        if game.steps % every == 0:
            game.observations.append(observation)
            game.actions.append(action)
            game.boxes.append(boxes)
            game.frames.append(frame)
        observation, reward, terminated, truncated, info = env.step(action)
        if own_maps and registration is not None:
            statistics = step_statistics(output.attention[0], registration)
            game.trace.add(statistics, balls[-1], paddle_box(boxes), float(reward), info["lives"])
        frame = info["frames"][-1]
        game.score += float(reward)
        game.steps += 1
        done = terminated or truncated
    env.close()
    game.paths = [
        [ball for ball in balls[step : step + PATH_STEPS] if ball is not None]
        for step in range(0, game.steps, every)
    ]
    return game


def ball_box(boxes: Sequence[Box]) -> Box | None:
    return next((box for box in boxes if box.label == "ball"), None)


def paddle_box(boxes: Sequence[Box]) -> Box:
    return next(box for box in boxes if box.label == "paddle")


def frame_targets(
    frame_boxes: Sequence[Sequence[Box]],
    radius: float,
    paths: Sequence[Sequence[Box]] | None = None,
) -> FrameTargets:
    """Ball and paddle masks in observation pixels for each frame's RAM boxes, and the
    ball's path from each frame's ``paths`` (the ball's present box alone when None)."""
    size = (OBSERVATION_SIZE, OBSERVATION_SIZE)
    centres = torch.arange(OBSERVATION_SIZE, dtype=torch.float32) + 0.5
    no_box = torch.full((4,), -1.0)  # a box no pixel centre lies in
    has_ball, ball, discs, paddle, centres_xy = [], [], [], [], []
    for boxes in frame_boxes:
        observed = to_observation(list(boxes))
        ball_in_obs = ball_box(observed)
        paddle.append(torch.tensor(paddle_box(observed)[1:]))
        has_ball.append(ball_in_obs is not None)
        if ball_in_obs is None:
            ball.append(no_box)
            discs.append(torch.zeros(size, dtype=torch.bool))
            centres_xy.append((0.0, 0.0))
            continue
        ball.append(torch.tensor(ball_in_obs[1:]))
        centre_x = (ball_in_obs.x0 + ball_in_obs.x1) / 2
        centre_y = (ball_in_obs.y0 + ball_in_obs.y1) / 2
        centres_xy.append((centre_x, centre_y))
        squared = (centres[:, None] - centre_y) ** 2 + (centres[None, :] - centre_x) ** 2
        discs.append(squared <= radius**2)  # (84, 84)
    if paths is None:
        paths = [[b] if (b := ball_box(boxes)) is not None else [] for boxes in frame_boxes]
    path_boxes = [
        torch.tensor([box[1:] for box in to_observation(list(path))] or [no_box.tolist()])
        for path in paths
    ]
    paddles = torch.stack(paddle)  # (N, 4): x0, y0, x1, y1
    return FrameTargets(
        torch.tensor(has_ball),
        box_regions(torch.stack(ball), size),
        torch.stack(discs),
        box_regions(paddles, size),
        torch.tensor(centres_xy, dtype=torch.float32).view(-1, 2),
        box_regions(path_boxes, size),
        (paddles[:, :2] + paddles[:, 2:]).float() / 2,
    )


def ball_cell(targets: FrameTargets, registration: Registration) -> tuple[Tensor, Tensor]:
    """(rows, cols): the cell of the agent's grid whose centre (``registration``) is
    nearest each frame's ball centre."""
    centre = targets.ball_centre - 0.5  # pixel-index coordinates, as registrations use
    return registration.cell_of(centre[:, 1], centre[:, 0])


def ball_cell_maps(targets: FrameTargets, registration: Registration) -> Tensor:
    """(N, 84, 84) maps made on the agent's grid: 1 in the cell nearest the ball's
    centre, 0 elsewhere, flat in frames without the ball; placed as the agent's own maps
    are (``registration``)."""
    height, width = registration.grid
    rows, cols = ball_cell(targets, registration)
    maps = torch.zeros(len(rows), height, width, device=targets.ball_centre.device)
    maps[torch.arange(len(rows)), rows, cols] = 1.0
    maps[~targets.has_ball] = 1.0
    return registration.place(maps)


def score_maps(
    network: nn.Module,
    observations: Tensor,
    actions: Tensor,
    maps: Tensor,
    targets: FrameTargets,
    *,
    tolerance: float,
    peak_window: int,
    curve_steps: int,
) -> dict[str, Tensor]:
    """Each metric's per-frame values; ball metrics only over frames with the ball; no
    deletion and insertion AUC when ``curve_steps`` is 0."""
    mass = maps.flatten(1).sum(dim=1).clamp_min(torch.finfo(maps.dtype).tiny)
    near_ball = (maps * targets.ball_disc).flatten(1).sum(dim=1) / mass
    target = ActionTarget(actions, probability=True)
    curves = {
        name: curve(network, observations, maps, target, steps=curve_steps, batch_size=256)
        for name, curve in (("deletion_auc", deletion), ("insertion_auc", insertion))
        if curve_steps > 0
    }
    ball = targets.has_ball
    return {
        "ball_pointing": pointing_game(maps, targets.ball, tolerance=tolerance)[ball].float(),
        "ball_pointing_refined": pointing_game(
            maps, targets.ball, tolerance=tolerance, window=peak_window
        )[ball].float(),
        "ball_path_pointing": pointing_game(maps, targets.ball_path, tolerance=tolerance)[
            ball
        ].float(),
        "paddle_pointing": pointing_game(maps, targets.paddle, tolerance=tolerance).float(),
        "ball_mass_share": near_ball[ball],
        **{name: curve.auc for name, curve in curves.items()},
    }


def dependence(
    network: ABNActorCritic, observations: Tensor, output: ABNPolicyOutput
) -> dict[str, dict[str, Tensor]]:
    """Per frame: does the top action change, and KL(policy || edited policy), when the
    maps are replaced by their spatial mean or by the maps of another frame (``output``:
    the network's on the observations as they are)."""
    edits = {
        "mean_map": lambda maps: maps.mean(dim=(2, 3), keepdim=True).expand_as(maps),
        "other_frame": lambda maps: maps.roll(1, dims=0),  # the previous sampled frame's
    }
    clean = output.action_logits.log_softmax(dim=-1)
    with torch.no_grad():
        results = {}
        for name, edit in edits.items():
            edited = network(observations, edit_maps=edit).action_logits.log_softmax(dim=-1)
            results[name] = {
                "action_change": (edited.argmax(-1) != clean.argmax(-1)).float(),
                "kl": F.kl_div(edited, clean, log_target=True, reduction="none").sum(-1),
            }
    return results


def map_statistics(output: ABNPolicyOutput) -> dict[str, Tensor]:
    """Per frame of a network's ``output``: the map's mean value, its normalized entropy,
    the top cells' mass."""
    maps = output.attention.mean(dim=1)  # (N, h, w), heads averaged
    distribution = as_distribution(maps).flatten(1)
    top = distribution.topk(min(TOP_CELLS, distribution.shape[1]), dim=1).values.sum(dim=1)
    return {
        "mean": maps.flatten(1).mean(dim=1),
        "entropy": normalized_entropy(distribution),
        f"top{TOP_CELLS}_mass": top,
    }


def pick_example(game: GameSamples) -> int | None:
    """The sampled step with the ball in play nearest the middle of the game."""
    with_ball = [i for i, boxes in enumerate(game.boxes) if ball_box(boxes) is not None]
    if not with_ball:
        return None
    middle = len(game.boxes) / 2
    return min(with_ball, key=lambda i: abs(i - middle))


def default_sources(network: nn.Module) -> tuple[str, ...]:
    """Every source that applies: the own maps (and each head's) only with attention."""
    if not has_attention(network):
        return (GRADCAM, PERTURBATION, RANDOM)
    heads = attention_grid(network)[0]
    per_head = tuple(head_source(k) for k in range(heads)) if heads > 1 else ()
    return (ATTENTION, *per_head, BALL_CELL, GRADCAM, PERTURBATION, RANDOM)


def attention_grid(network: ABNActorCritic) -> tuple[int, int, int]:
    """(heads, h, w) of the network's attention maps."""
    device = next(network.parameters()).device
    observation = torch.zeros(1, 4, OBSERVATION_SIZE, OBSERVATION_SIZE, device=device)
    with torch.no_grad():
        heads, height, width = network(observation).attention.shape[1:]
    return heads, height, width


def analyse(
    network: nn.Module,
    *,
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
    protocol: str = "classic",
    log=None,
) -> Analysis:
    """Play ``episodes`` games with ``network`` and score each source's maps on sampled steps.

    Args:
        network: the policy network (``agents.policy_view.policy_network``); with
            attention of its own for the ``attention`` sources, the dependence test and
            the map statistics.
        episodes: games played, seeds ``seed``, ``seed + 1``, ...
        every: score every ``every``-th agent step.
        max_steps_per_game: cap on a game's agent steps.
        sources: which map sources to score (``default_sources(network)``).
        seed: seed of the first game; also seeds action sampling and the random maps.
        radius: radius of the ball disc in observation pixels.
        tolerance: the pointing game's tolerance in observation pixels.
        peak_window: half-width in pixels of the square whose centre of mass is the
            refined peak (``vision.explain.map_peaks``) of the refined ball pointing.
        curve_steps: points of each deletion and insertion curve after the first; 0
            skips both curves (most of the cost), leaving their metrics without values.
        batch: frames explained together.
        examples: games (the first ones) that give a frame to the examples figure.
        placement: ``registered``: coarse maps (the agent's, Grad-CAM's, the ball's cell)
            placed where their cells look (``vision.explain.registration``); ``even``:
            stretched evenly over the observation, as explainer libraries do.
        protocol: the rules the games are played by (the agent's own).
        log: called with a line per game.
    """
    device = next(network.parameters()).device
    action_generator = torch.Generator().manual_seed(seed)
    noise_generator = torch.Generator().manual_seed(seed + 1)
    own_maps = has_attention(network)
    if BALL_CELL in sources and not own_maps:
        raise ValueError(f"The {BALL_CELL!r} reference needs an agent with attention maps.")
    grid_registration = None
    if has_attention(network):
        grid_registration = agent_registration(network)
        if placement == "even":
            grid_registration = Registration.even(grid_registration.grid, grid_registration.size)
    analysis = Analysis({s: {k: [] for k in METRICS} for s in sources})
    if own_maps:
        analysis.dependence = {d: {"action_change": [], "kl": []} for d in DEPENDENCE}
        analysis.map_statistics = {"mean": [], "entropy": [], f"top{TOP_CELLS}_mass": []}
        analysis.map_statistics["change"] = []
    for game_index in range(episodes):
        started = time.perf_counter()
        game = play_game(
            network,
            seed + game_index,
            every=every,
            max_steps=max_steps_per_game,
            generator=action_generator,
            registration=grid_registration,
            protocol=protocol,
        )
        if own_maps:
            analysis.traces.append(game.trace)
        analysis.scores.append(game.score)
        analysis.steps.append(game.steps)
        if own_maps:
            analysis.map_statistics["change"].extend(game.map_changes)
        example = pick_example(game) if game_index < examples else None
        example_maps: dict[str, np.ndarray] = {}
        for start in range(0, len(game.observations), batch):
            stop = start + batch
            observations = torch.from_numpy(np.stack(game.observations[start:stop])).to(device)
            actions = torch.tensor(game.actions[start:stop], device=device)
            targets = frame_targets(game.boxes[start:stop], radius, game.paths[start:stop])
            targets = FrameTargets(*(mask.to(device) for mask in targets))
            analysis.disc_shares.extend(
                targets.ball_disc[targets.has_ball].flatten(1).float().mean(dim=1).tolist()
            )
            with torch.no_grad():
                output = network(observations.float())  # one clean pass for every measure
            probabilities = output.action_logits.softmax(dim=1)
            analysis.action_probabilities.extend(
                probabilities.gather(1, actions[:, None])[:, 0].tolist()
            )
            if has_attention(network):
                for name, measures in dependence(network, observations, output).items():
                    for measure, frame_values in measures.items():
                        analysis.dependence[name][measure].extend(frame_values.tolist())
                for name, frame_values in map_statistics(output).items():
                    analysis.map_statistics[name].extend(frame_values.tolist())
                balls = targets.ball_centre.masked_fill(~targets.has_ball[:, None], float("nan"))
                assert grid_registration is not None
                analysis.heads.add(
                    network, observations, output, balls, targets.paddle_centre, grid_registration
                )
            for source in sources:
                if source == BALL_CELL:
                    assert grid_registration is not None
                    maps = ball_cell_maps(targets, grid_registration)
                    analysis.registrations[source] = grid_registration.as_dict()
                else:
                    explanation = explain(
                        network, source, observations, actions, noise_generator, placement
                    )
                    maps = explanation.maps
                    analysis.registrations[source] = explanation.registration.as_dict()
                maps = maps.to(device)
                scored = score_maps(
                    network,
                    observations,
                    actions,
                    maps,
                    targets,
                    tolerance=tolerance,
                    peak_window=peak_window,
                    curve_steps=curve_steps,
                )
                for metric, frame_values in scored.items():
                    analysis.values[source][metric].extend(frame_values.tolist())
                if example is not None and start <= example < stop:
                    example_maps[source] = maps[example - start].cpu().numpy()
        ball = None if example is None else ball_box(game.boxes[example])
        if example is not None and ball is not None:  # an example has the ball in play
            analysis.examples.append(Example(game.frames[example], ball, example_maps))
        if log is not None:
            log(
                f"game {game_index + 1}/{episodes}: score {game.score:.0f}, {game.steps} steps, "
                f"{len(game.observations)} frames scored, {time.perf_counter() - started:.0f} s"
            )
    return analysis


def _stats(frame_values: Sequence[float]) -> dict[str, float | int | None]:
    array = np.asarray(frame_values, dtype=float)
    count = len(array)
    return {
        "mean": float(array.mean()) if count else None,
        "sem": float(array.std(ddof=1) / np.sqrt(count)) if count > 1 else None,
        "std": float(array.std(ddof=1)) if count > 1 else None,
        "frames": count,
    }


def summarise(analysis: Analysis) -> dict:
    """Mean, standard error, standard deviation and count of every measure."""
    return {
        "metrics": {
            source: {metric: _stats(v) for metric, v in metrics.items()}
            for source, metrics in analysis.values.items()
        },
        "dependence": {
            name: {measure: _stats(v) for measure, v in measures.items()}
            for name, measures in analysis.dependence.items()
        },
        "map_statistics": {name: _stats(v) for name, v in analysis.map_statistics.items()},
        "heads": analysis.heads.summary(),
        "registrations": analysis.registrations,
        "events": event_locked(analysis.traces) if analysis.traces else {},
        "disc_area_share": float(np.mean(analysis.disc_shares)) if analysis.disc_shares else None,
        "frames_scored": len(analysis.action_probabilities),
        "ball_frames": len(analysis.disc_shares),
        "chosen_action_probability": float(np.mean(analysis.action_probabilities))
        if analysis.action_probabilities
        else None,
        "games": {
            "scores": analysis.scores,
            "steps": analysis.steps,
            "score_mean": float(np.mean(analysis.scores)),
            "score_std": float(np.std(analysis.scores)),
        },
    }
