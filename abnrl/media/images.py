"""Image files given on the command line: checked before any work, then read as RGB."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from abnrl.errors import UserError
from vision.data.image_limits import MAX_PIXELS, MAX_SIDE, size_problem


def _refused(path: Path, size: str) -> UserError:
    return UserError(
        f"{path} is {size}; images above {MAX_PIXELS // 10**6} million pixels or "
        f"{MAX_SIDE:,} a side are refused."
    )


def check_images(paths: Iterable[Path]) -> None:
    """Every path is a readable image of at most ``MAX_PIXELS`` pixels and ``MAX_SIDE`` a
    side (only headers are read).

    Raises:
        UserError: none given, or one missing, unreadable or too large.
    """
    paths = list(paths)
    missing = [str(path) for path in paths if not path.is_file()]
    if not paths or missing:
        raise UserError(f"No image file at {', '.join(missing) or 'any path given'}.")
    for path in paths:
        problem = size_problem(*_size(path))
        if problem is not None:
            raise _refused(path, problem)


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
        raise _refused(path, f"over {2 * pillow_limit // 10**6} million pixels") from None
    except (UnidentifiedImageError, OSError) as error:
        raise _unreadable(path, error) from None


def _unreadable(path: Path, error: OSError) -> UserError:
    if isinstance(error, UnidentifiedImageError):
        return UserError(f"Cannot read {path} as an image: its format is not one Pillow knows.")
    return UserError(f"Cannot read {path} as an image ({error.strerror or type(error).__name__}).")
