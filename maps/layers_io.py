"""Reading uploaded reference layers: streamed to disk, format sniffed, zips checked, GDAL read."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import orjson
import pyogrio
import pyogrio.errors
import pyogrio.raw
import shapely

from corps.errors import Unprocessable
from maps.layer_safety import lock_down_gdal
from maps.layer_upload import (
    LayerFormat,
)

lock_down_gdal()

READ_CHUNK = 5000
MAX_LAYER_FEATURES = 250_000
MAX_LAYER_VERTICES = 10_000_000
GDAL_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.CRSError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.FieldError,
)
# Attribute names that usually hold a feature's name, best first (compared case-insensitively).
# fmt: off
NAME_FIELDS = (
    "name", "nom", "nombre", "nome", "naam", "title", "titre", "titulo", "label",
    "concession", "concession_name", "license", "licence", "license_no", "licence_no",
    "permit", "site_name", "area_name", "wdpa_name", "orig_name",
)
# fmt: on
# Display housekeeping the LIBKML driver adds to every placemark.
KML_STYLE_FIELDS = frozenset(
    {"altitudeMode", "tessellate", "extrude", "visibility", "drawOrder", "icon"}
)
_AUTH_CODE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*):(\d+)$")
_OGC_CODES = {"CRS84": ("EPSG", 4326), "CRS83": ("EPSG", 4269), "CRS27": ("EPSG", 4267)}
_GDAL_PATH = re.compile(r"'?(?:[A-Za-z]+:)?/[^\s']*'?")
T = TypeVar("T")


@dataclass(frozen=True)
class LayerSource:
    """One layer of an uploaded dataset as GDAL describes it."""

    path: str
    layer: str
    crs: str | None
    bounds: tuple[float, float, float, float] | None
    feature_count: int


@dataclass
class FeatureBatch:
    """Features read from a source: WKB geometries, picked names, properties as JSON text."""

    wkbs: list[bytes | None] = field(default_factory=list)
    names: list[str | None] = field(default_factory=list)
    properties: list[str] = field(default_factory=list)
    vertices: int = 0

    def __len__(self) -> int:
        return len(self.wkbs)

    def slices(self, size: int) -> Iterator[FeatureBatch]:
        """The batch cut into pieces of at most `size` features."""
        for start in range(0, len(self), size):
            end = start + size
            yield FeatureBatch(
                self.wkbs[start:end], self.names[start:end], self.properties[start:end]
            )


def gdal(call: Callable[[], T], what: str) -> T:
    """Run a pyogrio call, turning GDAL's complaints about the file into a 422."""
    try:
        return call()
    except GDAL_ERRORS as exc:
        # GDAL names the server's temporary path and suggests drivers; the client needs neither.
        reason = _GDAL_PATH.sub("the file", str(exc)).split("; It might help", 1)[0]
        raise Unprocessable(f"The {what} could not be read: {reason[:300]}") from exc


def describe_sources(path: str, fmt: LayerFormat) -> list[LayerSource]:
    """Every layer with geometry in the dataset (KML folders and GeoPackage tables included)."""
    listed = gdal(lambda: pyogrio.list_layers(path), fmt.value)
    sources = []
    for name, geometry_type in listed:
        if geometry_type is None:  # an attribute-only table
            continue
        info = gdal(
            partial(pyogrio.read_info, path, layer=name, force_total_bounds=True), fmt.value
        )
        sources.append(
            LayerSource(
                path=path,
                layer=str(name),
                crs=info.get("crs"),
                bounds=_finite_bounds(info.get("total_bounds")),
                feature_count=max(int(info.get("features") or 0), 0),
            )
        )
    return sources


def _finite_bounds(bounds: Any) -> tuple[float, float, float, float] | None:
    if bounds is None or len(bounds) != 4 or not all(math.isfinite(v) for v in bounds):
        return None  # an empty layer, or a driver that cannot tell
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    return minx, miny, maxx, maxy


