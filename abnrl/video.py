"""Composed gameplay frames and their MP4 encoding.

Each video frame lays side by side: the full-colour game frame, the same frame
under one or two heat maps, and an info column with the action probabilities
(chosen action marked), the value estimate over time and the score.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from moviepy.config import FFMPEG_BINARY

from vision.overlay import colorize, panel_boxes, panels

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


def upscale(frame: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``frame`` at SCALE times its size, written into ``out`` when given."""
    height, width = frame.shape[:2]
    size = (width * SCALE, height * SCALE)
    return cv2.resize(frame, size, dst=out, interpolation=cv2.INTER_NEAREST)


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


class FrameComposer:
    """Lays video frames out on one canvas that every frame reuses.

    Side by side: the game, the game under each heat layer, the info column. The
    titles and positions are fixed for a video, so they are drawn once; the heat
    layers and the info column change per agent step (``set_step``), the game per
    emulator frame (``compose``).

    Args:
        frame_shape: (height, width) of the game frames.
        titles: one per panel: the game, each heat layer, the info column.
    """

    def __init__(self, frame_shape: tuple[int, int], titles: Sequence[str]) -> None:
        height, width = frame_shape
        game = (height * SCALE, width * SCALE)
        shapes = [game] * (len(titles) - 1) + [(height * SCALE, INFO_WIDTH)]
        self.canvas = panels([np.zeros((*shape, 3), np.uint8) for shape in shapes], titles)
        _, boxes = panel_boxes(shapes, titled=True)
        self._views = [
            self.canvas[b.top : b.top + b.height, b.left : b.left + b.width] for b in boxes
        ]
        self._heat_layers: list[np.ndarray] = []

    def set_step(self, heat_layers: Sequence[np.ndarray], info: np.ndarray) -> None:
        """The heat layers (game-frame size) and the info column of the next frames."""
        if len(heat_layers) != len(self._views) - 2:
            raise ValueError(
                f"Expected {len(self._views) - 2} heat layers, got {len(heat_layers)}."
            )
        self._heat_layers = list(heat_layers)
        self._views[-1][...] = info

    def compose(self, frame: np.ndarray) -> np.ndarray:
        """The canvas with ``frame`` drawn in; it is overwritten by the next call."""
        game_view, *heat_views, _ = self._views
        upscale(frame, out=game_view)
        for view, layer in zip(heat_views, self._heat_layers, strict=True):
            upscale(blend(frame, layer), out=view)
        return self.canvas


class VideoWriter:
    """Streams RGB frames into an H.264 MP4; the file appears only once it is complete.

    Frames go to the ffmpeg binary that moviepy uses, converted to YUV 4:2:0 here
    (OpenCV, BT.601 limited range, as ffmpeg's own conversion): half the bytes
    through the pipe and no conversion in ffmpeg, which halves recording time
    compared with moviepy's RGB writer.

    Args:
        path: the MP4 to write (replaced atomically on ``close``).
        size: (width, height) of every frame; both even.
        fps: frames per second of the video.
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float) -> None:
        width, height = size
        if width % 2 or height % 2:
            raise ValueError(f"H.264 needs an even frame size, got {width}x{height}.")
        self.path = Path(path)
        self.size = (width, height)
        self._tmp = self.path.with_name(f".{self.path.stem}.partial.mp4")
        command = [
            FFMPEG_BINARY, "-y", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-r", f"{fps}",
            "-i", "-", "-an",
            "-vcodec", "libx264", "-preset", "ultrafast", "-crf", "23", "-pix_fmt", "yuv420p",
            "-colorspace", "smpte170m", "-color_range", "tv",
            "-f", "mp4", str(self._tmp),
        ]  # fmt: skip
        self._ffmpeg = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.size[1], self.size[0], 3):
            raise ValueError(
                f"Frame of shape {frame.shape} in a {self.size[0]}x{self.size[1]} video."
            )
        try:
            self._ffmpeg.stdin.write(cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).data)
        except BrokenPipeError:
            raise OSError(f"ffmpeg stopped writing {self.path.name}: {self._errors()}") from None
        self.frames += 1

    def close(self) -> None:
        self._ffmpeg.stdin.close()
        if self._ffmpeg.wait() != 0:
            message = self._errors()
            self._tmp.unlink(missing_ok=True)
            raise OSError(f"ffmpeg could not write {self.path.name}: {message}")
        self._ffmpeg.stderr.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._ffmpeg.kill()
        self._ffmpeg.wait()
        self._ffmpeg.stdin.close()
        self._ffmpeg.stderr.close()
        self._tmp.unlink(missing_ok=True)

    def _errors(self) -> str:
        """ffmpeg's last error line."""
        self._ffmpeg.wait()
        lines = self._ffmpeg.stderr.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no message"
