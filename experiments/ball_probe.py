"""Can a softmax agent's attention find the ball? Probes trained with the agent frozen.

The agent plays full games; on every ``--every``-th step the probe records what its
heads score: the features with the spatial basis (``to_keys``'s input) and the
normalised keys (its output), and the ball's cell in the map grid (from the RAM).
Two probes learn, on the first games, to put a softmax map's mass on the ball's
cell (cross-entropy over the cells):

- a new head: one query and temperature scored on the agent's keys, exactly as
  its own heads score (what a head of this agent could do without retraining);
- a linear score on the features (what the features hold about the ball, whatever
  the key projection keeps).

The pointing game (as ``abnrl analyze`` scores it) is then measured on the other
games, beside the agent's own heads and the ball's-cell ceiling on the same frames.
A new head near the ceiling says the keys tell the ball apart and the policy's
objective does not make a head sit on it; far below, the keys cannot.

    python -m experiments.ball_probe runs/ship-softmax8 --games 12 --test-games 4
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from abnrl.analysis.play import SEED, play_sampled_games
from abnrl.analysis.targets import FrameTargets, ball_cell, ball_cell_maps, frame_targets
from abnrl.media.explainers import agent_registration
from abnrl.playing import ActionRule
from abnrl.training.checkpoints import load_checkpoint
from agents.actor_critic import ABNActorCritic
from agents.attention.softmax import SpatialSoftmaxAttention
from agents.policy_view import policy_network
from envs.objects import OBSERVATION_SIZE
from vision.explain.metrics import pointing_game
from vision.explain.registration import Registration, place


class Frames(NamedTuple):
    features: Tensor
    """(N, C, h * w) what the keys are made from: features and spatial basis."""
    keys: Tensor
    """(N, d, h * w) the agent's normalised keys."""
    maps: Tensor
    """(N, K, h, w) the agent's own heads."""
    targets: FrameTargets
    games: Tensor
    """(N,) the game each frame comes from (0, 1, ...)."""


def collect(
    network: ABNActorCritic, protocol: str, seeds: range, every: int, max_steps: int
) -> Frames:
    """Play a game per seed and record the scored frames' features, keys, maps and targets."""
    if not isinstance(network.attention, SpatialSoftmaxAttention):
        raise SystemExit("The probe needs an agent with softmax attention.")
    recorded: dict[str, Tensor] = {}

    def record(module, inputs, output):
        recorded["features"] = inputs[0].flatten(2)
        recorded["keys"] = F.normalize(output.flatten(2), dim=1)

    hook = network.attention.to_keys.register_forward_hook(record)
    games = play_sampled_games(
        network,
        game="breakout",
        protocol=protocol,
        seed=seeds.start,
        episodes=len(seeds),
        every=every,
        max_steps=max_steps,
        rule=ActionRule(SEED),
    )
    parts: list[Frames] = []
    try:
        for (index, seed), game in zip(enumerate(seeds), games, strict=True):
            with torch.no_grad():
                maps = network(torch.from_numpy(np.stack(game.observations))).attention
            targets = frame_targets(game.boxes, 8.0, game.paths)
            games = torch.full((len(maps),), index)
            parts.append(Frames(recorded["features"], recorded["keys"], maps, targets, games))
            print(f"game {seed}: score {game.score:.0f}, {len(maps)} frames recorded", flush=True)
    finally:
        hook.remove()
    targets = zip(*(p.targets for p in parts), strict=True)
    return Frames(
        torch.cat([p.features for p in parts]),
        torch.cat([p.keys for p in parts]),
        torch.cat([p.maps for p in parts]),
        FrameTargets(*(torch.cat(field) for field in targets)),
        torch.cat([p.games for p in parts]),
    )


def ball_cells(targets: FrameTargets, registration: Registration) -> Tensor:
    """(N,) index of the ball's cell in the agent's grid (row-major)."""
    rows, cols = ball_cell(targets, registration)
    return rows * registration.grid[1] + cols


