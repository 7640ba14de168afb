"""Map benchmarks: tiles against raw SQL and tipg, OGC items against raw SQL, hotspot growth.

Every baseline runs in the same process and the same run as its subject, interleaved with it
(ABBA order) so that load from other work on the machine falls on both. The baseline SQL is
the statement the endpoint itself builds, captured from SQLAlchemy with its bound arguments
and replayed through a bare asyncpg connection.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.sql import Executable
from starlette.datastructures import URL

from bench.common import BENCH_DATABASE_URL, Table
from cases.filters import CaseFilters
from corps.auth.actor import Actor, Role
from corps.auth.tokens import issue_token
from corps.members.models import User
from corps.settings import Settings
from maps import tiles
from maps.features import GEOJSON, ItemsQuery, items_statement
from maps.hotspot_cache import HotspotParams, analyse
from maps.hotspots import HotspotScope
from tests.live import free_port, live_server

RESULTS_MD = Path(__file__).parent / "RESULTS.md"
BEGIN, END = "<!-- bench:maps:begin -->", "<!-- bench:maps:end -->"
SUBSET_SIZES = (10_000, 100_000, 1_000_000)
TILE_ZOOMS = (13, 12, 11)  # dense map views; each should carry 1,000+ features
LOW_ZOOM = 4
TILE_TARGET, ITEMS_TARGET, GROWTH_TARGET = 1.2, 1.3, 1.3
OGC_LIMIT = 1000
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
SUBSET_GROUPS = """
SELECT updated_at, count(*) AS n FROM cases WHERE archived_at IS NULL
GROUP BY updated_at ORDER BY updated_at DESC
"""


@dataclass(frozen=True)
class Tile:
    """One tile to fetch, with the number of cases whose geometry touches it."""

    z: int
    x: int
    y: int
    features: int

    @property
    def path(self) -> str:
        """z/x/y."""
        return f"{self.z}/{self.x}/{self.y}"


@dataclass(frozen=True)
class RawQuery:
    """SQL text and positional arguments exactly as SQLAlchemy hands them to asyncpg."""

    sql: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Spread:
    """Median and 95th percentile of a set of timings, in milliseconds."""

    p50: float
    p95: float

    @classmethod
    def of(cls, samples: list[float]) -> Spread:
        """Summarize samples given in seconds."""
        p95 = statistics.quantiles(samples, n=20, method="inclusive")[18]
        return cls(statistics.median(samples) * 1000, p95 * 1000)

    def __str__(self) -> str:
        return f"p50 {self.p50:.1f} ms, p95 {self.p95:.1f} ms"


@dataclass(frozen=True)
class Bench:
    """What every map benchmark needs: settings, users, tokens and the two connections."""

    settings: Settings
    engine: AsyncEngine
    raw: asyncpg.Connection
    coordinator: Actor
    admin: Actor
    token: str


def seed_steps(total: int) -> list[int]:
    """Seed totals that make the last 100k and 10k cases separate transactions (subsets)."""
    steps = {total - n for n in SUBSET_SIZES if n < total} | {total}
    return sorted(s for s in steps if s > 0)


def verdict(ratio: float, target: float, *, at_least: bool = False) -> str:
    """`met` or `MISSED` for a ratio against its target."""
    met = ratio >= target if at_least else ratio <= target
    return "met" if met else "MISSED"


async def interleaved(
    subject: Callable[[], Awaitable[object]],
    baseline: Callable[[], Awaitable[object]],
    repeat: int,
    warmup: int = 3,
) -> tuple[list[float], list[float]]:
    """Seconds per call of subject and baseline, alternating ABBA after a few warm-up calls."""
    for _ in range(warmup):
        await subject()
        await baseline()
    out: tuple[list[float], list[float]] = ([], [])
    for i in range(repeat):
        pair = [(0, subject), (1, baseline)]
        for slot, call in pair if i % 2 == 0 else reversed(pair):
            start = time.perf_counter()
            await call()
            out[slot].append(time.perf_counter() - start)
    return out


async def captured(engine: AsyncEngine, statement: Executable, params: dict[str, Any]) -> RawQuery:
    """Execute a statement once through SQLAlchemy and return what it sent to asyncpg."""
    seen: list[RawQuery] = []

    def grab(_c: object, _cur: object, sql: str, args: Any, _ctx: object, _many: bool) -> None:
        seen.append(RawQuery(sql, tuple(args)))

    event.listen(engine.sync_engine, "before_cursor_execute", grab)
    try:
        async with engine.connect() as conn:
            await conn.execute(statement, params)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", grab)
    return seen[-1]


async def users(engine: AsyncEngine) -> dict[str, Actor]:
    """The seeded coordinator and admin as actors."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(User.id, User.email, User.role, User.organization_id).where(
                User.role.in_(["coordinator", "admin"])
            )
        )
        return {
            r.role: Actor(
                user_id=r.id, email=r.email, role=Role(r.role), organization_id=r.organization_id
            )
            for r in rows
        }