def read_features(
    source: LayerSource, fmt: LayerFormat, *, skip: int = 0, limit: int | None = None
) -> FeatureBatch:
    """Read features as 2D WKB with their names and JSON properties (call in a worker thread)."""
    meta, _, geometries, columns = gdal(
        lambda: pyogrio.raw.read(
            source.path,
            layer=source.layer,
            force_2d=True,
            skip_features=skip,
            max_features=limit,
            datetime_as_string=True,
        ),
        fmt.value,
    )
    fields = [str(f) for f in meta["fields"]]
    ogr_types = list(meta.get("ogr_types") or [""] * len(fields))
    values = [column.tolist() for column in columns]
    name_at = pick_name_field(fields)
    drop = KML_STYLE_FIELDS if fmt == LayerFormat.kml else frozenset()
    batch = FeatureBatch()
    for row, wkb in enumerate(geometries.tolist() if geometries is not None else []):
        props: dict[str, Any] = {}
        for column, (name, ogr_type) in enumerate(zip(fields, ogr_types, strict=True)):
            value = jsonable(values[column][row], ogr_type)
            if name in drop or (value is None and fmt == LayerFormat.kml):
                continue
            props[_clean(name)] = value
        label = jsonable(values[name_at][row], ogr_types[name_at]) if name_at is not None else None
        batch.wkbs.append(bytes(wkb) if wkb is not None else None)
        batch.names.append(str(label).strip()[:300] or None if label is not None else None)
        batch.properties.append(orjson.dumps(props).decode())
    batch.vertices = int(
        shapely.get_num_coordinates(shapely.from_wkb(batch.wkbs, on_invalid="ignore")).sum()
    )
    return batch


async def read_feature_chunks(
    source: LayerSource, fmt: LayerFormat, *, limit: int
) -> AsyncIterator[FeatureBatch]:
    """At most `limit` of a source's features, in worker-thread reads of bounded chunks."""
    if fmt not in (LayerFormat.shapefile, LayerFormat.gpkg):
        # The GeoJSON and KML drivers parse the whole file on every open, so read it once.
        yield await asyncio.to_thread(read_features, source, fmt, limit=max(limit, 1))
        return
    skip = 0
    while skip < limit:
        size = min(READ_CHUNK, limit - skip)
        batch = await asyncio.to_thread(read_features, source, fmt, skip=skip, limit=size)
        yield batch
        if len(batch) < size:
            return
        skip += size


def pick_name_field(fields: list[str]) -> int | None:
    """The index of the attribute most likely to hold a feature's name, if any."""
    lowered = [f.lower() for f in fields]
    for candidate in NAME_FIELDS:
        if candidate in lowered:
            return lowered.index(candidate)
    for index, name in enumerate(lowered):
        if name.startswith("name") or name.endswith("name"):
            return index
    return None


def _clean(text: str) -> str:
    return text.replace("\x00", "")  # PostgreSQL text and jsonb refuse NUL


def jsonable(value: Any, ogr_type: str = "") -> Any:
    """A JSON-ready version of one attribute value (dates and other types as strings)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None  # GDAL's null for numeric columns
        if ogr_type in ("OFTInteger", "OFTInteger64") and value.is_integer():
            return int(value)  # an integer column that held a null came back as floats
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays of list-typed fields
        return jsonable(value.tolist())
    return _clean(str(value))


def crs_code(crs: str | None) -> tuple[str, int] | None:
    """The authority and code of a CRS GDAL identified ("EPSG:32737"), None when unknown."""
    match = _AUTH_CODE.match((crs or "").strip())
    if not match:
        return None
    authority, code = match.group(1).upper(), int(match.group(2))
    if authority == "OGC":
        return _OGC_CODES.get(f"CRS{code}")
    return authority, code


def is_projected_wkt(crs: str | None) -> bool:
    """Whether an unidentified CRS is described as projected (so its units are not degrees)."""
    return bool(crs) and re.search(r"\bPROJ(?:CS|CRS|ECTEDCRS)\b", crs or "") is not None


def plausibly_degrees(bounds: tuple[float, float, float, float] | None) -> bool:
    """Whether the coordinates could be longitude and latitude."""
    if bounds is None:
        return True
    minx, miny, maxx, maxy = bounds
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
