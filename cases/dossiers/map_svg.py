"""The dossier's maps as inline SVG: the overview of every case, and a locator per case.

Each draws Natural Earth country outlines (cases.dossiers.basemap), the cases' shown
geometry (already generalized for the level by the export, so a public map shows cells, never
true places), coordinates on the frame, a scale bar, a north arrow and an inset locating the
map on the world. The overview numbers its markers with labels placed so none overlap
(cases.dossiers.map_labels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape
from typing import Any

from cases.dossiers.map_frame import (
    BBox,
    Frame,
    extent,
    graticule,
    middle,
    north_arrow,
    padded,
    parts,
    scale_bar,
)
from cases.dossiers.map_labels import Box, Label, place_labels

MARGIN = 44.0
STYLE = (
    "<style>.sea{fill:#dde9f0}.land{fill:#f3f0e6;stroke:#8d897e;stroke-width:.8}"
    ".grid{stroke:#7f96a6;stroke-width:.5;stroke-dasharray:3 3;fill:none}"
    ".frame{fill:none;stroke:#333;stroke-width:1.2}"
    ".area{fill:#c0392b;fill-opacity:.3;stroke:#a12a26;stroke-width:1.5}"
    ".line{fill:none;stroke:#a12a26;stroke-width:2.5}.pt{fill:#a12a26}"
    ".mk{fill:#a12a26;stroke:#fff;stroke-width:1.5}.leader{stroke:#555;stroke-width:.8}"
    ".lbl{fill:#fff;stroke:#a12a26;stroke-width:1}.backing{fill:#fff;fill-opacity:.85}"
    ".inset-land{fill:#d8d4c8;stroke:none}.inset-sea{fill:#eef4f8;stroke:#333;stroke-width:.8}"
    ".inset-box{fill:none;stroke:#c0392b;stroke-width:1.5}"
    "text{font-family:'DejaVu Sans','Noto Sans',sans-serif;fill:#222}"
    ".coord{font-size:12px;fill:#333}"
    ".country{font-size:15px;fill:#8a8577;font-style:italic;letter-spacing:1px}.small{font-size:11px}"
    ".num{font-size:13px;font-weight:bold}.north-n{font-size:13px;font-weight:bold}</style>"
)


WORLD: BBox = (-180.0, -85.0, 180.0, 85.0)


@dataclass
class MapLayers:
    """The country outlines of a map's box, and of its inset's (the world, or the region)."""

    box: BBox
    countries: list[dict[str, Any]] = field(default_factory=list)
    inset_countries: list[dict[str, Any]] = field(default_factory=list)
    inset_box: BBox = WORLD
    names: list[tuple[str, float, float]] = field(default_factory=list)  # countries' labels


def _readable_shape(box: BBox, *, flattest: float = 0.6, tallest: float = 1.2) -> BBox:
    """Grow a box so its drawn height is between flattest and tallest times its width."""
    minx, miny, maxx, maxy = box
    kx = math.cos(math.radians((miny + maxy) / 2)) or 1e-6
    width, height = (maxx - minx) * kx, maxy - miny
    if height < flattest * width:
        grow = (flattest * width - height) / 2
        miny, maxy = max(miny - grow, -85.0), min(maxy + grow, 85.0)
    elif height > tallest * width:
        grow = (height / tallest - width) / kx / 2
        minx, maxx = max(minx - grow, -180.0), min(maxx + grow, 180.0)
    return minx, miny, maxx, maxy


def overview_box(geometries: list[dict[str, Any]]) -> BBox | None:
    """The overview's lon/lat box: every case with some context, at least half a degree."""
    box = extent(geometries)
    return _readable_shape(padded(box, min_span=0.5)) if box else None


def locator_box(geometry: dict[str, Any]) -> BBox | None:
    """A case's own box: its geometry (or cell) with context, at least 0.1 degree across."""
    box = extent([geometry])
    return _readable_shape(padded(box, min_span=0.1, pad=0.6), flattest=0.7) if box else None


