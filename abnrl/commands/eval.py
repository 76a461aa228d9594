"""``abnrl eval``: play full games with a trained agent and report the true scores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from abnrl.commands.arguments import OptionalPath
from abnrl.errors import UserError
from abnrl.training.checkpoints import check_actions, load_checkpoint
from abnrl.training.evaluation import evaluate
from abnrl.training.run_dir import choose_checkpoint
from abnrl.validation import (
    DeviceName,
    check_at_least,
    check_choice,
    check_device,
    check_output,
)
from envs import PROTOCOLS
from envs.games import ProtocolName
from vision.files import write_json_atomic


@dataclass
class EvalConfig:
    """Evaluate an agent: N full games on the evaluation rules; prints a table, writes JSON."""

    path: OptionalPath = None
    """A run dir (its latest checkpoint) or an agent .zip: abnrl's, or a plain
    Stable-Baselines3 PPO or A2C zip (give --game and --protocol); omit with --pretrained."""
    game: str | None = None
    """The game a plain Stable-Baselines3 zip plays (abnrl's files record it); the
    shipped agent that --pretrained takes: breakout (the default) or pong."""
    pretrained: bool = False
    """Evaluate an ABN-PPO agent that ships with abnrl: Breakout's, or Pong's with --game pong."""
    episodes: int = 30
    """Full games to play (all lives; capped at 108,000 frames each)."""
    protocol: ProtocolName | None = None
    """classic or v5; the protocol the agent was trained on when not given (classic for a
    plain Stable-Baselines3 zip)."""
    deterministic: bool = False
    """Take the most probable action instead of sampling from the policy, except for a
    random one 5% of the time (epsilon-greedy, as the Nature DQN evaluation), so that a
    greedy policy cannot stall on a still screen; DQN and QR-DQN agents always play so."""
    seed: int = 10_000
    """Seed of the evaluation games."""
    device: DeviceName = "auto"
    """auto, cpu or cuda."""
    n_envs: int = 8
    """Games played side by side."""
    out: Path | None = None
    """JSON file for the results; eval.json beside the checkpoint (here for --pretrained)."""


def run(config: EvalConfig) -> int:
    check_at_least(config, {"episodes": 1, "n_envs": 1, "seed": 0})
    if config.protocol is not None:
        check_choice("protocol", config.protocol, PROTOCOLS)
    check_device(config.device)
    checkpoint = choose_checkpoint(config.path, config.pretrained, config.game)
    out = config.out or (
        Path("eval.json") if config.pretrained else checkpoint.parent / "eval.json"
    )
    check_output(out)
    model, meta = load_checkpoint(
        checkpoint, device=config.device, game=config.game, protocol=config.protocol
    )
    protocol = config.protocol or meta["protocol"]
    check_actions(model, meta["game"])
    result = evaluate(
        model,
        meta["game"],
        episodes=config.episodes,
        protocol=protocol,
        seed=config.seed,
        deterministic=config.deterministic,
        n_envs=config.n_envs,
    )
    summary = result.summary()
    print(
        f"{meta['game']}, {protocol} protocol, {model.num_timesteps:,} agent steps trained, "
        f"{'greedy (epsilon 0.05)' if result.deterministic else 'sampled'} actions"
    )
    print("| games | mean | standard error | std | median | min | max | length (steps) |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {summary['episodes']} | {summary['mean']:.1f} | {summary['se']:.1f} | "
        f"{summary['std']:.1f} | "
        f"{summary['median']:.1f} | {summary['min']:.0f} | {summary['max']:.0f} | "
        f"{summary['length_mean']:.0f} |"
    )
    lost_at = [score for game in result.lives_lost_at for score in game]
    if lost_at:
        q1, median, q3 = np.percentile(lost_at, [25, 50, 75])
        print(
            f"lives lost before the last: {len(lost_at)}, at a game score of {median:.0f} "
            f"(median; quartiles {q1:.0f} - {q3:.0f})"
        )
    try:
        write_json_atomic(
            out,
            {"checkpoint": str(checkpoint), "agent_steps": model.num_timesteps, **result.to_json()},
        )
    except OSError as error:
        raise UserError(f"Cannot write {out} ({error.strerror}).") from error
    print(f"wrote {out}")
    return 0
