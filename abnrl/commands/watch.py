"""``abnrl watch``: play games with an agent and write an MP4 with its attention on screen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import torch
from tyro.conf import arg

from abnrl.commands.arguments import OptionalPath, choices
from abnrl.errors import UserError
from abnrl.media.explainers import NONE, POLICY_EXPLAINERS
from abnrl.media.recording import EMULATOR_FPS, record_games
from abnrl.training.checkpoints import check_actions, load_checkpoint
from abnrl.training.run_dir import choose_checkpoint
from abnrl.validation import (
    DeviceName,
    check_at_least,
    check_choice,
    check_device,
    check_output,
)
from agents.policy_view import policy_network
from envs.games import FRAME_SKIP, ProtocolName
from vision.explain import canonical_name

ExplainerName = Annotated[str, arg(metavar=choices(POLICY_EXPLAINERS))]
OptionalExplainerName = Annotated[str | None, arg(metavar=choices(POLICY_EXPLAINERS))]


@dataclass
class WatchConfig:
    """Watch an agent play: an MP4 of the game with its attention map laid over it."""

    path: OptionalPath = None
    """A run dir (its latest checkpoint) or an agent .zip: abnrl's, or a plain
    Stable-Baselines3 PPO or A2C zip (give --game and --protocol); omit with --pretrained."""
    game: str | None = None
    """The game a plain Stable-Baselines3 zip plays (abnrl's files record it); the
    shipped agent that --pretrained takes: breakout (the default) or pong."""
    protocol: ProtocolName | None = None
    """classic or v5: the protocol of a plain Stable-Baselines3 zip (classic when not
    given); abnrl's files record their own."""
    pretrained: bool = False
    """Watch an ABN-PPO agent that ships with abnrl: Breakout's, or Pong's with --game pong."""
    explainer: ExplainerName = "attention"
    """Heat map: attention (the agent's own attention map, any design, heads averaged;
    abn is its former name), heads (a marker where each head looks), none, or an
    explainer of vision.explain that explains the chosen action (perturbation: Greydanus
    et al., 2018)."""
    side_by_side: OptionalExplainerName = None
    """A second explainer shown next to the first, e.g. gradcam."""
    episodes: int = 1
    """Games to play (each full game, all lives)."""
    max_frames: int = 18_000
    """Stop after this many emulator frames (60 per second of play)."""
    deterministic: bool = False
    """Take the most probable action instead of sampling from the policy, except for a
    random one 5% of the time (epsilon-greedy, as the Nature DQN evaluation), so that a
    greedy policy cannot stall on a still screen."""
    fps: int = 60
    """Video frame rate: 60 shows every emulator frame, 30 every second one."""
    out: Path | None = None
    """The MP4 to write; attention.mp4 beside the checkpoint (or here for --pretrained)."""
    seed: int = 0
    """Seed of the games and of the action sampling."""
    device: DeviceName = "auto"
    """auto, cpu or cuda."""


def _validate(config: WatchConfig, out: Path) -> None:
    for field in ("explainer", "side_by_side"):
        name = getattr(config, field)
        if name is not None:
            check_choice(field, canonical_name(name), POLICY_EXPLAINERS)
    if config.fps not in (EMULATOR_FPS, EMULATOR_FPS // 2):
        raise UserError(f"--fps must be {EMULATOR_FPS} or {EMULATOR_FPS // 2}, got {config.fps}.")
    check_at_least(config, {"episodes": 1, "max_frames": 1})
    check_device(config.device)
    if out.suffix.lower() != ".mp4":
        raise UserError(f"--out must name an .mp4 file, got {out}.")
    check_output(out)


def run(config: WatchConfig) -> int:
    checkpoint = choose_checkpoint(config.path, config.pretrained, config.game)
    out = config.out or (
        Path("attention.mp4") if config.pretrained else checkpoint.parent / "attention.mp4"
    )
    _validate(config, out)
    # One observation per step: a single thread is fastest and leaves a core to the encoder.
    torch.set_num_threads(1)
    model, meta = load_checkpoint(
        checkpoint, device=config.device, game=config.game, protocol=config.protocol
    )
    check_actions(model, meta["game"])
    recording = record_games(
        policy_network(model.policy).eval(),
        meta["game"],
        out,
        protocol=meta["protocol"],
        explainers=[n for n in (config.explainer, config.side_by_side) if n and n != NONE],
        episodes=config.episodes,
        max_frames=config.max_frames,
        fps=config.fps,
        deterministic=config.deterministic,
        seed=config.seed,
    )
    for number, (score, steps, ended) in enumerate(recording.games, start=1):
        cut = "" if ended else ", cut at --max-frames"
        print(
            f"game {number}: score {score:.0f}, {steps} agent steps "
            f"({steps * FRAME_SKIP} frames){cut}"
        )
    print(
        f"wrote {out}: {recording.frames} frames at {config.fps} fps "
        f"({recording.frames / config.fps:.1f} s)"
    )
    return 0
