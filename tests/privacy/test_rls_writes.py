"""Row-level security on writes: what hangs off a case changes only by its editors' hands.

Each test connects as the service's own role, names a viewer as the service would, and
writes raw SQL, so only the database's rules stand between the viewer and the row.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from corps.settings import Settings
from corps.viewer import name_viewer
from testing.factories import Person, make_case, make_person, viewer_of

# A second connection (the service's role) must read what the test made: committed.
pytestmark = pytest.mark.committed

NEW_EVENT = (
    "INSERT INTO case_events (id, case_id, kind, occurred_on, description, details, created_by)"
    " VALUES (gen_random_uuid(), :case, 'note', current_date, 'written past the service',"
    " '{}', :user)"
)


async def _refused(conn: AsyncConnection, sql: str, params: dict[str, object]) -> bool:
    """True when the statement is refused by a policy or changes no row; rolled back either way."""
    savepoint = await conn.begin_nested()
    try:
        result = await conn.execute(text(sql), params)
    except DBAPIError as error:
        await savepoint.rollback()
        assert "row-level security" in str(error) or "may" in str(error), error
        return True
    refused = result.rowcount == 0  # type: ignore[attr-defined]
    await savepoint.rollback()
    return refused


@pytest.fixture
async def case_of_a(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> tuple[Person, str]:
    """A paralegal of organization A and one of their cases, with a respondent."""
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    return paralegal, str(case["id"])


async def test_a_coordinator_reads_a_case_but_adds_nothing_to_its_timeline_or_evidence(
    case_of_a: tuple[Person, str],
    service_engine: AsyncEngine,
    db: AsyncSession,
    settings: Settings,
) -> None:
    paralegal, case_id = case_of_a
    coordinator = await make_person(db, settings, "coordinator")
    async with service_engine.connect() as conn:
        await name_viewer(conn, viewer_of(coordinator))
        seen = await conn.scalar(text("SELECT count(*) FROM cases WHERE id = :id"), {"id": case_id})
        assert seen == 1  # the coordinator does read the case
        params = {"case": case_id, "user": str(coordinator.id)}
        assert await _refused(conn, NEW_EVENT, params)
        assert await _refused(
            conn, "UPDATE case_events SET description = 'rewritten' WHERE case_id = :case", params
        )
        assert await _refused(conn, "DELETE FROM case_respondents WHERE case_id = :case", params)
        assert await _refused(
            conn,
            "UPDATE evidence SET description = 'rewritten' WHERE case_id = :case",
            params,
        )
    async with service_engine.connect() as conn:  # and the test can fail: the editor may
        await name_viewer(conn, viewer_of(paralegal))
        assert not await _refused(conn, NEW_EVENT, {"case": case_id, "user": str(paralegal.id)})
        assert not await _refused(
            conn, "DELETE FROM case_respondents WHERE case_id = :case", {"case": case_id}
        )


async def test_a_coordinator_may_still_repoint_respondents_when_merging_actors(
    case_of_a: tuple[Person, str], service_engine: AsyncEngine, db: AsyncSession, settings: Settings
) -> None:
    _, case_id = case_of_a
    coordinator = await make_person(db, settings, "coordinator")
    async with service_engine.connect() as conn:
        await name_viewer(conn, viewer_of(coordinator))
        assert not await _refused(
            conn,
            "UPDATE case_respondents SET actor_id = actor_id WHERE case_id = :case",
            {"case": case_id},
        )


async def test_flags_are_written_only_in_ones_own_name(
    case_of_a: tuple[Person, str], service_engine: AsyncEngine, db: AsyncSession, settings: Settings
) -> None:
    paralegal, case_id = case_of_a
    coordinator = await make_person(db, settings, "coordinator")
    flag = (
        "INSERT INTO case_flags (id, case_id, reason, flagged_by)"
        " VALUES (gen_random_uuid(), :case, 'same company', :by)"
    )
    async with service_engine.connect() as conn:
        await name_viewer(conn, viewer_of(coordinator))
        assert await _refused(conn, flag, {"case": case_id, "by": str(paralegal.id)})
        assert not await _refused(conn, flag, {"case": case_id, "by": str(coordinator.id)})


async def test_only_campaign_managers_put_cases_into_campaigns(
    client: httpx.AsyncClient,
    case_of_a: tuple[Person, str],
    service_engine: AsyncEngine,
    db: AsyncSession,
    settings: Settings,
) -> None:
    paralegal, case_id = case_of_a
    coordinator = await make_person(db, settings, "coordinator")
    created = await client.post(
        "/api/v1/campaigns",
        headers=coordinator.headers,
        json={"title": "Quarries", "rationale": "One company", "case_ids": [case_id]},
    )
    assert created.status_code == 201, created.text
    params = {"campaign": created.json()["id"], "case": case_id}
    remove = "DELETE FROM campaign_cases WHERE campaign_id = :campaign AND case_id = :case"
    async with service_engine.connect() as conn:
        await name_viewer(conn, viewer_of(paralegal))  # the paralegal reads their own case
        assert await _refused(conn, remove, params)
    async with service_engine.connect() as conn:
        await name_viewer(conn, viewer_of(coordinator))
        assert not await _refused(conn, remove, params)


@pytest.mark.parametrize(
    ("column", "value"),
    [("role", "'admin'"), ("email", "'someone.else@example.org'"), ("active", "false")],
)
async def test_a_user_changes_nothing_of_their_own_row_but_the_password(
    column: str,
    value: str,
    service_engine: AsyncEngine,
    db: AsyncSession,
    settings: Settings,
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    me = {"id": str(paralegal.id)}
    async with service_engine.connect() as conn:
        await name_viewer(conn, viewer_of(paralegal))
        assert await _refused(conn, f"UPDATE users SET {column} = {value} WHERE id = :id", me)
        assert not await _refused(
            conn, "UPDATE users SET password_hash = password_hash WHERE id = :id", me
        )


async def test_an_org_admin_neither_gives_nor_takes_a_corps_level_role(
    service_engine: AsyncEngine, db: AsyncSession, settings: Settings
) -> None:
    org_admin = await make_person(db, settings, "org_admin")
    colleague = await make_person(db, settings, "paralegal")
    await db.execute(
        text("UPDATE users SET organization_id = :org WHERE id = :id"),
        {"org": str(org_admin.organization_id), "id": str(colleague.id)},
    )
    await db.commit()
    async with service_engine.connect() as conn:
        await name_viewer(conn, viewer_of(org_admin))
        for role in ("admin", "coordinator"):
            assert await _refused(
                conn,
                "UPDATE users SET role = :role WHERE id = :id",
                {"role": role, "id": str(org_admin.id)},
            )
            assert await _refused(
                conn,
                "UPDATE users SET role = :role WHERE id = :id",
                {"role": role, "id": str(colleague.id)},
            )
        assert not await _refused(  # within the organization's roles, it may
            conn,
            "UPDATE users SET role = 'org_admin' WHERE id = :id",
            {"id": str(colleague.id)},
        )
