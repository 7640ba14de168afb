"""Receiving a reference-layer upload: streamed to disk, sniffed, zip archives unpacked safely."""

from __future__ import annotations

import asyncio
import hashlib
import re
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

from corps.errors import PayloadTooLarge, Unprocessable, UnsupportedMediaType

SNIFF_BYTES = 8192
WRITE_BATCH = 1 << 20  # gather this much before each hop to a worker thread
MAX_FIELD_BYTES = 4096
MAX_FIELDS = 16
MULTIPART_OVERHEAD = 256 * 1024
MAX_ZIP_EXPANSION = 10  # a zip may hold at most 10x the upload cap, uncompressed
MAX_ZIP_RATIO = 100  # more than 100:1 is a zip bomb, not a shapefile
ZIP_RATIO_FLOOR = 1 << 20  # archives smaller than this unpacked cannot hurt, whatever the ratio
MAX_ZIP_MEMBERS = 1000
SHAPEFILE_REQUIRED = (".shp", ".shx", ".dbf")
SHAPEFILE_OPTIONAL = (".prj", ".cpg")
_KML_ROOT = re.compile(
    rb"^(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<(?:[A-Za-z_][\w.-]*:)?kml[\s>/]", re.DOTALL
)
_UNSAFE_NAME = re.compile(r"^(?:[/\\]|[A-Za-z]:)|\x00")


class LayerFormat(StrEnum):
    """The file formats a reference layer may come in."""

    geojson = "geojson"
    gpkg = "gpkg"
    kml = "kml"
    shapefile = "shapefile"


# The name GDAL opens for each format; the prefix keeps GDAL from guessing another JSON driver.
_GDAL_NAME = {
    LayerFormat.geojson: ("GeoJSON:", "layer.geojson"),
    LayerFormat.gpkg: ("", "layer.gpkg"),
    LayerFormat.kml: ("", "layer.kml"),
}


@dataclass
class ReceivedFile:
    """The uploaded file on disk with the form's other fields."""

    path: Path
    filename: str | None
    size: int
    sha256: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormToFile:
    """Multipart parser callbacks that send the `file` part to disk and keep the small fields."""

    def __init__(self, boundary: bytes, target: BinaryIO, max_bytes: int) -> None:
        self.target, self.max_bytes = target, max_bytes
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.size, self.digest, self.pending = 0, hashlib.sha256(), bytearray()
        self._headers: dict[str, str] = {}
        self._hfield, self._hvalue, self._data = bytearray(), bytearray(), bytearray()
        self._name: str | None = None
        self._in_file = self._seen_file = False
        self.parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._begin,
                "on_header_field": lambda d, s, e: self._hfield.extend(d[s:e]),
                "on_header_value": lambda d, s, e: self._hvalue.extend(d[s:e]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_done,
                "on_part_data": self._part_data,
                "on_part_end": self._end,
            },
        )

    def _begin(self) -> None:
        self._headers, self._data, self._name, self._in_file = {}, bytearray(), None, False

    def _header_end(self) -> None:
        name = self._hfield.decode("latin-1").lower()
        self._headers[name] = self._hvalue.decode("utf-8", "replace")
        self._hfield, self._hvalue = bytearray(), bytearray()

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", ""))
        raw_name, raw_filename = options.get(b"name"), options.get(b"filename")
        self._name = raw_name.decode("utf-8", "replace") if raw_name else None
        if raw_filename is not None or self._name == "file":
            if self._seen_file:
                raise Unprocessable("Send one file per upload.")
            self._in_file = self._seen_file = True
            self.filename = raw_filename.decode("utf-8", "replace") if raw_filename else None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if not self._in_file:
            self._data += chunk
            if len(self._data) > MAX_FIELD_BYTES:
                raise Unprocessable(f"The form field {self._name!r} is too long.")
            return
        self.size += len(chunk)
        if self.size > self.max_bytes:
            limit_mb = self.max_bytes // (1024 * 1024)
            raise PayloadTooLarge(f"Layer files are limited to {limit_mb} MB; nothing was kept.")
        self.digest.update(chunk)
        self.pending += chunk

    def _end(self) -> None:
        if not self._in_file and self._name:
            if len(self.fields) >= MAX_FIELDS:
                raise Unprocessable("The form has too many fields.")
            self.fields[self._name] = self._data.decode("utf-8", "replace")

    def flush(self) -> None:
        """Write what the parser gathered (runs in a worker thread)."""
        data, self.pending = bytes(self.pending), bytearray()
        self.target.write(data)

    @property
    def received_file(self) -> bool:
        """Whether the body held a file part."""
        return self._seen_file


def _boundary(content_type: str | None) -> bytes:
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise UnsupportedMediaType("Send the layer as multipart/form-data with a `file` part.")
    return bytes(options[b"boundary"])


