"""Image files given on the command line: checked before any work, then read as RGB."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from abnrl.errors import UserError

MAX_PIXELS = 50_000_000
"""Larger images are refused: decoding one (a "decompression bomb" is a few KB on disk)
could exhaust memory, and no model here looks at more than a few hundred pixels a side."""


def _refused(path: Path, size: str) -> UserError:
    return UserError(
        f"{path} is {size} pixels; images above {MAX_PIXELS // 10**6} million pixels are refused."
    )


def check_images(paths: Iterable[Path]) -> None:
    """Every path is a readable image of at most ``MAX_PIXELS`` pixels (only headers are read).

    Raises:
        UserError: none given, or one missing, unreadable or too large.
    """
    paths = list(paths)
    missing = [str(path) for path in paths if not path.is_file()]
    if not paths or missing:
        raise UserError(f"No image file at {', '.join(missing) or 'any path given'}.")
    for path in paths:
        width, height = _size(path)
        if width * height > MAX_PIXELS:
            raise _refused(path, f"{width}x{height}")


def read_rgb(path: Path) -> Image.Image:
    """The image at ``path`` (checked by ``check_images``) as RGB."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:  # damaged after its header
        raise _unreadable(path, error) from None


def _size(path: Path) -> tuple[int, int]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return image.size
    except Image.DecompressionBombError:  # above twice Pillow's own limit, itself above ours
        pillow_limit = Image.MAX_IMAGE_PIXELS or 0  # set: unset, Pillow raises nothing
        raise _refused(path, f"over {2 * pillow_limit // 10**6} million") from None
    except (UnidentifiedImageError, OSError) as error:
        raise _unreadable(path, error) from None


def _unreadable(path: Path, error: OSError) -> UserError:
    if isinstance(error, UnidentifiedImageError):
        return UserError(f"Cannot read {path} as an image: its format is not one Pillow knows.")
    return UserError(f"Cannot read {path} as an image ({error.strerror or type(error).__name__}).")
