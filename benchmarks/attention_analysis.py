"""What the shipped agent's attention shows, measured against the game's objects (issue 8).

Plays evaluation games of the pretrained ABN-PPO Breakout agent (classic protocol,
actions sampled from the policy, seeds apart from training's) and, on every Nth
agent step, scores four maps against the ball and paddle boxes read from the RAM:
the ABN attention map, Grad-CAM of the chosen action's logit, perturbation saliency
of the policy's logits (Greydanus et al., ICML 2018) and a uniform-noise baseline.

Metrics, per sampled frame:

* pointing game (Zhang et al., ECCV 2016): does the map's maximum fall within
  ``--tolerance`` observation pixels of the ball (frames with the ball in play) or
  of the paddle;
* ball mass share: the map's mass within ``--radius`` pixels of the ball centre,
  against that disc's share of the image area (what a flat map would get);
* deletion AUC (Petsiuk et al., BMVC 2018) of the chosen action's probability,
  deleting (zeroing) the most salient pixels first; lower is better.

    .venv/bin/python benchmarks/attention_analysis.py --threads 1
    .venv/bin/python benchmarks/attention_analysis.py --episodes 10 --every 20
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import cv2
import matplotlib
import numpy as np
import torch
from torch import Tensor, nn

from abnrl.checkpoints import load_checkpoint
from abnrl.files import write_atomic, write_json_atomic, write_text_atomic
from abnrl.machine import cpu_model
from abnrl.pretrained import pretrained_checkpoint
from agents.policy_network import policy_network
from envs import make_env
from envs.objects import OBSERVATION_SIZE, Box, breakout_objects, to_observation
from vision.explain import (
    ABNAttention,
    ActionTarget,
    GradCAM,
    PerturbationSaliency,
    box_regions,
    deletion,
    pointing_game,
)
from vision.overlay import overlay, panels

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ABN = "ABN attention"
GRADCAM = "Grad-CAM"
PERTURBATION = "perturbation saliency"
RANDOM = "random"
METHODS = (ABN, GRADCAM, PERTURBATION, RANDOM)

SEED = 20_000
"""First evaluation game's seed; training used 0, ``abnrl eval`` uses 10,000 on."""
METRICS = ("ball_pointing", "paddle_pointing", "ball_mass_share", "deletion_auc")
BALL_COLOUR = (255, 0, 0)


@dataclass
class GameSamples:
    """The sampled agent steps of one game."""

    observations: list[np.ndarray] = field(default_factory=list)
    """uint8 (4, 84, 84) each."""
    actions: list[int] = field(default_factory=list)
    """The action the agent took there (sampled from its policy)."""
    boxes: list[list[Box]] = field(default_factory=list)
    """The RAM's object boxes, in 210x160 frame pixels."""
    frames: list[np.ndarray] = field(default_factory=list)
    """The last colour frame (210, 160, 3) the observation covers."""
    score: float = 0.0
    steps: int = 0


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


class Example(NamedTuple):
    """One frame for the examples figure."""

    frame: np.ndarray
    """(210, 160, 3) colour frame."""
    ball: Box
    """Ball box in frame pixels."""
    maps: dict[str, np.ndarray]
    """Method -> (84, 84) map in [0, 1]."""


class Analysis(NamedTuple):
    """Per-frame metric values of each method, and what was played."""

    values: dict[str, dict[str, list[float]]]
    """Method -> metric -> one value per scored frame (ball metrics: ball frames only)."""
    disc_shares: list[float]
    """Per ball frame, the disc's share of the image area."""
    action_probabilities: list[float]
    """Per frame, the chosen action's probability on the clean observation."""
    scores: list[float]
    steps: list[int]
    examples: list[Example]


