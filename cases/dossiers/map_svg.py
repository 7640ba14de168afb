"""The dossier's map: each case's shown geometry drawn as inline SVG, fitted to their extent.

The geometries are the ones the export already generalized for the level, so the map shows
nothing the GeoJSON does not. A plain equirectangular projection, scaled by the cosine of the
middle latitude, is enough at the scale of a campaign.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

WIDTH = 1000.0
MAX_HEIGHT = 700.0
MIN_SPAN_DEG = 0.05
MAX_POINTS = 2000  # per ring or line: a map at this size needs no more
Coords = list[tuple[float, float]]


def _parts(geometry: dict[str, Any]) -> Iterator[tuple[str, list[Coords]]]:
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Point":
        yield "point", [[tuple(coords[:2])]]  # type: ignore[index]
    elif kind == "MultiPoint":
        for point in coords or []:
            yield "point", [[tuple(point[:2])]]
    elif kind == "LineString":
        yield "line", [[tuple(p[:2]) for p in coords or []]]
    elif kind == "MultiLineString":
        for line in coords or []:
            yield "line", [[tuple(p[:2]) for p in line]]
    elif kind == "Polygon":
        yield "polygon", [[tuple(p[:2]) for p in ring] for ring in coords or []]
    elif kind == "MultiPolygon":
        for polygon in coords or []:
            yield "polygon", [[tuple(p[:2]) for p in ring] for ring in polygon]
    elif kind == "GeometryCollection":
        for member in geometry.get("geometries", []):
            yield from _parts(member)


def _thin(points: Coords) -> Coords:
    if len(points) <= MAX_POINTS:
        return points
    step = math.ceil(len(points) / MAX_POINTS)
    return [*points[::step], points[-1]]


def extent(geometries: list[dict[str, Any]]) -> tuple[float, float, float, float] | None:
    """The lon/lat box around every coordinate, or None when there are none."""
    xs: list[float] = []
    ys: list[float] = []
    for geometry in geometries:
        for _, rings in _parts(geometry):
            for ring in rings:
                xs.extend(p[0] for p in ring)
                ys.extend(p[1] for p in ring)
    if not xs:
        return None
    return min(xs), min(ys), max(xs), max(ys)


class _Frame:
    """Maps lon/lat into the SVG's user space."""

    def __init__(self, box: tuple[float, float, float, float]) -> None:
        minx, miny, maxx, maxy = box
        pad_x = max(maxx - minx, MIN_SPAN_DEG) * 0.08 + max(0.0, MIN_SPAN_DEG - (maxx - minx)) / 2
        pad_y = max(maxy - miny, MIN_SPAN_DEG) * 0.08 + max(0.0, MIN_SPAN_DEG - (maxy - miny)) / 2
        self.minx, self.maxx = minx - pad_x, maxx + pad_x
        self.miny, self.maxy = miny - pad_y, maxy + pad_y
        self.kx = math.cos(math.radians((self.miny + self.maxy) / 2)) or 1e-6
        self.scale = WIDTH / ((self.maxx - self.minx) * self.kx)
        if (self.maxy - self.miny) * self.scale > MAX_HEIGHT:
            self.scale = MAX_HEIGHT / (self.maxy - self.miny)
        self.width = (self.maxx - self.minx) * self.kx * self.scale
        self.height = (self.maxy - self.miny) * self.scale

    def xy(self, point: tuple[float, float]) -> tuple[float, float]:
        x = (point[0] - self.minx) * self.kx * self.scale
        y = (self.maxy - point[1]) * self.scale
        return round(x, 1), round(y, 1)


def _path(frame: _Frame, rings: list[Coords], close: bool) -> str:
    out = []
    for ring in rings:
        points = [frame.xy(p) for p in _thin(ring)]
        if points:
            head, *rest = points
            out.append(f"M{head[0]} {head[1]}" + "".join(f"L{x} {y}" for x, y in rest))
            if close:
                out.append("Z")
    return "".join(out)


def cases_map_svg(numbered: list[tuple[int, dict[str, Any]]]) -> str:
    """An SVG map with each geometry drawn and labelled with its case number."""
    box = extent([geometry for _, geometry in numbered])
    if box is None:
        return ""
    frame = _Frame(box)
    shapes, labels = [], []
    for number, geometry in numbered:
        anchor = None
        for kind, rings in _parts(geometry):
            if kind == "point":
                x, y = frame.xy(rings[0][0])
                shapes.append(f'<circle cx="{x}" cy="{y}" r="6" class="pt"/>')
            else:
                css = "area" if kind == "polygon" else "line"
                shapes.append(f'<path d="{_path(frame, rings, kind == "polygon")}" class="{css}"/>')
            anchor = anchor or frame.xy(rings[0][0])
        part_box = extent([geometry])
        if part_box is not None:
            anchor = frame.xy(((part_box[0] + part_box[2]) / 2, (part_box[1] + part_box[3]) / 2))
        if anchor is not None:
            # A ring marks every case, so a small area is still seen on a map of a continent.
            shapes.append(f'<circle cx="{anchor[0]}" cy="{anchor[1]}" r="9" class="mk"/>')
            labels.append(
                f'<text x="{anchor[0] + 8}" y="{anchor[1] - 8}" class="label">{number}</text>'
            )
    width, height = round(frame.width, 1), round(frame.height, 1)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="170mm" height="{round(170 * height / width, 1)}mm" class="map">'
        "<style>.area{fill:#d9534f;fill-opacity:.35;stroke:#a12a26;stroke-width:1.5}"
        ".line{fill:none;stroke:#a12a26;stroke-width:2.5}.pt{fill:#a12a26}"
        ".mk{fill:none;stroke:#a12a26;stroke-width:1.5}"
        ".label{font-family:'DejaVu Sans',sans-serif;font-size:18px;font-weight:bold;"
        "fill:#222}</style>"
        f'<rect width="{width}" height="{height}" fill="#f4f1ea" stroke="#999"/>'
        + "".join(shapes)
        + "".join(labels)
        + "</svg>"
    )
