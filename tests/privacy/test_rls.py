"""Row-level security, through the database itself: the service's role, a viewer, raw SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from corps.audit import append_audit
from corps.jobs import VIEWER_KWARG, enqueue_after_commit, with_viewer
from corps.settings import Settings
from corps.viewer import Viewer, acting_as, name_viewer, set_viewer
from testing.factories import Person, make_case, make_person, photo_with_gps, upload, viewer_of

# Committed rows: connections of their own, as the service role, must see them.
pytestmark = pytest.mark.committed

# Tables every viewer reads whole by design: the corps' member list and shared reference
# layers (their organization_id names the uploader, not an owner of the data).
SHARED = {
    "organizations",
    "reference_layers",
    "layer_features",
    "layer_feature_parts",
    "case_data_versions",  # a counter per organization that says only that something changed
}

TENANT_TABLES = """
SELECT c.relname FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
  AND c.relname NOT IN ('spatial_ref_sys', 'alembic_version')
  AND (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND NOT a.attisdropped
               AND a.attname IN ('organization_id', 'organization_ids', 'case_id', 'case_ids',
                                 'evidence_id', 'campaign_id'))
       OR c.relname IN ('users', 'campaigns', 'hotspot_results'))
ORDER BY 1
"""


@dataclass
class Tenant:
    """One organization's person and the ids of what they made."""

    person: Person
    case_id: str
    evidence_id: str

    def ids(self) -> list[str]:
        return [str(self.person.organization_id), str(self.person.id), self.case_id]


async def _tenant(client: httpx.AsyncClient, db: AsyncSession, settings: Settings) -> Tenant:
    person = await make_person(db, settings, "paralegal")
    case = await make_case(client, person, sensitivity="high_risk")
    await client.post(
        f"/api/v1/cases/{case['id']}/events",
        headers=person.headers,
        json={"kind": "note", "occurred_on": "2026-03-02", "description": "Met the elders"},
    )
    item = await upload(client, person, case["id"], photo_with_gps(36.7855, -1.2855))
    assert isinstance(item, httpx.Response) and item.status_code == 201, item.text
    dossier = await client.post(
        "/api/v1/dossiers",
        headers=person.headers,
        json={"case_ids": [case["id"]], "level": "internal", "formats": ["csv"]},
    )
    assert dossier.status_code == 202, dossier.text
    hotspots = await client.get(
        "/api/v1/hotspots", headers=person.headers, params={"method": "dbscan", "min_cases": 2}
    )
    assert hotspots.status_code == 200, hotspots.text
    return Tenant(person, str(case["id"]), str(item.json()["id"]))


@pytest.fixture
async def two_tenants(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> tuple[Tenant, Tenant]:
    """Two organizations, each with a case, a timeline, evidence, a dossier and flags."""
    a, b = await _tenant(client, db, settings), await _tenant(client, db, settings)
    coordinator = await make_person(db, settings, "coordinator")
    for tenant in (a, b):
        await client.post(
            f"/api/v1/cases/{tenant.case_id}/flags",
            headers=coordinator.headers,
            json={"reason": "Same quarry company"},
        )
        created = await client.post(
            "/api/v1/campaigns",
            headers=coordinator.headers,
            json={"title": "Quarries", "rationale": "One company", "case_ids": [tenant.case_id]},
        )
        assert created.status_code == 201, created.text
    return a, b


async def _tables(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(TENANT_TABLES))).scalars())


async def _everything(conn: AsyncConnection, table: str) -> list[str]:
    rows = await conn.execute(text(f'SELECT t::text FROM "{table}" t'))
    return list(rows.scalars())


