"""The audit log is append-only and its hash chain exposes edits made behind its back."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from corps.audit import append_audit, verify_audit_chain
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


async def test_a_fresh_chain_verifies(db: AsyncSession) -> None:
    await _append_three(db)
    await db.commit()
    assert await verify_audit_chain(db) == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET action = 'edited' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
    ],
)
async def test_update_and_delete_are_refused_by_the_database(
    db: AsyncSession, statement: str
) -> None:
    ids = await _append_three(db)
    await db.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        await db.execute(text(statement), {"id": ids[1]})
    await db.rollback()


async def test_truncate_is_refused(db: AsyncSession) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        await db.execute(text("TRUNCATE audit_log"))
    await db.rollback()


async def test_an_edit_behind_the_triggers_back_is_detected(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        session = AsyncSession(bind=conn)
        ids = await _append_three(session)
        await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        await conn.execute(
            text("UPDATE audit_log SET details = '{\"n\": 99}' WHERE id = :id"), {"id": ids[1]}
        )
        problems = await verify_audit_chain(session)
        await transaction.rollback()
    assert problems == [f"audit row {ids[1]}: content does not match its hash"]


async def test_a_deleted_row_breaks_the_chain(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        session = AsyncSession(bind=conn)
        ids = await _append_three(session)
        await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        await conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[1]})
        problems = await verify_audit_chain(session)
        await transaction.rollback()
    assert problems == [f"audit row {ids[2]}: previous hash does not match row before"]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET action = 'edited'",
        "DELETE FROM audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
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
