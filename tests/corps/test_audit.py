"""The audit log is append-only and its hash chain exposes edits made behind its back."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from corps.audit import append_audit
from corps.audit_seal import seal_batch
from corps.audit_verify import audit_report, verify_audit_chain
from corps.settings import Settings

# Committed rows: connections of their own, as the service role, must see them.
pytestmark = pytest.mark.committed


async def _append_three(session: AsyncSession) -> list[int]:
    ids = []
    for n in range(3):
        entry = await append_audit(
            session,
            None,
            "test.event",
            object_type="test",
            object_id=n,
            details={"n": n, "text": "ünïcode ✓"},
        )
        ids.append(entry.id)
    return ids


async def test_a_fresh_chain_verifies_before_and_after_sealing(db: AsyncSession) -> None:
    await _append_three(db)
    await db.commit()
    before = await audit_report(db)
    assert before.problems == [] and before.pending >= 3
    await seal_batch(db, wait=True, limit=100_000)
    await db.commit()
    after = await audit_report(db)
    assert after.problems == [] and after.pending == 0
    assert after.sealed == before.sealed + before.pending


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET action = 'edited' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
        "UPDATE audit_chain SET hash = 'edited' WHERE entry_id = :id",
        "DELETE FROM audit_chain WHERE entry_id = :id",
    ],
)
async def test_update_and_delete_are_refused_by_the_database(
    db: AsyncSession, statement: str
) -> None:
    ids = await _append_three(db)
    await seal_batch(db, wait=True, limit=100_000)
    await db.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        await db.execute(text(statement), {"id": ids[1]})
    await db.rollback()


@pytest.mark.parametrize("table", ["audit_log", "audit_chain"])
async def test_truncate_is_refused(db: AsyncSession, table: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        await db.execute(text(f"TRUNCATE {table} CASCADE"))
    await db.rollback()


async def test_an_edit_of_a_sealed_row_behind_the_triggers_back_is_detected(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        session = AsyncSession(bind=conn)
        ids = await _append_three(session)
        await seal_batch(session, wait=True, limit=100_000)
        await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        await conn.execute(
            text("UPDATE audit_log SET details = '{\"n\": 99}' WHERE id = :id"), {"id": ids[1]}
        )
        problems = await verify_audit_chain(session)
        await transaction.rollback()
    assert problems == [f"audit row {ids[1]}: content does not match its hash"]


async def test_an_edit_of_a_pending_row_is_detected_by_its_own_hash(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        session = AsyncSession(bind=conn)
        ids = await _append_three(session)  # not sealed yet
        await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        await conn.execute(
            text("UPDATE audit_log SET action = 'test.other' WHERE id = :id"), {"id": ids[2]}
        )
        report = await audit_report(session)
        await transaction.rollback()
    assert report.problems == [
        f"audit row {ids[2]} (not yet sealed): content does not match its hash"
    ]
    assert report.pending >= 3


async def test_a_removed_link_breaks_the_chain(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        session = AsyncSession(bind=conn)
        ids = await _append_three(session)
        await seal_batch(session, wait=True, limit=100_000)
        seq = await conn.scalar(
            text("SELECT seq FROM audit_chain WHERE entry_id = :id"), {"id": ids[1]}
        )
        await conn.execute(text("ALTER TABLE audit_chain DISABLE TRIGGER USER"))
        await conn.execute(text("DELETE FROM audit_chain WHERE seq = :s"), {"s": seq})
        problems = await verify_audit_chain(session)
        await transaction.rollback()
    assert problems == [
        f"audit chain positions {seq}-{seq} are missing",
        f"audit row {ids[2]}: previous hash does not match row before",
    ]


async def test_a_sealed_row_cannot_be_removed_even_with_the_triggers_off(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        session = AsyncSession(bind=conn)
        ids = await _append_three(session)
        await seal_batch(session, wait=True, limit=100_000)
        await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        with pytest.raises(DBAPIError, match="audit_chain"):  # the chain's foreign key
            await conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[1]})
        await transaction.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET action = 'edited'",
        "DELETE FROM audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
        "UPDATE audit_chain SET hash = ''",
        "DELETE FROM audit_chain",
        "ALTER TABLE audit_chain DISABLE TRIGGER USER",
        "UPDATE custody_events SET details = '{}'",
        "ALTER TABLE custody_events DISABLE TRIGGER USER",
        "DELETE FROM evidence",
        "DELETE FROM cases",
        "DROP TABLE case_events",
    ],
)
async def test_the_services_own_database_role_cannot_rewrite_history(
    settings: Settings, migrated: None, statement: str
) -> None:
    service = create_async_engine(settings.database_url)
    try:
        async with service.connect() as conn:
            with pytest.raises(DBAPIError, match=r"permission denied|must be owner"):
                await conn.execute(text(statement))
    finally:
        await service.dispose()
