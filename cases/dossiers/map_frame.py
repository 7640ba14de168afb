"""A map's frame: the projection into SVG units and what makes a map readable in court.

Plate carrée scaled by the cosine of the middle latitude (true to scale at the centre, enough
at the scale of a campaign or a case), with coordinates written on the frame, a graticule, a
scale bar in kilometres and a north arrow. Geometries arrive as GeoJSON in WGS 84.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

Coords = list[tuple[float, float]]
BBox = tuple[float, float, float, float]
MAX_POINTS = 2000  # per ring or line: a page-sized map needs no more
KM_PER_DEGREE = 111.32
STEPS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60]


def parts(geometry: dict[str, Any]) -> Iterator[tuple[str, list[Coords]]]:
    """Each part of a GeoJSON geometry as ("point" | "line" | "polygon", rings)."""
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Point":
        yield "point", [[(coords[0], coords[1])]]  # type: ignore[index]
    elif kind == "MultiPoint":
        for point in coords or []:
            yield "point", [[(point[0], point[1])]]
    elif kind == "LineString":
        yield "line", [[(p[0], p[1]) for p in coords or []]]
    elif kind == "MultiLineString":
        for line in coords or []:
            yield "line", [[(p[0], p[1]) for p in line]]
    elif kind == "Polygon":
        yield "polygon", [[(p[0], p[1]) for p in ring] for ring in coords or []]
    elif kind == "MultiPolygon":
        for polygon in coords or []:
            yield "polygon", [[(p[0], p[1]) for p in ring] for ring in polygon]
    elif kind == "GeometryCollection":
        for member in geometry.get("geometries", []):
            yield from parts(member)


def extent(geometries: list[dict[str, Any]]) -> BBox | None:
    """The lon/lat box around every coordinate, or None when there are none."""
    xs: list[float] = []
    ys: list[float] = []
    for geometry in geometries:
        for _, rings in parts(geometry):
            for ring in rings:
                xs.extend(p[0] for p in ring)
                ys.extend(p[1] for p in ring)
    if not xs:
        return None
    return min(xs), min(ys), max(xs), max(ys)


def padded(box: BBox, *, min_span: float, pad: float = 0.12) -> BBox:
    """The box grown by `pad` of its size on each side and to at least min_span degrees."""
    minx, miny, maxx, maxy = box
    half_x = max(maxx - minx, min_span) * (0.5 + pad)
    half_y = max(maxy - miny, min_span) * (0.5 + pad)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    return (
        max(cx - half_x, -180.0),
        max(cy - half_y, -85.0),
        min(cx + half_x, 180.0),
        min(cy + half_y, 85.0),
    )


def middle(box: BBox) -> tuple[float, float]:
    """The centre of a box."""
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


class Frame:
    """Maps lon/lat into SVG units inside a margin that carries the coordinates."""

    def __init__(self, box: BBox, *, width: float, max_height: float, margin: float) -> None:
        self.box = box
        minx, miny, maxx, maxy = box
        self.margin = margin
        self.kx = math.cos(math.radians((miny + maxy) / 2)) or 1e-6
        self.scale = width / ((maxx - minx) * self.kx)
        if (maxy - miny) * self.scale > max_height:
            self.scale = max_height / (maxy - miny)
        self.width = (maxx - minx) * self.kx * self.scale
        self.height = (maxy - miny) * self.scale

    def xy(self, point: tuple[float, float]) -> tuple[float, float]:
        """SVG coordinates of a lon/lat point, relative to the map area."""
        x = (point[0] - self.box[0]) * self.kx * self.scale
        y = (self.box[3] - point[1]) * self.scale
        return round(x, 1), round(y, 1)

    @property
    def km_per_unit(self) -> float:
        """Ground distance of one SVG unit at the frame's middle latitude."""
        return KM_PER_DEGREE / self.scale

    def path(self, rings: list[Coords], *, close: bool) -> str:
        """SVG path data of rings or lines, thinned to at most MAX_POINTS each."""
        out = []
        for ring in rings:
            if len(ring) > MAX_POINTS:
                step = math.ceil(len(ring) / MAX_POINTS)
                ring = [*ring[::step], ring[-1]]
            points = [self.xy(p) for p in ring]
            if points:
                head, *rest = points
                out.append(f"M{head[0]} {head[1]}" + "".join(f"L{x} {y}" for x, y in rest))
                if close:
                    out.append("Z")
        return "".join(out)