def play_game(
    network: nn.Module, seed: int, *, every: int, max_steps: int, generator: torch.Generator
) -> GameSamples:
    """Play one full Breakout game (all lives) and keep every ``every``-th agent step."""
    env = make_env("breakout", protocol="classic", seed=seed)
    observation, info = env.reset(seed=seed)
    frame = info["frames"][-1]
    game = GameSamples()
    done = False
    while not done and game.steps < max_steps:
        with torch.no_grad():
            logits = network(torch.from_numpy(observation)[None]).action_logits  # (1, A)
        action = int(torch.multinomial(logits.softmax(dim=1), 1, generator=generator))
        if game.steps % every == 0:
            game.observations.append(observation)
            game.actions.append(action)
            game.boxes.append(breakout_objects(env.unwrapped.ale.getRAM()))
            game.frames.append(frame)
        observation, reward, terminated, truncated, info = env.step(action)
        frame = info["frames"][-1]
        game.score += float(reward)
        game.steps += 1
        done = terminated or truncated
    env.close()
    return game


def ball_box(boxes: Sequence[Box]) -> Box | None:
    return next((box for box in boxes if box.label == "ball"), None)


def paddle_box(boxes: Sequence[Box]) -> Box:
    return next(box for box in boxes if box.label == "paddle")


def frame_targets(frame_boxes: Sequence[Sequence[Box]], radius: float) -> FrameTargets:
    """Ball and paddle masks in observation pixels for each frame's RAM boxes."""
    size = (OBSERVATION_SIZE, OBSERVATION_SIZE)
    centres = torch.arange(OBSERVATION_SIZE, dtype=torch.float32) + 0.5
    no_box = torch.full((4,), -1.0)  # a box no pixel centre lies in
    has_ball, ball, discs, paddle = [], [], [], []
    for boxes in frame_boxes:
        observed = to_observation(list(boxes))
        ball_in_obs = ball_box(observed)
        paddle_in_obs = paddle_box(observed)
        paddle.append(torch.tensor(paddle_in_obs[1:]))
        has_ball.append(ball_in_obs is not None)
        if ball_in_obs is None:
            ball.append(no_box)
            discs.append(torch.zeros(size, dtype=torch.bool))
            continue
        ball.append(torch.tensor(ball_in_obs[1:]))
        centre_x = (ball_in_obs.x0 + ball_in_obs.x1) / 2
        centre_y = (ball_in_obs.y0 + ball_in_obs.y1) / 2
        squared = (centres[:, None] - centre_y) ** 2 + (centres[None, :] - centre_x) ** 2
        discs.append(squared <= radius**2)  # (84, 84)
    return FrameTargets(
        torch.tensor(has_ball),
        box_regions(torch.stack(ball), size),
        torch.stack(discs),
        box_regions(torch.stack(paddle), size),
    )


def explain(
    network: nn.Module,
    method: str,
    observations: Tensor,
    actions: Tensor,
    generator: torch.Generator,
) -> Tensor:
    """(N, 84, 84) maps in [0, 1] of one method for a batch of observations."""
    if method == ABN:
        with ABNAttention(network) as abn:
            return abn(observations).maps
    if method == GRADCAM:
        with GradCAM(network) as gradcam:
            return gradcam(observations, ActionTarget(actions)).maps
    if method == PERTURBATION:
        with PerturbationSaliency(network, batch_size=256) as perturbation:
            return perturbation(observations).maps  # the policy's whole logit vector
    if method == RANDOM:
        return torch.rand(observations.shape[0], *observations.shape[-2:], generator=generator)
    raise ValueError(f"Unknown method {method!r}; choose from {', '.join(METHODS)}.")


def score_maps(
    network: nn.Module,
    observations: Tensor,
    actions: Tensor,
    maps: Tensor,
    targets: FrameTargets,
    *,
    tolerance: float,
    deletion_steps: int,
) -> dict[str, Tensor]:
    """Each metric's per-frame values; ball metrics only over frames with the ball."""
    mass = maps.flatten(1).sum(dim=1).clamp_min(torch.finfo(maps.dtype).tiny)
    near_ball = (maps * targets.ball_disc).flatten(1).sum(dim=1) / mass
    curve = deletion(
        network,
        observations,
        maps,
        ActionTarget(actions, probability=True),
        steps=deletion_steps,
        batch_size=256,
    )
    ball = targets.has_ball
    return {
        "ball_pointing": pointing_game(maps, targets.ball, tolerance=tolerance)[ball].float(),
        "paddle_pointing": pointing_game(maps, targets.paddle, tolerance=tolerance).float(),
        "ball_mass_share": near_ball[ball],
        "deletion_auc": curve.auc,
    }


