"""Play games with a policy network (``abnrl.playing``) and record them as a composed
attention video."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from abnrl.media.explainers import LEGENDS, PolicyExplainer
from abnrl.media.mp4 import VideoWriter
from abnrl.media.video import SCALE, FrameComposer, info_panel
from abnrl.playing import ActionRule, Step, action_names, play_games

EMULATOR_FPS = 60


@dataclass
class Recording:
    """What was recorded: the video file, its frames, and each game's score and length."""

    path: Path
    fps: int
    frames: int = 0
    games: list[tuple[float, int, bool]] = field(default_factory=list)
    """(score, agent steps, whether the game ended) per game."""


@dataclass
class _Video:
    """The composer and the MP4 writer, made at the first frame (whose size they take),
    and the count of emulator frames played into the video (kept or, at 30 fps, skipped)."""

    out: Path
    fps: int
    titles: list[str]
    max_frames: int
    on_frame: Callable[[FrameComposer], None] | None
    parts: tuple[FrameComposer, VideoWriter] | None = None
    seen: int = 0

    @property
    def full(self) -> bool:
        return self.seen >= self.max_frames

    def composer(self, frame_shape: tuple[int, int]) -> FrameComposer:
        if self.parts is None:
            composer = FrameComposer(frame_shape, self.titles)
            writer = VideoWriter(self.out, (composer.width, composer.height), self.fps)
            self.parts = composer, writer
        return self.parts[0]

    def write(self, frames: Sequence[np.ndarray]) -> None:
        """Write ``frames`` with the composer's present step (its map held over them)."""
        assert self.parts is not None
        composer, writer = self.parts
        for frame in frames:
            if self.full:
                break
            if self.seen % (EMULATOR_FPS // self.fps) == 0:
                writer.write(composer.compose(frame))
                if self.on_frame is not None:
                    self.on_frame(composer)
            self.seen += 1


def _panel(
    step: Step,
    height: int,
    names: Sequence[str],
    values: Sequence[float],
    score: float,
    legend: Sequence[str],
) -> np.ndarray:
    """The info column for ``step``: its action probabilities, the values so far, the score
    before the step."""
    probabilities = torch.softmax(step.output.action_logits[0].float().cpu(), dim=-1)
    return info_panel(
        height,
        action_names=names,
        probabilities=probabilities.numpy(),
        chosen=step.action,
        values=values,
        score=score,
        lives=step.lives,
        step=len(values),
        legend=legend,
    )


def record_games(
    network: nn.Module,
    game: str,
    out: Path,
    *,
    protocol: str,
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
        game: the ALE game the network plays (the agent's).
        out: the MP4 to write.
        protocol: the game protocol (the agent's).
        explainers: heat maps to show (``abnrl.media.explainers.POLICY_EXPLAINERS`` but
            "none"; aliases such as "abn" too).
        episodes: games to play.
        max_frames: stop after this many emulator frames.
        fps: 60 keeps every emulator frame, 30 every second one.
        deterministic: take the most probable action instead of sampling
            (epsilon-greedy, ``abnrl.playing.ActionRule``).
        seed: seed of the games and of the action rule.
        on_frame: called after every frame written with the composer, whose
            ``rgb()`` is that frame (e.g. to log it).
    """
    heat_makers = [PolicyExplainer.create(name, network) for name in explainers]
    names = action_names(game, protocol)
    legend = sorted({line for h in heat_makers for line in LEGENDS.get(h.name, ())})
    titles = [game, *(h.title for h in heat_makers), "agent"]
    video = _Video(out, fps, titles, max_frames, on_frame)
    recording = Recording(out, fps)
    rule = ActionRule.for_network(network, seed, deterministic=deterministic)
    steps = play_games(network, game, protocol=protocol, rule=rule, seed=seed, episodes=episodes)
    score = 0.0  # the game's so far, and its values
    values: list[float] = []
    try:
        with closing(steps):
            for step in steps:
                if step.step == 0:
                    score, values = 0.0, []
                maps = [h.heat_map(step.observation, step.output, step.action) for h in heat_makers]
                values.append(float(step.output.value[0]))
                frame_shape = step.frames[0].shape[:2]
                # the info column is as tall as the game panels
                panel = _panel(step, SCALE * frame_shape[0], names, values, score, legend)
                video.composer(frame_shape).set_step(maps, panel)
                video.write(step.frames)
                score += step.reward
                if step.done or video.full:
                    recording.games.append((score, len(values), step.done))
                if video.full:
                    break
    except BaseException:
        if video.parts is not None:
            video.parts[1].abort()
        raise
    finally:
        for heat_maker in heat_makers:
            heat_maker.close()
    if video.parts is None:
        raise ValueError(f"Nothing to record: {episodes} games of at most {max_frames} frames.")
    writer = video.parts[1]
    writer.close()
    recording.frames = writer.frames
    return recording
