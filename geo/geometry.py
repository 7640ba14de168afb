"""GeoJSON geometry in, a checked WGS 84 geometry out: shape, ranges, vertex limit, validity."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import shapely
from shapely.geometry import MultiLineString, MultiPoint, MultiPolygon, mapping, shape
from shapely.geometry.base import BaseGeometry, BaseMultipartGeometry
from shapely.validation import explain_validity

from corps.errors import Unprocessable

MAX_VERTICES = 100_000
ALLOWED_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
ROOT: tuple[str, ...] = ("geometry",)
REPAIR_HINT = "send ?repair=true to store a repaired geometry"
# How many array levels sit above a position, per type.
_DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}
_REASON = re.compile(r"^(?P<what>.*?)\s*\[(?P<x>\S+) (?P<y>\S+)\]$")
_REASON_HINTS = {
    "Too few points in geometry component": " (a part whose positions are all the same point)",
}
_MULTI = {"Polygon": MultiPolygon, "LineString": MultiLineString, "Point": MultiPoint}

Loc = list[str | int]


class GeometryError(Unprocessable):
    """The geometry is not an accepted, valid GeoJSON geometry."""

    slug, title = "invalid-geometry", "Invalid geometry"


@dataclass(frozen=True)
class CheckedGeometry:
    """A valid 2D geometry ready to store, with whether and how it was repaired."""

    shape: BaseGeometry
    geojson: dict[str, Any]
    repaired: bool
    repair_note: str | None


def _fail(msg: str, loc: Loc, detail: str | None = None) -> NoReturn:
    """Raise a GeometryError with one located error."""
    raise GeometryError(detail or msg, extra={"errors": [{"loc": loc, "msg": msg}]})


def _where(loc: Loc) -> str:
    """Render a location as `coordinates[0][3]` for human text."""
    return "coordinates" + "".join(f"[{i}]" for i in loc[len(ROOT) + 1 :])


def _show(value: object) -> str:
    """A short repr of client input for messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _array(value: object, loc: Loc, what: str, at_least: int = 1) -> Sequence[Any]:
    """Check that value is an array of at least `at_least` items."""
    if not isinstance(value, list | tuple):
        _fail(f"{what} at {_where(loc)} must be an array, got {_show(value)}", loc)
    if not value:
        _fail(f"{what} at {_where(loc)} is empty", loc)
    if len(value) < at_least:
        _fail(
            f"{what} at {_where(loc)} has {len(value)} positions; it needs at least {at_least}", loc
        )
    return value


def _position(value: object, loc: Loc) -> tuple[float, float]:
    """Check one [lon, lat(, alt)] position and return it without altitude."""
    where = _where(loc)
    if not isinstance(value, list | tuple) or not 2 <= len(value) <= 3:
        _fail(
            f"Position at {where} must be [longitude, latitude] or "
            f"[longitude, latitude, altitude], got {_show(value)}",
            loc,
        )
    for number in value:
        if isinstance(number, bool) or not isinstance(number, int | float):
            _fail(f"Position at {where} holds {_show(number)}, which is not a number", loc)
        if isinstance(number, float) and not math.isfinite(number):
            _fail(f"Position at {where} holds {number!r}, which is not a finite number", loc)
    lon, lat = value[0], value[1]
    if not -180 <= lon <= 180:
        _fail(f"Longitude {_show(lon)} at {where} is outside [-180, 180]", loc)
    if not -90 <= lat <= 90:
        hint = "; did you swap longitude and latitude?" if abs(lon) <= 90 else ""
        _fail(f"Latitude {_show(lat)} at {where} is outside [-90, 90]{hint}", loc)
    return float(lon), float(lat)


def _positions(value: object, loc: Loc, what: str, at_least: int) -> list[tuple[float, float]]:
    """Check an array of positions."""
    items = _array(value, loc, what, at_least)
    return [_position(item, [*loc, i]) for i, item in enumerate(items)]


def _ring(value: object, loc: Loc) -> list[tuple[float, float]]:
    """Check a closed linear ring of at least 4 positions."""
    ring = _positions(value, loc, "Polygon ring", 1)
    if ring[0] != ring[-1]:
        _fail(
            f"Polygon ring at {_where(loc)} is not closed: its first position "
            f"{list(ring[0])} differs from its last {list(ring[-1])}; repeat the first "
            "position at the end",
            loc,
        )
    if len(ring) < 4:
        _fail(f"Polygon ring at {_where(loc)} has {len(ring)} positions; it needs at least 4", loc)
    return ring


def _coordinates(kind: str, value: object, loc: Loc) -> Any:
    """Check the coordinates array of a `kind` geometry, returning 2D positions."""
    if kind == "Point":
        return _position(value, loc)
    if kind == "LineString":
        return _positions(value, loc, "LineString", 2)
    if kind == "Polygon":
        return [_ring(ring, [*loc, i]) for i, ring in enumerate(_array(value, loc, kind))]
    part = kind.removeprefix("Multi")
    return [_coordinates(part, item, [*loc, i]) for i, item in enumerate(_array(value, loc, kind))]


