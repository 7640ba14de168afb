"""ej_search_page reads the search indexes as the schema owner: it must answer only what the
viewer could select from the view of a case itself, in the list's order."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from corps.settings import Settings
from corps.viewer import Viewer, name_viewer
from testing.factories import make_case, make_person, viewer_of

# A second connection (the service's role) must read what the test made: committed.
pytestmark = pytest.mark.committed

SEARCH = text("SELECT ej_search_page(websearch_to_tsquery('simple', :q), false, NULL, NULL, :want)")
VIEW = text(
    "SELECT v.id FROM ej_cases('internal', NULL, websearch_to_tsquery('simple', :q)) AS v "
    "ORDER BY v.created_at DESC, v.id DESC LIMIT :want"
)


async def _ids(
    engine: AsyncEngine, viewer: Viewer | None, q: str, want: int = 1000
) -> list[uuid.UUID]:
    async with engine.connect() as conn:
        await name_viewer(conn, viewer)
        found = await conn.scalar(SEARCH, {"q": q, "want": want})
        return [uuid.UUID(str(i)) for i in found]


async def test_search_page_finds_only_what_the_viewer_may_read_as_it_is_shown(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, service_engine: AsyncEngine
) -> None:
    owner = await make_person(db, settings, "paralegal")
    stranger = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    word = f"Quxpalm{uuid.uuid4().hex[:8]}"
    case = await make_case(
        client, owner, sensitivity="high_risk", title=f"Fence at {word}", place_name=word
    )
    mine = uuid.UUID(str(case["id"]))
    assert await _ids(service_engine, viewer_of(owner), word) == [mine]
    # another organization's paralegal reads none of it; a coordinator is shown the case
    # generalized, without the title and place that hold the word; no viewer sees nothing
    assert await _ids(service_engine, viewer_of(stranger), word) == []
    assert await _ids(service_engine, viewer_of(coordinator), word) == []
    assert await _ids(service_engine, None, word) == []


async def test_search_page_answers_the_views_first_matches_whichever_way_it_reads(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, service_engine: AsyncEngine
) -> None:
    owner = await make_person(db, settings, "paralegal")
    other = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    word = f"Quxtail{uuid.uuid4().hex[:8]}"
    for person, sensitivity in [(owner, "normal"), (other, "high_risk"), (owner, "normal")] * 8:
        await make_case(client, person, sensitivity=sensitivity, title=f"Spill at {word}")
    # The statistics' estimate decides between collecting every match through the indexes and
    # walking the list: with the word in many of the cases, a page of one walks, a long page
    # collects. Both must answer what the view answers.
    await db.execute(text("ANALYZE cases"))
    await db.commit()  # the statistics, for the service's connection
    for want in (1, 2, 1000):
        for viewer in (viewer_of(owner), viewer_of(other), viewer_of(coordinator)):
            async with service_engine.connect() as conn:
                await name_viewer(conn, viewer)
                shown = [
                    uuid.UUID(str(i)) for i in await conn.scalars(VIEW, {"q": word, "want": want})
                ]
            assert await _ids(service_engine, viewer, word, want) == shown
    # the coordinator is shown the other organization's high-risk cases without their titles
    assert len(await _ids(service_engine, viewer_of(coordinator), word)) == 16