def region_box(box: BBox) -> BBox:
    """The region around a case's box, for the locator's inset: about 14 by 9 degrees."""
    cx, cy = middle(box)
    return (max(cx - 7, -180.0), max(cy - 4.5, -85.0), min(cx + 7, 180.0), min(cy + 4.5, 85.0))


def _land(frame: Frame, countries: list[dict[str, Any]]) -> str:
    return "".join(
        f'<path d="{frame.path(rings, close=True)}" class="land"/>'
        for country in countries
        for kind, rings in parts(country)
        if kind == "polygon"
    )


def _shapes(frame: Frame, geometry: dict[str, Any], point_r: float = 4) -> str:
    out = []
    for kind, rings in parts(geometry):
        if kind == "point":
            x, y = frame.xy(rings[0][0])
            out.append(f'<circle cx="{x}" cy="{y}" r="{point_r}" class="mk"/>')
        else:
            css = "area" if kind == "polygon" else "line"
            out.append(f'<path d="{frame.path(rings, close=kind == "polygon")}" class="{css}"/>')
    return "".join(out)


def _inset(frame: Frame, layers: MapLayers, *, x: float, y: float) -> tuple[str, Box]:
    """The world (or the region) at a glance with the map's box marked on it."""
    width = 150.0
    globe = Frame(layers.inset_box, width=width, max_height=100.0, margin=0)
    width = globe.width
    minx, miny, maxx, maxy = frame.box
    (x0, y0), (x1, y1) = globe.xy((minx, maxy)), globe.xy((maxx, miny))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    bw, bh = max(x1 - x0, 5.0), max(y1 - y0, 5.0)
    land = "".join(
        f'<path d="{globe.path(rings, close=True)}" class="inset-land"/>'
        for country in layers.inset_countries
        for kind, rings in parts(country)
        if kind == "polygon"
    )
    svg = (
        f'<g transform="translate({x:.1f},{y:.1f})" class="inset">'
        f'<rect width="{width:.1f}" height="{globe.height:.1f}" class="inset-sea"/>{land}'
        f'<rect x="{cx - bw / 2:.1f}" y="{cy - bh / 2:.1f}" width="{bw:.1f}" height="{bh:.1f}" '
        'class="inset-box"/></g>'
    )
    return svg, Box(x, y, x + width, y + globe.height)


def _label_svg(label: Label) -> str:
    x, y = label.anchor
    cx, cy = label.centre
    box = label.box
    leader = ""
    if label.leader:
        ex = min(max(x, box.x0), box.x1)
        ey = min(max(y, box.y0), box.y1)
        leader = f'<line x1="{x}" y1="{y}" x2="{ex:.1f}" y2="{ey:.1f}" class="leader"/>'
    return (
        leader + f'<rect x="{box.x0:.1f}" y="{box.y0:.1f}" width="{box.x1 - box.x0:.1f}" '
        f'height="{box.y1 - box.y0:.1f}" rx="3" class="lbl"/>'
        f'<text x="{cx:.1f}" y="{cy + 4.5:.1f}" class="num" text-anchor="middle">'
        f"{label.number}</text>"
    )


def _wrap(frame: Frame, body: str, width_mm: float, css_class: str, key: str) -> str:
    full_w, full_h = frame.width + 2 * MARGIN, frame.height + 2 * MARGIN
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{-MARGIN} {-MARGIN} '
        f'{full_w:.1f} {full_h:.1f}" width="{width_mm}mm" '
        f'height="{width_mm * full_h / full_w:.1f}mm" class="{css_class}">{STYLE}'
        f'<defs><clipPath id="clip-{key}"><rect width="{frame.width:.1f}" '
        f'height="{frame.height:.1f}"/></clipPath></defs>{body}</svg>'
    )


