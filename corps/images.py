"""One Pillow guard: every decode of an uploaded image goes through it, so a bomb is refused."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

from PIL import Image, UnidentifiedImageError

T = TypeVar("T")

MAX_IMAGE_PIXELS = 64_000_000  # past this a "photo" is a decompression bomb
MAX_IMAGE_BYTES = 64 * 1024 * 1024  # past this a file is not decoded as a photo at all
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

# Pillow warns past MAX_IMAGE_PIXELS and raises past twice that; both mean "do not decode".
UNREADABLE = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
    OSError,
    ValueError,
)


def with_image(source: bytes | Path | IO[bytes], work: Callable[[Image.Image], T]) -> T | None:
    """Run `work` on the opened image; None when it is not an image Pillow may safely decode."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                return work(image)
    except UNREADABLE:
        return None
