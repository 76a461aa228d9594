"""Composed gameplay frames, in the YUV 4:2:0 planes that the encoder takes.

Each video frame lays side by side: the full-colour game frame, the same frame
under one or two heat maps, and an info column with the action probabilities
(chosen action marked), the value estimate over time and the score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np

from abnrl.media.explainers import HeadMaps
from abnrl.media.peaks import refined_peaks
from envs.objects import OBSERVATION_SIZE
from vision.overlay import PanelPlace, colormap_table, panel_places, panels

SCALE = 2
"""Game frames (210x160) are shown at twice their size."""
INFO_WIDTH = 320
VALUE_HISTORY = 150
"""Agent steps of value estimate shown in the info column."""
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_WHITE, _GREY, _HIGHLIGHT = (255, 255, 255), (110, 110, 110), (255, 200, 40)
HEAT_ALPHA = 0.55
"""Weight of the heat map where it is 1; the weight follows the map, so the game stays
visible where attention is low, and where it peaks the red ball still differs from black
background by a CIELAB distance of 53 (jet at 0.7, the earlier look: 43, red on red)."""
PEAK_LUMA = 235
"""The peak marker's outer ring (white in limited-range luma)."""
PEAK_DARK_LUMA = 16
"""The peak marker's inner ring (black), which stands out on the heat map's yellow peak."""
PEAK_RADIUS = 5
"""The peak marker's radius, in video pixels."""
HEAT_COLORMAP = "viridis"
"""Perceptually even and colour-blind safe; its yellow peak differs in hue from Breakout's
red ball and paddle, which jet's dark-red peak swallowed."""
HEAD_COLOURS = (
    (255, 64, 64), (64, 224, 64), (80, 144, 255), (255, 220, 0),
    (255, 96, 255), (0, 230, 230), (255, 160, 40), (240, 240, 240),
)  # fmt: skip
"""RGB of the heads' markers in the heads panel, head k in colour k (cycling)."""
HEAD_RADIUS = 5
"""Radius of a head's marker, in video pixels."""
# RGB (and a constant 1) -> BT.601 limited-range Y, Cb, Cr, ffmpeg's smpte170m/tv.
_RGB_TO_YCBCR = (
    np.array(
        [
            [65.481, 128.553, 24.966, 16 * 255],
            [-37.797, -74.203, 112.0, 128 * 255],
            [112.0, -93.786, -18.214, 128 * 255],
        ],
        dtype=np.float32,
    )
    / 255
)


