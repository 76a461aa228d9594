"""Composed gameplay frames and their MP4 encoding.

Each video frame lays side by side: the full-colour game frame, the same frame
under one or two heat maps, and an info column with the action probabilities
(chosen action marked), the value estimate over time and the score.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from moviepy.video.io.ffmpeg_writer import FFMPEG_VideoWriter

from vision.overlay import colorize, panels

SCALE = 2
"""Game frames (210x160) are shown at twice their size."""
INFO_WIDTH = 320
VALUE_HISTORY = 150
"""Agent steps of value estimate shown in the info column."""
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_WHITE, _GREY, _HIGHLIGHT = (255, 255, 255), (110, 110, 110), (255, 200, 40)


def heat_layer(heat_map: np.ndarray, frame_shape: tuple[int, int]) -> np.ndarray:
    """A (h, w) map in [0, 1], resized to the game frame and coloured: (H, W, 3) uint8."""
    height, width = frame_shape
    resized = cv2.resize(
        heat_map.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR
    )
    return colorize(resized)


def blend(frame: np.ndarray, layer: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    return cv2.addWeighted(layer, alpha, frame, 1.0 - alpha, 0.0)


def upscale(frame: np.ndarray) -> np.ndarray:
    height, width = frame.shape[:2]
    return cv2.resize(frame, (width * SCALE, height * SCALE), interpolation=cv2.INTER_NEAREST)


def info_panel(
    height: int,
    *,
    action_names: Sequence[str],
    probabilities: np.ndarray,
    chosen: int,
    values: Sequence[float],
    score: float,
    lives: int,
    step: int,
) -> np.ndarray:
    """The info column: action-probability bars, value over time, score. (height, 320, 3)."""
    panel = np.zeros((height, INFO_WIDTH, 3), dtype=np.uint8)
    cv2.putText(
        panel, f"score {score:.0f}   lives {lives}", (10, 28), _FONT, 0.65, _WHITE, 1, cv2.LINE_AA
    )
    cv2.putText(panel, f"agent step {step}", (10, 52), _FONT, 0.5, _GREY, 1, cv2.LINE_AA)
    top, bar_height, bar_left, bar_width = 80, 22, 90, INFO_WIDTH - 100
    cv2.putText(panel, "action probabilities", (10, top - 8), _FONT, 0.45, _GREY, 1, cv2.LINE_AA)
    for i, (name, p) in enumerate(zip(action_names, probabilities, strict=True)):
        y = top + i * (bar_height + 6)
        colour = _HIGHLIGHT if i == chosen else _GREY
        cv2.putText(panel, name[:9], (10, y + 16), _FONT, 0.45, colour, 1, cv2.LINE_AA)
        cv2.rectangle(
            panel, (bar_left, y), (bar_left + bar_width, y + bar_height), (40, 40, 40), -1
        )
        cv2.rectangle(
            panel, (bar_left, y), (bar_left + int(bar_width * p), y + bar_height), colour, -1
        )
    plot_top = top + len(action_names) * (bar_height + 6) + 30
    plot_bottom = height - 20
    if plot_bottom - plot_top > 30 and values:
        _value_plot(panel, values[-VALUE_HISTORY:], plot_top, plot_bottom)
    return panel


def _value_plot(panel: np.ndarray, values: Sequence[float], top: int, bottom: int) -> None:
    left, right = 10, INFO_WIDTH - 10
    cv2.putText(
        panel, f"value {values[-1]:.2f}", (left, top - 8), _FONT, 0.45, _GREY, 1, cv2.LINE_AA
    )
    cv2.rectangle(panel, (left, top), (right, bottom), (40, 40, 40), 1)
    low, high = min(values), max(values)
    span = max(high - low, 1e-6)
    xs = left + np.arange(len(values)) * (right - left) / max(VALUE_HISTORY - 1, 1)
    ys = bottom - (np.asarray(values) - low) / span * (bottom - top)
    points = np.stack([xs, ys], axis=1).astype(np.int32)
    cv2.polylines(
        panel, [points], isClosed=False, color=_HIGHLIGHT, thickness=1, lineType=cv2.LINE_AA
    )


def compose(
    frame: np.ndarray,
    heat_layers: Sequence[np.ndarray],
    titles: Sequence[str],
    info: np.ndarray,
) -> np.ndarray:
    """One video frame: the game, the game under each heat layer, the info column."""
    images = [upscale(frame), *(upscale(blend(frame, layer)) for layer in heat_layers), info]
    return panels(images, titles)


class VideoWriter:
    """Streams RGB frames into an H.264 MP4; the file appears only once it is complete.

    Args:
        path: the MP4 to write (replaced atomically on ``close``).
        size: (width, height) of every frame; both even.
        fps: frames per second of the video.
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float) -> None:
        self.path = Path(path)
        self._tmp = self.path.with_name(f".{self.path.stem}.partial.mp4")
        self._writer = FFMPEG_VideoWriter(
            str(self._tmp),
            size,
            fps,
            codec="libx264",
            preset="ultrafast",
            ffmpeg_params=["-crf", "23"],
            logfile=None,
        )
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        self._writer.write_frame(frame)
        self.frames += 1

    def close(self) -> None:
        self._writer.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._writer.close()
        self._tmp.unlink(missing_ok=True)
