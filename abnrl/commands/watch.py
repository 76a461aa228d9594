"""``abnrl watch``: play games with an agent and write an MP4 with its attention on screen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from tyro.conf import Positional

from abnrl.checkpoints import check_actions, load_checkpoint
from abnrl.errors import UserError
from abnrl.explainers import EXPLAINERS, PolicyExplainer
from abnrl.run_dir import choose_checkpoint
from abnrl.video import VideoWriter, compose, heat_layer, info_panel
from agents.policy_network import policy_network
from envs import make_env
from envs.games import FRAME_SKIP

EMULATOR_FPS = 60


@dataclass
class WatchConfig:
    """Watch an agent play: an MP4 of the game with its attention map laid over it."""

    path: Positional[Path | None] = None
    """A run dir (its latest checkpoint) or a checkpoint .zip; omit with --pretrained."""
    pretrained: bool = False
    """Watch the ABN-PPO Breakout agent that ships with abnrl."""
    explainer: str = "abn"
    """Heat map: abn (the ABN attention map), gradcam, guided-gradcam, smoothgrad,
    perturbation, or none."""
    side_by_side: str | None = None
    """A second explainer shown next to the first, e.g. gradcam."""
    episodes: int = 1
    """Games to play (each full game, all lives)."""
    max_frames: int = 18_000
    """Stop after this many emulator frames (60 per second of play)."""
    deterministic: bool = False
    """Take the most probable action instead of sampling from the policy."""
    fps: int = 60
    """Video frame rate: 60 shows every emulator frame, 30 every second one."""
    out: Path | None = None
    """The MP4 to write; attention.mp4 beside the checkpoint (or here for --pretrained)."""
    seed: int = 0
    """Seed of the games and of the action sampling."""
    device: str = "auto"
    """auto, cpu or cuda."""


def _validate(config: WatchConfig, out: Path) -> None:
    for name in filter(None, (config.explainer, config.side_by_side)):
        if name not in EXPLAINERS:
            raise UserError(f"Unknown explainer {name!r}; choose one of {', '.join(EXPLAINERS)}.")
    if config.fps not in (EMULATOR_FPS, EMULATOR_FPS // 2):
        raise UserError(f"--fps must be {EMULATOR_FPS} or {EMULATOR_FPS // 2}, got {config.fps}.")
    if config.episodes < 1 or config.max_frames < 1:
        raise UserError("--episodes and --max-frames must be at least 1.")
    if out.suffix.lower() != ".mp4":
        raise UserError(f"--out must name an .mp4 file, got {out}.")
    if not out.parent.is_dir():
        raise UserError(f"Cannot write {out}: the folder {out.parent} does not exist.")


def run(config: WatchConfig) -> int:
    checkpoint = choose_checkpoint(config.path, config.pretrained)
    out = config.out or (
        Path("attention.mp4") if config.pretrained else checkpoint.parent / "attention.mp4"
    )
    _validate(config, out)
    # One observation per step: a single thread is fastest and leaves a core to the encoder.
    torch.set_num_threads(1)
    model, meta = load_checkpoint(checkpoint, device=config.device)
    network = policy_network(model.policy).eval()
    names = [n for n in (config.explainer, config.side_by_side) if n and n != "none"]
    explainers = [PolicyExplainer.create(name, network) for name in names]
    env = make_env(meta["game"], protocol=meta["protocol"], seed=config.seed)
    check_actions(model, meta["game"])
    action_names = env.unwrapped.get_action_meanings()
    generator = torch.Generator().manual_seed(config.seed)
    keep_every = EMULATOR_FPS // config.fps
    titles = [meta["game"], *(e.title for e in explainers), "agent"]
    writer = None
    frames_seen = 0
    try:
        for episode in range(config.episodes):
            obs, info = env.reset(seed=config.seed + episode)
            pending, score, values = list(info["frames"]), 0.0, []
            done = False
            while not done and frames_seen < config.max_frames:
                obs_tensor = torch.as_tensor(obs[None], device=model.device)
                with torch.no_grad():
                    output = network(obs_tensor)
                probabilities = torch.softmax(output.action_logits[0].float().cpu(), dim=-1)
                action = (
                    int(probabilities.argmax())
                    if config.deterministic
                    else int(torch.multinomial(probabilities, 1, generator=generator))
                )
                maps = [e.heat_map(obs_tensor, output, action) for e in explainers]
                values.append(float(output.value[0]))
                obs, reward, terminated, truncated, info = env.step(action)
                pending += list(info["frames"])
                layers = [heat_layer(m, pending[0].shape[:2]) for m in maps]
                panel = info_panel(
                    2 * pending[0].shape[0],
                    action_names=action_names,
                    probabilities=probabilities.numpy(),
                    chosen=action,
                    values=values,
                    score=score,
                    lives=info["lives"],
                    step=len(values),
                )
                for frame in pending:  # this step's map is held over the frames it covers
                    if frames_seen % keep_every == 0:
                        composed = compose(frame, layers, titles, panel)
                        if writer is None:
                            size = (composed.shape[1], composed.shape[0])
                            writer = VideoWriter(out, size, config.fps)
                        writer.write(composed)
                    frames_seen += 1
                pending = []
                score += reward
                done = terminated or truncated
            print(
                f"game {episode + 1}: score {score:.0f}, {len(values)} agent steps "
                f"({len(values) * FRAME_SKIP} frames){'' if done else ', cut at --max-frames'}"
            )
            if frames_seen >= config.max_frames:
                break
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        env.close()
        for explainer in explainers:
            explainer.close()
    writer.close()
    print(
        f"wrote {out}: {writer.frames} frames at {config.fps} fps "
        f"({writer.frames / config.fps:.1f} s)"
    )
    return 0
