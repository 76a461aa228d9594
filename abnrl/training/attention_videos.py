"""Attention videos and images of an agent during training, for the run dir and TensorBoard."""

from __future__ import annotations

import io
import itertools

import numpy as np
from PIL import Image as PILImage
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Image, TensorBoardOutputFormat
from tensorboard.compat.proto.summary_pb2 import Summary

from abnrl.media.recording import record_games
from abnrl.media.video import FrameComposer
from abnrl.training.monitor import TrainingMonitor
from abnrl.training.run_dir import RunDir
from agents.policy import ABNPolicy
from agents.policy_view import policy_network

TENSORBOARD_ONLY = ("stdout", "log", "json", "csv")
VIDEO_STRIDE = 4
"""TensorBoard gets every 4th recorded frame (30 fps video: 7.5 fps), at half size."""


class AttentionVideos(BaseCallback):
    """After each evaluation of ``monitor`` (placed before this callback in a
    ``CallbackList``), records the agent's attention (``record_attention``)."""

    def __init__(
        self, monitor: TrainingMonitor, *, game: str, protocol: str, run_dir: RunDir, frames: int
    ) -> None:
        super().__init__()
        self.monitor = monitor
        self.game, self.protocol, self.run_dir, self.frames = game, protocol, run_dir, frames
        self.recorded = 0

    def _record_if_evaluated(self) -> None:
        if self.monitor.evaluations > self.recorded:
            self.recorded = self.monitor.evaluations
            record_attention(self.model, self.game, self.protocol, self.run_dir, self.frames)

    def _on_rollout_start(self) -> None:
        self._record_if_evaluated()

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        self._record_if_evaluated()


def record_attention(
    model: BaseAlgorithm, game: str, protocol: str, run_dir: RunDir, max_frames: int
) -> None:
    """Record one game (cut at ``max_frames``) with the agent's attention map: an MP4 in
    ``videos/``, and a still image and a short animation in TensorBoard.

    ABN agents show their attention map; others Grad-CAM of the chosen action.
    """
    explainer = "attention" if isinstance(model.policy, ABNPolicy) else "gradcam"
    frames: list[np.ndarray] = []
    written = itertools.count()

    def keep(composer: FrameComposer) -> None:
        if next(written) % VIDEO_STRIDE == 0:
            frames.append(composer.rgb()[::2, ::2].copy())

    out = run_dir.video(model.num_timesteps)
    out.parent.mkdir(parents=True, exist_ok=True)
    record_games(
        policy_network(model.policy),
        game,
        out,
        protocol=protocol,
        explainers=[explainer],
        max_frames=max_frames,
        fps=30,
        seed=model.num_timesteps,
        on_frame=keep,
    )
    model.logger.record(
        "attention/frame", Image(frames[len(frames) // 2], "HWC"), exclude=TENSORBOARD_ONLY
    )
    for output in model.logger.output_formats:
        if isinstance(output, TensorBoardOutputFormat) and output.writer.file_writer is not None:
            output.writer.file_writer.add_summary(
                _animation_summary("attention/video", frames), model.num_timesteps
            )


def _animation_summary(tag: str, frames: list[np.ndarray]) -> Summary:
    """An animated-GIF image summary, which TensorBoard plays in its Images tab (torch's
    ``add_video`` needs moviepy 1's ``moviepy.editor``, which moviepy 2 no longer has)."""
    buffer = io.BytesIO()
    first, *rest = (PILImage.fromarray(frame) for frame in frames)
    first.save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=rest,
        loop=0,
        duration=int(1000 * VIDEO_STRIDE / 30),
    )
    height, width = frames[0].shape[:2]
    image = Summary.Image(
        height=height, width=width, colorspace=3, encoded_image_string=buffer.getvalue()
    )
    return Summary(value=[Summary.Value(tag=tag, image=image)])
