"""Tile benchmarks: the endpoint against its own SQL replayed raw, and against tipg."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx

from bench.common import BENCH_DATABASE_URL, Table
from bench.maps.common import (
    Bench,
    RawQuery,
    Spread,
    Tile,
    captured,
    fetch_ok,
    interleaved,
    verdict,
)
from cases.filters import CaseFilters
from maps import tiles
from testing.live import free_port

TILE_ZOOMS = (13, 12, 11)  # dense map views; each should carry 1,000+ features
LOW_ZOOM = 4
TILE_TARGET = 1.2
CONCURRENCY = 8
TIPG_VENV = Path(os.environ.get("EJ_BENCH_TIPG_VENV", "/tmp/tipg-venv"))  # noqa: S108
TIPG_PROPERTIES = "id,reference,status,issue_types,organization_id"
HALF_WORLD = 20037508.342789244

DENSE_TILES = """
SELECT tx, ty, count(*) AS n FROM (
  SELECT floor((ST_X(c) + $2) / ($2 * 2 / 2 ^ $1))::int AS tx,
         floor(($2 - ST_Y(c)) / ($2 * 2 / 2 ^ $1))::int AS ty
  FROM (SELECT ST_PointOnSurface(geom_3857) AS c FROM cases WHERE archived_at IS NULL) p
) t GROUP BY tx, ty ORDER BY n DESC LIMIT 1
"""
TILE_FEATURES = """
SELECT count(*) FROM cases
WHERE archived_at IS NULL AND geom_3857 && ST_TileEnvelope($1, $2, $3)
"""


async def dense_tile(raw: asyncpg.Connection, z: int) -> Tile:
    """The tile at zoom z holding the most cases (by a point on each case's surface)."""
    row = await raw.fetchrow(DENSE_TILES, z, HALF_WORLD)
    features = await raw.fetchval(TILE_FEATURES, z, row["tx"], row["ty"])
    return Tile(z, row["tx"], row["ty"], features)


def neighbourhood(tile: Tile) -> list[Tile]:
    """The 3x3 block of tiles around one, as a map view would request them."""
    return [
        Tile(tile.z, tile.x + dx, tile.y + dy, 0)
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if 0 <= tile.x + dx < 2**tile.z and 0 <= tile.y + dy < 2**tile.z
    ]


async def tile_queries(bench: Bench, tile: Tile) -> list[RawQuery]:
    """The statements the tile endpoint runs for a coordinator, as sent to asyncpg."""
    params = {"z": tile.z, "x": tile.x, "y": tile.y}
    statement = tiles.tile_statement(CaseFilters(), clusters=tile.z < tiles.CLUSTER_BELOW_ZOOM)
    return [await captured(bench.engine, statement, params)]


async def raw_tile(raw: asyncpg.Connection, queries: list[RawQuery]) -> bytes:
    """The tile's bytes from the captured statements, run on a bare asyncpg connection."""
    out = b""
    for query in queries:
        out += await raw.fetchval(query.sql, *query.args) or b""
    return out


async def tile_latency(
    bench: Bench, client: httpx.AsyncClient, tile: Tile, table: Table, repeat: int
) -> None:
    """Endpoint vs identical raw SQL for one tile: p50 and p95, interleaved."""
    queries = await tile_queries(bench, tile)
    url = f"/api/v1/tiles/cases/{tile.path}.mvt"
    same = await fetch_ok(client, url) == await raw_tile(bench.raw, queries)
    api, base = await interleaved(
        lambda: fetch_ok(client, url), lambda: raw_tile(bench.raw, queries), repeat
    )
    ratio = Spread.of(api).p50 / Spread.of(base).p50
    layers = "cases + case_clusters" if tile.z < tiles.CLUSTER_BELOW_ZOOM else "cases"
    table.add(
        f"tile {tile.path} ({tile.features:,} cases touch it; {layers})",
        str(Spread.of(api)),
        f"identical SQL via asyncpg: {Spread.of(base)}",
        f"{ratio:.2f}x p50",
        f"<= {TILE_TARGET}x p50",
        f"{verdict(ratio, TILE_TARGET)}; {repeat} each; bytes {'identical' if same else 'DIFFER'}",
    )


async def throughput(
    client: httpx.AsyncClient, urls: list[str], seconds: float, concurrency: int
) -> tuple[int, float]:
    """Requests completed by `concurrency` workers cycling through urls for `seconds`."""
    deadline = time.perf_counter() + seconds
    done = 0

    async def worker(offset: int) -> None:
        nonlocal done
        i = offset
        while time.perf_counter() < deadline:
            await fetch_ok(client, urls[i % len(urls)])
            done += 1
            i += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return done, time.perf_counter() - start


@asynccontextmanager
async def tipg_server(venv: Path) -> AsyncIterator[str]:
    """Run tipg (from its own virtualenv) on the bench database, serving only `cases`."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": BENCH_DATABASE_URL.replace("+asyncpg", ""),
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": '["public.cases"]',
    }
    proc = await asyncio.create_subprocess_exec(
        str(venv / "bin" / "uvicorn"),
        "tipg.main:app",
        "--port",
        str(port),
        "--log-level",
        "warning",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_for(f"{url}/collections/public.cases")
        yield url
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)


async def _wait_for(url: str, attempts: int = 1200) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(attempts):
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


async def versus_tipg(
    client: httpx.AsyncClient,
    view: list[Tile],
    table: Table,
    seconds: float,
    venv: Path = TIPG_VENV,
    *,
    cache: str = "cold, tile cache off",
    target: float = 1.0,
) -> None:
    """Requests per second on the same tiles and concurrency, ours vs tipg, in ABBA rounds.

    `cache` names the server's tile cache in the row: "cold, tile cache off" (every request
    renders) or "warm tile cache" (all tiles cached before the rounds).
    """
    if not (venv / "bin" / "uvicorn").exists():
        table.add("tile throughput vs tipg", "skipped", note=f"no tipg: {tipg_install_hint()}")
        return
    ours = [f"/api/v1/tiles/cases/{t.path}.mvt" for t in view]
    query = f"?geom-column=geom_3857&properties={TIPG_PROPERTIES}"
    theirs = [f"/collections/public.cases/tiles/WebMercatorQuad/{t.path}{query}" for t in view]
    async with (
        tipg_server(venv) as tipg_url,
        httpx.AsyncClient(base_url=tipg_url, timeout=120) as tipg,
    ):
        counts = {"ours": [0, 0.0], "tipg": [0, 0.0]}
        rounds = [("ours", client, ours), ("tipg", tipg, theirs)]
        # Every tile once on both sides first: with the cache on, the rounds then measure
        # cached tiles only (the coordinator's map asking again), and both databases are warm.
        for _, c, urls in rounds:
            for url in urls:
                await fetch_ok(c, url)
        for who, c, urls in [*rounds, *reversed(rounds)]:
            done, spent = await throughput(c, urls, seconds / 2, CONCURRENCY)
            counts[who][0] += done
            counts[who][1] += spent
    rps = {who: done / spent for who, (done, spent) in counts.items()}
    ratio = rps["ours"] / rps["tipg"]
    table.add(
        f"tile throughput, {len(view)} tiles (3x3 blocks around the densest z12 and z13 "
        f"tiles), {CONCURRENCY} concurrent, {cache}",
        f"{rps['ours']:.1f} req/s",
        f"tipg {rps['tipg']:.1f} req/s",
        f"{ratio:.2f}x",
        f">= {target}x",
        f"{verdict(ratio, target, at_least=True)}; {seconds:.0f} s each in ABBA rounds; "
        "tipg does no auth, no privacy, no ETag",
    )


def tipg_install_hint() -> str:
    """How to install tipg where the benchmark looks for it."""
    return f"python3 -m venv {TIPG_VENV} && {TIPG_VENV}/bin/pip install tipg uvicorn"