async def machine(raw: asyncpg.Connection) -> str:
    """One Markdown paragraph: date, CPUs, memory, PostgreSQL and PostGIS versions, load."""
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    pg = await raw.fetchval("SHOW server_version")
    postgis = await raw.fetchval("SELECT postgis_lib_version()")
    cases = await raw.fetchval("SELECT count(*) FROM cases WHERE archived_at IS NULL")
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs (nproc), "
        f"{memory / 2**30:.1f} GiB memory, PostgreSQL {pg}, PostGIS {postgis}; "
        f"{cases:,} cases in the bench database; load average at start {load}."
    )


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
    layers = [tiles.cases_layer(CaseFilters())]
    if tile.z < tiles.CLUSTER_BELOW_ZOOM:
        layers.append(tiles.clusters_layer(CaseFilters()))
    return [await captured(bench.engine, layer, params) for layer in layers]


async def fetch_ok(client: httpx.AsyncClient, url: str) -> bytes:
    """GET a URL and insist on 200."""
    response = await client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:200]}"
    return response.content


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
    layers = "cases + case_clusters" if len(queries) > 1 else "cases"
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
    """Requests per second on the same tiles and concurrency, ours vs tipg, in ABBA rounds."""
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
        for who, c, urls in [*rounds, *reversed(rounds)]:
            await fetch_ok(c, urls[0])
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


