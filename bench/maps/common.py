"""What the map benchmarks share: tiles, captured SQL, timing spreads, users and verdicts.

Every baseline runs in the same process and the same run as its subject, interleaved with it
(ABBA order) so that load from other work on the machine falls on both. The baseline SQL is
the statement the endpoint itself builds, captured from SQLAlchemy with its bound arguments
and replayed through a bare asyncpg connection.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

from corps.auth.actor import Actor, Role
from corps.members.models import User
from corps.settings import Settings


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


async def fetch_ok(client: httpx.AsyncClient, url: str) -> bytes:
    """GET a URL and insist on 200."""
    response = await client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:200]}"
    return response.content