class NewHead(torch.nn.Module):
    """One more head of the agent's kind: a query and a temperature scored on its keys."""

    def __init__(self, key_dim: int) -> None:
        super().__init__()
        self.query = torch.nn.Parameter(torch.randn(key_dim))
        self.log_temperature = torch.nn.Parameter(torch.tensor(math.log(5.0)))

    def forward(self, frames: Frames) -> Tensor:
        cosines = torch.einsum("d,bdn->bn", F.normalize(self.query, dim=0), frames.keys)
        return cosines * self.log_temperature.exp()


class LinearScore(torch.nn.Module):
    """A linear score per cell on the features (a 1x1 conv with one output)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(channels))
        self.bias = torch.nn.Parameter(torch.zeros(()))

    def forward(self, frames: Frames) -> Tensor:
        return torch.einsum("c,bcn->bn", self.weight, frames.features) + self.bias


def fit(probe: torch.nn.Module, frames: Frames, cells: Tensor, steps: int) -> None:
    """Full-batch Adam on the cross-entropy between the probe's softmax and the ball's cell."""
    optimizer = torch.optim.Adam(probe.parameters(), lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(probe(frames), cells).backward()
        optimizer.step()


def pointing(
    maps: Tensor, targets: FrameTargets, tolerance: float, registration: Registration
) -> float:
    """The ball pointing game of (N, h, w) maps placed by ``registration``."""
    placed = place(maps, (OBSERVATION_SIZE, OBSERVATION_SIZE), registration)
    hits = pointing_game(placed, targets.ball, tolerance=tolerance)
    return float(hits.float().mean())


def select(frames: Frames, keep: Tensor) -> Frames:
    return Frames(
        frames.features[keep],
        frames.keys[keep],
        frames.maps[keep],
        FrameTargets(*(field[keep] for field in frames.targets)),
        frames.games[keep],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="a run dir (its latest checkpoint) or .zip")
    parser.add_argument("--games", type=int, default=12, help="games played in all")
    parser.add_argument("--test-games", type=int, default=4, help="the last games, held out")
    parser.add_argument("--every", type=int, default=5, help="record every Nth agent step")
    parser.add_argument("--max-steps-per-game", type=int, default=4500)
    parser.add_argument("--fit-steps", type=int, default=500)
    parser.add_argument("--tolerance", type=float, default=4.0)
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    torch.manual_seed(0)
    path = (
        args.checkpoint / "checkpoints" / "latest.zip"
        if args.checkpoint.is_dir()
        else args.checkpoint
    )
    model, meta = load_checkpoint(path, device="cpu")
    network = policy_network(model.policy).eval()
    seeds = range(SEED, SEED + args.games)
    frames = collect(network, meta["protocol"], seeds, args.every, args.max_steps_per_game)
    size = frames.maps.shape[-1]
    registration = agent_registration(network)
    with_ball = frames.targets.has_ball
    held_out = frames.games >= args.games - args.test_games
    train, test = select(frames, with_ball & ~held_out), select(frames, with_ball & held_out)
    results = {
        "checkpoint": str(path),
        "train_frames": len(train.keys),
        "test_frames": len(test.keys),
    }
    for name, probe in (
        ("new head on the agent's keys", NewHead(frames.keys.shape[1])),
        ("linear score on the features", LinearScore(frames.features.shape[1])),
    ):
        fit(probe, train, ball_cells(train.targets, registration), args.fit_steps)
        with torch.no_grad():
            maps = probe(test).softmax(dim=1).view(-1, size, size)
        results[name] = pointing(maps, test.targets, args.tolerance, registration)
    heads = [
        pointing(test.maps[:, k], test.targets, args.tolerance, registration)
        for k in range(test.maps.shape[1])
    ]
    results["agent's best head"] = max(heads)
    results["agent's heads"] = heads
    ceiling = ball_cell_maps(test.targets, registration)
    results["ball's cell (ceiling)"] = pointing(ceiling, test.targets, args.tolerance, registration)
    print(json.dumps(results, indent=2))
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
