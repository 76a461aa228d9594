"""How large an image file may be before it is decoded: a guard against images that a few
kilobytes on disk inflate into gigabytes (a "decompression bomb"), thin ones included."""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image

MAX_PIXELS = 50_000_000
"""Larger images are refused; no model here looks at more than a few hundred pixels a side."""
MAX_SIDE = 16_384
"""A side longer than this is refused too: a 1 x 45,000,000 image is under ``MAX_PIXELS``
but a resize or a crop of it exhausts memory."""


class ImageTooLargeError(ValueError):
    """An image file whose header gives a size that is refused."""

    def sentence(self) -> str:
        """The message's one sentence, also when a DataLoader worker wrapped it in its own."""
        last = str(self).strip().splitlines()[-1]
        return last.split(f"{type(self).__name__}: ", 1)[-1]


def size_problem(width: int, height: int) -> str | None:
    """Why an image of this size is refused, in a few words; None if it is not."""
    if width > MAX_SIDE or height > MAX_SIDE:
        return f"{width}x{height} pixels, a side over {MAX_SIDE:,}"
    if width * height > MAX_PIXELS:
        return f"{width}x{height} pixels, over {MAX_PIXELS // 10**6} million"
    return None


def open_limited(path: str | Path) -> Image.Image:
    """``Image.open`` after its header's size is checked; the image is not decoded yet.

    Raises:
        ImageTooLargeError: the image is too large (one sentence naming the file).
        OSError: it cannot be read.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(path)
        except Image.DecompressionBombError:
            raise ImageTooLargeError(f"{path} is too large to decode safely.") from None
    problem = size_problem(*image.size)
    if problem is not None:
        image.close()
        raise ImageTooLargeError(f"{path} is {problem}; such images are refused.")
    return image


def load_rgb(path: str | Path) -> Image.Image:
    """An image file as RGB, its size checked first (a loader for ``ImageFolder``)."""
    with open_limited(path) as image:
        return image.convert("RGB")
