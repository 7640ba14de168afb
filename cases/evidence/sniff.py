"""Decide an upload's media type from its first bytes, against an allowlist.

Never from the filename or the client's Content-Type: both are whatever the sender says.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class SniffedType:
    """An accepted media type, the file extension to store it with, and its broad family."""

    media_type: str
    extension: str
    family: str  # image, document, audio, video or data


JPEG = SniffedType("image/jpeg", ".jpg", "image")
PNG = SniffedType("image/png", ".png", "image")
WEBP = SniffedType("image/webp", ".webp", "image")
HEIC = SniffedType("image/heic", ".heic", "image")
PDF = SniffedType("application/pdf", ".pdf", "document")
DOCX = SniffedType(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx", "document"
)
XLSX = SniffedType(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx", "document"
)
ODT = SniffedType("application/vnd.oasis.opendocument.text", ".odt", "document")
MP3 = SniffedType("audio/mpeg", ".mp3", "audio")
M4A = SniffedType("audio/mp4", ".m4a", "audio")
OGG = SniffedType("audio/ogg", ".ogg", "audio")
WAV = SniffedType("audio/wav", ".wav", "audio")
MP4 = SniffedType("video/mp4", ".mp4", "video")
MOV = SniffedType("video/quicktime", ".mov", "video")
OGV = SniffedType("video/ogg", ".ogv", "video")
CSV = SniffedType("text/csv", ".csv", "data")
GEOJSON = SniffedType("application/geo+json", ".geojson", "data")
KML = SniffedType("application/vnd.google-earth.kml+xml", ".kml", "data")
GPX = SniffedType("application/gpx+xml", ".gpx", "data")

_ACCEPTED = [JPEG, PNG, WEBP, HEIC, PDF, DOCX, XLSX, ODT, MP3, M4A, OGG, WAV, MP4, MOV, OGV]
_ACCEPTED += [CSV, GEOJSON, KML, GPX]
ALLOWED_MEDIA_TYPES: frozenset[str] = frozenset(t.media_type for t in _ACCEPTED)
ACCEPTED_DESCRIPTION = (
    "photos (JPEG, PNG, WebP, HEIC), documents (PDF, DOCX, XLSX, ODT), "
    "audio (MP3, M4A, Ogg, WAV), video (MP4, MOV) and data (CSV, GeoJSON, KML, GPX)"
)


class UnsupportedType(Exception):
    """The bytes are not of an accepted type; says what they look like, if anything."""

    def __init__(self, detected: str | None = None) -> None:
        self.detected = detected
        what = detected or "unknown binary data"
        super().__init__(
            f"This file looks like {what}, which is not accepted. Accepted: {ACCEPTED_DESCRIPTION}."
        )


_MACHO = "a macOS executable"
# Checked before anything is accepted, so a disguised program is named for what it is.
_REFUSED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "a Linux or Unix executable (ELF)"),
    (b"\xfe\xed\xfa\xce", _MACHO),
    (b"\xfe\xed\xfa\xcf", _MACHO),
    (b"\xce\xfa\xed\xfe", _MACHO),
    (b"\xcf\xfa\xed\xfe", _MACHO),
    (b"\xca\xfe\xba\xbe", "a macOS universal binary or Java class"),
    (b"dex\n", "an Android executable"),
    (b"\x00asm", "a WebAssembly module"),
    (b"#!AMR", "an AMR voice recording"),
    (b"#!", "a script"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old-style Office file or installer (save as PDF/DOCX/XLSX)",
    ),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
)
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_M4A_BRANDS = {b"M4A ", b"M4B "}
_MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1"}
_MP4_BRANDS |= {b"MSNV", b"dash"}
_GEOJSON_TYPES = {"FeatureCollection", "Feature", "Point", "MultiPoint", "LineString"}
_GEOJSON_TYPES |= {"MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}
_HTML_TAGS = {"html", "head", "body", "script", "iframe", "div", "meta", "title", "style", "p", "a"}
# (MPEG version bits) -> Layer III bitrates in kbit/s and sample rates in Hz.
_MP3_BITRATES = {
    3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def sniff(head: bytes) -> SniffedType:
    """Return the accepted type of a file whose first bytes are head, or raise UnsupportedType."""
    if not head:
        raise UnsupportedType("an empty file")
    # A real PE header has NUL bytes right away; a CSV that starts with "MZ" does not.
    if head.startswith(b"MZ") and b"\x00" in head[:64]:
        raise UnsupportedType("a Windows executable")
    for magic, what in _REFUSED_MAGIC:
        if head.startswith(magic):
            raise UnsupportedType(what)
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"RIFF") and head[8:12] in (b"WAVE", b"WEBP"):
        return WAV if head[8:12] == b"WAVE" else WEBP
    if head.startswith(b"RIFF"):
        raise UnsupportedType("a RIFF file (such as AVI video)")
    if head[4:8] == b"ftyp":
        return _iso_media(head)
    if head.startswith(b"OggS"):
        return OGV if b"\x80theora" in head[:256] else OGG
    if head.startswith(b"PK\x03\x04"):
        return _office_document(head)
    if head.startswith(b"ID3") or _mp3_frames(head):
        return MP3
    return _text(head)


def _iso_media(head: bytes) -> SniffedType:
    """HEIC, M4A, MP4 or MOV from an ISO base media file's ftyp brands."""
    end = min(int.from_bytes(head[:4], "big"), len(head))
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, end - 3, 4)]
    if b"avif" in brands or b"avis" in brands:
        raise UnsupportedType("an AVIF image")
    for brand in brands:
        if brand in _HEIF_BRANDS:
            return HEIC
        if brand in _M4A_BRANDS:
            return M4A
        if brand == b"qt  ":
            return MOV
        if brand in _MP4_BRANDS:
            audio_only = bool(_M4A_BRANDS & set(brands)) or _moov_handlers(head) == {b"soun"}
            return M4A if audio_only else MP4
    raise UnsupportedType(f"an ISO media file of brand {head[8:12]!r} (such as 3GP)")


