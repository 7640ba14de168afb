"""Read a photo's own GPS position, capture time and device, and make a thumbnail."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import ExifTags, Image, ImageOps

from corps.images import with_image

THUMBNAIL_PX = 320
GPS_IFD = 0x8825
EXIF_IFD = 0x8769


@dataclass(frozen=True)
class PhotoFacts:
    """What a photo says about itself."""

    lon: float | None
    lat: float | None
    taken_at: str | None
    device: str | None
    width: int
    height: int


def _degrees(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(x) for x in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    sign = -1 if str(ref).upper() in ("S", "W") else 1
    return sign * (d + m / 60 + s / 3600)


def _taken_at(exif: Image.Exif) -> str | None:
    raw = exif.get_ifd(EXIF_IFD).get(ExifTags.Base.DateTimeOriginal) or exif.get(
        ExifTags.Base.DateTime
    )
    if not raw:
        return None
    try:
        return datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


def read_photo(data: bytes) -> PhotoFacts | None:
    """GPS, time and device from a photo's EXIF; None when the bytes are not a readable image."""
    return with_image(data, _facts)


def _facts(image: Image.Image) -> PhotoFacts:
    # While the image is open: a TIFF's EXIF reads its IFDs from the image's own file.
    exif, size = image.getexif(), image.size
    gps = exif.get_ifd(GPS_IFD)
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef))
    lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        lat = lon = None
    make, model = exif.get(ExifTags.Base.Make), exif.get(ExifTags.Base.Model)
    device = " ".join(str(p).strip("\x00 ") for p in (make, model) if p) or None
    return PhotoFacts(
        lon=lon, lat=lat, taken_at=_taken_at(exif), device=device, width=size[0], height=size[1]
    )


def thumbnail(data: bytes) -> bytes | None:
    """A small JPEG without any metadata, or None when the image cannot be read safely."""
    return with_image(data, _small_jpeg)


def _small_jpeg(image: Image.Image) -> bytes:
    upright = ImageOps.exif_transpose(image)
    upright.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    out = io.BytesIO()
    upright.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()
