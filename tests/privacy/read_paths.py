"""Helpers of the privacy property test: every coordinate and text a viewer gets back."""

from __future__ import annotations

import math
import re
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import mapbox_vector_tile
import orjson

NUMBER = r"-?\d+(?:\.\d+)?(?:[eE]-?\d+)?"
Point = tuple[float, float]


@dataclass
class Seen:
    """What one viewer got back: coordinates (with the tolerance of their source) and text."""

    points: list[tuple[Point, float, str]] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)

    def add_text(self, where: str, text: str) -> None:
        """Keep a response's text for the title and place checks."""
        self.texts.append((where, text))

    def add_points(self, where: str, points: list[Point], tolerance: float = 1e-6) -> None:
        """Keep coordinates a response showed."""
        self.points.extend((p, tolerance, where) for p in points)


def json_points(node: Any) -> list[Point]:
    """Every [x, y, ...] pair of numbers anywhere in a JSON document."""
    if isinstance(node, dict):
        found = [p for value in node.values() for p in json_points(value)]
        for x, y in (("lon", "lat"), ("longitude", "latitude"), ("x", "y")):
            if isinstance(node.get(x), int | float) and isinstance(node.get(y), int | float):
                found.append((float(node[x]), float(node[y])))
        return found
    if isinstance(node, list):
        pair = node[:2]
        if len(pair) == 2 and all(isinstance(v, int | float) and v is not True for v in pair):
            return [(float(node[0]), float(node[1]))]
        return [p for value in node for p in json_points(value)]
    return []


def text_points(text: str) -> list[Point]:
    """Coordinate pairs in WKT (`x y`) and KML (`x,y`) text."""
    pairs = re.findall(rf"({NUMBER})[ ,]({NUMBER})", text)
    return [(float(x), float(y)) for x, y in pairs]


def gpkg_points(data: bytes) -> list[Point]:
    """Every vertex of every layer of a GeoPackage."""
    import pyogrio
    import pyogrio.raw
    import shapely

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cases.gpkg"
        path.write_bytes(data)
        points: list[Point] = []
        for name, _ in pyogrio.list_layers(path):
            _, _, geometries, _ = pyogrio.raw.read(path, layer=name)
            for geometry in shapely.from_wkb(geometries):
                points += [(x, y) for x, y in shapely.get_coordinates(geometry).tolist()]
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT min_x, min_y, max_x, max_y FROM gpkg_contents").fetchall()
        for row in rows:
            if row[0] is not None:
                points += [(row[0], row[1]), (row[2], row[3])]
    return points


def gpkg_text(data: bytes) -> str:
    """The text values of a GeoPackage's layers."""
    import pyogrio
    import pyogrio.raw

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cases.gpkg"
        path.write_bytes(data)
        out = []
        for name, _ in pyogrio.list_layers(path):
            _, _, _, fields = pyogrio.raw.read(path, layer=name)
            out += [str(v) for column in fields for v in column]
    return " ".join(out)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile holding a position."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def tile_points(data: bytes, z: int, x: int, y: int) -> tuple[list[Point], float]:
    """Decoded vertices of a vector tile in degrees, and the size of one tile unit."""
    layers = mapbox_vector_tile.decode(data)
    n = 2**z
    points: list[Point] = []
    unit = 360 / n / 4096
    for layer in layers.values():
        extent = layer.get("extent", 4096)
        for feature in layer["features"]:
            for px, py in json_points(feature["geometry"]["coordinates"]):
                fx = (x + px / extent) / n
                fy = (y + (extent - py) / extent) / n
                lon = fx * 360 - 180
                lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * fy))))
                points.append((lon, lat))
    return points, unit


async def get(client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: Any) -> Any:
    """GET a path; a 404 (not readable) is no answer, anything else must be 200."""
    response = await client.get(url, params=params, headers=headers)
    assert response.status_code in (200, 404, 403), (url, response.status_code, response.text)
    return response if response.status_code == 200 else None


def loads(response: httpx.Response) -> Any:
    """The JSON body of a response."""
    return orjson.loads(response.content)