def _moov_handlers(head: bytes) -> set[bytes]:
    """Track handler types (soun, vide, ...) of a moov box wholly inside head, else empty."""
    offset = 0
    while offset + 8 <= len(head):
        size, kind = struct.unpack_from(">I4s", head, offset)
        if size == 1 and offset + 16 <= len(head):
            size = struct.unpack_from(">Q", head, offset + 8)[0]
        if size < 8:
            return set()
        if kind == b"moov":
            if offset + size > len(head):
                return set()  # cut off: a video track might follow, so claim nothing
            box = head[offset : offset + size]
            return {box[i + 12 : i + 16] for i in _find_all(box, b"hdlr") if i + 16 <= len(box)}
        offset += size
    return set()


def _find_all(data: bytes, needle: bytes) -> Iterator[int]:
    at = data.find(needle)
    while at != -1:
        yield at
        at = data.find(needle, at + 1)


def _zip_entries(head: bytes) -> Iterator[tuple[str, bytes]]:
    """Name and (possibly partial) content of each ZIP local file header found in head."""
    for at in _find_all(head, b"PK\x03\x04"):
        if at + 30 > len(head):
            return
        method, size, name_len, extra_len = struct.unpack_from("<8xH8xI4xHH", head, at)
        start = at + 30 + name_len + extra_len
        name = head[at + 30 : at + 30 + name_len].decode("utf-8", "replace")
        data = head[start : start + size] if method == 0 else b""
        if method == 8:  # deflate: inflate what the head holds; a cut-off tail is fine
            with contextlib.suppress(zlib.error):
                data = zlib.decompressobj(-15).decompress(head[start : start + size], 65536)
        yield name, data


def _office_document(head: bytes) -> SniffedType:
    """DOCX, XLSX or ODT, judged by the member names in the ZIP's first local headers."""
    entries = list(_zip_entries(head))
    names = [name for name, _ in entries]
    if entries and entries[0][0] == "mimetype":
        if entries[0][1].strip() == ODT.media_type.encode():
            return ODT
        raise UnsupportedType(f"an OpenDocument file of another kind ({entries[0][1][:60]!r})")
    if "[Content_Types].xml" in names:
        content_types = dict(entries)["[Content_Types].xml"]
        if b"macroEnabled" in content_types or any(n.endswith("vbaProject.bin") for n in names):
            raise UnsupportedType("a macro-enabled Office document")
        if any(n.startswith("word/") for n in names):
            return DOCX
        if any(n.startswith("xl/") for n in names):
            return XLSX
        if any(n.startswith("ppt/") for n in names):
            raise UnsupportedType("a PowerPoint presentation")
    raise UnsupportedType("a ZIP archive that is not a DOCX, XLSX or ODT document")


