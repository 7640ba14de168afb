"""Country outlines for the dossier maps, from Natural Earth in PostGIS (reference_countries)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cases.dossiers.map_frame import BBox

_CLIPPED = text(
    "SELECT ST_AsGeoJSON(ST_ClipByBox2D(geometry, "
    "ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)), 4) AS g "
    "FROM reference_countries "
    "WHERE geometry && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)"
)
_WORLD = text(
    "SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(geometry, 0.8), 1) AS g "
    "FROM reference_countries ORDER BY id"
)


async def countries_in(session: AsyncSession, box: BBox) -> list[dict[str, Any]]:
    """The country outlines that fall in a lon/lat box, clipped to it."""
    minx, miny, maxx, maxy = box
    rows = await session.execute(_CLIPPED, {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy})
    return [orjson.loads(row.g) for row in rows if row.g]


async def world_outline(session: AsyncSession) -> list[dict[str, Any]]:
    """Every country, simplified for a small locator of the region on the world."""
    return [orjson.loads(row.g) for row in await session.execute(_WORLD) if row.g]
