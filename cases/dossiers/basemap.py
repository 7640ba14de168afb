"""Country outlines for the dossier maps, from Natural Earth in PostGIS (reference_countries)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cases.dossiers.map_frame import BBox

_CLIPPED = text(
    "WITH box AS (SELECT ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326) AS b), "
    "clipped AS (SELECT name, ST_ClipByBox2D(geometry, box.b) AS g, box.b "
    "  FROM reference_countries, box WHERE geometry && box.b) "
    "SELECT name, ST_AsGeoJSON(g, 4) AS g, "
    "  ST_X(ST_PointOnSurface(g)) AS lx, ST_Y(ST_PointOnSurface(g)) AS ly, "
    "  ST_Area(g) / NULLIF(ST_Area(b), 0) AS share "
    "FROM clipped WHERE NOT ST_IsEmpty(g)"
)
_WORLD = text(
    "SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(geometry, 0.8), 1) AS g "
    "FROM reference_countries ORDER BY id"
)


LABEL_SHARE = 0.03  # a country taking less of the map than this is not named on it


async def countries_in(
    session: AsyncSession, box: BBox
) -> tuple[list[dict[str, Any]], list[tuple[str, float, float]]]:
    """The country outlines in a lon/lat box, clipped to it, and (name, lon, lat) labels."""
    minx, miny, maxx, maxy = box
    rows = (
        await session.execute(_CLIPPED, {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy})
    ).all()
    outlines = [orjson.loads(row.g) for row in rows if row.g]
    names = [
        (row.name, row.lx, row.ly)
        for row in rows
        if row.g and row.lx is not None and (row.share or 0) >= LABEL_SHARE
    ]
    return outlines, names


async def world_outline(session: AsyncSession) -> list[dict[str, Any]]:
    """Every country, simplified for a small locator of the region on the world."""
    return [orjson.loads(row.g) for row in await session.execute(_WORLD) if row.g]