def upscale(image: np.ndarray, out: np.ndarray) -> None:
    """``image`` at SCALE times its size (each pixel a SCALE x SCALE block), into ``out``.

    Strided copies: on a view into a larger canvas they take half the time of
    OpenCV's nearest-neighbour resize.
    """
    first_rows = out[::SCALE]
    for column in range(SCALE):
        first_rows[:, column::SCALE] = image
    for row in range(1, SCALE):
        out[row::SCALE] = first_rows


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 RGB -> Y, Cb, Cr: BT.601, limited range, as the video declares."""
    return cv2.transform(rgb, _RGB_TO_YCBCR)


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
    legend: Sequence[str] = (),
) -> np.ndarray:
    """The info column: score, action-probability bars (the action taken filled in the
    highlight colour, the most probable one framed in white), the value over time with
    its range, and ``legend`` lines at the bottom. (height, 320, 3)."""
    panel = np.zeros((height, INFO_WIDTH, 3), dtype=np.uint8)
    status = f"score {score:.0f}" + (f"   lives {lives}" if lives else "")
    cv2.putText(panel, status, (10, 28), _FONT, 0.65, _WHITE, 1, cv2.LINE_AA)
    cv2.putText(panel, f"agent step {step}", (10, 52), _FONT, 0.5, _GREY, 1, cv2.LINE_AA)
    top, bar_height, bar_left, bar_width = 80, 22, 90, INFO_WIDTH - 100
    cv2.putText(panel, "action probabilities", (10, top - 8), _FONT, 0.45, _GREY, 1, cv2.LINE_AA)
    most_probable = int(np.argmax(probabilities))
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
        if i == most_probable:
            corner = (bar_left + bar_width, y + bar_height)
            cv2.rectangle(panel, (bar_left - 2, y - 2), corner, _WHITE, 1)
    lines = ["yellow: action taken (sampled)", "white frame: most probable", *legend]
    legend_top = height - 8 - 18 * len(lines)
    for i, line in enumerate(lines):
        position = (10, legend_top + 18 * (i + 1))
        cv2.putText(panel, line, position, _FONT, 0.42, _GREY, 1, cv2.LINE_AA)
    plot_top = top + len(action_names) * (bar_height + 6) + 30
    plot_bottom = legend_top - 10
    if plot_bottom - plot_top > 30 and values:
        _value_plot(panel, values[-VALUE_HISTORY:], plot_top, plot_bottom)
    return panel


def _value_plot(panel: np.ndarray, values: Sequence[float], top: int, bottom: int) -> None:
    left, right = 10, INFO_WIDTH - 10
    low, high = min(values), max(values)
    title = f"value {values[-1]:.2f} (range {low:.2f} to {high:.2f})"
    cv2.putText(panel, title, (left, top - 8), _FONT, 0.45, _GREY, 1, cv2.LINE_AA)
    cv2.rectangle(panel, (left, top), (right, bottom), (40, 40, 40), 1)
    span = max(high - low, 1e-6)
    xs = left + np.arange(len(values)) * (right - left) / max(VALUE_HISTORY - 1, 1)
    ys = bottom - (np.asarray(values) - low) / span * (bottom - top)
    points = np.stack([xs, ys], axis=1).astype(np.int32)
    cv2.polylines(
        panel, [points], isClosed=False, color=_HIGHLIGHT, thickness=1, lineType=cv2.LINE_AA
    )


class _PanelPlanes(NamedTuple):
    """One panel's views into the canvas's luma and chroma planes."""

    luma: np.ndarray
    cb: np.ndarray
    cr: np.ndarray


class FrameComposer:
    """Lays video frames out on one canvas that every frame reuses, in the encoder's format.

    Side by side: the game, the game under each heat map, the info column. The
    canvas is kept as the YUV 4:2:0 planes that the encoder takes: each game frame
    is converted to Y, Cb, Cr at its own size, its luma is upscaled, and its chroma
    is copied as it is (at SCALE 2 one game pixel covers one chroma sample), so no
    full-size colour conversion runs per frame. Heat maps are blended in Y, Cb, Cr
    (the conversion is affine, so this equals blending in RGB) with an opacity that
    follows the map, and each map's peak is circled. A stack of maps (K, h, w), one per
    attention head, shows instead as the plain game with a numbered marker in each head's
    colour at its refined peak: a dot for a sharp head, a ring for a broad one. The
    titles are drawn once; the heat maps and the info column change per agent step
    (``set_step``), the game per emulator frame (``compose``).

    Args:
        frame_shape: (height, width) of the game frames.
        titles: one per panel: the game, each heat map, the info column.
    """

    def __init__(self, frame_shape: tuple[int, int], titles: Sequence[str]) -> None:
        height, width = frame_shape
        game = (height * SCALE, width * SCALE)
        shapes = [game] * (len(titles) - 1) + [(height * SCALE, INFO_WIDTH)]
        canvas = panels([np.zeros((*shape, 3), np.uint8) for shape in shapes], titles)
        self.height, self.width = canvas.shape[:2]
        if self.height % 2 or self.width % 2:
            raise ValueError(f"A {self.width}x{self.height} canvas has no 4:2:0 chroma planes.")
        self.frame = cv2.cvtColor(canvas, cv2.COLOR_RGB2YUV_I420).reshape(-1)
        """The composed frame: Y, Cb and Cr planes one after the other."""
        planes = _planes(self.frame, self.height, self.width)
        _, boxes = panel_places(shapes, titled=True)
        self._panels = [_panel_planes(planes, box) for box in boxes]
        self._frame_shape = frame_shape
        self._colours = [
            np.ascontiguousarray(c) for c in rgb_to_ycbcr(colormap_table(HEAT_COLORMAP)[None])[0].T
        ]
        self._head_colours = rgb_to_ycbcr(np.array([HEAD_COLOURS], np.uint8))[0]
        self._heat: list[_Heat | _HeadMarks] = []

    def set_step(self, heat_maps: Sequence[np.ndarray | HeadMaps], info: np.ndarray) -> None:
        """The heat maps ((84, 84) in [0, 1], placed on the observation; or ``HeadMaps``)
        and the info column of the next frames."""
        if len(heat_maps) != len(self._panels) - 2:
            raise ValueError(f"Expected {len(self._panels) - 2} heat maps, got {len(heat_maps)}.")
        self._heat = [
            self._head_marks(heat_map) if isinstance(heat_map, HeadMaps) else self._colour(heat_map)
            for heat_map in heat_maps
        ]
        panel = self._panels[-1]
        info_planes = _planes(cv2.cvtColor(info, cv2.COLOR_RGB2YUV_I420), *info.shape[:2])
        for view, plane in zip(panel, info_planes, strict=True):
            view[...] = plane

    def compose(self, frame: np.ndarray) -> np.ndarray:
        """``self.frame`` with the RGB game ``frame`` drawn in; the next call reuses it."""
        game, *heat_panels, _ = self._panels
        planes = cv2.split(rgb_to_ycbcr(frame))
        _put(game, planes)
        for panel, heat in zip(heat_panels, self._heat, strict=True):
            if isinstance(heat, _HeadMarks):
                _put(panel, planes)
                _draw_marks(panel, heat, self._head_colours)
                continue
            _put(
                panel,
                [
                    cv2.blendLinear(p, h, heat.game_weight, heat.weight)
                    for p, h in zip(planes, heat.planes, strict=True)
                ],
            )
            # A dark ring inside a bright one: visible on the bright peak and on dark play.
            cv2.circle(panel.luma, heat.peak, PEAK_RADIUS + 1, PEAK_LUMA, 1, cv2.LINE_AA)
            cv2.circle(panel.luma, heat.peak, PEAK_RADIUS, PEAK_DARK_LUMA, 1, cv2.LINE_AA)
        return self.frame

    def rgb(self) -> np.ndarray:
        """The composed frame as (height, width, 3) uint8 RGB."""
        return cv2.cvtColor(self.frame.reshape(-1, self.width), cv2.COLOR_YUV2RGB_I420)

    def _head_marks(self, heads: HeadMaps) -> _HeadMarks:
        """Each head's refined peak, in the panel's pixels, and whether the head is sharp."""
        return _HeadMarks([self._to_panel(x, y) for x, y in refined_peaks(heads.maps)], heads.sharp)

    def _to_panel(self, x: float, y: float) -> tuple[int, int]:
        """Observation pixels (x, y), a pixel's centre at +0.5 -> the panel's pixels."""
        height, width = self._frame_shape
        return (
            round(x * width / OBSERVATION_SIZE * SCALE),
            round(y * height / OBSERVATION_SIZE * SCALE),
        )

    def _colour(self, heat_map: np.ndarray) -> _Heat:
        """A map coloured at the game frame's size, its blending weights and its peak."""
        height, width = self._frame_shape
        resized = cv2.resize(
            np.asarray(heat_map, np.float32), (width, height), interpolation=cv2.INTER_LINEAR
        )
        resized = np.clip(resized, 0.0, 1.0)
        levels = np.rint(resized * 255).astype(np.uint8)
        weight = HEAT_ALPHA * resized
        return _Heat(
            [cv2.LUT(levels, colours) for colours in self._colours],
            weight,
            1.0 - weight,
            self._to_panel(*refined_peaks(heat_map[None])[0]),
        )