def _count_vertices(value: object, depth: int) -> int:
    """Count positions by summing array lengths, without looking at each position."""
    if depth == 0:
        return 1
    if not isinstance(value, list | tuple):
        return 0
    if depth == 1:
        return len(value)
    return sum(_count_vertices(item, depth - 1) for item in value)


def _readable(reason: str) -> str:
    """Turn GEOS's 'Self-intersection[1 2]' into 'Self-intersection at (1, 2)'."""
    match = _REASON.match(reason)
    if match is None:
        return reason
    hint = _REASON_HINTS.get(match["what"], "")
    return f"{match['what']} at ({match['x']}, {match['y']}){hint}"


def _simple_parts(geom: BaseGeometry) -> Iterator[BaseGeometry]:
    """Yield the single-part members of a geometry, descending into collections."""
    if isinstance(geom, BaseMultipartGeometry):
        for member in geom.geoms:
            yield from _simple_parts(member)
    elif not geom.is_empty:
        yield geom


def _repair(geom: BaseGeometry, kind: str, reason: str) -> tuple[BaseGeometry, str]:
    """Repair with GEOS make_valid, keeping only parts of the input's dimension."""
    dimension = shapely.get_dimensions(geom)
    fixed = list(_simple_parts(shapely.make_valid(geom)))
    kept = [part for part in fixed if shapely.get_dimensions(part) == dimension]
    loc: Loc = [*ROOT, "coordinates"]
    if not kept:
        msg = f"{reason}; repairing it leaves no {kind} (it has no area or length)"
        _fail(msg, loc, detail=f"Invalid {kind}: {msg}")
    single = kind.removeprefix("Multi")
    result = _MULTI[single](kept) if len(kept) > 1 or kind != single else kept[0]
    if not result.is_valid and single == "Polygon":
        result = shapely.union_all(kept)
    if not result.is_valid:
        msg = f"{reason}; repair did not produce a valid {kind}"
        _fail(msg, loc, detail=f"Invalid {kind}: {msg}")
    note = f"{reason} repaired by ST_MakeValid-equivalent GEOS make_valid"
    if len(fixed) > len(kept):
        note += f"; dropped {len(fixed) - len(kept)} part(s) of lower dimension"
    return result, note


def _refuse_degenerate(geom: BaseGeometry, kind: str, loc: Loc) -> None:
    """Refuse, even with repair, a polygon with no area or a line with no length."""
    dimension = shapely.get_dimensions(geom)
    # The hull, not geom.area: a bow-tie's signed halves cancel to zero area.
    if dimension == 2 and shapely.convex_hull(geom).area == 0:
        _fail(f"The {kind} has zero area: all its positions lie on one line", loc)
    if dimension == 1 and geom.length == 0:
        _fail(f"The {kind} has zero length: all its positions are the same point", loc)


def _json_friendly(value: Any) -> Any:
    """Turn mapping()'s nested tuples into lists."""
    if isinstance(value, list | tuple):
        return [_json_friendly(item) for item in value]
    return value


def check_geometry(
    data: object, *, repair: bool = False, max_vertices: int = MAX_VERTICES
) -> CheckedGeometry:
    """Check client GeoJSON geometry and return it valid and 2D, or raise GeometryError."""
    accepted = ", ".join(ALLOWED_TYPES)
    root: Loc = list(ROOT)
    if not isinstance(data, dict):
        _fail(f"Geometry must be a GeoJSON geometry object, got {_show(data)}", root)
    kind = data.get("type")
    if kind == "Feature":
        _fail(f"A Feature is not accepted; send the Feature's geometry member ({accepted})", root)
    if kind not in ALLOWED_TYPES:
        _fail(
            f"Geometry type {_show(kind)} is not accepted; send one of {accepted}", [*root, "type"]
        )
    loc: Loc = [*root, "coordinates"]
    if "coordinates" not in data:
        _fail(f"A {kind} needs a coordinates member", loc)
    value = data["coordinates"]
    if isinstance(value, list | tuple) and not value:
        _fail(f"coordinates is empty; a {kind} needs at least one position", loc)
    total = _count_vertices(value, _DEPTH[kind])
    if total > max_vertices:
        _fail(f"Geometry has {total:,} vertices; at most {max_vertices:,} are accepted", loc)
    geom = shape({"type": kind, "coordinates": _coordinates(kind, value, loc)})
    note = None
    if not geom.is_valid:
        _refuse_degenerate(geom, kind, loc)
        reason = _readable(explain_validity(geom))
        if not repair:
            _fail(reason, loc, detail=f"Invalid {kind}: {reason}; {REPAIR_HINT}")
        geom, note = _repair(geom, kind, reason)
    mapped = mapping(geom)
    geojson = {"type": mapped["type"], "coordinates": _json_friendly(mapped["coordinates"])}
    return CheckedGeometry(shape=geom, geojson=geojson, repaired=note is not None, repair_note=note)


def to_ewkt(checked: CheckedGeometry) -> str:
    """Render a checked geometry as full-precision EWKT for ST_GeomFromEWKT."""
    wkt = shapely.to_wkt(checked.shape, rounding_precision=-1, output_dimension=2)
    return f"SRID=4326;{wkt}"
