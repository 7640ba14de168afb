"""Map benchmarks: tiles against raw SQL and tipg, OGC items against raw SQL, hotspot growth.

One module per concern (tiles.py, ogc.py, hotspots.py; common.py holds what they share);
this one runs them against the bench database and writes bench/RESULTS.md between its
markers, keeping the written analysis around them.
"""

from __future__ import annotations

import os

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import BENCH_DATABASE_URL, Table, write_block
from bench.maps.common import Bench, machine, users
from bench.maps.hotspots import hotspot_growth, seed_steps
from bench.maps.ogc import ogc_items
from bench.maps.tiles import (
    LOW_ZOOM,
    TILE_ZOOMS,
    dense_tile,
    neighbourhood,
    tile_latency,
    versus_tipg,
)
from corps.auth.tokens import issue_token
from corps.settings import Settings
from testing.live import live_server

__all__ = ["run", "seed_steps", "write_results"]


def write_results(header: str, table: Table, part: str = "maps") -> None:
    """Replace one generated part of bench/RESULTS.md, keeping the written analysis."""
    write_block(part, f"{header}\n\n{table.markdown()}")


async def run(
    settings: Settings,
    table: Table,
    *,
    cases: int,
    repeat: int = 30,
    seconds: float = 20.0,
    hotspot_limit_s: float = 1200.0,
    http: bool = True,
) -> None:
    """All map benchmarks against the bench database; rows go to table and bench/RESULTS.md.

    Without `http`, only the hotspot jobs run (tiles, tipg and OGC items are skipped).
    """
    engine = create_async_engine(BENCH_DATABASE_URL, pool_size=2)
    raw = await asyncpg.connect(BENCH_DATABASE_URL.replace("+asyncpg", ""))
    try:
        actors = await users(engine)
        token, _ = issue_token(settings, actors["coordinator"].user_id)
        bench = Bench(settings, engine, raw, actors["coordinator"], actors["admin"], token)
        # The raw replays read the case view as the coordinator, like the API's requests.
        coordinator = actors["coordinator"]
        await raw.execute(
            "SELECT set_config('ej.viewer_user', $1, false), "
            "set_config('ej.viewer_org', $2, false), set_config('ej.viewer_role', $3, false)",
            str(coordinator.user_id),
            str(coordinator.organization_id),
            coordinator.role.value,
        )
        # Autovacuum may be off (it is on the shared dev machine): plans need fresh statistics.
        await raw.execute("VACUUM (ANALYZE) cases")
        header = await machine(raw)
        maps, hotspots = Table(), Table()
        if http:
            await _http_benches(bench, maps, repeat=repeat, seconds=seconds)
            load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
            write_results(f"{header} Load average at the end {load}.", maps, f"maps:{cases}")
        header = await machine(raw)
        await hotspot_growth(bench, cases, hotspots, hotspot_limit_s)
        load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
        write_results(f"{header} Load average at the end {load}.", hotspots, f"hotspots:{cases}")
        table.rows.extend(maps.rows + hotspots.rows)
    finally:
        await raw.close()
        await engine.dispose()


async def _http_benches(bench: Bench, table: Table, *, repeat: int, seconds: float) -> None:
    """Tile latency, tile throughput against tipg and OGC items, through live servers.

    Latency, cold throughput and OGC items run with the tile cache off, so they measure the
    SQL path; a second server with the cache on measures the coordinator's repeated tiles.
    """
    dense = [await dense_tile(bench.raw, z) for z in TILE_ZOOMS]
    low = await dense_tile(bench.raw, LOW_ZOOM)
    view = neighbourhood(dense[1]) + neighbourhood(dense[0])
    headers = {"Authorization": f"Bearer {bench.token}"}
    async with (
        live_server(bench.settings, EJ_TILE_CACHE_MB="0") as server,
        httpx.AsyncClient(base_url=server.url, headers=headers, timeout=300) as client,
    ):
        for tile in [*dense, low]:
            await tile_latency(bench, client, tile, table, repeat)
        await versus_tipg(client, view, table, seconds)
        await ogc_items(bench, client, table, repeat)
    async with (
        live_server(bench.settings) as server,
        httpx.AsyncClient(base_url=server.url, headers=headers, timeout=300) as client,
    ):
        await versus_tipg(client, view, table, seconds, cache="warm tile cache", target=3.0)
