"""Case-list and tile latency with many cases, against the equivalent raw SQL in the same run."""

from __future__ import annotations

import math
from typing import Any

import asyncpg
import httpx

from bench.common import BENCH_DATABASE_URL, Table, median_ms, timed
from corps.settings import Settings
from testing.live import live_server

RAW_FIRST_PAGE = """
SELECT id, reference, title, status, ST_AsGeoJSON(geometry) FROM cases
WHERE archived_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 51
"""
RAW_COUNTRY_PAGE = RAW_FIRST_PAGE.replace("WHERE", "WHERE country = 'KE' AND")
RAW_SEARCH_PAGE = RAW_FIRST_PAGE.replace(
    "WHERE", "WHERE search @@ websearch_to_tsquery('simple', 'tailings') AND"
)
RAW_TILE = """
SELECT ST_AsMVT(t, 'cases', 4096, 'geom') FROM (
  SELECT ST_AsMVTGeom(geom_3857, ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom,
         id::text AS id, reference, status
  FROM cases WHERE archived_at IS NULL AND geom_3857 && ST_TileEnvelope($1, $2, $3)
  ORDER BY id LIMIT 10000) t
"""


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The z/x/y tile holding a WGS 84 position."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


async def run(
    settings: Settings, token: str, case_count: int, table: Table, repeat: int = 30
) -> None:
    """Median latency of the API and of raw SQL for the same pages and tiles."""
    raw = await asyncpg.connect(BENCH_DATABASE_URL.replace("+asyncpg", ""))
    try:
        async with (
            live_server(settings) as server,
            httpx.AsyncClient(
                base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120
            ) as client,
        ):
            first = await client.get("/api/v1/cases", params={"limit": 50})
            cursor = first.json()["next_cursor"]
            pages: list[tuple[str, dict[str, Any], str]] = [
                ("first page", {"limit": 50}, RAW_FIRST_PAGE),
                ("page after a cursor", {"limit": 50, "cursor": cursor}, RAW_FIRST_PAGE),
                ("country filter", {"limit": 50, "country": "KE"}, RAW_COUNTRY_PAGE),
                ("full-text search", {"limit": 50, "q": "tailings"}, RAW_SEARCH_PAGE),
            ]
            for name, params, sql in pages:
                api = await timed(
                    lambda p=params: _ok(client.get("/api/v1/cases", params=p)), repeat
                )
                base = await timed(lambda s=sql: raw.fetch(s), repeat)
                table.add(
                    f"case list, {name}, {case_count:,} cases",
                    f"{median_ms(api):.1f} ms",
                    f"raw SQL {median_ms(base):.1f} ms",
                    f"{median_ms(api) / median_ms(base):.1f}x",
                    "",
                    "HTTP + auth + privacy + JSON vs the bare query",
                )
            for label, (z, x, y) in [
                ("z4 (a continent)", tile_of(30, 0, 4)),
                ("z10 (a district)", tile_of(36.8, -1.3, 10)),
            ]:
                api = await timed(
                    lambda z=z, x=x, y=y: _ok(client.get(f"/api/v1/tiles/cases/{z}/{x}/{y}.mvt")),
                    10,
                )
                base = await timed(lambda z=z, x=x, y=y: raw.fetchval(RAW_TILE, z, x, y), 10)
                table.add(
                    f"vector tile {label}",
                    f"{median_ms(api):.1f} ms",
                    f"raw ST_AsMVT {median_ms(base):.1f} ms",
                    f"{median_ms(api) / median_ms(base):.1f}x",
                    "",
                    "API adds privacy, filters and low-zoom clusters",
                )
            hot = await timed(
                lambda: _ok(client.get("/api/v1/hotspots", params={"method": "hexagons"})), 1
            )
            table.add(
                f"hexagon hotspots, {case_count:,} cases, first request",
                f"{median_ms(hot):.0f} ms",
                "",
                "",
                "",
                "202 + worker job above 20,000 cases; inline below",
            )
    finally:
        await raw.close()


async def _ok(request: Any) -> None:
    response = await request
    assert response.status_code in (200, 202), response.text