def items_links(base_url: str) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The self and next links the items endpoint builds for ?limit=OGC_LIMIT."""
    url = URL(f"{base_url}/ogc/collections/cases/items?limit={OGC_LIMIT}")
    self_link = {"href": str(url), "rel": "self", "type": GEOJSON, "title": "This page"}
    next_url = url.include_query_params(offset=OGC_LIMIT, limit=OGC_LIMIT)
    return [self_link], {
        "href": str(next_url),
        "rel": "next",
        "type": GEOJSON,
        "title": "Next page",
    }


async def ogc_items(bench: Bench, client: httpx.AsyncClient, table: Table, repeat: int) -> None:
    """OGC items at 1,000 features vs the identical FeatureCollection SQL via asyncpg."""
    links, next_link = items_links(str(client.base_url).rstrip("/"))
    query = ItemsQuery(OGC_LIMIT, 0, None, None, None, CaseFilters())
    raw = await captured(bench.engine, items_statement(query, links, next_link), {})
    url = f"/ogc/collections/cases/items?limit={OGC_LIMIT}"
    api_body = orjson.loads(await fetch_ok(client, url))
    raw_body = orjson.loads(await bench.raw.fetchval(raw.sql, *raw.args))
    same = api_body["features"] == raw_body["features"] and api_body["links"] == raw_body["links"]
    api, base = await interleaved(
        lambda: fetch_ok(client, url), lambda: bench.raw.fetchval(raw.sql, *raw.args), repeat
    )
    ratio = Spread.of(api).p50 / Spread.of(base).p50
    table.add(
        f"OGC items, limit={OGC_LIMIT} ({len(api_body['features'])} features)",
        str(Spread.of(api)),
        f"identical SQL via asyncpg: {Spread.of(base)}",
        f"{ratio:.2f}x p50",
        f"<= {ITEMS_TARGET}x p50",
        f"{verdict(ratio, ITEMS_TARGET)}; {repeat} each; "
        f"features and links {'identical' if same else 'DIFFER'}",
    )


async def subsets(raw: asyncpg.Connection, total: int) -> list[tuple[int, CaseFilters]]:
    """Filters selecting the newest ~10k, ~100k, ... cases (whole seeding steps), and all."""
    groups = await raw.fetch(SUBSET_GROUPS)
    out: list[tuple[int, CaseFilters]] = []
    for size in (s for s in SUBSET_SIZES if s < total):
        count = 0
        for newer, older in itertools.pairwise(groups):
            count += newer["n"]
            if count >= 0.9 * size:
                out.append((count, CaseFilters(updated_after=older["updated_at"])))
                break
    out.append((sum(g["n"] for g in groups), CaseFilters()))
    return out


async def hotspot_seconds(
    bench: Bench, method: str, filters: CaseFilters, limit_s: float
) -> float | None:
    """Wall time of maps.hotspot_cache.analyse for an admin, or None past `limit_s`."""
    scope = HotspotScope.of(bench.admin)
    params = HotspotParams(method=method, distance_km=25, min_cases=3, cell_km=50)
    async with async_sessionmaker(bench.engine)() as session:
        await session.execute(text(f"SET statement_timeout = {int(limit_s * 1000)}"))
        await scope.view_as(session)
        start = time.perf_counter()
        try:
            await analyse(session, scope, params, filters)
        except DBAPIError as exc:
            if "statement timeout" in str(exc):
                return None
            raise
        finally:
            await session.rollback()
        return time.perf_counter() - start


def growth_exponent(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(time) against log(cases)."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


async def hotspot_growth(bench: Bench, total: int, table: Table, limit_s: float) -> None:
    """Hotspot time at each subset size for both methods, and the growth exponent."""
    sizes = await subsets(bench.raw, total)
    for method in ("hexagons", "dbscan"):
        points: list[tuple[int, float]] = []
        stopped = False
        for count, filters in sizes:
            runs = 3 if count <= 20_000 else 1
            samples = [await hotspot_seconds(bench, method, filters, limit_s) for _ in range(runs)]
            if any(s is None for s in samples):
                stopped = True
                points.append((count, limit_s))
                table.add(f"hotspots {method}, {count:,} cases", f"> {limit_s:.0f} s (stopped)")
                break
            seconds = statistics.median([s for s in samples if s is not None])
            points.append((count, seconds))
            table.add(
                f"hotspots {method}, {count:,} cases", f"{seconds:.2f} s", note=f"{runs} run(s)"
            )
        _add_growth(table, method, points, stopped=stopped)


def _add_growth(
    table: Table, method: str, points: list[tuple[int, float]], *, stopped: bool
) -> None:
    if len(points) < 2:
        table.add(f"hotspots {method} growth exponent", "n/a", note="needs two subset sizes")
        return
    slope = growth_exponent(points)
    note = f"slope of log(time) on log(n), {points[0][0]:,} to {points[-1][0]:,} cases"
    outcome = verdict(slope, GROWTH_TARGET)
    if stopped:  # the last time is a lower bound, so the slope is one too
        outcome = "MISSED" if slope > GROWTH_TARGET else "undecided (stopped)"
        if len(points) > 2:
            note += f"; {growth_exponent(points[:-1]):.2f} without the stopped run"
    table.add(
        f"hotspots {method} growth exponent",
        f"{'>= ' if stopped else ''}{slope:.2f}",
        "",
        "",
        f"<= {GROWTH_TARGET}",
        f"{outcome}; {note}",
    )


def write_results(header: str, table: Table) -> None:
    """Replace the generated part of bench/RESULTS.md, keeping the written analysis."""
    generated = f"{BEGIN}\n{header}\n\n{table.markdown()}{END}"
    old = RESULTS_MD.read_text() if RESULTS_MD.exists() else f"# Map benchmarks\n\n{BEGIN}{END}\n"
    if BEGIN not in old:
        old += f"\n{BEGIN}{END}\n"
    head, _, rest = old.partition(BEGIN)
    RESULTS_MD.write_text(head + generated + rest.partition(END)[2])


async def run(
    settings: Settings,
    table: Table,
    *,
    cases: int,
    repeat: int = 30,
    seconds: float = 20.0,
    hotspot_limit_s: float = 1200.0,
) -> None:
    """All map benchmarks against the bench database; rows go to table and bench/RESULTS.md."""
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
        maps = Table()
        await _http_benches(bench, maps, repeat=repeat, seconds=seconds)
        await hotspot_growth(bench, cases, maps, hotspot_limit_s)
        load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
        write_results(f"{header} Load average at the end {load}.", maps)
        table.rows.extend(maps.rows)
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


def tipg_install_hint() -> str:
    """How to install tipg where the benchmark looks for it."""
    return f"python3 -m venv {TIPG_VENV} && {TIPG_VENV}/bin/pip install tipg uvicorn"