def pick_example(game: GameSamples) -> int | None:
    """The sampled step with the ball in play nearest the middle of the game."""
    with_ball = [i for i, boxes in enumerate(game.boxes) if ball_box(boxes) is not None]
    if not with_ball:
        return None
    middle = len(game.boxes) / 2
    return min(with_ball, key=lambda i: abs(i - middle))


def analyse(
    network: nn.Module,
    *,
    episodes: int,
    every: int,
    max_steps_per_game: int,
    methods: Sequence[str] = METHODS,
    seed: int = SEED,
    radius: float = 8.0,
    tolerance: float = 4.0,
    deletion_steps: int = 50,
    batch: int = 32,
    examples: int = 3,
    log: bool = False,
) -> Analysis:
    """Play ``episodes`` games with ``network`` and score each method's maps on sampled steps.

    Args:
        network: the policy network (``agents.policy_network``); ABN for the ABN map.
        episodes: games played, seeds ``seed``, ``seed + 1``, ...
        every: score every ``every``-th agent step.
        max_steps_per_game: cap on a game's agent steps.
        methods: which of ``METHODS`` to score.
        seed: seed of the first game; also seeds action sampling and the random maps.
        radius: radius of the ball disc in observation pixels.
        tolerance: the pointing game's tolerance in observation pixels.
        deletion_steps: points of each deletion curve after the first.
        batch: frames explained together.
        examples: games (the first ones) that give a frame to the examples figure.
        log: print a line per game.
    """
    device = next(network.parameters()).device
    action_generator = torch.Generator().manual_seed(seed)
    noise_generator = torch.Generator().manual_seed(seed + 1)
    values: dict[str, dict[str, list[float]]] = {m: {k: [] for k in METRICS} for m in methods}
    analysis = Analysis(values, [], [], [], [], [])
    for game_index in range(episodes):
        started = time.perf_counter()
        game = play_game(
            network,
            seed + game_index,
            every=every,
            max_steps=max_steps_per_game,
            generator=action_generator,
        )
        analysis.scores.append(game.score)
        analysis.steps.append(game.steps)
        example = pick_example(game) if game_index < examples else None
        example_maps: dict[str, np.ndarray] = {}
        for start in range(0, len(game.observations), batch):
            stop = start + batch
            observations = torch.from_numpy(np.stack(game.observations[start:stop])).to(device)
            actions = torch.tensor(game.actions[start:stop], device=device)
            targets = frame_targets(game.boxes[start:stop], radius)
            targets = FrameTargets(*(mask.to(device) for mask in targets))
            analysis.disc_shares.extend(
                targets.ball_disc[targets.has_ball].flatten(1).float().mean(dim=1).tolist()
            )
            with torch.no_grad():
                probabilities = network(observations.float()).action_logits.softmax(dim=1)
            analysis.action_probabilities.extend(
                probabilities.gather(1, actions[:, None])[:, 0].tolist()
            )
            for method in methods:
                maps = explain(network, method, observations, actions, noise_generator)
                maps = maps.to(device)
                scored = score_maps(
                    network,
                    observations,
                    actions,
                    maps,
                    targets,
                    tolerance=tolerance,
                    deletion_steps=deletion_steps,
                )
                for metric, frame_values in scored.items():
                    values[method][metric].extend(frame_values.tolist())
                if example is not None and start <= example < stop:
                    example_maps[method] = maps[example - start].cpu().numpy()
        if example is not None:
            ball = ball_box(game.boxes[example])
            analysis.examples.append(Example(game.frames[example], ball, example_maps))
        if log:
            print(
                f"game {game_index + 1}/{episodes}: score {game.score:.0f}, {game.steps} steps, "
                f"{len(game.observations)} frames scored, {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    return analysis


def summarise(analysis: Analysis) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """Method -> metric -> mean, standard error and number of frames."""
    summary = {}
    for method, metrics in analysis.values.items():
        summary[method] = {}
        for metric, frame_values in metrics.items():
            array = np.asarray(frame_values, dtype=float)
            count = len(array)
            summary[method][metric] = {
                "mean": float(array.mean()) if count else None,
                "sem": float(array.std(ddof=1) / np.sqrt(count)) if count > 1 else None,
                "frames": count,
            }
    return summary


def markdown_table(analysis: Analysis, radius: float, tolerance: float) -> str:
    """The results as a markdown table, one row per method."""
    summary = summarise(analysis)
    disc_share = float(np.mean(analysis.disc_shares)) if analysis.disc_shares else float("nan")

    def cell(method: str, metric: str) -> str:
        stats = summary[method][metric]
        if stats["mean"] is None:
            return "n/a"
        sem = stats["sem"] or 0.0
        return f"{stats['mean']:.3f} +- {sem:.3f}"

    lines = [
        f"| method | pointing: ball (tol. {tolerance:g} px) | pointing: paddle (tol. "
        f"{tolerance:g} px) | mass within {radius:g} px of ball (disc area "
        f"{disc_share:.3f}) | mass / area | deletion AUC (lower is better) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for method in summary:
        mass = summary[method]["ball_mass_share"]["mean"]
        lift = f"{mass / disc_share:.1f}x" if mass is not None else "n/a"
        lines.append(
            f"| {method} | {cell(method, 'ball_pointing')} | {cell(method, 'paddle_pointing')} "
            f"| {cell(method, 'ball_mass_share')} | {lift} | {cell(method, 'deletion_auc')} |"
        )
    return "\n".join(lines) + "\n"


def plot_metrics(analysis: Analysis, out: Path, radius: float, tolerance: float) -> None:
    """A bar chart per metric, one bar per method with its standard error; PNG, atomic."""
    summary = summarise(analysis)
    methods = list(summary)
    titles = {
        "ball_pointing": f"pointing game: ball (tol. {tolerance:g} px)",
        "paddle_pointing": f"pointing game: paddle (tol. {tolerance:g} px)",
        "ball_mass_share": f"map mass within {radius:g} px of the ball",
        "deletion_auc": "deletion AUC, chosen action (lower is better)",
    }
    figure, axes = plt.subplots(1, len(METRICS), figsize=(16, 4))
    colours = plt.get_cmap("tab10").colors
    for axis, metric in zip(axes, METRICS, strict=True):
        means = [summary[m][metric]["mean"] or 0.0 for m in methods]
        errors = [summary[m][metric]["sem"] or 0.0 for m in methods]
        axis.bar(range(len(methods)), means, yerr=errors, color=colours[: len(methods)], capsize=3)
        axis.set_xticks(range(len(methods)), [m.replace(" ", "\n") for m in methods], fontsize=8)
        axis.set_title(titles[metric], fontsize=9)
        if metric == "ball_mass_share" and analysis.disc_shares:
            area = float(np.mean(analysis.disc_shares))
            axis.axhline(area, color="black", linestyle="--", linewidth=1, label="disc's area")
            axis.legend(fontsize=8)
    frames = len(analysis.action_probabilities)
    figure.suptitle(
        f"Shipped ABN-PPO agent, Breakout (classic): {len(analysis.scores)} games, "
        f"{frames} frames scored (error bars: standard error)",
        fontsize=10,
    )
    figure.tight_layout()
    write_atomic(out, lambda tmp: figure.savefig(tmp, dpi=80), suffix=".png")
    plt.close(figure)


def draw_box(image: np.ndarray, box: Box) -> np.ndarray:
    """A copy of an RGB frame with ``box`` outlined."""
    outlined = image.copy()
    corner0 = (int(box.x0) - 2, int(box.y0) - 2)
    corner1 = (int(np.ceil(box.x1)) + 1, int(np.ceil(box.y1)) + 1)
    cv2.rectangle(outlined, corner0, corner1, BALL_COLOUR, 1)
    return outlined


def examples_figure(examples: Sequence[Example]) -> np.ndarray:
    """One row per example: the frame, then each method's map over it, ball box drawn."""
    rows = []
    for example in examples:
        images = [draw_box(example.frame, example.ball)]
        images += [
            draw_box(overlay(example.frame, heat_map, alpha=0.5), example.ball)
            for heat_map in example.maps.values()
        ]
        rows.append(panels(images, ["frame", *example.maps]))
    return np.concatenate(rows, axis=0)


def save_png_small(path: Path, image: np.ndarray) -> None:
    """Write an RGB image as PNG at OpenCV's highest compression, atomically."""
    ok, encoded = cv2.imencode(
        ".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9]
    )
    if not ok:
        raise OSError(f"OpenCV could not encode {path.name} as PNG.")
    write_atomic(path, lambda tmp: tmp.write_bytes(encoded.tobytes()), suffix=".png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=30, help="evaluation games")
    parser.add_argument(
        "--max-steps-per-game", type=int, default=27_000, help="agent steps (108,000 frames)"
    )
    parser.add_argument("--every", type=int, default=10, help="score every Nth agent step")
    parser.add_argument("--radius", type=float, default=8.0, help="ball disc, obs. pixels")
    parser.add_argument("--tolerance", type=float, default=4.0, help="pointing, obs. pixels")
    parser.add_argument("--deletion-steps", type=int, default=50)
    parser.add_argument("--batch", type=int, default=32, help="frames explained together")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=Path("runs/attention-analysis"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)

    model, _ = load_checkpoint(pretrained_checkpoint(), device=args.device)
    network = policy_network(model.policy).eval()
    started = time.perf_counter()
    analysis = analyse(
        network,
        episodes=args.episodes,
        every=args.every,
        max_steps_per_game=args.max_steps_per_game,
        seed=args.seed,
        radius=args.radius,
        tolerance=args.tolerance,
        deletion_steps=args.deletion_steps,
        batch=args.batch,
        log=True,
    )
    seconds = time.perf_counter() - started

    table = markdown_table(analysis, args.radius, args.tolerance)
    scores = np.asarray(analysis.scores)
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": cpu_model() if args.device == "cpu" else torch.cuda.get_device_name(),
        "command": " ".join(["python", *sys.argv]),
        "settings": {key: str(value) for key, value in vars(args).items()},
        "seconds": round(seconds, 1),
        "games": {
            "scores": analysis.scores,
            "steps": analysis.steps,
            "score_mean": float(scores.mean()),
            "score_std": float(scores.std()),
        },
        "frames_scored": len(analysis.action_probabilities),
        "ball_frames": len(analysis.disc_shares),
        "disc_area_share": float(np.mean(analysis.disc_shares)) if analysis.disc_shares else None,
        "chosen_action_probability": float(np.mean(analysis.action_probabilities)),
        "metrics": summarise(analysis),
    }
    write_json_atomic(args.out / "attention-analysis.json", results)
    write_text_atomic(args.out / "attention-analysis.md", table)
    plot_metrics(analysis, args.out / "attention-metrics.png", args.radius, args.tolerance)
    if analysis.examples:
        save_png_small(args.out / "attention-examples.png", examples_figure(analysis.examples))
    print(json.dumps({k: results[k] for k in ("seconds", "frames_scored", "ball_frames")}))
    print(f"games: {scores.mean():.1f} +- {scores.std():.1f} over {len(scores)}")
    print(table)


if __name__ == "__main__":
    main()