def _step(span: float, most: int) -> float:
    return next((s for s in STEPS if span / s <= most), STEPS[-1])


def _degrees(value: float, positive: str, negative: str, step: float) -> str:
    decimals = 0 if step >= 1 else (1 if step >= 0.1 else 2)
    return f"{abs(value):.{decimals}f}°{positive if value >= 0 else negative}"


def graticule(frame: Frame, *, most: int = 6) -> tuple[str, str]:
    """Grid lines inside the map, and the coordinates written on the frame around it."""
    minx, miny, maxx, maxy = frame.box
    lines, labels = [], []
    step = _step(max(maxx - minx, maxy - miny), most)
    lon = math.ceil(minx / step) * step
    while lon <= maxx:
        x, _ = frame.xy((lon, maxy))
        lines.append(f'<line x1="{x}" y1="0" x2="{x}" y2="{frame.height:.1f}" class="grid"/>')
        text = _degrees(lon, "E", "W", step)
        labels.append(
            f'<text x="{x}" y="{frame.height + 14:.1f}" class="coord" '
            f'text-anchor="middle">{text}</text>'
            f'<text x="{x}" y="-5" class="coord" text-anchor="middle">{text}</text>'
        )
        lon += step
    lat = math.ceil(miny / step) * step
    while lat <= maxy:
        _, y = frame.xy((minx, lat))
        lines.append(f'<line x1="0" y1="{y}" x2="{frame.width:.1f}" y2="{y}" class="grid"/>')
        text = _degrees(lat, "N", "S", step)
        labels.append(
            f'<text x="-4" y="{y + 4}" class="coord" text-anchor="end">{text}</text>'
            f'<text x="{frame.width + 4:.1f}" y="{y + 4}" class="coord">{text}</text>'
        )
        lat += step
    return "".join(lines), "".join(labels)


def _nice_km(target: float) -> float:
    power = 10 ** math.floor(math.log10(target))
    return max(m * power for m in (1, 2, 5) if m * power <= target) if target >= power else power


def scale_bar(frame: Frame, *, x: float, y: float) -> tuple[str, tuple[float, float, float, float]]:
    """A two-segment scale bar in kilometres with its bottom-left at (x, y), and its box."""
    km = _nice_km(frame.width * 0.22 * frame.km_per_unit)
    length = km / frame.km_per_unit
    half = length / 2
    label = f"{km:g} km" if km >= 1 else f"{km * 1000:g} m"
    svg = (
        f'<g class="scalebar"><rect x="{x - 6:.1f}" y="{y - 26:.1f}" width="{length + 48:.1f}" '
        f'height="32" class="backing"/>'
        f'<rect x="{x:.1f}" y="{y - 6:.1f}" width="{half:.1f}" height="6" fill="#222"/>'
        f'<rect x="{x + half:.1f}" y="{y - 6:.1f}" width="{half:.1f}" height="6" fill="#fff" '
        'stroke="#222"/>'
        f'<text x="{x:.1f}" y="{y - 10:.1f}" class="small" text-anchor="middle">0</text>'
        f'<text x="{x + length:.1f}" y="{y - 10:.1f}" class="small">{label}</text></g>'
    )
    return svg, (x - 6, y - 26, x + length + 42, y + 6)


def north_arrow(*, x: float, y: float) -> tuple[str, tuple[float, float, float, float]]:
    """A north arrow centred on x with its top at y, and its box."""
    svg = (
        f'<g class="north"><rect x="{x - 16}" y="{y - 4}" width="32" height="52" class="backing"/>'
        f'<path d="M{x} {y + 18} L{x - 9} {y + 44} L{x} {y + 38} Z" fill="#222"/>'
        f'<path d="M{x} {y + 18} L{x + 9} {y + 44} L{x} {y + 38} Z" fill="#fff" stroke="#222"/>'
        f'<text x="{x}" y="{y + 15}" class="north-n" text-anchor="middle">N</text></g>'
    )
    return svg, (x - 16, y - 4, x + 16, y + 48)