async def receive_layer_file(
    body: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_length: int | None,
    max_bytes: int,
    directory: Path,
) -> ReceivedFile:
    """Stream the form's `file` part to `directory`; 413 past max_bytes, never all in memory."""
    boundary = _boundary(content_type)
    if content_length is not None and content_length > max_bytes + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(f"Layer files are limited to {max_bytes // (1024 * 1024)} MB.")
    path = directory / "upload.bin"
    with path.open("wb") as target:
        form = _FormToFile(boundary, target, max_bytes)
        try:
            async for chunk in body:
                form.parser.write(chunk)
                if len(form.pending) >= WRITE_BATCH:
                    await asyncio.to_thread(form.flush)
            form.parser.finalize()
        except ValueError as exc:  # python-multipart reports malformed bodies this way
            raise Unprocessable(f"The multipart body is malformed: {exc}") from exc
        await asyncio.to_thread(form.flush)
    if not form.received_file:
        raise Unprocessable(
            "The form has no `file` part.",
            extra={"errors": [{"loc": ["body", "file"], "msg": "required"}]},
        )
    if form.size == 0:
        raise Unprocessable("The file is empty.")
    return ReceivedFile(path, form.filename, form.size, form.digest.hexdigest(), form.fields)


def sniff_layer_format(path: Path) -> LayerFormat:
    """Tell the format from the file's first bytes, or raise 415."""
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return LayerFormat.shapefile
    if head.startswith(b"SQLite format 3\x00"):
        if head[68:72] in (b"GPKG", b"GP10", b"GP11"):  # the GeoPackage application_id
            return LayerFormat.gpkg
        raise UnsupportedMediaType("This is an SQLite database but not a GeoPackage.")
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"{"):
        return LayerFormat.geojson
    if _KML_ROOT.match(text):
        return LayerFormat.kml
    raise UnsupportedMediaType(
        "Send GeoJSON, a GeoPackage, KML or a zipped Shapefile; this file is none of them."
    )


def gdal_path(upload: Path, fmt: LayerFormat, workdir: Path, *, max_bytes: int) -> str:
    """Put the upload where GDAL will read it as `fmt` and return the name to open."""
    if fmt == LayerFormat.shapefile:
        return str(extract_shapefile(upload, workdir / "shapefile", max_bytes=max_bytes))
    prefix, name = _GDAL_NAME[fmt]
    target = upload.rename(workdir / name)
    return f"{prefix}{target}"


def _member_parts(name: str) -> tuple[str, ...]:
    if _UNSAFE_NAME.search(name) or ".." in re.split(r"[/\\]", name):
        raise Unprocessable(f"The zip member {name!r} has an unsafe path; nothing was read.")
    return PurePosixPath(name.replace("\\", "/")).parts


def _is_junk(parts: tuple[str, ...]) -> bool:
    return parts[0] == "__MACOSX" or parts[-1].startswith("._")


def extract_shapefile(archive: Path, into: Path, *, max_bytes: int) -> Path:
    """Check a zipped shapefile for unsafe paths and bombs, extract its parts, return the .shp."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise Unprocessable("The zip archive is damaged.") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise Unprocessable(f"The zip holds more than {MAX_ZIP_MEMBERS} files.")
        named = [(info, _member_parts(info.filename)) for info in infos]
        unpacked = sum(info.file_size for info in infos)
        packed = sum(info.compress_size for info in infos)
        if unpacked > MAX_ZIP_EXPANSION * max_bytes:
            raise PayloadTooLarge("The zip would unpack to more than the layer size limit allows.")
        if unpacked > ZIP_RATIO_FLOOR and unpacked > MAX_ZIP_RATIO * max(packed, 1):
            raise Unprocessable(
                f"The zip expands more than {MAX_ZIP_RATIO}:1; it looks like a zip bomb."
            )
        files = [(i, p) for i, p in named if not i.is_dir() and p and not _is_junk(p)]
        shps = [(i, p) for i, p in files if p[-1].lower().endswith(".shp")]
        if len(shps) != 1:
            kmz = (
                " (for a KMZ, send the KML inside it)"
                if any(p[-1].lower().endswith(".kml") for _, p in files)
                else ""
            )
            raise Unprocessable(
                f"The zip must hold exactly one .shp file; it holds {len(shps)}{kmz}."
            )
        stem = "/".join(shps[0][1]).lower()[: -len(".shp")]
        parts = {
            "/".join(p).lower()[len(stem) :]: info
            for info, p in files
            if "/".join(p).lower().startswith(stem)
        }
        missing = [ext for ext in SHAPEFILE_REQUIRED if ext not in parts]
        if missing:
            raise Unprocessable(f"The shapefile in the zip lacks its {', '.join(missing)} file.")
        into.mkdir()
        for ext in SHAPEFILE_REQUIRED + SHAPEFILE_OPTIONAL:
            if ext in parts:
                _extract_member(zf, parts[ext], into / f"layer{ext}")
    return into / "layer.shp"


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    written = 0
    try:
        with zf.open(info) as src, target.open("wb") as dst:
            while chunk := src.read(WRITE_BATCH):
                written += len(chunk)
                if written > info.file_size:  # never trust the header over the bytes
                    raise Unprocessable("A zip member is larger than it declares.")
                dst.write(chunk)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as exc:
        raise Unprocessable(f"The zip member {info.filename!r} cannot be read: {exc}") from exc
