"""The per-request floor: what a read costs beyond its own SQL, and full-text search.

For a single-case read, a one-case list page and a 50-case list page, the API's p50 (a live
`corps serve --workers 1`, a coordinator's token) is set against the p50 of the identical
statement: captured from SQLAlchemy while the service builds it for the same viewer, then
replayed on a bare asyncpg connection that names the same viewer. Both run interleaved (ABBA)
in one process, so load from others on the machine falls on both. The difference is the floor
every read pays for HTTP, auth, the transaction, building SQL and JSON; the issue's target is
at most 2 ms. Full-text search is timed the same way against a p50 target of 50 ms.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from bench.common import BENCH_DATABASE_URL, Table, write_block
from bench.maps.common import RawQuery, Spread, interleaved, users, verdict
from cases import service
from cases.filters import CaseFilters
from corps.auth.actor import Actor
from corps.auth.tokens import issue_token
from corps.pagination import PageParams
from corps.settings import Settings
from corps.viewer import Viewer
from testing.live import live_server

FLOOR_TARGET_MS = 2.0
SEARCH_TARGET_MS = 50.0
# A word in one case of eight, two words together in about one case of 200 (0.5 %: too many
# to collect by id, too few for the newest-first walk before migration 0095), and a word in a
# single case ("Demo case 54321." in its summary).
SEARCH_WORDS = ("tailings", "tailings kono", "54321")
WARMUP = 10


@dataclass(frozen=True)
class Probe:
    """One request and the service call that builds the same statement for the same viewer."""

    name: str
    url: str
    params: dict[str, Any]
    build: Callable[[AsyncSession, Actor], Awaitable[object]]


async def capture(engine: AsyncEngine, actor: Actor, probe: Probe) -> RawQuery:
    """Run the service call as the actor and return the case-view statement it sent."""
    seen: list[RawQuery] = []

    def grab(_c: object, _cur: object, sql: str, args: Any, _ctx: object, _many: bool) -> None:
        seen.append(RawQuery(sql, tuple(args or ())))

    event.listen(engine.sync_engine, "before_cursor_execute", grab)
    try:
        async with AsyncSession(engine) as session:
            session.info["viewer"] = Viewer.of(actor)
            await probe.build(session, actor)
            await session.rollback()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", grab)
    return next(q for q in reversed(seen) if "ej_cases" in q.sql)


async def name_viewer(raw: asyncpg.Connection, actor: Actor) -> None:
    """Make the bare connection read as the actor, as each API transaction does."""
    await raw.execute(
        "SELECT set_config('ej.viewer_user', $1, false), "
        "set_config('ej.viewer_org', $2, false), set_config('ej.viewer_role', $3, false)",
        str(actor.user_id),
        str(actor.organization_id),
        actor.role.value,
    )


def probes(case_id: uuid.UUID) -> list[Probe]:
    """The three reads of the floor target and the full-text searches."""

    def page(limit: int, filters: CaseFilters = CaseFilters()) -> Any:
        return lambda s, a: service.list_page(s, a, filters, PageParams(limit=limit, after=None))

    out = [
        Probe(
            "single-case read (audited)",
            f"/api/v1/cases/{case_id}",
            {},
            lambda s, a: service.read(s, a, case_id, audit=False),
        ),
        Probe("list page, 1 case", "/api/v1/cases", {"limit": 1}, page(1)),
        Probe("list page, 50 cases", "/api/v1/cases", {"limit": 50}, page(50)),
    ]
    out += [
        Probe(
            f"full-text search q={w}, 50 cases",
            "/api/v1/cases",
            {"limit": 50, "q": w},
            page(50, CaseFilters(q=w)),
        )
        for w in SEARCH_WORDS
    ]
    return out


async def run(settings: Settings, table: Table, *, cases: int, repeat: int = 200) -> None:
    """Measure the floor and search; rows go to table and to bench/RESULTS.md."""
    engine = create_async_engine(BENCH_DATABASE_URL, pool_size=2)
    raw = await asyncpg.connect(BENCH_DATABASE_URL.replace("+asyncpg", ""))
    floor = Table()
    try:
        coordinator = (await users(engine))["coordinator"]
        token, _ = issue_token(settings, coordinator.user_id)
        await name_viewer(raw, coordinator)
        await raw.execute("VACUUM (ANALYZE) cases")
        start_load = os.getloadavg()
        case_id = await raw.fetchval(
            "SELECT id FROM cases WHERE archived_at IS NULL ORDER BY created_at DESC LIMIT 1"
        )
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            live_server(settings, workers=1) as server,
            httpx.AsyncClient(base_url=server.url, headers=headers, timeout=120) as client,
        ):
            before = cpu_seconds(server.pid)
            me = await _timed_get(client, "/api/v1/me", {}, repeat)
            cpu_ms = (cpu_seconds(server.pid) - before) * 1000 / repeat
            floor.add(
                "GET /api/v1/me (HTTP + auth, no case SQL)",
                str(Spread.of(me)),
                note=f"server CPU {cpu_ms:.1f} ms/request",
            )
            for probe in probes(case_id):
                await _compare(engine, raw, client, server.pid, coordinator, probe, floor, repeat)
        end_load = os.getloadavg()
        header = (
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {cases:,} cases, "
            f"{os.cpu_count()} CPUs, coordinator, {repeat} requests each (ABBA); "
            f"load average {_load(start_load)} at start, {_load(end_load)} at end."
        )
        write_results(cases, header, floor)
        table.rows.extend(floor.rows)
    finally:
        await raw.close()
        await engine.dispose()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _compare(
    engine: AsyncEngine,
    raw: asyncpg.Connection,
    client: httpx.AsyncClient,
    server_pid: int,
    actor: Actor,
    probe: Probe,
    table: Table,
    repeat: int,
) -> None:
    query = await capture(engine, actor, probe)
    before = cpu_seconds(server_pid)
    api, base = await interleaved(
        lambda: _get(client, probe.url, probe.params),
        lambda: raw.fetch(query.sql, *query.args),
        repeat,
        warmup=WARMUP,
    )
    # The server's own CPU per request does not grow with the machine's load as wall time does.
    cpu_ms = (cpu_seconds(server_pid) - before) * 1000 / (repeat + WARMUP)
    a, b = Spread.of(api), Spread.of(base)
    if probe.name.startswith("full-text"):
        table.add(
            probe.name,
            str(a),
            f"identical SQL via asyncpg: {b}",
            f"+{a.p50 - b.p50:.1f} ms",
            f"<= {SEARCH_TARGET_MS:.0f} ms p50",
            f"{verdict(a.p50, SEARCH_TARGET_MS)}; server CPU {cpu_ms:.1f} ms/request; "
            "the SQL is the page statement alone (ej_search_page's ids come first)",
        )
        return
    gap = a.p50 - b.p50
    table.add(
        probe.name,
        str(a),
        f"identical SQL via asyncpg: {b}",
        f"+{gap:.1f} ms p50",
        f"<= +{FLOOR_TARGET_MS:.0f} ms",
        f"{verdict(gap, FLOOR_TARGET_MS)}; server CPU {cpu_ms:.1f} ms/request",
    )


async def _get(client: httpx.AsyncClient, url: str, params: dict[str, Any]) -> None:
    response = await client.get(url, params=params)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:200]}"


async def _timed_get(
    client: httpx.AsyncClient, url: str, params: dict[str, Any], repeat: int
) -> list[float]:
    import time

    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        await _get(client, url, params)
        out.append(time.perf_counter() - start)
    return out


def _load(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.2f}" for v in load)


def write_results(cases: int, header: str, table: Table) -> None:
    """Replace this case count's generated floor section of bench/RESULTS.md."""
    write_block(f"floor:{cases}", f"{header}\n\n{table.markdown()}")