def _names(frame: Frame, names: list[tuple[str, float, float]], avoid: list[Box]) -> str:
    """Country names, each left out where it would cover a case's marker or label."""
    out = []
    for name, lon, lat in names:
        x, y = frame.xy((lon, lat))
        half = 4.6 * len(name)
        if any(Box(x - half, y - 14, x + half, y + 4).overlaps(box) for box in avoid):
            continue
        out.append(
            f'<text x="{x}" y="{y}" class="country" text-anchor="middle">{escape(name)}</text>'
        )
    return "".join(out)


def _base(frame: Frame, layers: MapLayers, content: str, avoid: list[Box]) -> tuple[str, str]:
    lines, coords = graticule(frame)
    inner = (
        f'<rect width="{frame.width:.1f}" height="{frame.height:.1f}" class="sea"/>'
        + _land(frame, layers.countries)
        + lines
        + _names(frame, layers.names, avoid)
        + content
    )
    return inner, coords


@dataclass
class DrawnMap:
    """An SVG map and, for the overview, where its labels went (tests check them)."""

    svg: str
    labels: list[Label]


def overview_map_svg(numbered: list[tuple[int, dict[str, Any]]], layers: MapLayers) -> DrawnMap:
    """The map of every case, numbered, with labels that never overlap."""
    frame = Frame(layers.box, width=1000, max_height=760, margin=MARGIN)
    shapes = "".join(_shapes(frame, geometry) for _, geometry in numbered)
    markers = []
    for number, geometry in numbered:
        box = extent([geometry])
        if box is not None:
            markers.append((number, frame.xy(middle(box))))
    bar, bar_box = scale_bar(frame, x=16, y=frame.height - 12)
    arrow, arrow_box = north_arrow(x=frame.width - 26, y=10)
    inset, inset_box = _inset(frame, layers, x=8, y=8)
    keep_out = [Box(*bar_box), Box(*arrow_box), inset_box]
    labels = place_labels(markers, width=frame.width, height=frame.height, keep_out=keep_out)
    dots = "".join(f'<circle cx="{x}" cy="{y}" r="6" class="mk"/>' for _, (x, y) in markers)
    taken = [label.box for label in labels] + [
        Box(x - 8, y - 8, x + 8, y + 8) for _, (x, y) in markers
    ]
    inner, coords = _base(frame, layers, shapes + dots, taken)
    body = (
        f'<g clip-path="url(#clip-overview)">{inner}'
        + "".join(_label_svg(label) for label in labels)
        + bar
        + arrow
        + inset
        + f'</g><rect width="{frame.width:.1f}" height="{frame.height:.1f}" class="frame"/>'
        + coords
    )
    return DrawnMap(_wrap(frame, body, 172, "overview", "overview"), labels)


def locator_map_svg(geometry: dict[str, Any], layers: MapLayers, key: str) -> str:
    """One case at its own scale: its geometry, or its cell where generalized."""
    frame = Frame(layers.box, width=700, max_height=520, margin=MARGIN)
    shown = extent([geometry])
    avoid = []
    if shown is not None:
        (x0, y1), (x1, y0) = frame.xy((shown[0], shown[1])), frame.xy((shown[2], shown[3]))
        avoid.append(Box(x0 - 12, y0 - 12, x1 + 12, y1 + 12))
    inner, coords = _base(frame, layers, _shapes(frame, geometry, point_r=8), avoid)
    bar, _ = scale_bar(frame, x=16, y=frame.height - 12)
    arrow, _ = north_arrow(x=frame.width - 26, y=10)
    inset, _ = _inset(frame, layers, x=8, y=8)
    body = (
        f'<g clip-path="url(#clip-{key})">{inner}{bar}{arrow}{inset}</g>'
        f'<rect width="{frame.width:.1f}" height="{frame.height:.1f}" class="frame"/>{coords}'
    )
    return _wrap(frame, body, 105, "locator", key)
