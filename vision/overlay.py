"""Heat-map overlays: colour a map, blend it onto an image, lay panels side by side.

Everything returns uint8 RGB arrays (H, W, 3), the format of video frames and
TensorBoard images. Inputs may be numpy arrays, laid out (H, W) or (H, W, C) as
OpenCV does, or torch tensors, laid out (H, W) or (C, H, W) as torch does; float
images are taken to be in [0, 1], integer images in [0, 255].
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import torch

from vision.files import write_bytes_atomic

Colormap = str | int
"""An OpenCV colormap: a name (``"jet"``, ``"turbo"``, ``"inferno"``) or a ``cv2.COLORMAP_*``."""


@lru_cache
def colormap_table(colormap: Colormap) -> np.ndarray:
    """(256, 3) uint8 RGB colours of an OpenCV colormap."""
    if isinstance(colormap, str):
        code: int | None = getattr(cv2, f"COLORMAP_{colormap.upper()}", None)
        if code is None:
            raise ValueError(
                f"Unknown colormap {colormap!r}; OpenCV has no COLORMAP_{colormap.upper()}."
            )
    else:
        code = colormap
    ramp = np.arange(256, dtype=np.uint8)[:, None]  # (256, 1)
    return cv2.applyColorMap(ramp, code)[:, 0, ::-1].copy()  # BGR -> RGB


def _to_numpy(array: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu()
        if array.ndim == 3:
            array = array.permute(1, 2, 0)  # (C, H, W) -> (H, W, C)
        return array.numpy()
    return np.asarray(array)


def to_rgb(image: np.ndarray | torch.Tensor) -> np.ndarray:
    """An image as uint8 RGB (H, W, 3): grey images are repeated, floats scaled from [0, 1]."""
    array = _to_numpy(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise ValueError(
            f"Expected an image (H, W), (H, W, 1) or (H, W, 3) (tensors: (C, H, W)); "
            f"got shape {array.shape}."
        )
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif np.issubdtype(array.dtype, np.floating):
        array = np.rint(np.clip(array, 0.0, 1.0) * 255).astype(np.uint8)
    elif array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return np.ascontiguousarray(array)


def colorize(maps: np.ndarray | torch.Tensor, colormap: Colormap = "jet") -> np.ndarray:
    """Colour maps with values in [0, 1] (clipped): (..., H, W) -> (..., H, W, 3) uint8 RGB."""
    values = maps.detach().cpu().numpy() if isinstance(maps, torch.Tensor) else np.asarray(maps)
    levels = np.rint(np.clip(values.astype(np.float32), 0.0, 1.0) * 255).astype(np.uint8)
    return colormap_table(colormap)[levels]


def overlay(
    image: np.ndarray | torch.Tensor,
    heat_map: np.ndarray | torch.Tensor,
    *,
    alpha: float = 0.5,
    colormap: Colormap = "jet",
) -> np.ndarray:
    """Blend a coloured map onto an image; the map is resized to the image.

    Args:
        image: the image, any resolution (see the module notes for layouts).
        heat_map: (h, w) map in [0, 1], any resolution; bilinearly resized.
        alpha: the map's weight; the image gets ``1 - alpha``.
        colormap: OpenCV colormap name or code.

    Returns:
        (H, W, 3) uint8 RGB at the image's resolution.
    """
    rgb = to_rgb(image)
    values: np.ndarray = _to_numpy(heat_map).astype(np.float32)
    if values.ndim != 2:
        raise ValueError(f"Expected one (h, w) heat map; got shape {values.shape}.")
    height, width = rgb.shape[:2]
    if values.shape != (height, width):
        values = cv2.resize(values, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.addWeighted(colorize(values, colormap), alpha, rgb, 1.0 - alpha, 0.0)


class PanelPlace(NamedTuple):
    """Where a panel sits on the canvas, in pixels."""

    top: int
    left: int
    height: int
    width: int


def panel_places(
    shapes: Sequence[tuple[int, ...]], *, titled: bool, gap: int = 4, title_height: int = 20
) -> tuple[tuple[int, int], list[PanelPlace]]:
    """The layout of ``panels``: the canvas (height, width) and each panel's box."""
    band = title_height if titled else 0
    height = max(shape[0] for shape in shapes)
    boxes, left = [], 0
    for shape in shapes:
        boxes.append(PanelPlace(band + (height - shape[0]) // 2, left, shape[0], shape[1]))
        left += shape[1] + gap
    return (band + height, left - gap), boxes


def panels(
    images: Sequence[np.ndarray | torch.Tensor],
    titles: Sequence[str] | None = None,
    *,
    gap: int = 4,
    title_height: int = 20,
    background: int = 0,
) -> np.ndarray:
    """Lay images side by side, each under its title, centred vertically.

    Args:
        images: the panels, any sizes (see the module notes for layouts).
        titles: one title per panel, drawn in white; None for no title row.
        gap: pixels between panels.
        title_height: height of the title row in pixels.
        background: grey level of the gaps and padding.

    Returns:
        (H, W, 3) uint8 RGB.
    """
    rgbs = [to_rgb(image) for image in images]
    if not rgbs:
        raise ValueError("panels needs at least one image.")
    if titles is not None and len(titles) != len(rgbs):
        raise ValueError(f"Got {len(titles)} titles for {len(rgbs)} panels.")
    size, boxes = panel_places(
        [rgb.shape for rgb in rgbs], titled=titles is not None, gap=gap, title_height=title_height
    )
    canvas = np.full((*size, 3), background, dtype=np.uint8)
    for index, (rgb, box) in enumerate(zip(rgbs, boxes, strict=True)):
        canvas[box.top : box.top + box.height, box.left : box.left + box.width] = rgb
        if titles is not None:
            _draw_title(canvas, titles[index], box.left, box.width, title_height)
    return canvas


def _draw_title(canvas: np.ndarray, title: str, left: int, width: int, height: int) -> None:
    """Draw ``title`` centred in the box (left, 0, width, height), scaled to fit it."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    (text_width, text_height), _ = cv2.getTextSize(title, font, 1.0, 1)
    scale = min(0.6 * height / text_height, 0.95 * width / max(text_width, 1))
    (text_width, text_height), _ = cv2.getTextSize(title, font, scale, 1)
    origin = (left + (width - text_width) // 2, (height + text_height) // 2)
    cv2.putText(canvas, title, origin, font, scale, (255, 255, 255), 1, cv2.LINE_AA)


def save_png(path: str | os.PathLike[str], image: np.ndarray | torch.Tensor) -> Path:
    """Write an RGB (or grey) image as PNG atomically: a temporary file, then a rename.

    Returns:
        The path written.
    """
    path = Path(path)
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(to_rgb(image), cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"OpenCV could not encode {path.name} as PNG.")
    write_bytes_atomic(path, encoded.tobytes())
    return path
