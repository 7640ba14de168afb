"""The tests' own isolation: what a test makes is never committed, and roles stay apart."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from corps.organizations.models import Organization
from corps.settings import Settings
from testing.factories import make_case, make_org, make_person
from tests.conftest import APP_ROLE

WHO = text("SELECT current_user, coalesce(current_setting('ej.viewer_role', true), '')")


async def test_what_a_test_commits_is_seen_by_it_and_by_no_other_connection(
    db: AsyncSession, owner_engine: AsyncEngine
) -> None:
    org = await make_org(db)  # the factory commits
    assert await db.scalar(select(Organization.id).where(Organization.id == org.id)) == org.id
    async with owner_engine.connect() as other:
        seen = await other.scalar(select(Organization.id).where(Organization.id == org.id))
    assert seen is None


async def test_the_app_reads_as_the_service_role_and_the_factories_as_the_owner_after_it(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, settings: Settings
) -> None:
    owner = (await db.execute(WHO)).one()
    await db.commit()
    paralegal = await make_person(db, settings, "paralegal")
    await make_case(client, paralegal)
    async with app.state.sessionmaker() as session:
        assert (await session.execute(WHO)).one() == (APP_ROLE, "")
    # A request's savepoint is released, not ended: its role and viewer must not stay on.
    assert (await db.execute(WHO)).one() == owner
    assert owner[0] != APP_ROLE


async def test_a_request_inside_an_open_factory_transaction_leaves_it_as_it_was(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    before = (await db.execute(WHO)).one()  # the factory session's savepoint is open now
    assert (await client.get("/api/v1/cases", headers=paralegal.headers)).status_code == 200
    assert (await db.execute(WHO)).one() == before


@pytest.mark.committed
async def test_a_committed_test_writes_where_a_second_connection_sees_it(
    db: AsyncSession, engine: AsyncEngine
) -> None:
    org = await make_org(db)
    async with engine.connect() as other:
        seen = await other.scalar(select(Organization.id).where(Organization.id == org.id))
    assert seen == org.id
