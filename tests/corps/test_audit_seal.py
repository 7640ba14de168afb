"""Appending to the audit log takes no lock; the sealer chains entries in commit order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from corps.audit import append_audit
from corps.audit_seal import pending_count, seal_pending
from corps.audit_verify import audit_report
from corps.settings import Settings
from corps.viewer import Viewer
from testing.factories import make_case, make_person, viewer_of

# A second connection (the service's role) must read what the test made: committed.
pytestmark = pytest.mark.committed


@pytest.fixture
async def service_factory(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions as the service's own role (row level security applies), as the sealer runs."""
    engine = create_async_engine(settings.database_url)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def _position(engine: AsyncEngine, entry_id: int) -> int | None:
    async with engine.connect() as conn:
        return await conn.scalar(
            text("SELECT seq FROM audit_chain WHERE entry_id = :id"), {"id": entry_id}
        )


async def test_an_open_audited_write_does_not_hold_up_an_audited_read(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, engine: AsyncEngine
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    async with engine.connect() as writer:
        await writer.begin()
        session = AsyncSession(bind=writer)
        written = await append_audit(session, None, "test.open_write", object_id=case["id"])
        backend = await writer.scalar(text("SELECT pg_backend_pid()"))
        # Structural: the open audited transaction holds no advisory lock anyone could queue on.
        held = await db.scalar(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = :p"),
            {"p": backend},
        )
        assert held == 0
        # Under the old global lock this read waited for the writer's end: here it commits
        # first. (wait_for only keeps a regression from hanging the suite.)
        read = await asyncio.wait_for(
            client.get(f"/api/v1/cases/{case['id']}", headers=paralegal.headers), 60
        )
        assert read.status_code == 200, read.text
        viewed = await db.scalar(
            text(
                "SELECT id FROM audit_log WHERE action = 'case.viewed' AND object_id = :id "
                "AND actor_id = :actor"
            ),
            {"id": case["id"], "actor": paralegal.id},
        )
        await db.commit()
        assert viewed is not None and viewed > written.id  # drew a later id, committed first
        await writer.commit()


async def test_the_sealer_seals_in_commit_order_and_never_past_an_open_transaction(
    engine: AsyncEngine, service_factory: async_sessionmaker[AsyncSession]
) -> None:
    factory = async_sessionmaker(engine, expire_on_commit=False)
    async with factory() as early, factory() as late, factory() as dropped:
        first = await append_audit(early, None, "test.interleaved", details={"n": 1})
        second = await append_audit(late, None, "test.interleaved", details={"n": 2})
        await late.commit()
        gone = await append_audit(dropped, None, "test.interleaved", details={"n": 3})
        await dropped.rollback()  # a gap in the ids, for good
        assert first.id < second.id < gone.id

        await seal_pending(service_factory)
        assert await _position(engine, second.id) is not None
        assert await _position(engine, first.id) is None  # still open: not visible, not sealed
        open_txid = await early.scalar(
            text("SELECT txid::text FROM audit_log WHERE id = :id"), {"id": first.id}
        )
        async with engine.connect() as conn:
            floor = await conn.scalar(
                text("SELECT xmin_floor::text FROM audit_chain ORDER BY seq DESC LIMIT 1")
            )
        floor_ok = int(floor) <= int(open_txid)
        assert floor_ok  # the next sealer still looks where the open entry will appear

        await early.commit()
    await seal_pending(service_factory)
    first_at, second_at = await _position(engine, first.id), await _position(engine, second.id)
    assert first_at is not None and second_at is not None and first_at > second_at
    async with factory() as session:
        report = await audit_report(session)
    assert report.problems == [] and report.pending == 0


async def test_two_sealers_at_once_build_one_chain(
    engine: AsyncEngine, service_factory: async_sessionmaker[AsyncSession]
) -> None:
    factory = async_sessionmaker(engine, expire_on_commit=False)
    async with factory() as session:
        ids = [
            (await append_audit(session, None, "test.race", details={"n": n})).id for n in range(40)
        ]
        await session.commit()
    await asyncio.gather(
        seal_pending(service_factory, limit=7),
        seal_pending(service_factory, limit=5),
        seal_pending(service_factory, limit=3, wait=False),
    )
    positions = [await _position(engine, i) for i in ids]
    assert None not in positions and positions == sorted(positions)
    async with factory() as session:
        report = await audit_report(session)
    assert report.problems == [] and report.pending == 0


async def test_committed_entries_wait_safely_for_a_sealer_that_was_not_running(
    engine: AsyncEngine, service_factory: async_sessionmaker[AsyncSession]
) -> None:
    # As after a crash between commit and sealing: the entries are committed, so nothing is
    # lost; they are reported pending, intact, and the next sealer chains them.
    factory = async_sessionmaker(engine, expire_on_commit=False)
    async with factory() as session:
        entry = await append_audit(session, None, "test.crash", details={"n": 1})
        await session.commit()
        assert await pending_count(session) >= 1
        report = await audit_report(session)
        assert report.problems == [] and report.pending >= 1
    assert await seal_pending(service_factory) >= 1
    assert await _position(engine, entry.id) is not None
    async with factory() as session:
        assert await pending_count(session) == 0


async def test_only_the_system_seals_and_only_admins_read_the_chain(
    db: AsyncSession,
    settings: Settings,
    engine: AsyncEngine,
    service_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with async_sessionmaker(engine)() as session:
        await append_audit(session, None, "test.rls")
        await session.commit()
    await seal_pending(service_factory)
    paralegal = await make_person(db, settings, "paralegal")
    admin = await make_person(db, settings, "admin")
    async with service_factory() as session:
        session.info["viewer"] = viewer_of(paralegal)
        assert await session.scalar(text("SELECT count(*) FROM audit_chain")) == 0
        assert await session.scalar(text("SELECT count(*) FROM audit_log")) == 0
        # the head and the pending count are public numbers (dossiers anchor them)
        assert await session.scalar(text("SELECT count(*) FROM ej_audit_head()")) == 1
        with pytest.raises(DBAPIError, match="row-level security"):
            await session.execute(
                text(
                    "INSERT INTO audit_chain (seq, entry_id, prev_hash, hash, xmin_floor) "
                    "VALUES (999999999, 1, 'x', 'forged', '1')"
                )
            )
    async with service_factory() as session:
        session.info["viewer"] = viewer_of(admin)
        assert await session.scalar(text("SELECT count(*) FROM audit_chain")) > 0
    async with service_factory() as session:
        session.info["viewer"] = Viewer.system("tests.audit")
        assert await session.scalar(text("SELECT count(*) FROM audit_log")) > 0


def test_the_bench_switch_that_skips_read_audits_is_refused_in_production() -> None:
    with pytest.raises(ValueError, match="benchmarks only"):
        Settings(env="prod", secret_key="x" * 48, bench_unaudited_reads=True)
