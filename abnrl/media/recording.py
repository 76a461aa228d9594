"""Play games with a policy network and record them as a composed attention video."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from abnrl.media.explainers import LEGENDS, PolicyExplainer
from abnrl.media.mp4 import VideoWriter
from abnrl.media.video import SCALE, FrameComposer, info_panel
from agents.greedy import with_random_actions
from envs import emulator, make_env

EMULATOR_FPS = 60


@dataclass
class Recording:
    """What was recorded: the video file, its frames, and each game's score and length."""

    path: Path
    fps: int
    frames: int = 0
    games: list[tuple[float, int, bool]] = field(default_factory=list)
    """(score, agent steps, whether the game ended) per game."""


def record_games(
    network: nn.Module,
    game: str,
    out: Path,
    *,
    protocol: str = "classic",
    explainers: list[str],
    episodes: int = 1,
    max_frames: int = 18_000,
    fps: int = EMULATOR_FPS,
    deterministic: bool = False,
    seed: int = 0,
    on_frame: Callable[[FrameComposer], None] | None = None,
) -> Recording:
    """Play ``episodes`` games and write them to ``out`` (MP4, atomically).

    Args:
        network: ``observations -> output`` with ``action_logits`` and ``value``
            (``agents.policy_view.policy_network``).
        game: the ALE game the network plays.
        out: the MP4 to write.
        protocol: the game protocol.
        explainers: heat maps to show (``abnrl.media.explainers.POLICY_EXPLAINERS`` but
            "none"; aliases such as "abn" too).
        episodes: games to play.
        max_frames: stop after this many emulator frames.
        fps: 60 keeps every emulator frame, 30 every second one.
        deterministic: take the most probable action instead of sampling (with
            ``agents.greedy.GREEDY_EPSILON``).
        seed: seed of the games and of the action sampling.
        on_frame: called after every frame written with the composer, whose
            ``rgb()`` is that frame (e.g. to log it).
    """
    device = next(network.parameters()).device
    heat_makers = [PolicyExplainer.create(name, network) for name in explainers]
    env = make_env(game, protocol=protocol, seed=seed)
    action_names = emulator(env).get_action_meanings()
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    keep_every = EMULATOR_FPS // fps
    titles = [game, *(h.title for h in heat_makers), "agent"]
    legend = sorted({line for h in heat_makers for line in LEGENDS.get(h.name, ())})
    recording = Recording(out, fps)
    video: tuple[FrameComposer, VideoWriter] | None = None  # made at the first frame
    seen = 0
    try:
        for episode in range(episodes):
            obs, info = env.reset(seed=seed + episode)
            pending, score, values, done = list(info["frames"]), 0.0, [], False
            while not done and seen < max_frames:
                observations = torch.as_tensor(obs[None], device=device)
                with torch.no_grad():
                    output = network(observations)
                probabilities = torch.softmax(output.action_logits[0].float().cpu(), dim=-1)
                if deterministic:
                    greedy = np.array([int(probabilities.argmax())])
                    action = int(with_random_actions(greedy, len(probabilities), rng)[0])
                else:
                    action = int(torch.multinomial(probabilities, 1, generator=generator))
                maps = [h.heat_map(observations, output, action) for h in heat_makers]
                values.append(float(output.value[0]))
                obs, reward, terminated, truncated, info = env.step(action)
                pending += list(info["frames"])
                frame_shape = pending[0].shape[:2]
                if video is None:
                    composer = FrameComposer(frame_shape, titles)
                    video = composer, VideoWriter(out, (composer.width, composer.height), fps)
                composer, writer = video
                panel = info_panel(
                    SCALE * frame_shape[0],  # the info column is as tall as the game panels
                    action_names=action_names,
                    probabilities=probabilities.numpy(),
                    chosen=action,
                    values=values,
                    score=score,
                    lives=info["lives"],
                    step=len(values),
                    legend=legend,
                )
                composer.set_step(maps, panel)
                for frame in pending:  # this step's map is held over the frames it covers
                    if seen >= max_frames:
                        break
                    if seen % keep_every == 0:
                        writer.write(composer.compose(frame))
                        if on_frame is not None:
                            on_frame(composer)
                    seen += 1
                pending = []
                score += float(reward)
                done = terminated or truncated
            recording.games.append((score, len(values), done))
            if seen >= max_frames:
                break
    except BaseException:
        if video is not None:
            video[1].abort()
        raise
    finally:
        env.close()
        for heat_maker in heat_makers:
            heat_maker.close()
    if video is None:
        raise ValueError(f"Nothing to record: {episodes} games of at most {max_frames} frames.")
    writer = video[1]
    writer.close()
    recording.frames = writer.frames
    return recording