def _mp3_header(head: bytes, at: int) -> int | None:
    """Length of the MPEG Layer III frame whose header starts at `at`, if one does."""
    if at + 4 > len(head) or head[at] != 0xFF or head[at + 1] & 0xE0 != 0xE0:
        return None
    version, layer = (head[at + 1] >> 3) & 3, (head[at + 1] >> 1) & 3
    bitrate_index, rate_index = head[at + 2] >> 4, (head[at + 2] >> 2) & 3
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    bitrate = _MP3_BITRATES[3 if version == 3 else 2][bitrate_index] * 1000
    rate = _MP3_RATES[version][rate_index]
    padding = (head[at + 2] >> 1) & 1
    return (144 if version == 3 else 72) * bitrate // rate + padding


def _mp3_frames(head: bytes) -> bool:
    """A Layer III frame header at the start, and the next one where its length says."""
    length = _mp3_header(head, 0)
    if length is None:
        return False
    # One header can happen by chance; a second at the right offset does not.
    return length + 4 > len(head) or _mp3_header(head, length) is not None


def _text(head: bytes) -> SniffedType:
    """CSV, GeoJSON, KML or GPX from UTF-8 text; anything else is refused."""
    if b"\x00" in head:
        raise UnsupportedType("unknown binary data")
    try:
        # Incremental, so a character cut in half at the end of head is not an error.
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        raise UnsupportedType("text that is not UTF-8, or unknown binary data") from None
    body = text.lstrip("\ufeff \t\r\n")
    if not body:
        raise UnsupportedType("a blank text file")
    if body.lower().startswith("<!doctype html"):
        raise UnsupportedType("an HTML page")
    if body.startswith("<"):
        return _xml(body)
    if body.startswith("{"):
        return _geojson(body)
    if body.startswith("["):
        raise UnsupportedType("JSON data that is not GeoJSON")
    if _csv_columns(body):
        return CSV
    raise UnsupportedType("plain text that is not CSV")


_XML_PROLOG = re.compile(r"(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)*", re.S)
_XML_ROOT = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")


def _xml(body: str) -> SniffedType:
    """KML or GPX by the name of the first element."""
    prolog = _XML_PROLOG.match(body)
    root = _XML_ROOT.match(body, prolog.end() if prolog else 0)
    name = root.group(1) if root else ""
    if name == "kml":
        return KML
    if name == "gpx":
        return GPX
    if name.lower() in _HTML_TAGS:
        raise UnsupportedType("an HTML page")
    if name.lower() == "svg":
        raise UnsupportedType("an SVG image")
    raise UnsupportedType(f"an XML document (<{name}>) that is not KML or GPX")


def _geojson(body: str) -> SniffedType:
    """GeoJSON if the object's "type" is a GeoJSON type; the head may be cut off mid-way."""
    try:
        doc = json.loads(body)
        kinds = [doc.get("type")] if isinstance(doc, dict) else []
    except (ValueError, RecursionError):  # cut off mid-way, or nested deeper than any GeoJSON
        kinds = re.findall(r'"type"\s*:\s*"(\w+)"', body)
    if any(kind in _GEOJSON_TYPES for kind in kinds):
        return GEOJSON
    raise UnsupportedType("JSON data that is not GeoJSON")


def _csv_columns(body: str) -> bool:
    """Whether the first lines split into the same number (2+) of columns on , ; tab or |."""
    lines = body.splitlines()
    if not body.endswith(("\n", "\r")) and len(lines) > 2:
        lines = lines[:-1]  # the head probably stops mid-row
    sample = "\n".join(line for line in lines if line.strip())
    for delimiter in ",;\t|":
        try:
            rows = list(csv.reader(io.StringIO(sample), delimiter=delimiter))
        except csv.Error:
            continue
        widths = {len(row) for row in rows}
        if len(rows) >= 2 and len(widths) == 1 and widths.pop() >= 2:
            return True
    return False