class _Heat(NamedTuple):
    """One heat map of the current agent step, ready to blend."""

    planes: list[np.ndarray]
    """Its colours' Y, Cb, Cr planes at the game frame's size."""
    weight: np.ndarray
    """(height, width) float32 opacity of the colours: HEAT_ALPHA times the map."""
    game_weight: np.ndarray
    """1 - weight: the game's share."""
    peak: tuple[int, int]
    """(x, y) of the map's refined peak (``abnrl.media.peaks``) in the panel's pixels."""


class _HeadMarks(NamedTuple):
    """The heads of the current agent step, ready to mark."""

    peaks: list[tuple[int, int]]
    """(x, y) of each head's refined peak in the panel's pixels."""
    sharp: list[bool]
    """Per head: its map's entropy is below ``SHARP_ENTROPY`` of a flat map's."""


def _draw_marks(panel: _PanelPlanes, marks: _HeadMarks, colours: np.ndarray) -> None:
    """A dot (sharp head) or ring (broad head) per head in its colour (``colours``: Y, Cb,
    Cr rows), its number beside."""
    for k, ((x, y), sharp) in enumerate(zip(marks.peaks, marks.sharp, strict=True)):
        luma, cb, cr = (float(v) for v in colours[k % len(colours)])
        thickness = -1 if sharp else 2
        chroma_thickness = -1 if sharp else 1  # at half the size: a ring's chroma is faint
        cv2.circle(panel.luma, (x, y), HEAD_RADIUS, luma, thickness, cv2.LINE_AA)
        cv2.circle(panel.cb, (x // 2, y // 2), HEAD_RADIUS // 2, cb, chroma_thickness)
        cv2.circle(panel.cr, (x // 2, y // 2), HEAD_RADIUS // 2, cr, chroma_thickness)
        label = (x + HEAD_RADIUS + 1, y + HEAD_RADIUS)
        cv2.putText(panel.luma, str(k), label, _FONT, 0.35, PEAK_LUMA, 1, cv2.LINE_AA)


def _planes(i420: np.ndarray, height: int, width: int) -> tuple[np.ndarray, ...]:
    """The Y (height, width), Cb and Cr (height / 2, width / 2) planes of a 4:2:0 frame."""
    flat = i420.reshape(-1)
    luma, chroma = height * width, height * width // 4
    return (
        flat[:luma].reshape(height, width),
        flat[luma : luma + chroma].reshape(height // 2, width // 2),
        flat[luma + chroma :].reshape(height // 2, width // 2),
    )


def _panel_planes(planes: Sequence[np.ndarray], box: PanelPlace) -> _PanelPlanes:
    """A panel's views into the Y, Cb, Cr planes; its box must lie on even pixels."""
    if any(value % 2 for value in box):
        raise ValueError(f"Panel {box} does not fall on the 4:2:0 chroma grid.")
    luma, cb, cr = planes
    top, left, height, width = box
    chroma = np.s_[top // 2 : (top + height) // 2, left // 2 : (left + width) // 2]
    return _PanelPlanes(luma[top : top + height, left : left + width], cb[chroma], cr[chroma])


def _put(panel: _PanelPlanes, planes: Sequence[np.ndarray]) -> None:
    """Game-size Y, Cb, Cr planes into a panel: luma upscaled, chroma as it is."""
    luma, cb, cr = planes
    upscale(luma, out=panel.luma)
    panel.cb[...] = cb
    panel.cr[...] = cr
