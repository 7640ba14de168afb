"""What a request sends to PostgreSQL: no pre-ping, one statement per step, no connection churn."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import corps.db
from corps.db import make_engine
from corps.settings import Settings
from testing.factories import make_case, make_person

# The app's own engine and pool (not the test's joined transaction): committed.
pytestmark = pytest.mark.committed

SEALER = ("audit_chain", "advisory", "pg_snapshot", "ej_audit_pending")
# Set around the request a test counts: background work started earlier (a case write's
# queued recompute, the sealer) runs in contexts copied before, so it is not counted.
COUNTING: ContextVar[bool] = ContextVar("counting", default=False)


@pytest.fixture
def statements(app: FastAPI) -> Iterator[list[str]]:
    """The statements the app's engine sends while the test runs, the sealer's left out."""
    seen: list[str] = []

    def grab(_c: object, _cur: object, sql: str, *_rest: Any) -> None:
        if COUNTING.get() and not any(word in sql for word in SEALER):
            seen.append(sql)

    target = app.state.engine.sync_engine
    event.listen(target, "before_cursor_execute", grab)
    yield seen
    event.remove(target, "before_cursor_execute", grab)


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One item per ping of a pooled connection."""
    done: list[int] = []
    real = AsyncAdapt_asyncpg_connection.ping

    def counted(self: AsyncAdapt_asyncpg_connection) -> None:
        if COUNTING.get():
            done.append(1)
        real(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counted)
    return done


async def test_an_audited_read_is_the_sign_in_and_one_statement_without_a_ping(
    client: httpx.AsyncClient,
    db: AsyncSession,
    engine: AsyncEngine,
    settings: Settings,
    statements: list[str],
    pings: list[int],
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    statements.clear()
    pings.clear()
    COUNTING.set(True)
    read = await client.get(f"/api/v1/cases/{case['id']}", headers=paralegal.headers)
    assert read.status_code == 200, read.text
    assert len(statements) == 2, statements
    assert "ej_sign_in_as" in statements[0]
    # The read and its audit entry: one round trip, and the entry is there once.
    assert "ej_cases" in statements[1] and "ej_audit_append" in statements[1]
    assert pings == []  # the connection was in use a moment ago: no pre-ping
    async with engine.connect() as conn:
        entries = await conn.scalar(
            text(
                "SELECT count(*) FROM audit_log WHERE action = 'case.viewed' "
                "AND object_id = :id AND actor_id = :actor"
            ),
            {"id": case["id"], "actor": paralegal.id},
        )
    assert entries == 1


async def test_a_list_page_is_the_sign_in_and_one_statement(
    client: httpx.AsyncClient,
    db: AsyncSession,
    engine: AsyncEngine,
    settings: Settings,
    statements: list[str],
    pings: list[int],
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    await make_case(client, paralegal)
    statements.clear()
    pings.clear()
    COUNTING.set(True)
    page = await client.get("/api/v1/cases", params={"limit": 1}, headers=paralegal.headers)
    assert page.status_code == 200, page.text
    assert [("ej_sign_in_as" in s, "ej_cases" in s) for s in statements] == [
        (True, False),
        (False, True),
    ]
    assert pings == []


async def _kill_app_connections(engine: AsyncEngine, settings: Settings) -> int:
    async with engine.connect() as conn:
        killed = await conn.scalar(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = 'ejcorps' "
                "AND usename = :role"
            ),
            {"role": settings.database_url.split("://", 1)[1].split(":", 1)[0]},
        )
    await asyncio.sleep(0.2)  # the backends exit
    return int(killed or 0)


async def test_a_pooled_connection_that_died_is_replaced_within_the_request(
    client: httpx.AsyncClient,
    db: AsyncSession,
    engine: AsyncEngine,
    settings: Settings,
    pings: list[int],
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    await asyncio.sleep(0.5)  # the sealer is done with the create's entry: it will not meet
    # the dead connections first (a failure there would have the pool replace them all)
    assert await _kill_app_connections(engine, settings) > 0  # as a restart of PostgreSQL would
    pings.clear()
    # No ping finds it (it was used a moment ago): the sign-in fails, and is tried once more.
    COUNTING.set(True)
    read = await client.get(f"/api/v1/cases/{case['id']}", headers=paralegal.headers)
    assert read.status_code == 200, read.text
    assert pings == []


async def test_a_connection_idle_past_the_limit_is_pinged_and_replaced_when_dead(
    client: httpx.AsyncClient,
    db: AsyncSession,
    engine: AsyncEngine,
    settings: Settings,
    pings: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    await _kill_app_connections(engine, settings)
    monkeypatch.setattr(corps.db, "IDLE_PING_S", 0.0)  # every connection counts as idle
    pings.clear()
    COUNTING.set(True)
    read = await client.get(f"/api/v1/cases/{case['id']}", headers=paralegal.headers)
    assert read.status_code == 200, read.text
    assert pings, "an idle connection is checked before use"


async def test_a_load_above_the_pool_size_opens_no_connection_twice(settings: Settings) -> None:
    engine = make_engine(settings.model_copy(update={"db_pool_size": 1}))
    backends: list[int] = []

    async def one() -> None:
        async with engine.connect() as conn:
            backends.append(int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0))
            await conn.execute(text("SELECT pg_sleep(0.01)"))

    try:
        for _ in range(10):
            await asyncio.gather(*(one() for _ in range(6)))
    finally:
        await engine.dispose()
    # At most 2 x db_pool_size connections, each opened once and kept (no churn).
    assert len(set(backends)) <= 2, sorted(set(backends))
