"""Two recomputes at once store each suggestion once."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.advocacy import jobs
from cases.advocacy.models import Suggestion
from corps.settings import Settings
from testing.factories import make_case, make_org, make_person, unique

# Two transactions that overlap: committed rows, the app's own sessions.
pytestmark = pytest.mark.committed


async def _count(app: FastAPI) -> int:
    async with app.state.sessionmaker() as session, jobs.as_system(session, "test"):
        return int(await session.scalar(select(func.count()).select_from(Suggestion)) or 0)


async def test_two_recomputes_at_once_store_each_suggestion_once(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    company = unique("Osprey Cobalt ")
    for country in ("SL", "LR"):
        person = await make_person(db, settings, "paralegal", await make_org(db, country=country))
        await make_case(client, person, respondents=[{"name": company, "kind": "company"}])
    factory = app.state.sessionmaker
    async with factory() as first:
        await jobs.refresh(first, app.state.arq)
        await first.commit()
    alone = await _count(app)
    async with factory() as first, factory() as second:
        await jobs.refresh(first, app.state.arq)  # replaced, not yet committed
        overlapping = asyncio.create_task(jobs.refresh(second, app.state.arq))
        await asyncio.sleep(0.5)  # the second waits for the first
        await first.commit()
        await overlapping
        await second.commit()
    assert alone and await _count(app) == alone