async def test_every_table_holding_organization_data_forces_row_level_security_with_policies(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
                    "(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies "
                    "FROM pg_class c WHERE c.relname = ANY(:names) "
                    "AND c.relnamespace = 'public'::regnamespace"
                ),
                {"names": await _tables(engine)},
            )
        ).all()
    missing = [r.relname for r in rows if not (r.relrowsecurity and r.relforcerowsecurity)]
    assert missing == [], f"tables without ENABLE + FORCE ROW LEVEL SECURITY: {missing}"
    bare = [r.relname for r in rows if r.policies < 2]  # the owner's and at least one viewer's
    assert bare == [], f"tables with no policy for viewers: {bare}"
    expected = {
        "cases", "case_events", "case_respondents", "case_flags", "case_reference_counters",
        "evidence", "custody_events", "campaigns", "campaign_cases", "dossiers", "users",
        "audit_log", "advocacy_suggestions", "hotspot_results",
    }  # fmt: skip
    assert expected <= {r.relname for r in rows}


async def test_any_table_with_an_organization_id_column_has_a_policy(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        unprotected = (
            await conn.execute(
                text(
                    "SELECT DISTINCT c.relname FROM pg_class c "
                    "JOIN pg_attribute a ON a.attrelid = c.oid AND NOT a.attisdropped "
                    "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') "
                    "AND a.attname LIKE 'organization_id%' AND (NOT c.relrowsecurity "
                    "OR NOT c.relforcerowsecurity "
                    "OR NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))"
                )
            )
        ).scalars()
        assert list(unprotected) == []


async def test_the_service_role_cannot_bypass_row_level_security(
    service_engine: AsyncEngine,
) -> None:
    async with service_engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT rolsuper, rolbypassrls, "
                    "EXISTS (SELECT 1 FROM pg_class WHERE relname = 'cases' "
                    "AND relowner = pg_roles.oid) AS owns FROM pg_roles "
                    "WHERE rolname = current_user"
                )
            )
        ).one()
    assert (row.rolsuper, row.rolbypassrls, row.owns) == (False, False, False)


async def test_viewer_a_sees_no_row_of_organization_b_in_any_tenant_table(
    two_tenants: tuple[Tenant, Tenant], service_engine: AsyncEngine, engine: AsyncEngine
) -> None:
    a, b = two_tenants
    seen_own: set[str] = set()
    async with service_engine.connect() as conn:
        await name_viewer(conn, viewer_of(a.person))
        for table in await _tables(engine):
            if table in SHARED:
                continue
            for row in await _everything(conn, table):
                for secret in (*b.ids(), b.evidence_id):
                    assert secret not in row, f"{table} shows organization B's row: {row}"
                if a.case_id in row or str(a.person.organization_id) in row:
                    seen_own.add(table)
    # and the test can fail: A does see its own rows in these tables
    assert {"cases", "case_events", "evidence", "custody_events", "dossiers", "users"} <= seen_own


async def test_a_coordinator_reads_every_organization_but_writes_none_of_their_cases(
    two_tenants: tuple[Tenant, Tenant],
    service_engine: AsyncEngine,
    db: AsyncSession,
    settings: Settings,
) -> None:
    a, b = two_tenants
    coordinator = await make_person(db, settings, "coordinator")
    async with service_engine.connect() as conn:
        await name_viewer(conn, viewer_of(coordinator))
        seen = set(
            (
                await conn.execute(
                    text("SELECT id::text FROM cases WHERE id::text IN (:a, :b)"),
                    {"a": a.case_id, "b": b.case_id},
                )
            ).scalars()
        )
        assert seen == {a.case_id, b.case_id}
        with pytest.raises(DBAPIError, match="row-level security"):
            await conn.execute(
                text("UPDATE cases SET title = 'changed' WHERE id = :id"), {"id": a.case_id}
            )


async def test_without_a_viewer_the_service_role_sees_nothing(
    two_tenants: tuple[Tenant, Tenant], service_engine: AsyncEngine, engine: AsyncEngine
) -> None:
    async with service_engine.connect() as conn:
        for table in await _tables(engine) + sorted(SHARED):
            assert await _everything(conn, table) == [], table
    async with engine.connect() as owner:  # the rows are there: the owner sees them
        assert await _everything(owner, "cases") != []


async def test_a_viewer_ends_with_its_transaction(
    two_tenants: tuple[Tenant, Tenant], service_engine: AsyncEngine
) -> None:
    a, _ = two_tenants
    async with service_engine.connect() as conn:
        await name_viewer(conn, viewer_of(a.person))
        assert len(await _everything(conn, "cases")) >= 1
        await conn.commit()  # a pooled connection goes back with no viewer
        assert await _everything(conn, "cases") == []


