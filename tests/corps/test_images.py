"""The one Pillow guard: a decompression bomb or a non-image is refused, a photo is decoded."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from corps.images import MAX_IMAGE_PIXELS, with_image


def _png(width: int, height: int, mode: str = "1") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, "PNG")
    return out.getvalue()


def test_a_photo_is_decoded_and_its_work_returned() -> None:
    assert with_image(_png(40, 30, "RGB"), lambda image: image.size) == (40, 30)


def test_a_bomb_past_the_pixel_limit_is_refused_before_its_work_runs() -> None:
    side = int(MAX_IMAGE_PIXELS**0.5) + 100  # a few KB of PNG declaring too many pixels
    bomb = _png(side, side)
    ran: list[bool] = []
    assert with_image(bomb, lambda image: ran.append(True)) is None
    assert ran == []


def test_twice_the_limit_is_refused_too() -> None:
    side = int((2 * MAX_IMAGE_PIXELS) ** 0.5) + 100
    assert with_image(_png(side, side), lambda image: image.size) is None


def test_bytes_that_are_no_image_give_none() -> None:
    assert with_image(b"%PDF-1.7 not a picture", lambda image: image.size) is None


def test_a_fault_in_the_work_itself_is_not_hidden() -> None:
    def broken(image: Image.Image) -> None:
        raise KeyError("a bug, not a bad image")

    with pytest.raises(KeyError):
        with_image(_png(4, 4), broken)