async def test_a_paralegal_cannot_write_into_another_organization(
    two_tenants: tuple[Tenant, Tenant], service_engine: AsyncEngine
) -> None:
    a, b = two_tenants
    async with service_engine.connect() as conn:
        await name_viewer(conn, viewer_of(a.person))
        changed = await conn.execute(
            text("UPDATE cases SET title = 'mine now' WHERE id = :id"), {"id": b.case_id}
        )
        assert changed.rowcount == 0  # type: ignore[attr-defined]
        with pytest.raises(DBAPIError, match="row-level security"):
            await conn.execute(
                text("UPDATE cases SET organization_id = :b WHERE id = :id"),
                {"b": str(b.person.organization_id), "id": a.case_id},
            )


async def test_a_user_may_not_see_other_organizations_users_but_sign_in_still_finds_them(
    client: httpx.AsyncClient, two_tenants: tuple[Tenant, Tenant], service_engine: AsyncEngine
) -> None:
    a, b = two_tenants
    async with service_engine.connect() as conn:
        await name_viewer(conn, viewer_of(a.person))
        assert (
            await conn.scalar(
                text("SELECT count(*) FROM users WHERE id = :id"), {"id": b.person.id}
            )
        ) == 0
    me = await client.get("/api/v1/me", headers=b.person.headers)
    assert me.status_code == 200 and me.json()["id"] == str(b.person.id)
    wrong = await client.post(
        "/api/v1/auth/token", data={"username": b.person.email, "password": "not the password"}
    )
    assert wrong.status_code == 401


async def test_jobs_run_as_their_requester_and_sweeps_as_a_named_system_viewer(
    app: Any, settings: Settings, db: AsyncSession
) -> None:
    person = await make_person(db, settings, "paralegal")
    async with app.state.sessionmaker() as session:
        await set_viewer(session, viewer_of(person))
        enqueue_after_commit(session, "corps.heartbeat")
        (_, kwargs), *_ = session.info["pending_jobs"]
    assert Viewer.from_json(kwargs[VIEWER_KWARG]) == viewer_of(person)

    seen: list[str | None] = []

    async def job(ctx: dict[str, Any]) -> None:
        async with app.state.sessionmaker() as s:
            seen.append(await s.scalar(text("SELECT current_setting('ej.viewer_role', true)")))
            entry = await append_audit(s, None, "test.sweep")
            await s.commit()
            seen.append(entry.details.get("system_viewer"))

    await with_viewer("tests.sweep", job)({})
    await with_viewer("tests.for-user", job)({}, **{VIEWER_KWARG: viewer_of(person).to_json()})
    assert seen == ["system", "system:tests.sweep", "paralegal", None]


async def test_the_command_line_reads_as_the_system_viewer(
    settings: Settings, two_tenants: tuple[Tenant, Tenant], monkeypatch: pytest.MonkeyPatch
) -> None:
    from corps.db import standalone_session
    from corps.settings import get_settings

    monkeypatch.setenv("EJ_DATABASE_URL", settings.database_url)  # the service's role
    get_settings.cache_clear()
    try:
        with acting_as(None):
            async with standalone_session() as session:
                role = await session.scalar(text("SELECT current_setting('ej.viewer_role', true)"))
                cases = await session.scalar(text("SELECT count(*) FROM cases"))
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert role == "system" and (cases or 0) >= 2


async def test_the_service_refuses_in_production_to_connect_as_a_role_that_escapes_rls(
    engine: AsyncEngine, service_engine: AsyncEngine, settings: Settings
) -> None:
    from corps.db import check_service_role

    assert await check_service_role(service_engine, settings) is None
    assert "owns the tables" in str(await check_service_role(engine, settings))
    prod = settings.model_copy(update={"env": "prod"})
    with pytest.raises(RuntimeError, match="organizations would not be isolated"):
        await check_service_role(engine, prod)
